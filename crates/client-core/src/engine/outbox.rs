//! Sending what is queued, in order per relay, with a visible state.
//!
//! Items are already sealed (see `messages.rs`), so a retry resends the same bytes. An
//! item leaves the outbox only once its relay has durably stored it, or refused it for
//! good (the message is then marked failed with the relay's reason). A relay that cannot
//! be reached holds back its own items, in order, and the others go on. A crash between
//! the relay's "stored" and the outbox update means one resend, which the recipient
//! drops by message id.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use boucle_wire::{BatchRecipient, Body, Envelope, ErrorCode, Header, RelayAddress, SendId};

use super::messages::{decode_view, put_view};
use super::{Event, Inner};
use crate::model::{DeliveryState, MESSAGES, OUTBOX, OutboxRecord, message_key};

/// How often the outbox is retried when nothing wakes it.
const RETRY: Duration = Duration::from_secs(2);
/// How long to wait for a relay connection before deferring its items.
const CONNECT_WAIT: Duration = Duration::from_secs(3);

pub(crate) async fn run(inner: Arc<Inner>) {
    loop {
        let _ = tokio::time::timeout(RETRY, inner.outbox_wake.notified()).await;
        send_all(&inner).await;
        inner.progress.notify_waiters();
    }
}

async fn send_all(inner: &Inner) {
    let mut send_keys = HashMap::new();
    let items: Vec<(Vec<u8>, OutboxRecord)> = match inner.core() {
        Ok(core) => match core.store.scan(OUTBOX, b"") {
            Ok(items) => {
                let items = items
                    .into_iter()
                    .filter_map(|(key, bytes)| Some((key, postcard::from_bytes(&bytes).ok()?)))
                    .collect();
                send_keys.clone_from(&core.send_keys);
                drop_orphans(&core, items)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox");
                return;
            }
        },
        Err(_) => return,
    };
    let mut held_back: HashSet<String> = HashSet::new();
    // Mailboxes that were full this round: later items to them wait as well, so each
    // recipient still gets its messages in order, while items to others go on.
    let mut full: HashMap<[u8; 16], DeliveryState> = HashMap::new();
    for (key, item) in items {
        if held_back.contains(&item.relay) || !super::files::still_queued(inner, &key) {
            continue;
        }
        if let Some(waiting) = item.recipients.iter().find_map(|(id, _)| full.get(id)) {
            // Behind a message to the same full mailbox: it waits for the same reason.
            keep(inner, &key, &item, false, Some(waiting.clone()));
            continue;
        }
        let (relay, body, recipients) = match prepare(&item, &send_keys) {
            Ok(parts) => parts,
            Err(reason) => {
                finish(inner, &key, &item, DeliveryState::Failed(reason.into()));
                continue;
            }
        };
        let Some(client) = inner.pool.connected(&relay, CONNECT_WAIT).await else {
            held_back.insert(item.relay.clone());
            continue;
        };
        // Waiting for the connection took time: the item's message may have expired (or
        // the upload been withdrawn) meanwhile.
        if !super::files::still_queued(inner, &key) || withdrawn_if_orphan(inner, &key, &item) {
            continue;
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
            Ok(outcomes) => settle(
                inner,
                &key,
                item,
                &relay,
                &outcomes,
                &mut full,
                &mut held_back,
            ),
            Err(error) => {
                tracing::debug!(%error, "send deferred");
                held_back.insert(item.relay.clone());
            }
        }
    }
}

/// What the relay's answers mean for an item: done (stored for every recipient it still
/// knows), failed for good, or kept for the recipients still to reach. A recipient whose
/// mailbox is gone (a member who left a loop) does not hold the others back; one whose
/// mailbox is full is retried, alone, until there is room.
fn settle(
    inner: &Inner,
    key: &[u8],
    mut item: OutboxRecord,
    relay: &RelayAddress,
    outcomes: &[Result<(), ErrorCode>],
    full: &mut HashMap<[u8; 16], DeliveryState>,
    held_back: &mut HashSet<String>,
) {
    let waiting = DeliveryState::MailboxFull {
        relay: format!("{}:{}", relay.host(), relay.port()),
    };
    let mut retry = Vec::new();
    let mut mailbox_full = false;
    let mut stored = outcomes.is_empty();
    let mut final_refusal = None;
    for (recipient, outcome) in item.recipients.iter().zip(outcomes) {
        match outcome {
            Ok(()) => stored = true,
            Err(code) if is_final(*code) => {
                final_refusal.get_or_insert(*code);
            }
            Err(code) => {
                if *code == ErrorCode::QuotaExceeded {
                    mailbox_full = true;
                    full.insert(recipient.0, waiting.clone());
                } else {
                    held_back.insert(item.relay.clone());
                }
                retry.push(recipient.clone());
            }
        }
    }
    if retry.is_empty() {
        let state = match final_refusal {
            Some(code) if !stored => DeliveryState::Failed(code.describe().to_owned()),
            _ => DeliveryState::Sent,
        };
        finish(inner, key, &item, state);
        return;
    }
    // Those already stored are not sent again.
    let changed = retry.len() != item.recipients.len();
    item.recipients = retry;
    item.attempts = item.attempts.saturating_add(1);
    keep(inner, key, &item, changed, mailbox_full.then_some(waiting));
}

/// Keeps an item for a later round (with fewer recipients when `changed`), and shows
/// why its message waits.
fn keep(
    inner: &Inner,
    key: &[u8],
    item: &OutboxRecord,
    changed: bool,
    waiting: Option<DeliveryState>,
) {
    let Ok(core) = inner.core() else { return };
    let mut updated = None;
    let result = core.store.write(|batch| {
        if batch.get(OUTBOX, key)?.is_none() {
            return Ok(());
        }
        if changed {
            batch.put_value(OUTBOX, key, item)?;
        }
        if let (Some(state), Some((conversation, position))) = (&waiting, item.message)
            && let Some(bytes) = batch.get(MESSAGES, &message_key(&conversation, position))?
            && let Ok(mut view) = decode_view(&bytes)
            && matches!(view.delivery, Some(DeliveryState::Queued))
        {
            view.delivery = Some(state.clone());
            put_view(batch, &view)?;
            updated = Some(view);
        }
        Ok(())
    });
    drop(core);
    match result {
        Ok(()) => {
            if let Some(view) = updated {
                inner.emit(Event::MessageUpdated(view));
            }
        }
        Err(error) => tracing::warn!(%error, "cannot update the outbox"),
    }
}

/// Removes the items whose message is gone before it could leave (it disappeared when
/// its timer ran out, say): a message that expired on this device is never sent. Returns
/// the others.
fn drop_orphans(
    core: &super::Core,
    items: Vec<(Vec<u8>, OutboxRecord)>,
) -> Vec<(Vec<u8>, OutboxRecord)> {
    let (orphans, items): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|(_, item)| message_gone(core, item));
    if !orphans.is_empty() {
        let removed = core.store.write(|batch| {
            for (key, _) in &orphans {
                batch.delete(OUTBOX, key)?;
            }
            Ok(())
        });
        match removed {
            Ok(()) => tracing::debug!(
                items = orphans.len(),
                "dropped unsent items of deleted messages"
            ),
            Err(error) => tracing::warn!(%error, "cannot update the outbox"),
        }
    }
    items
}

/// Whether the item carries a message that is no longer in the history.
fn message_gone(core: &super::Core, item: &OutboxRecord) -> bool {
    item.message.is_some_and(|(conversation, position)| {
        matches!(
            core.store
                .get(MESSAGES, &message_key(&conversation, position)),
            Ok(None)
        )
    })
}

/// Removes one item if its message is gone (see [`drop_orphans`]); whether it did.
fn withdrawn_if_orphan(inner: &Inner, key: &[u8], item: &OutboxRecord) -> bool {
    let Ok(core) = inner.core() else {
        return false;
    };
    let gone = message_gone(&core, item);
    if gone
        && let Err(error) = core
            .store
            .write(|batch| batch.delete(OUTBOX, key).map(|_| ()))
    {
        tracing::warn!(%error, "cannot update the outbox");
    }
    gone
}

/// The relay, body and recipients of an item (signed for the mailboxes locked with a
/// sender key we hold), or why it can never be sent.
fn prepare(
    item: &OutboxRecord,
    send_keys: &HashMap<[u8; 16], ed25519_dalek::SigningKey>,
) -> Result<(RelayAddress, Body, Vec<BatchRecipient>), &'static str> {
    let relay = item
        .relay
        .parse::<RelayAddress>()
        .map_err(|_| "the recipient's relay address is invalid")?;
    let body = Body::new(item.body.clone()).map_err(|_| "the message is too large for a relay")?;
    let recipients = item
        .recipients
        .iter()
        .map(|(send_id, header)| {
            let mut recipient = BatchRecipient {
                send_id: SendId::from_bytes(*send_id),
                header: Header::new(header.clone()).map_err(|_| "a header is too large")?,
                sender_signature: None,
            };
            super::rehome::sign(send_keys, &mut recipient, &body);
            Ok(recipient)
        })
        .collect::<Result<Vec<_>, &'static str>>()?;
    Ok((relay, body, recipients))
}

/// Refusals that a retry cannot change.
fn is_final(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UnknownMailbox
            | ErrorCode::EnvelopeTooLarge
            | ErrorCode::SenderNotAllowed
            | ErrorCode::Malformed
            | ErrorCode::UnsupportedVersion
    )
}

/// Removes an item from the outbox and records its message's new state.
fn finish(inner: &Inner, key: &[u8], item: &OutboxRecord, state: DeliveryState) {
    let Ok(core) = inner.core() else { return };
    let mut updated = None;
    let mut events = Vec::new();
    let result = core.store.write(|batch| {
        if !batch.delete(OUTBOX, key)? {
            return Ok(());
        }
        let chunk = super::files::on_outbox_done(batch, key, item.message, &state, &mut events)?;
        if let Some((conversation, position)) = item.message.filter(|_| !chunk) {
            let message = message_key(&conversation, position);
            if let Some(bytes) = batch.get(MESSAGES, &message)?
                && let Ok(mut view) = decode_view(&bytes)
                && view.delivery != Some(DeliveryState::Delivered)
            {
                view.delivery = Some(state.clone());
                put_view(batch, &view)?;
                updated = Some(view);
            }
        }
        Ok(())
    });
    drop(core);
    match result {
        Ok(()) => {
            if let Some(view) = updated {
                inner.emit(Event::MessageUpdated(view));
            }
            for event in events {
                inner.emit(event);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot update the outbox"),
    }
}
