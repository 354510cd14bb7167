//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
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

use std::collections::HashSet;

use boucle_crypto::{
    ContactCard, Content, IdentityKeys, MessageId, Opened, PairwiseSession, SafetyNumber,
};
use boucle_wire::{MailboxAddress, ReceiveId, SendId};
use serde::{Deserialize, Serialize};

use super::messages::find_view;
use super::seen::Seen;
use super::seen::mark_seen;
use super::{Core, Event, Mailbox};
use super::{Followup, Handled};
use ed25519_dalek::SigningKey;

use crate::error::EngineError;
use crate::ids::{ContactId, ConversationId};
use crate::invite::clean_name;
use crate::model::{
    ACCOUNT_KEY, CONTACTS, Contact, ContactRecord, META, MailboxPurpose, MessageBody, MessageView,
    SESSIONS, SharedCard,
};
use crate::store::{ProfileStore, StoreError, Table};

/// Each contact's shareable card, as they offered it: contact id → card bytes.
pub(crate) const CARD_OFFERS: Table = Table::new("card_offers", crate::model::BY_ID);

/// How contacts made from shared cards came: contact id → [`IntroRecord`].
pub(crate) const INTRODUCED: Table = Table::new("introduced", crate::model::BY_ID);

/// How a contact made from a shared card came to us.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct IntroRecord {
    /// Who shared them with us, or through whose card they reached us (a name as we
    /// knew it then).
    pub by: String,
    /// The contact whose card they used, when they reached us.
    pub via: Option<ContactId>,
}

/// The shared-contact message `message` of `conversation`.
pub(crate) fn shared_view(
    core: &Core,
    conversation: ConversationId,
    message: MessageId,
) -> Result<MessageView, EngineError> {
    let view = find_view(core, &message)?
        .filter(|v| v.conversation == conversation)
        .ok_or(EngineError::UnknownMessage)?;
    if view.deleted || !matches!(view.body, MessageBody::SharedContact { .. }) {
        return Err(EngineError::NotASharedContact);
    }
    Ok(view)
}

pub(crate) fn view_card(view: &MessageView) -> Result<(ContactCard, String), EngineError> {
    let MessageBody::SharedContact { card, name, .. } = &view.body else {
        return Err(EngineError::NotASharedContact);
    };
    let card = ContactCard::from_bytes(&card.0)
        .map_err(|_| StoreError::Corrupt("a shared card is unreadable".into()))?;
    Ok((card, name.clone()))
}

pub(crate) fn added(mut view: MessageView, id: ContactId) -> MessageView {
    if let MessageBody::SharedContact {
        already_contact,
        contact,
        ..
    } = &mut view.body
    {
        *already_contact = true;
        *contact = Some(id);
    }
    view
}

/// How a shared card is shown.
pub(crate) fn shared_body(
    core: &Core,
    card: &ContactCard,
    name: &str,
) -> Result<MessageBody, EngineError> {
    let known = contact_by_identity(&core.store, card.identity())?.map(|(id, _)| id);
    Ok(MessageBody::SharedContact {
        name: clean_name(name),
        safety_number: SafetyNumber::new(&core.account.identity_keys(), card.identity())
            .digits()
            .to_owned(),
        already_contact: known.is_some(),
        contact: known,
        card: SharedCard(card.to_bytes()),
    })
}

/// A `SharedContact` received, from a contact (`from`) or in a loop: its body to show,
/// or `None` if there is nothing to show (a card offer, stored here; an unusable card).
pub(crate) fn received(
    core: &Core,
    from: Option<ContactId>,
    card: &ContactCard,
    name: &str,
) -> Result<Option<MessageBody>, EngineError> {
    if postcard::from_bytes::<MailboxAddress>(&card.mailbox().0).is_err() {
        tracing::debug!("ignored a shared card without a usable address");
        return Ok(None);
    }
    if let Some(contact) = from {
        let record = core.contact_record(&contact)?;
        let own =
            ContactCard::from_bytes(&record.card).is_ok_and(|c| c.identity() == card.identity());
        if own {
            // Their shareable card. Stored on its own (idempotent, so a redelivery after a
            // failed write of the rest is harmless).
            let bytes = card.to_bytes();
            if core.store.get(CARD_OFFERS, &contact.0)?.as_deref() != Some(bytes.as_slice()) {
                core.store
                    .write(|batch| batch.put(CARD_OFFERS, &contact.0, &bytes))?;
            }
            return Ok(None);
        }
    }
    Ok(Some(shared_body(core, card, name)?))
}

/// Whether an envelope on one of our introduction mailboxes is from someone already
/// introduced through it: then it is an ordinary message from that contact, which the
/// dispatch (`inbound.rs`) hands to the contact's conversation.
pub(crate) fn introduced_through(
    core: &Core,
    receive_id: &ReceiveId,
    opened: &Opened,
) -> Result<Option<ContactId>, EngineError> {
    Ok(contact_by_identity(&core.store, &opened.sender)?
        .filter(|(id, record)| {
            record.my_mailbox == *receive_id.as_bytes()
                || super::rehome::is_old_mailbox(core, id, receive_id)
        })
        .map(|(id, _)| id))
}

/// A new introduction on one of our introduction mailboxes (after
/// [`introduced_through`] said it is from no one introduced yet).
pub(crate) fn on_introductions(
    core: &mut Core,
    via: ContactId,
    receive_id: &ReceiveId,
    opened: &Opened,
    seen: &Seen,
) -> Result<Handled, EngineError> {
    let drop_it = |core: &Core, why: &str| -> Result<Handled, EngineError> {
        tracing::info!("dropped an envelope on an introduction mailbox: {why}");
        mark_seen(core, seen)?;
        Ok((Vec::new(), None))
    };
    let Ok((session, message)) = PairwiseSession::inbound(&mut core.account, opened) else {
        return drop_it(core, "not a valid first message");
    };
    let Content::Introduction {
        card,
        name,
        sender_key,
    } = message.content
    else {
        return drop_it(core, "not an introduction");
    };
    if card.verify().is_err() || card.identity() != &opened.sender {
        return drop_it(core, "the card is not the sender's");
    }
    if postcard::from_bytes::<MailboxAddress>(&card.mailbox().0).is_err() {
        return drop_it(core, "the card has no usable address");
    }
    if contact_by_identity(&core.store, card.identity())?.is_some() {
        return drop_it(core, "already a contact");
    }
    let by = core
        .contact_record(&via)
        .map(|r| r.name)
        .unwrap_or_else(|_| "a former contact".to_owned());
    let id = ContactId::random();
    let now = core.now();
    let record = ContactRecord {
        name: clean_name(&name),
        card: card.to_bytes(),
        my_mailbox: *receive_id.as_bytes(),
        verified: false,
        identity_changed: false,
        unread: 0,
        last_activity: now,
        created_at: now,
    };
    let intro = IntroRecord { by, via: Some(via) };
    // They write to a mailbox everyone introduced this way writes to: they get one of
    // their own, locked (`rehome.rs`, started by the `ContactAdded` event).
    let keys = super::rehome::introduced(core, &card, sender_key);
    core.sessions.insert(id, session);
    let session = core.session_pickle(&id).unwrap_or_default();
    let account = core.account_pickle();
    let written = core.store.write(|batch| {
        batch.put_value(CONTACTS, &id.0, &record)?;
        batch.put_value(INTRODUCED, &id.0, &intro)?;
        batch.put(SESSIONS, &id.0, &session)?;
        batch.put(META, ACCOUNT_KEY, &account)?;
        super::rehome::put(batch, &id, &keys)?;
        seen.record(batch)
    });
    if let Err(error) = written {
        core.sessions.remove(&id);
        if let Some(send) = keys.send {
            core.send_keys.remove(&SendId::from_bytes(send.send_id));
        }
        return Err(error.into());
    }
    let mut contact = super::contacts::view(id, &record);
    annotate(core, &mut contact);
    Ok((
        vec![Event::ContactAdded(contact)],
        Some(Followup::OfferCard { contact: id }),
    ))
}

/// Fills in what a contact view shows about sharing.
pub(crate) fn annotate(core: &Core, contact: &mut Contact) {
    contact.introduced_by = core
        .store
        .get_value::<IntroRecord>(INTRODUCED, &contact.id.0)
        .ok()
        .flatten()
        .map(|r| r.by);
    contact.can_share = core
        .store
        .get(CARD_OFFERS, &contact.id.0)
        .ok()
        .flatten()
        .is_some();
    contact.blocked = super::blocking::is_blocked(core, &contact.id);
}

/// The offer to make after a new contact arrived (if one did).
pub(crate) fn offer_after(events: &[Event]) -> Option<Followup> {
    events.iter().find_map(|event| match event {
        Event::ContactAdded(contact) => Some(Followup::OfferCard {
            contact: contact.id,
        }),
        _ => None,
    })
}

/// Contacts we have not offered a shareable card to yet.
pub(crate) fn pending_offers(core: &Core) -> Vec<ContactId> {
    let Ok(contacts) = core.store.scan(CONTACTS, b"") else {
        return Vec::new();
    };
    let offered: HashSet<ContactId> = core
        .mailboxes
        .values()
        .filter_map(|m| match m.record.purpose {
            MailboxPurpose::Introductions(contact) => Some(contact),
            _ => None,
        })
        .collect();
    contacts
        .into_iter()
        .filter_map(|(key, _)| <[u8; 16]>::try_from(key.as_slice()).ok().map(ContactId))
        .filter(|id| !offered.contains(id))
        .collect()
}

/// Whether this contact still waits for our shareable card.
pub(crate) fn needs_offer(core: &Core, contact: ContactId) -> bool {
    core.contact_record(&contact).is_ok()
        && !core
            .mailboxes
            .values()
            .any(|m| m.record.purpose == MailboxPurpose::Introductions(contact))
}

/// The contact with this identity, if any.
pub(crate) fn contact_by_identity(
    store: &ProfileStore,
    identity: &IdentityKeys,
) -> Result<Option<(ContactId, ContactRecord)>, EngineError> {
    for (key, bytes) in store.scan(CONTACTS, b"")? {
        let Ok(id) = <[u8; 16]>::try_from(key.as_slice()) else {
            continue;
        };
        let Ok(record) = postcard::from_bytes::<ContactRecord>(&bytes) else {
            continue;
        };
        if ContactCard::from_bytes(&record.card).is_ok_and(|card| card.identity() == identity) {
            return Ok(Some((ContactId(id), record)));
        }
    }
    Ok(None)
}

/// What adding the person of a shared-contact message comes to, before any mailbox is
/// made for them.
pub(crate) enum ToAdd {
    /// They are a contact already.
    Existing(ContactId),
    /// A new contact: their card, the name it was shared under, and who shared it.
    New {
        card: Box<ContactCard>,
        name: String,
        introducer: String,
    },
}

/// Reads the shared-contact message `message` of `conversation` ([`add`] follows, once a
/// locked mailbox for the new contact is made).
pub(crate) fn prepare_add(
    core: &Core,
    conversation: ConversationId,
    message: MessageId,
) -> Result<ToAdd, EngineError> {
    let view = shared_view(core, conversation, message)?;
    let (card, name) = view_card(&view)?;
    if card.identity() == &core.account.identity_keys() {
        return Err(EngineError::OwnCard);
    }
    if let Some((existing, _)) = contact_by_identity(&core.store, card.identity())? {
        return Ok(ToAdd::Existing(existing));
    }
    let introducer = match (conversation, view.from_me) {
        (_, true) => core.profile.name.clone(),
        (ConversationId::Contact(from), false) => core.contact_record(&from)?.name,
        (_, false) => view.sender.clone().unwrap_or_default(),
    };
    Ok(ToAdd::New {
        card: Box::new(card),
        name,
        introducer,
    })
}

/// What [`add`] did.
pub(crate) enum Added {
    /// They became a contact meanwhile (added twice at once, or they reached us first).
    Existing(ContactId),
    /// A new contact, introduced to (the introduction is queued), and the shared-contact
    /// message marked as added.
    New {
        contact: Box<Contact>,
        updated: Option<Box<MessageView>>,
    },
}

/// Adds the person of a shared-contact message as contact `id`, reading on `mailbox`
/// (locked with `sender`): a session from their card and an introduction, as when
/// accepting an invitation.
pub(crate) fn add(
    core: &mut Core,
    message: MessageId,
    id: ContactId,
    (card, name, introducer): (&ContactCard, &str, String),
    mailbox: Mailbox,
    sender: &SigningKey,
) -> Result<Added, EngineError> {
    let address: MailboxAddress = postcard::from_bytes(&card.mailbox().0)
        .map_err(|_| StoreError::Corrupt("a shared card's address is unreadable".into()))?;
    if let Some((existing, _)) = contact_by_identity(&core.store, card.identity())? {
        return Ok(Added::Existing(existing));
    }
    let (session, envelope) = super::contacts::introduce_to(core, card, &mailbox, sender)?;
    let now = core.now();
    let record = ContactRecord {
        name: clean_name(name),
        card: card.to_bytes(),
        my_mailbox: mailbox.record.receive_id,
        verified: false,
        identity_changed: false,
        unread: 0,
        last_activity: now,
        created_at: now,
    };
    let intro = IntroRecord {
        by: introducer,
        via: None,
    };
    let item = crate::model::OutboxRecord {
        message: None,
        relay: address.relay.to_string(),
        recipients: vec![(*address.send_id.as_bytes(), envelope.header)],
        body: envelope.body,
        attempts: 0,
    };
    let updated = find_view(core, &message)?.map(|view| added(view, id));
    core.sessions.insert(id, session);
    let session = core.session_pickle(&id).unwrap_or_default();
    let account = core.account_pickle();
    let Core {
        store, counters, ..
    } = &mut *core;
    let written = store.write(|batch| {
        batch.put_value(CONTACTS, &id.0, &record)?;
        batch.put_value(INTRODUCED, &id.0, &intro)?;
        batch.put(SESSIONS, &id.0, &session)?;
        batch.put(META, ACCOUNT_KEY, &account)?;
        super::rehome::put(batch, &id, &super::rehome::introducing())?;
        batch.put_value(
            crate::model::MAILBOXES,
            &mailbox.record.receive_id,
            &mailbox.record,
        )?;
        if let Some(view) = &updated {
            super::messages::put_view(batch, view)?;
        }
        super::loops::queue(counters, batch, vec![item])
    });
    if let Err(error) = written {
        core.sessions.remove(&id);
        return Err(error.into());
    }
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    let mut contact = super::contacts::view(id, &record);
    annotate(core, &mut contact);
    Ok(Added::New {
        contact: Box::new(contact),
        updated: updated.map(Box::new),
    })
}

/// Offers `contact` our shareable card, for the introduction mailbox `mailbox` (new,
/// on our home relay): a `SharedContact` of ourselves, queued. The driver watches the
/// mailbox after.
pub(crate) fn offer(
    core: &mut Core,
    contact: ContactId,
    mailbox: Mailbox,
) -> Result<(), EngineError> {
    let card = core
        .account
        .member_card(mailbox.keys.seal_key(), mailbox.card_address());
    let offer = super::messages::new_message(
        core,
        Content::SharedContact {
            card,
            name: core.profile.name.clone(),
        },
    );
    let item = super::messages::seal_for(core, contact, &offer, None)?;
    let session = core.session_pickle(&contact).unwrap_or_default();
    let account = core.account_pickle();
    let Core {
        store, counters, ..
    } = &mut *core;
    store.write(|batch| {
        batch.put_value(
            crate::model::MAILBOXES,
            &mailbox.record.receive_id,
            &mailbox.record,
        )?;
        batch.put(SESSIONS, &contact.0, &session)?;
        batch.put(META, ACCOUNT_KEY, &account)?;
        super::loops::queue(counters, batch, vec![item])
    })?;
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    Ok(())
}
