//! Group loops: Megolm sender keys, key shares, rotation, and the signed
//! control messages that change a loop's members, admins and name.

mod control;
mod keyshare;
mod session;
mod state;
mod window;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use control::{ControlBody, ControlOp, Inviting, LoopPolicy, Posting, SignedControl};
pub use keyshare::KeyShare;
pub use session::{LoopCiphertext, LoopSession, RotationPolicy};
pub use state::{ControlEffect, LoopState, MAX_TIMER_SECS};
pub use window::MAX_SKIPPED;

use crate::hexfmt::Hex;

/// A loop's identifier: 16 random bytes chosen by its creator.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LoopId(pub [u8; 16]);

impl fmt::Debug for LoopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoopId({:?})", Hex(&self.0))
    }
}

impl LoopId {
    /// A fresh random id.
    pub fn random(rng: &mut impl rand::CryptoRng) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}
