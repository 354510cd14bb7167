//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::timers`.
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

use boucle_crypto::{Content, ControlOp, Message, MessageId, Timestamp};

use super::loops::{self};
use super::messages::{encrypt_for, put_view};
use super::{Core, Engine, Event};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{CONTACTS, SESSIONS};

pub(crate) use crate::core::expiry::*;
pub(crate) use crate::core::timers::*;
pub(crate) use crate::driver::timers::*;

impl Engine {
    /// Sets the disappearing-messages timer of a conversation, in seconds: one of
    /// [`TIMER_CHOICES`] (0 turns it off). In a 1:1 conversation either side may set it;
    /// in a loop only admins. Messages already stored keep the expiry they had.
    pub fn set_timer(&self, conversation: ConversationId, seconds: u32) -> Result<(), EngineError> {
        if !TIMER_CHOICES.contains(&seconds) {
            return Err(EngineError::InvalidTimer(seconds));
        }
        match conversation {
            ConversationId::Loop(id) => {
                {
                    let core = self.inner.core()?;
                    let me = core.account.identity_keys().ed25519;
                    let session = core.loops.get(&id).ok_or(EngineError::NotInLoop)?;
                    if !session.state().is_admin(&me) {
                        return Err(EngineError::NotAdmin);
                    }
                    if session.state().timer_secs() == seconds {
                        return Ok(());
                    }
                }
                self.change_loop(id, ControlOp::SetTimer(seconds))
            }
            ConversationId::Contact(contact) => {
                let mut core = self.inner.core()?;
                let current = timer_record(&core, conversation)?;
                if current.map_or(0, |r| r.seconds) == seconds {
                    return Ok(());
                }
                // Later than the change it replaces, even if our clock is behind the
                // other side's: the latest change wins on both sides.
                let now = core.now();
                let sent_at = current.map_or(now, |r| now.max(r.set_at.saturating_add(1)));
                let message = Message {
                    id: MessageId::random(&mut *core.rng()),
                    sent_at: Timestamp(sent_at),
                    content: Content::Timer { seconds },
                };
                core.counters.message += 1;
                let view = timer_line(
                    conversation,
                    message.id,
                    seconds,
                    (true, None),
                    sent_at,
                    now,
                    core.counters.message,
                );
                let items = encrypt_for(&mut core, conversation, &message, None)?;
                let mut record = core.contact_record(&contact)?;
                record.last_activity = now;
                let session = core.session_pickle(&contact).unwrap_or_default();
                let Core {
                    store, counters, ..
                } = &mut *core;
                store.write(|batch| {
                    put_view(batch, &view)?;
                    batch.put(SESSIONS, &contact.0, &session)?;
                    batch.put_value(CONTACTS, &contact.0, &record)?;
                    loops::queue(counters, batch, items)
                })?;
                drop(core);
                self.inner.changed();
                Ok(())
            }
        }
    }

    /// The disappearing-messages timer of a conversation, in seconds (0: off).
    pub fn timer(&self, conversation: ConversationId) -> Result<u32, EngineError> {
        let core = self.inner.core()?;
        if let ConversationId::Loop(id) = conversation
            && let Some(session) = core.loops.get(&id)
        {
            return Ok(session.state().timer_secs());
        }
        Ok(timer_record(&core, conversation)?.map_or(0, |r| r.seconds))
    }

    /// When a message will be deleted (unix ms), if it is set to disappear.
    pub fn expires_at(&self, message: MessageId) -> Result<Option<u64>, EngineError> {
        let core = self.inner.core()?;
        Ok(core.store.get_value::<u64>(EXPIRES, &message.0)?)
    }

    /// Deletes every message whose time is up, now (the engine also does it by itself
    /// when the next one is due). Returns how many were deleted; each conversation concerned
    /// gets an [`Event::MessagesExpired`].
    pub fn sweep_expired(&self) -> Result<usize, EngineError> {
        let expired = {
            let mut core = self.inner.core()?;
            sweep(&mut core, crate::core::content::erase)?
        };
        let count = expired.iter().map(|(_, ids)| ids.len()).sum();
        for (conversation, ids) in expired {
            self.inner
                .emit(Event::MessagesExpired { conversation, ids });
        }
        Ok(count)
    }
}
