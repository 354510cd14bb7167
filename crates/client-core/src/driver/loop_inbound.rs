//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::loop_inbound`, its public API in `crate::engine::loop_inbound`.
//!
//! What arrives for loops: on our member mailboxes (loop messages, key shares, signed
//! changes) and, over contact sessions, invitations and join requests.

use std::sync::Arc;

use boucle_crypto::{Content, LoopId};

use crate::engine::loops::{loop_record, queue};
use crate::engine::messages::{new_message, seal_for};
use crate::engine::{Core, Engine, Event, Inner};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{ACCOUNT_KEY, LOOPS, LoopPhase, MAILBOXES, META, MailboxPurpose, SESSIONS};

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
    let result = (|| -> Result<(), EngineError> {
        let mut core = inner.core()?;
        let mut record = loop_record(&core, id)?;
        let LoopPhase::Invited { inviter } = record.phase else {
            return Ok(());
        };
        let card = core.account.member_card(
            mailbox.keys.seal_key(),
            crate::engine::contacts::card_address(&mailbox),
        );
        let join = new_message(&core, Content::LoopJoin { loop_id: id, card });
        let item = seal_for(&mut core, inviter, &join, None)?;
        record.phase = LoopPhase::Joining { inviter };
        record.my_mailbox = mailbox.record.receive_id;
        let account = core.account_pickle();
        let session = core.session_pickle(&inviter).unwrap_or_default();
        let Core {
            store, counters, ..
        } = &mut *core;
        store.write(|batch| {
            batch.put_value(LOOPS, &id.0, &record)?;
            batch.put_value(MAILBOXES, &mailbox.record.receive_id, &mailbox.record)?;
            batch.put(META, ACCOUNT_KEY, &account)?;
            batch.put(SESSIONS, &inviter.0, &session)?;
            queue(counters, batch, vec![item])
        })?;
        inner.watch_mailbox(&mailbox);
        core.mailboxes.insert(mailbox.record.receive(), mailbox);
        Ok(())
    })();
    match result {
        Ok(()) => {
            inner.changed();
            inner.emit(Event::LoopChanged(id));
        }
        Err(error) => tracing::warn!(%error, "could not join a loop"),
    }
    inner.progress.notify_waiters();
}
