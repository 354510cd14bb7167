//! What we post in a loop before the contacts we invited have joined it
//! (`client-protocol.md` §5.1, `client-store.md` §14).
//!
//! A loop's members are the people who have joined it: an invited contact becomes one
//! when its answer reaches us and we add it. Until then, what we post in the loop —
//! texts, replies, reactions, edits, polls and votes, events and answers, files, shared
//! contacts — is **kept** for each contact still to join: the message itself, sealed at
//! rest like the history. When one of them joins, it is sent to them alone, in the order
//! it was posted, under a sending key shared with them only (the other members get a
//! fresh key before our next message). Signed changes (policy, timer, name, admins)
//! need no keeping: a newcomer gets the loop's whole signed history.
//!
//! Only the inviter knows that an invitation is pending, so only the inviter keeps: what
//! another member posts before a newcomer is added is not resent to them.
//!
//! Kept messages are written in the transaction that stores the message and its outbox
//! items (`loops::commit_loop`), so a crash cannot keep one without the other. A message
//! deleted here (by its author, or when its timer runs out) is no longer kept, nor is
//! anything about it.

use std::collections::BTreeSet;

use boucle_crypto::{ContactCard, Content, LoopId, Message, Timestamp};
use serde::{Deserialize, Serialize};

use super::{loop_record, to_member};
use crate::core::Core;
use crate::core::loops;
use crate::core::messages::new_message;
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{BY_ID, DeliveryState, OutboxRecord};
use crate::store::{KeyPart, StoreError, Table, WriteBatch};

/// loop id ‖ counter (in posting order, per loop) → [`KeptRecord`].
pub(crate) const KEPT: Table =
    Table::new("kept_for_invited", &[KeyPart::Id(16), KeyPart::Clear(8)]);

/// message id → the keys in [`KEPT`] of what is kept about that message (itself, and
/// its reactions, edits, votes, answers and file chunks), so that deleting a message
/// deletes what is kept of it in the same write.
pub(crate) const KEPT_INDEX: Table = Table::new("kept_index", BY_ID);

/// Key of a kept message: loop id ‖ counter (big-endian).
pub(crate) type KeptKey = [u8; 24];

/// A message kept for the contacts invited into a loop who have not joined yet.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeptRecord {
    /// The message (`Message::to_bytes`), as the members got it (same id and time).
    pub message: Vec<u8>,
    /// Its entry in our history, if it has one (conversation, position).
    pub visible: Option<([u8; 16], u64)>,
    /// The message of our history it belongs to: itself, or what it reacts to, edits,
    /// votes in, answers or carries a chunk of.
    pub about: [u8; 16],
    /// The invited contacts it is still kept for.
    pub waiting: Vec<ContactId>,
}

/// What encrypting a loop message left to write (see [`Core::kept`]).
pub(crate) enum Pending {
    /// Keep this message for these contacts.
    Keep(LoopId, KeptRecord),
    /// Keep nothing more about this message (its author deleted it).
    Forget([u8; 16]),
    /// Keep nothing more for this loop (we left it).
    ForgetLoop(LoopId),
}

/// Called for every message we encrypt for a loop: while contacts we invited have not
/// joined, it is kept for them (written with the message, by [`prepare`]).
pub(crate) fn note(
    core: &mut Core,
    id: LoopId,
    message: &Message,
    visible: Option<([u8; 16], u64)>,
) -> Result<(), EngineError> {
    if let Content::Delete { target } = &message.content {
        // What is deleted before they join is not sent to them at all.
        core.kept.push(Pending::Forget(target.0));
        return Ok(());
    }
    let waiting = loop_record(core, id)?.invited;
    if waiting.is_empty() {
        return Ok(());
    }
    core.kept.push(Pending::Keep(
        id,
        KeptRecord {
            message: message.to_bytes(),
            visible,
            about: about(message),
            waiting,
        },
    ));
    Ok(())
}

/// The message of the history that `message` belongs to.
pub(crate) fn about(message: &Message) -> [u8; 16] {
    match &message.content {
        Content::Reaction { to, .. } => to.0,
        Content::Edit { target, .. } | Content::Delete { target } => target.0,
        Content::Vote { poll, .. } | Content::ClosePoll { poll } => poll.0,
        Content::EditEvent { event, .. }
        | Content::CancelEvent { event }
        | Content::Rsvp { event, .. } => event.0,
        Content::FileChunk { attachment, .. } => attachment.0,
        _ => message.id.0,
    }
}

/// The delivery state a new message of ours starts with: queued if an outbox item
/// carries it; else kept for the invited contacts still to join; else nobody else is in
/// the loop, and nothing will ever send it.
pub(crate) fn initial_delivery(
    core: &Core,
    items: &[OutboxRecord],
    visible: Option<([u8; 16], u64)>,
) -> DeliveryState {
    if visible.is_none() || items.iter().any(|item| item.message == visible) {
        return DeliveryState::Queued;
    }
    let kept = core.kept.iter().find_map(|pending| match pending {
        Pending::Keep(_, record) if record.visible == visible => Some(record.waiting.len()),
        _ => None,
    });
    match kept {
        Some(members) => {
            DeliveryState::WaitingForMembers(u32::try_from(members).unwrap_or(u32::MAX))
        }
        None => DeliveryState::Failed("nobody else is in this loop".into()),
    }
}

/// Writes to make for what [`note`] collected (the buffer is emptied). Read before the
/// write, under the same lock: each loop's next counter, and what a loop we left keeps.
pub(crate) fn prepare(core: &mut Core) -> Result<Writes, EngineError> {
    let pending = std::mem::take(&mut core.kept);
    let mut writes = Writes::default();
    let mut next: std::collections::HashMap<LoopId, u64> = std::collections::HashMap::new();
    for item in pending {
        match item {
            Pending::Keep(id, record) => {
                let counter = match next.get(&id) {
                    Some(n) => *n,
                    None => last_counter(core, id)? + 1,
                };
                next.insert(id, counter + 1);
                writes.ops.push(Op::Put(key(id, counter), record));
            }
            Pending::Forget(message) => writes.ops.push(Op::Forget(message)),
            Pending::ForgetLoop(id) => {
                for (key, bytes) in core.store.scan(KEPT, &id.0)? {
                    let record = decode(&bytes)?;
                    writes.ops.push(Op::Delete(to_key(&key)?, record.about));
                }
            }
        }
    }
    Ok(writes)
}

/// Writes about kept messages, made in the transaction of the change that caused them.
#[derive(Default)]
pub(crate) struct Writes {
    ops: Vec<Op>,
}

pub(crate) enum Op {
    /// Keep (or keep still, for fewer contacts) a message.
    Put(KeptKey, KeptRecord),
    /// It is sent to everyone it was kept for (or its loop was left).
    Delete(KeptKey, [u8; 16]),
    /// Everything kept about a message.
    Forget([u8; 16]),
}

impl Writes {
    pub(crate) fn write(&self, batch: &mut WriteBatch<'_>) -> Result<(), StoreError> {
        for op in &self.ops {
            match op {
                Op::Put(key, record) => {
                    let mut index = index_of(batch, &record.about)?;
                    if !index.contains(key) {
                        index.push(*key);
                        batch.put_value(KEPT_INDEX, &record.about, &index)?;
                    }
                    batch.put_value(KEPT, key, record)?;
                }
                Op::Delete(key, about) => {
                    batch.delete(KEPT, key)?;
                    let mut index = index_of(batch, about)?;
                    index.retain(|k| k != key);
                    if index.is_empty() {
                        batch.delete(KEPT_INDEX, about)?;
                    } else {
                        batch.put_value(KEPT_INDEX, about, &index)?;
                    }
                }
                Op::Forget(message) => forget(batch, message)?,
            }
        }
        Ok(())
    }
}

/// Deletes everything kept about a message (called when it is deleted for good).
pub(crate) fn forget(batch: &mut WriteBatch<'_>, message: &[u8; 16]) -> Result<(), StoreError> {
    for key in index_of(batch, message)? {
        batch.delete(KEPT, &key)?;
    }
    batch.delete(KEPT_INDEX, message)?;
    Ok(())
}

/// A contact we invited joined: what was kept for them, sealed to their member mailbox
/// alone, in order, each batch of messages after the key it is encrypted with; and the
/// writes that take them off the kept records. Called after the loop's session has
/// applied their `AddMember`.
pub(crate) fn deliver(
    core: &mut Core,
    id: LoopId,
    contact: ContactId,
    card: &ContactCard,
) -> Result<(Vec<OutboxRecord>, Writes), EngineError> {
    let mut items = Vec::new();
    let mut writes = Writes::default();
    let kept = core.store.scan(KEPT, &id.0)?;
    let me = core.account.identity_keys();
    let mut sent_any = false;
    for (key, bytes) in kept {
        let key = to_key(&key)?;
        let mut record = decode(&bytes)?;
        if !record.waiting.contains(&contact) {
            continue;
        }
        record.waiting.retain(|c| *c != contact);
        let message = Message::from_bytes(&record.message)
            .map_err(|_| StoreError::Corrupt("a kept loop message is unreadable".into()))?;
        let now = Timestamp(core.now());
        let session = core.loops.get_mut(&id).ok_or(EngineError::NotInLoop)?;
        // The first time (the membership just changed), and every `max_messages`: a key
        // for the newcomer alone.
        let share = if session.rotation_due(now) {
            Some(
                session
                    .rotate(&mut *core.rng.borrow_mut(), now)
                    .map_err(|e| EngineError::Crypto(e.to_string()))?,
            )
        } else {
            None
        };
        let ciphertext = session
            .encrypt(&message, now)
            .map_err(|e| EngineError::Crypto(e.to_string()))?;
        if let Some(share) = share {
            let keys = new_message(core, Content::KeyShare(share));
            items.push(to_member(core, card, &keys)?);
        }
        items.extend(loops::seal_to(
            &mut *core.rng(),
            &me,
            &ciphertext,
            std::slice::from_ref(card),
            record.visible,
        )?);
        sent_any = true;
        if record.waiting.is_empty() {
            writes.ops.push(Op::Delete(key, record.about));
        } else {
            writes.ops.push(Op::Put(key, record));
        }
    }
    if sent_any && let Some(session) = core.loops.get_mut(&id) {
        // The key the newcomer got encrypts nothing the others will see.
        session.rotate_before_next_send();
    }
    Ok((items, writes))
}

/// How much is kept for contacts still to join, over every loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AwaitingMembers {
    /// Messages of ours (with what belongs to them: votes, reactions, file chunks...)
    /// kept until someone joins.
    pub messages: usize,
    /// Invited contacts they wait for.
    pub members: usize,
}

pub(crate) fn summary(core: &Core) -> Result<AwaitingMembers, EngineError> {
    let mut messages = BTreeSet::new();
    let mut members = BTreeSet::new();
    for (key, bytes) in core.store.scan(KEPT, b"")? {
        let record = decode(&bytes)?;
        let loop_id: [u8; 16] = to_key(&key)?[..16].try_into().unwrap_or_default();
        messages.insert(record.about);
        for contact in record.waiting {
            members.insert((loop_id, contact));
        }
    }
    Ok(AwaitingMembers {
        messages: messages.len(),
        members: members.len(),
    })
}

pub(crate) fn last_counter(core: &Core, id: LoopId) -> Result<u64, EngineError> {
    let last = core
        .store
        .range(KEPT, &key(id, 0), &key(id, u64::MAX), 1, true)?;
    Ok(match last.first() {
        Some((key, _)) => counter(&to_key(key)?),
        None => 0,
    })
}

pub(crate) fn key(id: LoopId, counter: u64) -> KeptKey {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(&id.0);
    key[16..].copy_from_slice(&counter.to_be_bytes());
    key
}

pub(crate) fn counter(key: &KeptKey) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&key[16..]);
    u64::from_be_bytes(bytes)
}

pub(crate) fn to_key(bytes: &[u8]) -> Result<KeptKey, StoreError> {
    KeptKey::try_from(bytes).map_err(|_| corrupt())
}

pub(crate) fn decode(bytes: &[u8]) -> Result<KeptRecord, StoreError> {
    postcard::from_bytes(bytes).map_err(|_| corrupt())
}

pub(crate) fn index_of(
    batch: &mut WriteBatch<'_>,
    message: &[u8; 16],
) -> Result<Vec<KeptKey>, StoreError> {
    match batch.get(KEPT_INDEX, message)? {
        Some(bytes) => postcard::from_bytes(&bytes).map_err(|_| corrupt()),
        None => Ok(Vec::new()),
    }
}

pub(crate) fn corrupt() -> StoreError {
    StoreError::Corrupt("a message kept for invited members is unreadable".into())
}
