//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::blocking`.
//!
//! Blocking a contact. Nothing they send is shown or kept, and nothing can be sent to
//! them. Their envelopes are still opened and decrypted, then dropped, so that their
//! session moves on and unblocking needs no new invitation. They are not told: their
//! relay still stores what they send, and they get no delivery receipts. In a loop they
//! stay a member: their posts and reactions are not kept, their votes and answers count.

use super::Engine;
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{BLOCKED, Contact};

pub(crate) use crate::core::blocking::*;

impl Engine {
    /// Blocks a contact (see the module docs). Their earlier messages stay.
    pub fn block(&self, id: ContactId) -> Result<Contact, EngineError> {
        self.set_blocked(id, true)
    }

    /// Unblocks a contact: what they send from now on is shown again (what they sent
    /// while blocked is gone).
    pub fn unblock(&self, id: ContactId) -> Result<Contact, EngineError> {
        self.set_blocked(id, false)
    }

    fn set_blocked(&self, id: ContactId, blocked: bool) -> Result<Contact, EngineError> {
        let core = self.inner.core()?;
        core.contact_record(&id)?;
        core.store.write(|batch| {
            if blocked {
                batch.put(BLOCKED, &id.0, &[])
            } else {
                batch.delete(BLOCKED, &id.0).map(|_| ())
            }
        })?;
        drop(core);
        self.contact(id)
    }
}
