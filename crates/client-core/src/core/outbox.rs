//! *Core side* of the outbox: which items are due, what a relay's answers mean for an
//! item, and the message states that follow. The driver (`crate::driver::outbox`) does
//! the sending, in the order [`pending`] gives, and reports each outcome here.
//!
//! Items are already sealed (see `messages.rs`), so a retry resends the same bytes. An
//! item leaves the outbox only once its relay has durably stored it, or refused it for
//! good (the message is then marked failed with the relay's reason). A relay that cannot
//! be reached holds back its own items, in order, and the others go on. A crash between
//! the relay's "stored" and the outbox update means one resend, which the recipient
//! drops by message id.

use std::collections::{HashMap, HashSet};

use boucle_wire::{BatchRecipient, Body, ErrorCode, Header, RelayAddress, SendId};

use super::messages::{decode_view, put_view};
use super::{Core, Event};
use crate::model::{DeliveryState, MESSAGES, OUTBOX, OutboxRecord, message_key};

/// What one round of sending has learnt so far, so that later items keep their order
/// behind earlier ones.
#[derive(Debug, Default)]
pub(crate) struct Round {
    /// Relays that could not be reached (or refused for a passing reason) this round:
    /// their later items wait.
    pub held_back: HashSet<String>,
    /// Mailboxes that were full this round: later items to them wait as well, so each
    /// recipient still gets its messages in order, while items to others go on.
    pub full: HashMap<[u8; 16], DeliveryState>,
}

/// What the round should do with an item, in the order [`pending`] returned them.
#[derive(Debug)]
pub(crate) enum Next {
    /// Skip it this round (its relay is held back, or it is no longer queued).
    Skip,
    /// Send it: to this relay, this body, these recipients.
    Send(RelayAddress, Body, Vec<BatchRecipient>),
    /// Nothing to send: these events tell what happened to it.
    Settled(Vec<Event>),
}

/// Every item of the outbox, in order, without those whose message is gone.
pub(crate) fn pending(
    core: &Core,
) -> Result<Vec<(Vec<u8>, OutboxRecord)>, crate::store::StoreError> {
    let items = core
        .store
        .scan(OUTBOX, b"")?
        .into_iter()
        .filter_map(|(key, bytes)| Some((key, postcard::from_bytes(&bytes).ok()?)))
        .collect();
    Ok(drop_orphans(core, items))
}

/// Whether an item is still in the outbox (an upload withdrawn, a message expired
/// meanwhile, take theirs out).
pub(crate) fn still_queued(core: &Core, key: &[u8]) -> bool {
    core.store.count(OUTBOX, key).ok().is_none_or(|n| n > 0)
}

/// Decides what to do with the next item of a round.
pub(crate) fn next(core: &Core, key: &[u8], item: &OutboxRecord, round: &Round) -> Next {
    if round.held_back.contains(&item.relay) || !still_queued(core, key) {
        return Next::Skip;
    }
    if let Some(waiting) = item
        .recipients
        .iter()
        .find_map(|(id, _)| round.full.get(id))
    {
        // Behind a message to the same full mailbox: it waits for the same reason.
        return Next::Settled(keep(core, key, item, false, Some(waiting.clone())));
    }
    match prepare(item, &core.send_keys) {
        Ok((relay, body, recipients)) => Next::Send(relay, body, recipients),
        Err(reason) => Next::Settled(finish(
            core,
            key,
            item,
            DeliveryState::Failed(reason.into()),
        )),
    }
}

/// What the relay's answers mean for an item: done (stored for every recipient it still
/// knows), failed for good, or kept for the recipients still to reach. A recipient whose
/// mailbox is gone (a member who left a loop) does not hold the others back; one whose
/// mailbox is full is retried, alone, until there is room.
pub(crate) fn settle(
    core: &Core,
    key: &[u8],
    mut item: OutboxRecord,
    relay: &RelayAddress,
    outcomes: &[Result<(), ErrorCode>],
    round: &mut Round,
) -> Vec<Event> {
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
                    round.full.insert(recipient.0, waiting.clone());
                } else {
                    round.held_back.insert(item.relay.clone());
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
        return finish(core, key, &item, state);
    }
    // Those already stored are not sent again.
    let changed = retry.len() != item.recipients.len();
    item.recipients = retry;
    item.attempts = item.attempts.saturating_add(1);
    keep(core, key, &item, changed, mailbox_full.then_some(waiting))
}

/// Keeps an item for a later round (with fewer recipients when `changed`), and shows
/// why its message waits.
pub(crate) fn keep(
    core: &Core,
    key: &[u8],
    item: &OutboxRecord,
    changed: bool,
    waiting: Option<DeliveryState>,
) -> Vec<Event> {
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
    match result {
        Ok(()) => updated.map(Event::MessageUpdated).into_iter().collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot update the outbox");
            Vec::new()
        }
    }
}

/// Removes the items whose message is gone before it could leave (it disappeared when
/// its timer ran out, say): a message that expired on this device is never sent. Returns
/// the others.
pub(crate) fn drop_orphans(
    core: &Core,
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
pub(crate) fn message_gone(core: &Core, item: &OutboxRecord) -> bool {
    item.message.is_some_and(|(conversation, position)| {
        matches!(
            core.store
                .get(MESSAGES, &message_key(&conversation, position)),
            Ok(None)
        )
    })
}

/// Removes one item if its message is gone (see [`drop_orphans`]); whether it did.
pub(crate) fn withdrawn_if_orphan(core: &Core, key: &[u8], item: &OutboxRecord) -> bool {
    let gone = message_gone(core, item);
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
pub(crate) fn prepare(
    item: &OutboxRecord,
    send_keys: &HashMap<SendId, ed25519_dalek::SigningKey>,
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
pub(crate) fn is_final(code: ErrorCode) -> bool {
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
pub(crate) fn finish(
    core: &Core,
    key: &[u8],
    item: &OutboxRecord,
    state: DeliveryState,
) -> Vec<Event> {
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
    match result {
        Ok(()) => updated
            .map(Event::MessageUpdated)
            .into_iter()
            .chain(events)
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot update the outbox");
            Vec::new()
        }
    }
}
