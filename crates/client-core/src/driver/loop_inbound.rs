//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::loop_inbound`, its public API in `crate::engine::loop_inbound`.
//!
//! What arrives for loops: on our member mailboxes (loop messages, key shares, signed
//! changes) and, over contact sessions, invitations and join requests.

use std::sync::Arc;

use boucle_crypto::LoopId;

use crate::engine::loops::loop_record;
use crate::engine::{Engine, Event, Inner};
use crate::ids::ContactId;
use crate::model::{LoopPhase, MailboxPurpose};

/// Accepts a recorded loop invitation: a member mailbox on our home relay, then a join
/// request with its card to the inviting admin. If the relay cannot be reached, the
/// invitation stays recorded and is retried at the next unlock.
pub(crate) async fn accept_invitation(inner: Arc<Inner>, id: LoopId) {
    let engine = Engine {
        inner: inner.clone(),
    };
    let invited = |inner: &Inner| -> Option<ContactId> {
        let core = inner.core().ok()?;
        match loop_record(&core, id).ok()?.phase {
            LoopPhase::Invited { inviter } => Some(inviter),
            _ => None,
        }
    };
    if invited(&inner).is_none() {
        return;
    }
    let mailbox = match engine.new_mailbox(MailboxPurpose::Loop(id)).await {
        Ok(mailbox) => mailbox,
        Err(error) => {
            tracing::warn!(%error, "could not join a loop yet: no member mailbox; will retry");
            return;
        }
    };
    let result = inner.core().and_then(|mut core| {
        let receive_id = mailbox.record.receive();
        let joined = crate::core::loop_inbound::join(&mut core, id, mailbox)?;
        if joined {
            inner.watch(&core, receive_id);
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            inner.changed();
            inner.emit(Event::LoopChanged(id));
        }
        Err(error) => tracing::warn!(%error, "could not join a loop"),
    }
    inner.progress.notify_waiters();
}
