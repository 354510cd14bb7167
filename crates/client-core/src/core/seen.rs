//! Which envelopes were already processed: for each of our mailboxes, the highest seq
//! whose effects are stored (`client-protocol.md` §3, `client-store.md` §8).
//!
//! A relay delivers each mailbox's envelopes in increasing seq order, never reuses a
//! seq, and delivers again, from the lowest, whatever was not acknowledged
//! (`relay-protocol.md` §1, §5). The engine processes them in that order, and when it
//! cannot store one (a full disk) it leaves the rest of that mailbox unprocessed until
//! the relay delivers them again. So everything at or below a mailbox's mark was
//! processed, and one record per mailbox replaces a record per envelope: what junk
//! sent to a leaked send id leaves in the profile is bounded by the number of
//! mailboxes, not by what arrived.

use boucle_wire::{ReceiveId, Seq};

use super::Core;
use crate::error::EngineError;
use crate::model::BY_ID;
use crate::store::{KeyPart, ProfileStore, StoreError, Table, WriteBatch};

/// receive id → the highest seq processed (u64).
pub(crate) const PROCESSED: Table = Table::new("processed", BY_ID);

/// What the version 1 store kept instead: receive id ‖ seq → nothing, one record per
/// envelope. Read once, on the first unlock after the upgrade, and emptied.
pub(crate) const LEGACY_SEEN: Table = Table::new("seen", &[KeyPart::Id(16), KeyPart::Clear(8)]);

/// One delivered envelope: written as processed in the transaction that stores its
/// effects.
#[derive(Clone, Copy)]
pub(crate) struct Seen {
    receive_id: [u8; 16],
    seq: u64,
}

impl Seen {
    pub(crate) fn new(receive_id: &ReceiveId, seq: Seq) -> Seen {
        Seen {
            receive_id: *receive_id.as_bytes(),
            seq: seq.0,
        }
    }

    /// Whether this envelope, or a later one of its mailbox, was processed already.
    pub(crate) fn already(&self, store: &ProfileStore) -> Result<bool, StoreError> {
        let mark: Option<u64> = store.get_value(PROCESSED, &self.receive_id)?;
        Ok(mark.is_some_and(|mark| self.seq <= mark))
    }

    /// Records it as processed (the mark never goes back).
    pub(crate) fn record(&self, batch: &mut WriteBatch<'_>) -> Result<(), StoreError> {
        let mark = match batch.get(PROCESSED, &self.receive_id)? {
            Some(bytes) => Some(postcard::from_bytes::<u64>(&bytes).map_err(|_| unreadable())?),
            None => None,
        };
        if mark.is_none_or(|mark| self.seq > mark) {
            batch.put_value(PROCESSED, &self.receive_id, &self.seq)?;
        }
        Ok(())
    }
}

pub(crate) fn unreadable() -> StoreError {
    StoreError::Corrupt("a record of processed envelopes is unreadable".into())
}

/// Turns the version 1 records (one per envelope) into marks (one per mailbox), in one
/// transaction. The highest seq seen becomes the mark: an envelope below it that was
/// not processed (its handling failed for another reason than the disk, and a later
/// one of its mailbox was processed) counts as processed, as it would from now on.
pub(crate) fn convert_legacy(store: &ProfileStore) -> Result<(), StoreError> {
    if store.count(LEGACY_SEEN, b"")? == 0 {
        return Ok(());
    }
    let legacy = store.scan(LEGACY_SEEN, b"")?;
    let mut marks: std::collections::HashMap<[u8; 16], u64> = std::collections::HashMap::new();
    for (key, _) in &legacy {
        let (Some(receive_id), Some(seq)) = (
            key.get(..16).and_then(|k| <[u8; 16]>::try_from(k).ok()),
            key.get(16..).and_then(|k| <[u8; 8]>::try_from(k).ok()),
        ) else {
            return Err(unreadable());
        };
        let seq = u64::from_be_bytes(seq);
        let mark = marks.entry(receive_id).or_default();
        *mark = (*mark).max(seq);
    }
    store.write(|batch| {
        for (receive_id, seq) in &marks {
            let seen = Seen {
                receive_id: *receive_id,
                seq: *seq,
            };
            seen.record(batch)?;
        }
        for (key, _) in &legacy {
            batch.delete(LEGACY_SEEN, key)?;
        }
        Ok(())
    })?;
    tracing::info!(
        records = legacy.len(),
        mailboxes = marks.len(),
        "per-envelope records replaced by one mark per mailbox"
    );
    Ok(())
}

/// Records an envelope as processed when it changed nothing else (dropped, refused).
pub(crate) fn mark_seen(core: &Core, seen: &Seen) -> Result<(), EngineError> {
    core.store.write(|batch| seen.record(batch))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KdfParams;

    fn store() -> (tempfile::TempDir, ProfileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::create(dir.path(), "pass", KdfParams::for_tests()).unwrap();
        (dir, store)
    }

    fn seen(mailbox: u8, seq: u64) -> Seen {
        Seen {
            receive_id: [mailbox; 16],
            seq,
        }
    }

    #[test]
    fn a_mark_covers_everything_up_to_it_per_mailbox_and_never_goes_back() {
        let (_dir, store) = store();
        assert!(!seen(1, 5).already(&store).unwrap());
        store.write(|b| seen(1, 5).record(b)).unwrap();
        assert!(seen(1, 5).already(&store).unwrap());
        assert!(seen(1, 3).already(&store).unwrap());
        assert!(!seen(1, 6).already(&store).unwrap());
        assert!(!seen(2, 1).already(&store).unwrap(), "another mailbox");
        store.write(|b| seen(1, 2).record(b)).unwrap();
        assert!(seen(1, 5).already(&store).unwrap(), "the mark stays at 5");
        store
            .write(|b| {
                for seq in 6..1_000 {
                    seen(1, seq).record(b)?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(store.count(PROCESSED, b"").unwrap(), 1);
        assert!(seen(1, 999).already(&store).unwrap());
        // Seq 0 is a seq like any other.
        store.write(|b| seen(3, 0).record(b)).unwrap();
        assert!(seen(3, 0).already(&store).unwrap());
    }

    #[test]
    fn legacy_records_become_one_mark_per_mailbox() {
        let (_dir, store) = store();
        let key = |mailbox: u8, seq: u64| [[mailbox; 16].as_slice(), &seq.to_be_bytes()].concat();
        store
            .write(|b| {
                for seq in [3, 9, 4] {
                    b.put(LEGACY_SEEN, &key(1, seq), &[])?;
                }
                b.put(LEGACY_SEEN, &key(2, 7), &[])
            })
            .unwrap();
        convert_legacy(&store).unwrap();
        assert_eq!(store.count(LEGACY_SEEN, b"").unwrap(), 0);
        assert_eq!(store.count(PROCESSED, b"").unwrap(), 2);
        assert!(seen(1, 9).already(&store).unwrap());
        assert!(!seen(1, 10).already(&store).unwrap());
        assert!(seen(2, 7).already(&store).unwrap());
        convert_legacy(&store).unwrap();
        assert_eq!(store.count(PROCESSED, b"").unwrap(), 2);
    }
}
