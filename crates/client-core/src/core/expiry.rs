//! *Core side* (synchronous, sans-IO), below the history: the expiry index.
//!
//! Each conversation's disappearing-messages timer ([`TimerRecord`], set by the history
//! line that says so) and each stored message's expiry, indexed in expiry order so the
//! driver sleeps until the first one ([`next_expiry`]). The history (`messages.rs`)
//! writes it when it stores an entry for the first time ([`on_first_store`]); the rules
//! of who sets a timer and the sweep that deletes expired messages are the timers
//! feature's (`timers.rs`).

use boucle_crypto::MessageId;
use serde::{Deserialize, Serialize};

use super::Core;
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{BY_ID, MessageBody, MessageView};
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
    pub conversation: ConversationId,
    pub message: MessageId,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
