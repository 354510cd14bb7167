//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::roles`.
//!
//! Roles: announcement loops and who may invite (normative:
//! `protocol-spec/organizing.md` §5).
//!
//! A loop's policy is part of its signed state, changed by an admin with `SetPolicy`.
//! In an announcement loop (`Posting::Admins`) only admins post; everyone still reacts,
//! votes and answers events. The rule is enforced twice: a member's own client refuses
//! to send a post it may not make, and every receiver ignores a post from a member who
//! may not make it (a modified client, or one that had not yet heard of the policy).

use boucle_crypto::{ControlOp, LoopId, LoopPolicy};

use super::Engine;
use crate::error::EngineError;

pub(crate) use crate::core::roles::*;

impl Engine {
    /// Sets who may post and who may invite in a loop (admins only).
    pub fn set_loop_policy(&self, id: LoopId, policy: LoopPolicy) -> Result<(), EngineError> {
        {
            let core = self.inner.core()?;
            let me = core.account.identity_keys().ed25519;
            let session = core.loops.get(&id).ok_or(EngineError::NotInLoop)?;
            if !session.state().is_admin(&me) {
                return Err(EngineError::NotAdmin);
            }
            if session.state().policy() == policy {
                return Ok(());
            }
        }
        self.change_loop(id, ControlOp::SetPolicy(policy))
    }
}
