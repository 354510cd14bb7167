//! Time as the caller supplies it.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since the Unix epoch, supplied by the
/// caller (this crate never reads a clock).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Milliseconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
