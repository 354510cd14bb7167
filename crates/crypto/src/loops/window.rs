//! Which Megolm message indices of one inbound session were read, so each is
//! accepted once; the session is ratcheted past the read prefix (forward
//! secrecy).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// How far past the oldest unread index a message may be before the unread
/// ones are given up (their keys discarded).
pub const MAX_SKIPPED: u32 = 2000;

#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct ReadWindow {
    /// Every index below `low` is read or given up.
    pub(crate) low: u32,
    /// Read indices above `low`.
    pub(crate) read_above: BTreeSet<u32>,
}

impl ReadWindow {
    pub(crate) fn starting_at(low: u32) -> Self {
        Self {
            low,
            read_above: BTreeSet::new(),
        }
    }

    pub(crate) fn is_fresh(&self, index: u32) -> bool {
        index >= self.low && !self.read_above.contains(&index)
    }

    /// Marks `index` read; returns the new `low` (the session may be advanced
    /// to it).
    pub(crate) fn mark(&mut self, index: u32) -> u32 {
        self.read_above.insert(index);
        while self.read_above.remove(&self.low) {
            self.low = self.low.saturating_add(1);
        }
        if let Some(&max) = self.read_above.last()
            && max - self.low > MAX_SKIPPED
        {
            {
                self.low = max - MAX_SKIPPED;
                self.read_above = self.read_above.split_off(&self.low);
                while self.read_above.remove(&self.low) {
                    self.low = self.low.saturating_add(1);
                }
            }
        }
        self.low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_advances_and_duplicates_are_refused() {
        let mut w = ReadWindow::starting_at(0);
        assert_eq!(w.mark(1), 0);
        assert!(!w.is_fresh(1));
        assert!(w.is_fresh(0));
        assert_eq!(w.mark(0), 2);
        assert!(!w.is_fresh(0));
        assert_eq!(w.mark(5000), 5000 - MAX_SKIPPED);
        assert!(!w.is_fresh(10));
    }
}
