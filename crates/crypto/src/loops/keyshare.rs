//! A key share: a sender's new Megolm session key and header key, sent to
//! each member over their pairwise session.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::LoopId;
use crate::seal::HeaderKey;

/// A sender's Megolm session key for one loop, plus the key of its envelope
/// headers. Secret: no `Serialize`; `Debug` shows only the loop id.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    #[zeroize(skip)]
    pub(crate) loop_id: LoopId,
    pub(crate) session_key: Vec<u8>,
    pub(crate) header_key: HeaderKey,
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("loop_id", &self.loop_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    loop_id: LoopId,
    #[serde(borrow)]
    session_key: &'a [u8],
    header_key: [u8; 32],
}

impl KeyShare {
    /// The loop it is for.
    pub fn loop_id(&self) -> LoopId {
        self.loop_id
    }

    /// postcard of `(loop_id[16], session_key bytes, header_key[32])`.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let wire = Wire {
            loop_id: self.loop_id,
            session_key: &self.session_key,
            header_key: self.header_key.0,
        };
        postcard::to_allocvec(&wire).unwrap_or_default()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let wire: Wire<'_> = postcard::from_bytes(bytes).ok()?;
        Some(Self {
            loop_id: wire.loop_id,
            session_key: wire.session_key.to_vec(),
            header_key: HeaderKey(wire.header_key),
        })
    }
}
