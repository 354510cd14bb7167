//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::timers`, its public API in `crate::engine::timers`.
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

use crate::engine::timers::*;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Engine, Inner};

/// The engine's housekeeping, until it is locked: deletes expired messages when the
/// next one is due (the core says when; a newly stored message that expires sooner wakes
/// it), and tries shareable-card offers again every [`OFFER_RETRY`]. It sleeps in
/// between instead of polling.
pub(crate) async fn run(inner: Arc<Inner>) {
    let engine = Engine {
        inner: inner.clone(),
    };
    let mut next_offer = tokio::time::Instant::now() + OFFER_RETRY;
    loop {
        let woken = inner.housekeeping_wake.notified();
        if let Err(error) = engine.sweep_expired() {
            tracing::warn!(%error, "could not delete expired messages; will retry");
        }
        let now = tokio::time::Instant::now();
        if now >= next_offer {
            crate::engine::sharing::offer_pending(&inner);
            next_offer = now + OFFER_RETRY;
        }
        let until_expiry = match inner.core() {
            Ok(core) => match crate::core::expiry::next_expiry(&core) {
                Ok(Some(at)) => {
                    Duration::from_millis(at.saturating_sub(core.now()).saturating_add(1))
                }
                Ok(None) => HOUSEKEEPING_MAX_SLEEP,
                // Could not read: look again soon.
                Err(_) => Duration::from_secs(5),
            },
            Err(_) => return,
        };
        let wait = until_expiry
            .min(next_offer.saturating_duration_since(now))
            .min(HOUSEKEEPING_MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = woken => {}
        }
    }
}
