//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::sharing`.
//!
//! Shared contacts (normative: `protocol-spec/organizing.md` §3).
//!
//! A card from an invitation carries a one-time key, used up once someone accepted it,
//! so it cannot be passed on. Instead, each side of a new contact offers the other a
//! **shareable card**: signed by its owner, with the account's reusable fallback key and
//! a mailbox of its own for the people introduced through that contact. The offer is a
//! `SharedContact` whose card is the sender's own; it is stored, not shown.
//!
//! Sharing a contact sends that card into a conversation. Whoever receives it can add
//! the person in one action ([`Engine::add_shared_contact`]): an Olm session from the
//! card and an `Introduction`, exactly as when accepting an invitation. The person shared
//! sees a new, unverified contact, "introduced through" the contact whose card it came
//! by; both compare safety numbers as with anyone.

use std::sync::Arc;

use boucle_crypto::{ContactCard, Content, MessageId};

use super::messages::{decode_view, put_view};
use super::{Engine, Event, Inner};
use crate::error::EngineError;
use crate::ids::{ContactId, ConversationId};
use crate::model::{MESSAGE_INDEX, MailboxPurpose, MessageLocation, MessageView, message_key};
use crate::store::StoreError;

pub(crate) use crate::core::sharing::*;
pub(crate) use crate::driver::sharing::*;

impl Engine {
    /// Shares a contact into a conversation (a 1:1 chat or a loop): everyone there can
    /// add them in one action. Needs their shareable card ([`Contact::can_share`]).
    pub fn share_contact(
        &self,
        conversation: ConversationId,
        contact: ContactId,
    ) -> Result<MessageView, EngineError> {
        let (card, name, body) = {
            let core = self.inner.core()?;
            let record = core.contact_record(&contact)?;
            if conversation == ConversationId::Contact(contact) {
                return Err(EngineError::SharedWithThemselves(record.name));
            }
            let Some(bytes) = core.store.get(CARD_OFFERS, &contact.0)? else {
                return Err(EngineError::NoShareableCard(record.name));
            };
            let card = ContactCard::from_bytes(&bytes)
                .map_err(|_| StoreError::Corrupt("a shareable card is unreadable".into()))?;
            let body = shared_body(&core, &card, &record.name)?;
            (card, record.name, body)
        };
        self.compose_body(conversation, Content::SharedContact { card, name }, body)
    }

    /// Adds the person a message shared as a contact, in one action: a session from
    /// their card and an introduction to them, as when accepting an invitation. If they
    /// are already a contact, that contact is returned and nothing is sent.
    pub async fn add_shared_contact(
        &self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<ContactId, EngineError> {
        let (card, name, introducer) = {
            let core = self.inner.core()?;
            match prepare_add(&core, conversation, message)? {
                ToAdd::Existing(existing) => {
                    drop(core);
                    self.mark_added(conversation, message, existing)?;
                    return Ok(existing);
                }
                ToAdd::New {
                    card,
                    name,
                    introducer,
                } => (card, name, introducer),
            }
        };
        let id = ContactId::random();
        let (mailbox, sender) = self.new_locked_mailbox(MailboxPurpose::Contact(id)).await?;
        let mut core = self.inner.core()?;
        let watched = mailbox.record.clone();
        let (contact, updated) = match add(
            &mut core,
            message,
            id,
            (&card, &name, introducer),
            mailbox,
            &sender,
        )? {
            Added::Existing(existing) => {
                drop(core);
                self.mark_added(conversation, message, existing)?;
                return Ok(existing);
            }
            Added::New { contact, updated } => (contact, updated),
        };
        if let Some(mailbox) = core.mailboxes.get(&watched.receive()) {
            self.inner.watch_mailbox(mailbox);
        }
        drop(core);
        self.inner.changed();
        self.inner.emit(Event::ContactAdded(*contact));
        if let Some(view) = updated {
            self.inner.emit(Event::MessageUpdated(*view));
        }
        spawn_offer(&self.inner, id);
        Ok(id)
    }

    /// The message whose id starts with `prefix` (hexadecimal, at least 8 digits), in
    /// any conversation.
    pub fn find_message(&self, prefix: &str) -> Result<MessageView, EngineError> {
        let prefix = prefix.trim().to_lowercase();
        let bytes = (prefix.len() >= 8 && prefix.len().is_multiple_of(2))
            .then(|| {
                (0..prefix.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(prefix.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten()
            .ok_or(EngineError::UnknownMessage)?;
        let core = self.inner.core()?;
        // Message ids are hashed in the store's keys: no prefix search there.
        let index = core.store.scan(MESSAGE_INDEX, b"")?;
        let found: Vec<_> = index
            .iter()
            .filter(|(id, _)| id.starts_with(&bytes))
            .collect();
        let [(_, location)] = found.as_slice() else {
            return Err(EngineError::UnknownMessage);
        };
        let location: MessageLocation = postcard::from_bytes(location)
            .map_err(|_| StoreError::Corrupt("a message index entry is unreadable".into()))?;
        let key = message_key(&location.conversation, location.position);
        let bytes = core
            .store
            .get(crate::model::MESSAGES, &key)?
            .ok_or(EngineError::UnknownMessage)?;
        decode_view(&bytes)
    }

    /// Marks a shared-contact message as added (the person is `contact`).
    fn mark_added(
        &self,
        conversation: ConversationId,
        message: MessageId,
        contact: ContactId,
    ) -> Result<(), EngineError> {
        let core = self.inner.core()?;
        let Ok(view) = shared_view(&core, conversation, message) else {
            return Ok(());
        };
        let view = added(view, contact);
        core.store.write(|batch| put_view(batch, &view))?;
        drop(core);
        self.inner.emit(Event::MessageUpdated(view));
        Ok(())
    }
}

/// Starts an offer to every contact still without one (and no offer under way).
pub(crate) fn offer_pending(inner: &Arc<Inner>) {
    let pending = match inner.core() {
        Ok(core) => pending_offers(&core),
        Err(_) => return,
    };
    for contact in pending {
        spawn_offer(inner, contact);
    }
}

/// Starts offering our shareable card to a contact, unless an offer is under way.
pub(crate) fn spawn_offer(inner: &Arc<Inner>, contact: ContactId) {
    if inner.offering_lock().insert(contact) {
        tokio::spawn(offer_card(inner.clone(), contact));
    }
}
