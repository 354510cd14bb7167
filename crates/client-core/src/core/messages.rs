//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Writing messages (encrypted and sealed when queued, so the outbox holds only
//! ciphertext and the ratchet order is the queue order), and reading history.

use boucle_crypto::{ContactCard, Content, Message, MessageId, Timestamp, seal_pairwise};
use boucle_wire::MailboxAddress;

use super::{Core, loops};
use crate::error::EngineError;
use crate::ids::{ContactId, ConversationId, MemberKey};
use crate::model::{
    CONTACTS, MESSAGE_INDEX, MESSAGE_SENDERS, MESSAGES, MessageBody, MessageLocation, MessageView,
    OutboxRecord, Reaction, SESSIONS, message_key,
};
use crate::store::{StoreError, WriteBatch};

/// Encrypts a message for a conversation: one sealed envelope for a contact, key shares
/// (when due) and one batch per relay for a loop.
pub(crate) fn encrypt_for(
    core: &mut Core,
    conversation: ConversationId,
    message: &Message,
    visible: Option<([u8; 16], u64)>,
) -> Result<Vec<OutboxRecord>, EngineError> {
    match conversation {
        ConversationId::Contact(contact) => Ok(vec![seal_for(core, contact, message, visible)?]),
        ConversationId::Loop(id) => loops::loop_message(core, id, message, visible),
    }
}

/// Stores a sent message (if any), the advanced session state and the outbox items, in
/// one write.
pub(crate) fn persist(
    core: &mut Core,
    conversation: ConversationId,
    view: Option<&MessageView>,
    items: Vec<OutboxRecord>,
) -> Result<(), EngineError> {
    persist_with(core, conversation, view, items, |_| Ok(()))
}

/// [`persist`], with `extra` writes in the same transaction.
pub(crate) fn persist_with(
    core: &mut Core,
    conversation: ConversationId,
    view: Option<&MessageView>,
    items: Vec<OutboxRecord>,
    extra: impl FnOnce(&mut WriteBatch<'_>) -> Result<(), StoreError>,
) -> Result<(), EngineError> {
    let now = core.now();
    match conversation {
        ConversationId::Contact(contact) => {
            let mut record = core.contact_record(&contact)?;
            record.last_activity = now;
            let session = core.session_pickle(&contact).unwrap_or_default();
            let Core {
                store, counters, ..
            } = &mut *core;
            store.write(|batch| {
                if let Some(view) = view {
                    put_view(batch, view)?;
                }
                batch.put(SESSIONS, &contact.0, &session)?;
                batch.put_value(CONTACTS, &contact.0, &record)?;
                extra(batch)?;
                loops::queue(counters, batch, items)
            })?;
        }
        ConversationId::Loop(id) => {
            let mut record = loops::loop_record(core, id)?;
            record.last_activity = now;
            loops::commit_loop(core, id, &mut record, items, |batch| {
                if let Some(view) = view {
                    put_view(batch, view)?;
                }
                extra(batch)
            })?;
        }
    }
    Ok(())
}

pub(crate) fn new_message(core: &Core, content: Content) -> Message {
    Message {
        id: MessageId::random(&mut *core.rng()),
        sent_at: Timestamp(core.now()),
        content,
    }
}

/// Encrypts and seals a message for a contact; the session advances (the caller
/// persists it in the same write as the outbox item).
pub(crate) fn seal_for(
    core: &mut Core,
    contact: ContactId,
    message: &Message,
    visible: Option<([u8; 16], u64)>,
) -> Result<OutboxRecord, EngineError> {
    let record = core.contact_record(&contact)?;
    if super::blocking::is_blocked(core, &contact) {
        return Err(EngineError::Blocked);
    }
    let card = ContactCard::from_bytes(&record.card)
        .map_err(|_| StoreError::Corrupt("a contact card is unreadable".into()))?;
    let address: MailboxAddress = postcard::from_bytes(&card.mailbox().0)
        .map_err(|_| StoreError::Corrupt("a contact's mailbox address is unreadable".into()))?;
    let proof = core.account.sender_proof();
    let session = core
        .sessions
        .get_mut(&contact)
        .ok_or_else(|| EngineError::Crypto("no session with this contact".into()))?;
    let ciphertext = session
        .encrypt(message)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let envelope =
        seal_pairwise(&mut *core.rng(), &proof, &ciphertext, card.seal_key()).map_err(|e| {
            if message.to_bytes().len() > boucle_crypto::MAX_PAYLOAD {
                EngineError::MessageTooLong(message.to_bytes().len())
            } else {
                EngineError::Crypto(e.to_string())
            }
        })?;
    Ok(OutboxRecord {
        message: visible,
        relay: address.relay.to_string(),
        recipients: vec![(*address.send_id.as_bytes(), envelope.header)],
        body: envelope.body,
        attempts: 0,
    })
}

/// Applies a reaction, edit or delete to a stored message.
pub(crate) fn apply_change(view: &mut MessageView, content: &Content, mine: bool) {
    match content {
        Content::Reaction { emoji, remove, .. } => {
            view.reactions
                .retain(|r| !(r.mine == mine && &r.emoji == emoji));
            if !remove {
                view.reactions.push(Reaction {
                    mine,
                    emoji: emoji.clone(),
                });
            }
        }
        // Only a text is edited this way (a poll or an event has its own rules, a file
        // never changes once sent).
        Content::Edit { text, .. }
            if !view.deleted && matches!(view.body, MessageBody::Text(_)) =>
        {
            view.body = MessageBody::Text(text.clone());
            view.edited = true;
        }
        Content::Delete { .. } => {
            view.body = MessageBody::Text(String::new());
            view.deleted = true;
            view.reactions.clear();
        }
        _ => {}
    }
}

/// Stores a message's view. A message stored for the first time also gets its expiry
/// (or, for a timer change, sets the conversation's timer): see `timers.rs`.
pub(crate) fn put_view(batch: &mut WriteBatch<'_>, view: &MessageView) -> Result<(), StoreError> {
    let conversation = view.conversation.key();
    let new = batch.get(MESSAGE_INDEX, &view.id.0)?.is_none();
    batch.put_value(MESSAGES, &message_key(&conversation, view.position), view)?;
    batch.put_value(
        MESSAGE_INDEX,
        &view.id.0,
        &MessageLocation {
            conversation,
            position: view.position,
        },
    )?;
    if new {
        super::expiry::on_first_store(batch, view)?;
    }
    Ok(())
}

pub(crate) fn find_view(core: &Core, id: &MessageId) -> Result<Option<MessageView>, EngineError> {
    let Some(location) = core
        .store
        .get_value::<MessageLocation>(MESSAGE_INDEX, &id.0)?
    else {
        return Ok(None);
    };
    let key = message_key(&location.conversation, location.position);
    match core.store.get(MESSAGES, &key)? {
        Some(bytes) => {
            let mut view = decode_view(&bytes)?;
            relabel(core, std::slice::from_mut(&mut view))?;
            Ok(Some(view))
        }
        None => Ok(None),
    }
}

/// Records who sent a loop message (once, when it first arrives).
pub(crate) fn put_sender(
    batch: &mut WriteBatch<'_>,
    id: &MessageId,
    sender: &MemberKey,
) -> Result<(), StoreError> {
    batch.put(MESSAGE_SENDERS, &id.0, &sender.0)
}

/// Forgets who sent a message deleted for good.
pub(crate) fn forget_sender(batch: &mut WriteBatch<'_>, id: &MessageId) -> Result<(), StoreError> {
    batch.delete(MESSAGE_SENDERS, &id.0).map(drop)
}

/// Who sent a loop message, if recorded.
pub(crate) fn sender_of(core: &Core, id: &MessageId) -> Result<Option<MemberKey>, EngineError> {
    Ok(core
        .store
        .get(MESSAGE_SENDERS, &id.0)?
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .map(MemberKey))
}

/// Names the senders of loop messages as we know them now: a member who became a
/// contact after writing is shown by name in what they wrote before.
pub(crate) fn relabel(core: &Core, views: &mut [MessageView]) -> Result<(), EngineError> {
    let mut names = None;
    for view in views
        .iter_mut()
        .filter(|v| v.sender.is_some() && !v.from_me)
    {
        let Some(sender) = sender_of(core, &view.id)? else {
            continue;
        };
        if names.is_none() {
            names = Some(loops::contacts_by_identity(core)?);
        }
        if let Some(names) = &names {
            view.sender = Some(loops::member_label(names, &sender));
        }
    }
    Ok(())
}

pub(crate) fn decode_view(bytes: &[u8]) -> Result<MessageView, EngineError> {
    postcard::from_bytes(bytes)
        .map_err(|_| StoreError::Corrupt("a message record is unreadable".into()).into())
}

/// Whether a pairwise message starts a session (and so consumed one of our one-time keys).
pub(crate) fn is_prekey(opened: &boucle_crypto::Opened) -> bool {
    opened.ciphertext_bytes().first() == Some(&1)
}
