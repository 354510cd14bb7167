//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::contacts`.
//!
//! Invitations, contacts, safety numbers.

use boucle_crypto::{MailboxKeys, SafetyNumber};
use boucle_wire::{AccessToken, MailboxAddress};
use ed25519_dalek::SigningKey;

use super::{Engine, Event, Mailbox};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::invite::{Invitation, InvitationError};
use crate::model::{CONTACTS, Contact, ContactRecord, MailboxPurpose, MailboxRecord};

pub(crate) use crate::core::contacts::*;

impl Engine {
    /// Makes a one-time invitation: a fresh mailbox on the home relay, waiting for
    /// whoever accepts. Needs the home relay to be reachable.
    pub async fn invite(&self) -> Result<Invitation, EngineError> {
        let mailbox = self.new_mailbox(MailboxPurpose::Invitation).await?;
        let mut core = self.inner.core()?;
        let receive_id = mailbox.record.receive();
        let invitation = invite(&mut core, mailbox)?;
        self.inner.watch(&core, receive_id);
        Ok(invitation)
    }

    /// Accepts an invitation link: the inviter becomes a contact here at once, and on
    /// their side as soon as our introduction reaches them.
    pub async fn accept(&self, link: &str) -> Result<Contact, EngineError> {
        let invitation = Invitation::from_link(link)?;
        let their_address: MailboxAddress = postcard::from_bytes(&invitation.card.mailbox().0)
            .map_err(|_| InvitationError::Damaged)?;
        check_invitation(&*self.inner.core()?, &invitation)?;
        let id = ContactId::random();
        // Theirs alone and locked: only they get its sender key (`rehome.rs`).
        let (mailbox, sender) = self.new_locked_mailbox(MailboxPurpose::Contact(id)).await?;
        let mut core = self.inner.core()?;
        let receive_id = mailbox.record.receive();
        let contact = accept(&mut core, id, &invitation, &their_address, mailbox, &sender)?;
        self.inner.watch(&core, receive_id);
        drop(core);
        self.inner.changed();
        self.inner.emit(Event::ContactAdded(contact.clone()));
        super::sharing::spawn_offer(&self.inner, id);
        Ok(contact)
    }

    /// All contacts, most recently active first.
    pub fn contacts(&self) -> Result<Vec<Contact>, EngineError> {
        let core = self.inner.core()?;
        let mut contacts = Vec::new();
        for (key, bytes) in core.store.scan(CONTACTS, b"")? {
            let Ok(id) = <[u8; 16]>::try_from(key.as_slice()) else {
                continue;
            };
            let record: ContactRecord = postcard::from_bytes(&bytes).map_err(|_| {
                crate::store::StoreError::Corrupt("a contact record is unreadable".into())
            })?;
            let mut contact = view(ContactId(id), &record);
            super::sharing::annotate(&core, &mut contact);
            contacts.push(contact);
        }
        contacts.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then(a.name.cmp(&b.name))
        });
        Ok(contacts)
    }

    /// Finds a contact by id (or a prefix of its hexadecimal form) or by name.
    pub fn find_contact(&self, query: &str) -> Result<ContactId, EngineError> {
        let query = query.trim();
        let contacts = self.contacts()?;
        let lower = query.to_lowercase();
        let by_id: Vec<_> = contacts
            .iter()
            .filter(|c| query.len() >= 4 && c.id.to_hex().starts_with(&lower))
            .collect();
        let by_name: Vec<_> = contacts
            .iter()
            .filter(|c| c.name.to_lowercase() == lower)
            .collect();
        let found = if by_id.is_empty() { by_name } else { by_id };
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err(EngineError::UnknownContact(query.to_owned())),
            _ => Err(EngineError::AmbiguousContact(query.to_owned())),
        }
    }

    /// One contact.
    pub fn contact(&self, id: ContactId) -> Result<Contact, EngineError> {
        let core = self.inner.core()?;
        let mut contact = view(id, &core.contact_record(&id)?);
        super::sharing::annotate(&core, &mut contact);
        Ok(contact)
    }

    /// Where we write to a contact: their relay, mailbox send id and seal key, as their
    /// latest card gives it (for diagnostics and tests; people never need it).
    pub fn contact_address(&self, id: ContactId) -> Result<MailboxAddress, EngineError> {
        let record = self.inner.core()?.contact_record(&id)?;
        boucle_crypto::ContactCard::from_bytes(&record.card)
            .ok()
            .and_then(|card| postcard::from_bytes(&card.mailbox().0).ok())
            .ok_or_else(|| {
                crate::store::StoreError::Corrupt("a contact card is unreadable".into()).into()
            })
    }

    /// The safety number to compare with a contact, in person or on a trusted channel.
    pub fn safety_number(&self, id: ContactId) -> Result<SafetyNumber, EngineError> {
        let core = self.inner.core()?;
        let record = core.contact_record(&id)?;
        let card = boucle_crypto::ContactCard::from_bytes(&record.card).map_err(|_| {
            crate::store::StoreError::Corrupt("a contact card is unreadable".into())
        })?;
        Ok(SafetyNumber::new(
            &core.account.identity_keys(),
            card.identity(),
        ))
    }

    /// Marks a contact verified (after comparing safety numbers); clears a key-change
    /// warning.
    pub fn mark_verified(&self, id: ContactId) -> Result<Contact, EngineError> {
        let core = self.inner.core()?;
        let mut record = core.contact_record(&id)?;
        record.verified = true;
        record.identity_changed = false;
        core.store
            .write(|batch| batch.put_value(CONTACTS, &id.0, &record))?;
        let mut contact = view(id, &record);
        super::sharing::annotate(&core, &mut contact);
        Ok(contact)
    }

    /// A new mailbox on the home relay, not yet persisted.
    pub(crate) async fn new_mailbox(
        &self,
        purpose: MailboxPurpose,
    ) -> Result<Mailbox, EngineError> {
        let (home, token) = {
            let core = self.inner.core()?;
            (core.home.clone(), core.profile.access_token)
        };
        let client = self
            .inner
            .pool
            .connect_now(&home)
            .await
            .map_err(|e| EngineError::relay(&home, e))?;
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let owner = SigningKey::from_bytes(&secret);
        let ids = client
            .create_mailbox(&owner, token.map(AccessToken::from_bytes))
            .await
            .map_err(|e| EngineError::relay(&home, e))?;
        let (keys, pickled, now) = {
            let core = self.inner.core()?;
            let keys = MailboxKeys::generate(&mut *core.rng());
            let pickled = keys.pickle(&core.pickle_key, &mut *core.rng());
            (keys, pickled, core.now())
        };
        Ok(Mailbox {
            record: MailboxRecord {
                relay: home.to_string(),
                receive_id: *ids.receive_id.as_bytes(),
                send_id: *ids.send_id.as_bytes(),
                owner_secret: secret,
                keys: pickled,
                purpose,
                created_at: now,
            },
            keys,
            relay: home,
        })
    }
}
