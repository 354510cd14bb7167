//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Disappearing messages (normative: `protocol-spec/organizing.md` §6).
//!
//! Each conversation has a timer (off, 1 hour, 1 day, 1 week, 4 weeks). In a 1:1
//! conversation either side sets it with a `Timer` message and the latest one wins; in a
//! loop an admin sets it with a signed `SetTimer` change. A message stored while a timer
//! is set gets an expiry, fixed once, when it is first stored (`expiry::on_first_store`): the
//! earlier of its sending and its arrival, plus the timer. A sweep (at unlock, when the
//! next message is due, and on demand) deletes every expired message with everything
//! derived from it. The timer itself lives in `TIMERS`, written in the same transaction as the
//! "timer changed" line of the history, so the two never disagree.

use std::collections::BTreeMap;
use std::time::Duration;

use boucle_crypto::{Message, MessageId};

use super::Core;
use super::expiry::{EXPIRES, EXPIRY, ExpiryEntry, TimerRecord, timer_record};
use super::loops;
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{CONTACTS, LOOPS, MESSAGE_INDEX, MESSAGES, MessageLocation, message_key};
use crate::store::{StoreError, WriteBatch};

/// The timers a client offers and sends, in seconds: off, 1 hour, 1 day, 1 week, 4 weeks.
pub const TIMER_CHOICES: [u32; 5] = [0, 3_600, 86_400, 604_800, 2_419_200];

/// How often shareable-card offers that did not get through are tried again.
pub(crate) const OFFER_RETRY: Duration = Duration::from_secs(60);

/// The longest the housekeeping sleeps without looking again (a clock stepped forward
/// by the system is noticed within this).
pub(crate) const HOUSEKEEPING_MAX_SLEEP: Duration = Duration::from_secs(300);

/// Messages deleted per write.
pub(crate) const SWEEP_BATCH: usize = 256;

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

/// Deletes every expired message (and what derives from it); returns the ids deleted,
/// by conversation. Bounded: each round deletes what it read, and rounds stop when a
/// read comes back short.
///
/// `erase` deletes, in the same write, what the features above the history keep about
/// a message (its poll, its file, ...): the history knows none of them, the dispatch
/// (`content::erase`) does.
pub(crate) fn sweep(
    core: &mut Core,
    erase: impl Fn(&mut WriteBatch<'_>, ConversationId, MessageId) -> Result<(), StoreError>,
) -> Result<Vec<(ConversationId, Vec<MessageId>)>, EngineError> {
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
                erase(batch, entry.conversation, entry.message)?;
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
    fn only_the_offered_timers_are_sent() {
        assert_eq!(TIMER_CHOICES, [0, 3600, 86_400, 7 * 86_400, 28 * 86_400]);
        assert_eq!(
            TIMER_CHOICES.last().copied(),
            Some(boucle_crypto::MAX_TIMER_SECS)
        );
    }
}
