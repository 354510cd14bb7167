//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::rehome`.
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

use std::sync::Arc;

use boucle_wire::ReceiveId;

use ed25519_dalek::SigningKey;

use super::{Engine, Inner, Mailbox};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{CONTACTS, MailboxPurpose};

pub(crate) use crate::core::rehome::*;
pub(crate) use crate::driver::rehome::*;

impl Engine {
    /// A new mailbox on the home relay, locked with a fresh sender key (returned): the
    /// relay refuses what is not signed with it. Not yet persisted.
    pub(crate) async fn new_locked_mailbox(
        &self,
        purpose: MailboxPurpose,
    ) -> Result<(Mailbox, SigningKey), EngineError> {
        let mailbox = self.new_mailbox(purpose).await?;
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let sender = SigningKey::from_bytes(&secret);
        let home = mailbox.relay.clone();
        let client = self
            .inner
            .pool
            .connect_fresh(&home)
            .await
            .map_err(|e| EngineError::relay(&home, e))?;
        let locked = lock(&client, &mailbox, &sender).await;
        client.close();
        locked.map_err(|e| EngineError::relay(&home, e))?;
        Ok((mailbox, sender))
    }
}

/// Starts rehoming a contact, unless it is under way or not needed.
pub(crate) fn spawn(inner: &Arc<Inner>, contact: ContactId) {
    let needed = inner
        .core()
        .is_ok_and(|core| keys(&core, &contact).is_ok_and(|k| k.rehome == Rehome::Needed));
    if needed && inner.rehoming_lock().insert(contact) {
        // Kept with the engine's tasks: locking the profile stops it.
        let task = tokio::spawn(rehome(inner.clone(), contact));
        keep_task(inner, task);
    }
}

/// At unlock: rehomes every contact that needs it, and deletes the old mailboxes whose
/// deletion did not get through.
pub(crate) fn spawn_pending(inner: &Arc<Inner>) {
    let (contacts, retiring) = match inner.core() {
        Ok(core) => {
            let contacts: Vec<ContactId> = core
                .store
                .scan(CONTACTS, b"")
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(key, _)| Some(ContactId(key.as_slice().try_into().ok()?)))
                .collect();
            let retiring: Vec<ReceiveId> = core
                .mailboxes
                .values()
                .filter(|m| matches!(m.record.purpose, MailboxPurpose::Retiring))
                .map(|m| m.record.receive())
                .collect();
            (contacts, retiring)
        }
        Err(_) => return,
    };
    for contact in contacts {
        spawn(inner, contact);
    }
    for mailbox in retiring {
        spawn_retire(inner, mailbox);
    }
}

/// Starts deleting an old mailbox, unless that is under way.
pub(crate) fn spawn_retire(inner: &Arc<Inner>, mailbox: ReceiveId) {
    if inner.retiring_lock().insert(mailbox) {
        let task = tokio::spawn(retire(inner.clone(), mailbox));
        keep_task(inner, task);
    }
}

/// Keeps a task with the engine's (locking stops it), forgetting those that ended.
fn keep_task(inner: &Inner, task: tokio::task::JoinHandle<()>) {
    let mut tasks = inner.tasks_lock();
    tasks.retain(|t| !t.is_finished());
    tasks.push(task);
}
