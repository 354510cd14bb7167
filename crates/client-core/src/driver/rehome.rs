//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::rehome`, its public API in `crate::engine::rehome`.
//!
//! Locked mailboxes per contact (client-protocol §2.1, relay-protocol §7).
//!
//! Whoever knows a mailbox's send id can fill it, unless the mailbox has a sender key.
//! So a contact's mailbox is locked: its owner makes a sender key for it and gives the
//! secret half to the contact alone, inside the end-to-end encrypted session, and the
//! relay refuses whatever is not signed with it.
//!
//! - Accepting an invitation (or a shared card), we make a locked mailbox for the new
//!   contact and send the key in our `Introduction`.
//! - A contact met on a mailbox others can write to (a one-time invitation whose link may
//!   have leaked, a shared card, or a mailbox of an older version that is not locked) is
//!   **rehomed**: we make a locked mailbox for them alone and send `Rehome{card, key}`.
//!   They answer `Rehomed` on the old mailbox, after everything they had queued for it;
//!   once we have read it nothing more of theirs comes there, and an old mailbox that was
//!   theirs alone (the invitation's) is deleted on the relay. A shared card's mailbox
//!   stays for the others.
//!
//! [`ContactKeys`] holds, per contact, the key to sign with when writing to them, and
//! how far the rehoming has come.

use crate::engine::rehome::*;
use std::sync::Arc;

use boucle_relay_client::RelayClient;
use boucle_wire::{PublicKey, ReceiveId};
use ed25519_dalek::SigningKey;

use crate::engine::{Engine, Inner, Mailbox};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::MailboxPurpose;

/// Sets the sender key of a mailbox made on this connection (setting it needs ownership
/// proven, which a subscription does; it is ended at once, the engine subscribes later).
pub(crate) async fn lock(
    client: &RelayClient,
    mailbox: &Mailbox,
    sender: &SigningKey,
) -> Result<(), boucle_relay_client::ClientError> {
    let receive_id = ReceiveId::from_bytes(mailbox.record.receive_id);
    let owner = SigningKey::from_bytes(&mailbox.record.owner_secret);
    let subscription = client.subscribe(receive_id, &owner).await?;
    drop(subscription);
    client
        .set_sender_key(
            receive_id,
            Some(PublicKey::from_bytes(sender.verifying_key().to_bytes())),
        )
        .await?;
    client.unsubscribe(receive_id).await
}

/// Makes a locked mailbox for `contact` and tells them (`Rehome`), retrying while the
/// relay cannot be reached.
pub(crate) async fn rehome(inner: Arc<Inner>, contact: ContactId) {
    let engine = Engine {
        inner: inner.clone(),
    };
    for attempt in 0..RETRIES {
        if attempt > 0 {
            tokio::time::sleep(RETRY_EVERY).await;
        }
        let still = inner
            .core()
            .is_ok_and(|core| keys(&core, &contact).is_ok_and(|k| k.rehome == Rehome::Needed));
        if !still {
            break;
        }
        let made = engine
            .new_locked_mailbox(MailboxPurpose::Contact(contact))
            .await;
        let result = match made {
            Ok((mailbox, sender)) => send_rehome(&inner, contact, mailbox, &sender),
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => break,
            Err(EngineError::Blocked | EngineError::UnknownContact(_)) => break,
            Err(error) => tracing::debug!(%error, "rehoming a contact deferred"),
        }
    }
    inner.rehoming_lock().remove(&contact);
    inner.progress.notify_waiters();
}

/// Deletes an old mailbox on its relay, then forgets it here.
pub(crate) async fn retire(inner: Arc<Inner>, receive_id: ReceiveId) {
    for attempt in 0..RETRIES {
        if attempt > 0 {
            tokio::time::sleep(RETRY_EVERY).await;
        }
        let Some((relay, owner)) = inner.core().ok().and_then(|core| {
            core.mailboxes
                .get(&receive_id)
                .map(|m| (m.relay.clone(), m.record.owner_secret))
        }) else {
            break;
        };
        let id = receive_id;
        inner.pool.forget(&relay, id);
        let deleted = async {
            let client = inner.pool.connect_fresh(&relay).await?;
            let result = async {
                let subscription = client
                    .subscribe(id, &SigningKey::from_bytes(&owner))
                    .await?;
                drop(subscription);
                client.delete_mailbox(id).await
            }
            .await;
            client.close();
            result
        }
        .await;
        let gone = match deleted {
            Ok(()) => true,
            // Deleted already (an earlier attempt whose answer was lost), or expired.
            Err(error) if error.code() == Some(boucle_wire::ErrorCode::UnknownMailbox) => true,
            Err(error) => {
                tracing::debug!(%error, "deleting an old mailbox deferred");
                false
            }
        };
        if gone {
            if let Ok(mut core) = inner.core()
                && let Err(error) = crate::core::rehome::forget_mailbox(&mut core, receive_id)
            {
                tracing::warn!(%error, "cannot forget a deleted mailbox");
            }
            inner.undrained_lock().remove(&receive_id);
            break;
        }
    }
    inner.retiring_lock().remove(&receive_id);
    inner.progress.notify_waiters();
}

/// Records the new mailbox and queues `Rehome` to the contact, in one write.
pub(crate) fn send_rehome(
    inner: &Inner,
    contact: ContactId,
    mailbox: Mailbox,
    sender: &SigningKey,
) -> Result<(), EngineError> {
    let mut core = inner.core()?;
    let receive_id = mailbox.record.receive();
    if crate::core::rehome::move_contact(&mut core, contact, mailbox, sender)? {
        inner.watch(&core, receive_id);
        drop(core);
        inner.changed();
    }
    Ok(())
}
