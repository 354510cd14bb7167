//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Disappearing messages (normative: `protocol-spec/organizing.md` §6).
//!
//! Each conversation has a timer (off, 1 hour, 1 day, 1 week, 4 weeks). In a 1:1
//! conversation either side sets it with a `Timer` message and the latest one wins; in a
//! loop an admin sets it with a signed `SetTimer` change. A message stored while a timer
//! is set gets an expiry, fixed once, when it is first stored (`on_first_store`): the
//! earlier of its sending and its arrival, plus the timer. A sweep (at unlock, when the
//! next message is due, and on demand) deletes every expired message with everything
//! derived from it. The timer itself lives in `TIMERS`, written in the same transaction as the
//! "timer changed" line of the history, so the two never disagree.

use std::collections::BTreeMap;
use std::time::Duration;

use boucle_crypto::{ControlOp, LoopId, Message, MessageId};
use serde::{Deserialize, Serialize};

use super::Core;
use super::loops::{self, decode_history, sender_label};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::BY_ID;
use crate::model::{
    CONTACTS, LOOPS, LoopRecord, MESSAGE_INDEX, MESSAGES, MessageBody, MessageLocation,
    MessageView, message_key,
};
use crate::store::{KeyPart, StoreError, Table, WriteBatch};

/// The timer of each conversation: conversation key → [`TimerRecord`].
pub(crate) const TIMERS: Table = Table::new("timers", BY_ID);

/// Messages that will expire, in expiry order:
/// `expires_at (u64 BE) ‖ conversation (16) ‖ position (u64 BE)` → [`ExpiryEntry`].
pub(crate) const EXPIRY: Table = Table::new(
    "expiry",
    &[KeyPart::Clear(8), KeyPart::Id(16), KeyPart::Clear(8)],
);

/// When each expiring message expires: message id → `expires_at` (u64, unix ms).
pub(crate) const EXPIRES: Table = Table::new("expires", BY_ID);

/// The timers a client offers and sends, in seconds: off, 1 hour, 1 day, 1 week, 4 weeks.
pub const TIMER_CHOICES: [u32; 5] = [0, 3_600, 86_400, 604_800, 2_419_200];

/// How often shareable-card offers that did not get through are tried again.
pub(crate) const OFFER_RETRY: Duration = Duration::from_secs(60);

/// The longest the housekeeping sleeps without looking again (a clock stepped forward
/// by the system is noticed within this).
pub(crate) const HOUSEKEEPING_MAX_SLEEP: Duration = Duration::from_secs(300);

/// Messages deleted per write.
pub(crate) const SWEEP_BATCH: usize = 256;

/// A conversation's timer, and the change that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimerRecord {
    pub seconds: u32,
    /// `sent_at` of the change (the author's clock).
    pub set_at: u64,
    /// Message id of the change (the timer-change line's id).
    pub set_by: [u8; 16],
}

/// What an expiry entry points to.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(crate) struct ExpiryEntry {
    conversation: ConversationId,
    message: MessageId,
}

/// The stored timer of a conversation.
pub(crate) fn timer_record(
    core: &Core,
    conversation: ConversationId,
) -> Result<Option<TimerRecord>, EngineError> {
    Ok(core
        .store
        .get_value::<TimerRecord>(TIMERS, &conversation.key())?)
}

/// The history line of a timer change. `who` is `(from_me, sender label)`.
pub(crate) fn timer_line(
    conversation: ConversationId,
    id: MessageId,
    seconds: u32,
    who: (bool, Option<String>),
    sent_at: u64,
    received_at: u64,
    position: u64,
) -> MessageView {
    MessageView {
        id,
        conversation,
        from_me: who.0,
        sender: who.1,
        sent_at,
        received_at,
        body: MessageBody::TimerChanged { seconds },
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: None,
        position,
    }
}

/// Whether a `Timer` received from a contact takes effect: a value a client offers,
/// and a later change than the current one by `(sent_at, message id)`.
pub(crate) fn contact_timer_applies(
    core: &Core,
    conversation: ConversationId,
    message: &Message,
    seconds: u32,
) -> Result<bool, EngineError> {
    if !TIMER_CHOICES.contains(&seconds) {
        tracing::debug!("ignored a timer value no client offers");
        return Ok(false);
    }
    let current = timer_record(core, conversation)?;
    Ok(is_later(current.as_ref(), message.sent_at.0, &message.id))
}

/// The conflict rule of 1:1 timers: a change applies if its `(sent_at, id)` is greater
/// than the current one's (equal means the same change, received again: it applies
/// again, harmlessly).
pub(crate) fn is_later(current: Option<&TimerRecord>, sent_at: u64, id: &MessageId) -> bool {
    match current {
        None => true,
        Some(current) => (sent_at, id.0) >= (current.set_at, current.set_by),
    }
}

/// Called by `put_view` for a message stored for the first time, in the same write: a
/// timer change sets the conversation's timer; any other message gets its expiry from
/// the timer in force.
pub(crate) fn on_first_store(
    batch: &mut WriteBatch<'_>,
    view: &MessageView,
) -> Result<(), StoreError> {
    let key = view.conversation.key();
    if let MessageBody::TimerChanged { seconds } = view.body {
        let record = TimerRecord {
            seconds,
            set_at: view.sent_at,
            set_by: view.id.0,
        };
        return batch.put_value(TIMERS, &key, &record);
    }
    let Some(bytes) = batch.get(TIMERS, &key)? else {
        return Ok(());
    };
    let Ok(timer) = postcard::from_bytes::<TimerRecord>(&bytes) else {
        return Err(StoreError::Corrupt("a timer record is unreadable".into()));
    };
    let Some(expires_at) = expiry(view.sent_at, view.received_at, timer.seconds) else {
        return Ok(());
    };
    batch.put_value(
        EXPIRY,
        &expiry_key(expires_at, &key, view.position),
        &ExpiryEntry {
            conversation: view.conversation,
            message: view.id,
        },
    )?;
    batch.put_value(EXPIRES, &view.id.0, &expires_at)
}

/// When a message expires: `min(sent_at, received_at) + seconds` (a sender's clock
/// ahead of ours cannot make a message last longer), or never if the timer is off.
pub(crate) fn expiry(sent_at: u64, received_at: u64, seconds: u32) -> Option<u64> {
    (seconds > 0).then(|| {
        sent_at
            .min(received_at)
            .saturating_add(u64::from(seconds) * 1000)
    })
}

pub(crate) fn expiry_key(expires_at: u64, conversation: &[u8; 16], position: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&expires_at.to_be_bytes());
    key[8..24].copy_from_slice(conversation);
    key[24..].copy_from_slice(&position.to_be_bytes());
    key
}

/// If a loop's timer (in its signed state) differs from the stored one, the history line
/// saying so, ready to store with `put_view` (which records the new timer). Called
/// before every write of a loop's state.
pub(crate) fn loop_timer_line(
    core: &mut Core,
    id: LoopId,
    record: &LoopRecord,
) -> Result<Option<MessageView>, EngineError> {
    let Some(session) = core.loops.get(&id) else {
        return Ok(None);
    };
    let seconds = session.state().timer_secs();
    let conversation = loops::conversation(id);
    let stored = timer_record(core, conversation)?.map_or(0, |r| r.seconds);
    if seconds == stored {
        return Ok(None);
    }
    let now = core.now();
    let me = core.account.identity_keys().ed25519;
    let setter = decode_history(&record.history)?
        .iter()
        .rev()
        .find(|c| matches!(c.body().op, ControlOp::SetTimer(_)))
        .map(|c| (c.body().author.ed25519, c.body().issued_at.0));
    let who = match setter {
        Some((author, _)) if author == me => (true, None),
        Some((author, _)) => (
            false,
            Some(sender_label(core, &crate::ids::MemberKey(author))),
        ),
        None => (false, None),
    };
    let sent_at = setter.map_or(now, |(_, at)| at);
    core.counters.message += 1;
    Ok(Some(timer_line(
        conversation,
        MessageId::random(&mut *core.rng()),
        seconds,
        who,
        sent_at,
        now,
        core.counters.message,
    )))
}

/// When the next message expires (ms since the Unix epoch), if any does: the driver's
/// housekeeping sleeps until then.
pub(crate) fn next_expiry(core: &Core) -> Result<Option<u64>, EngineError> {
    let first = core.store.range(EXPIRY, &[0u8; 8], &[0xFF; 8], 1, false)?;
    Ok(first.first().and_then(|(key, _)| {
        key.get(..8)
            .and_then(|at| <[u8; 8]>::try_from(at).ok())
            .map(u64::from_be_bytes)
    }))
}

/// Deletes every expired message (and what derives from it); returns the ids deleted,
/// by conversation. Bounded: each round deletes what it read, and rounds stop when a
/// read comes back short.
pub(crate) fn sweep(core: &mut Core) -> Result<Vec<(ConversationId, Vec<MessageId>)>, EngineError> {
    let end = core.now().saturating_add(1).to_be_bytes();
    let mut expired: BTreeMap<[u8; 16], (ConversationId, Vec<MessageId>)> = BTreeMap::new();
    loop {
        let due = core
            .store
            .range(EXPIRY, &[0u8; 8], &end, SWEEP_BATCH, false)?;
        if due.is_empty() {
            break;
        }
        core.store.write(|batch| {
            for (key, value) in &due {
                batch.delete(EXPIRY, key)?;
                let Ok(entry) = postcard::from_bytes::<ExpiryEntry>(value) else {
                    continue;
                };
                let Some(position) = key.get(24..32).and_then(|p| <[u8; 8]>::try_from(p).ok())
                else {
                    continue;
                };
                let conversation = entry.conversation.key();
                let position = u64::from_be_bytes(position);
                batch.delete(MESSAGES, &message_key(&conversation, position))?;
                let indexed = batch
                    .get(MESSAGE_INDEX, &entry.message.0)?
                    .and_then(|b| postcard::from_bytes::<MessageLocation>(&b).ok())
                    .is_some_and(|l| l.conversation == conversation && l.position == position);
                if indexed {
                    batch.delete(MESSAGE_INDEX, &entry.message.0)?;
                }
                batch.delete(EXPIRES, &entry.message.0)?;
                delete_message_data(batch, entry.conversation, entry.message)?;
                expired
                    .entry(conversation)
                    .or_insert_with(|| (entry.conversation, Vec::new()))
                    .1
                    .push(entry.message);
            }
            Ok(())
        })?;
        if due.len() < SWEEP_BATCH {
            break;
        }
    }
    if !expired.is_empty() {
        tracing::debug!(conversations = expired.len(), "deleted expired messages");
        clamp_unread(core, expired.values().map(|(c, _)| *c))?;
    }
    Ok(expired.into_values().collect())
}

/// Deletes what derives from a message that is being deleted for good, in the same
/// write: its reactions, edits and delivery state live in its record (already deleted);
/// features that keep data of their own about a message delete it here.
pub(crate) fn delete_message_data(
    batch: &mut WriteBatch<'_>,
    conversation: ConversationId,
    message: MessageId,
) -> Result<(), StoreError> {
    // A poll or an agenda event lives on in its own table: it disappears with its
    // message, votes and answers included.
    let key = super::organized::item_key(conversation, message);
    batch.delete(crate::model::POLLS, &key)?;
    batch.delete(crate::model::EVENTS, &key)?;
    // A file goes with its message: chunks, upload state, everything but a tombstone.
    crate::core::files::delete_attachment_data(batch, &message)?;
    batch.delete(crate::model::MESSAGE_SENDERS, &message.0)?;
    // Not sent later to a contact who joins a loop after it disappeared here.
    super::kept::forget(batch, &message.0)?;
    Ok(())
}

/// After messages expired, a conversation cannot have more unread messages than it has
/// messages left.
pub(crate) fn clamp_unread(
    core: &Core,
    conversations: impl Iterator<Item = ConversationId>,
) -> Result<(), EngineError> {
    for conversation in conversations {
        let left = core.store.count(MESSAGES, &conversation.key())?;
        let left = u32::try_from(left).unwrap_or(u32::MAX);
        match conversation {
            ConversationId::Contact(id) => {
                if let Ok(mut record) = core.contact_record(&id)
                    && record.unread > left
                {
                    record.unread = left;
                    core.store
                        .write(|batch| batch.put_value(CONTACTS, &id.0, &record))?;
                }
            }
            ConversationId::Loop(id) => {
                if let Ok(mut record) = loops::loop_record(core, id)
                    && record.unread > left
                {
                    record.unread = left;
                    core.store
                        .write(|batch| batch.put_value(LOOPS, &id.0, &record))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(set_at: u64, id: u8) -> TimerRecord {
        TimerRecord {
            seconds: 3600,
            set_at,
            set_by: [id; 16],
        }
    }

    #[test]
    fn the_latest_change_wins_by_time_then_id() {
        assert!(is_later(None, 0, &MessageId([0; 16])));
        let current = record(1_000, 5);
        assert!(is_later(Some(&current), 1_001, &MessageId([0; 16])));
        assert!(!is_later(Some(&current), 999, &MessageId([9; 16])));
        // Same time: the greater id wins, whichever arrives first.
        assert!(is_later(Some(&current), 1_000, &MessageId([6; 16])));
        assert!(!is_later(Some(&current), 1_000, &MessageId([4; 16])));
        // The same change again (a redelivery) applies again.
        assert!(is_later(Some(&current), 1_000, &MessageId([5; 16])));
    }

    #[test]
    fn a_message_expires_from_the_earlier_of_sending_and_arrival() {
        assert_eq!(expiry(10_000, 12_000, 0), None);
        assert_eq!(expiry(10_000, 12_000, 3600), Some(3_610_000));
        // A sender's clock in the future does not make it last longer.
        assert_eq!(expiry(99_000_000, 12_000, 3600), Some(3_612_000));
        assert_eq!(expiry(u64::MAX, u64::MAX, 3600), Some(u64::MAX));
    }

    #[test]
    fn expiry_keys_sort_by_time_first() {
        let early = expiry_key(5, &[0xFF; 16], u64::MAX);
        let late = expiry_key(6, &[0; 16], 0);
        assert!(early < late);
        assert!(early[..8] < 6u64.to_be_bytes()[..]);
    }

    #[test]
    fn only_the_offered_timers_are_sent() {
        assert_eq!(TIMER_CHOICES, [0, 3600, 86_400, 7 * 86_400, 28 * 86_400]);
        assert_eq!(
            TIMER_CHOICES.last().copied(),
            Some(boucle_crypto::MAX_TIMER_SECS)
        );
    }
}
