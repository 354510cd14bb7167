//! *Driver side* of the outbox: the pump that sends what is queued, in order per relay,
//! over the relay connections; the core (`crate::core::outbox`) decides what is due
//! and what each answer means.
//!
//! Items are already sealed (see `messages.rs`), so a retry resends the same bytes. An
//! item leaves the outbox only once its relay has durably stored it, or refused it for
//! good (the message is then marked failed with the relay's reason). A relay that cannot
//! be reached holds back its own items, in order, and the others go on. A crash between
//! the relay's "stored" and the outbox update means one resend, which the recipient
//! drops by message id.

use std::sync::Arc;
use std::time::Duration;

use boucle_wire::{BatchRecipient, Envelope};

use super::Inner;
use crate::core::outbox::{Next, Round, settle, still_queued, withdrawn_if_orphan};

/// How often the outbox is retried when nothing wakes it.
pub(crate) const RETRY: Duration = Duration::from_secs(2);

/// How long to wait for a relay connection before deferring its items.
pub(crate) const CONNECT_WAIT: Duration = Duration::from_secs(3);

pub(crate) async fn run(inner: Arc<Inner>) {
    loop {
        let _ = tokio::time::timeout(RETRY, inner.outbox_wake.notified()).await;
        send_all(&inner).await;
        inner.progress.notify_waiters();
    }
}

/// One round: every item in order, each sent once at most; what the relays answer goes
/// to the core, and the events it returns to front ends.
pub(crate) async fn send_all(inner: &Inner) {
    let items = match inner.core() {
        Ok(core) => match crate::core::outbox::pending(&core) {
            Ok(items) => items,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox");
                return;
            }
        },
        Err(_) => return,
    };
    let mut round = Round::default();
    for (key, item) in items {
        let next = match inner.core() {
            Ok(core) => crate::core::outbox::next(&core, &key, &item, &round),
            Err(_) => return,
        };
        let (relay, body, recipients) = match next {
            Next::Skip => continue,
            Next::Settled(events) => {
                inner.emit_all(events);
                continue;
            }
            Next::Send(relay, body, recipients) => (relay, body, recipients),
        };
        let Some(client) = inner.pool.connected(&relay, CONNECT_WAIT).await else {
            round.held_back.insert(item.relay.clone());
            continue;
        };
        // Waiting for the connection took time: the item's message may have expired (or
        // the upload been withdrawn) meanwhile.
        match inner.core() {
            Ok(core) if still_queued(&core, &key) && !withdrawn_if_orphan(&core, &key, &item) => {}
            _ => continue,
        }
        // One outcome per recipient, in the item's order.
        let outcomes = match <[BatchRecipient; 1]>::try_from(recipients) {
            Ok([one]) => {
                let envelope = Envelope {
                    header: one.header,
                    body,
                };
                match client
                    .send_with_signature(one.send_id, envelope, one.sender_signature)
                    .await
                {
                    Ok(()) => Ok(vec![Ok(())]),
                    Err(error) => match error.code() {
                        Some(code) => Ok(vec![Err(code)]),
                        None => Err(error),
                    },
                }
            }
            Err(recipients) => client.send_batch(body, recipients).await,
        };
        match outcomes {
            Ok(outcomes) => {
                let events = match inner.core() {
                    Ok(core) => settle(&core, &key, item, &relay, &outcomes, &mut round),
                    Err(_) => return,
                };
                inner.emit_all(events);
            }
            Err(error) => {
                tracing::debug!(%error, "send deferred");
                round.held_back.insert(item.relay.clone());
            }
        }
    }
}
