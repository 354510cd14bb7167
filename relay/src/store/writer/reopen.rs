//! Reopening the store after a failed commit.
//!
//! An I/O error leaves the database handle refusing everything, reads included: the
//! writer opens the file again (its last commit is intact) and lets subscribers retry
//! what they could not read. While the disk stays full every batch fails: pausing
//! between reopenings ([`REOPEN_PAUSE`]) throttles them. Mailbox records changed in the
//! failed batch are then read back from disk.

use std::time::{Duration, Instant};

use super::{Now, WriterThread};

/// Least time between two reopenings of the store after failed commits.
pub(super) const REOPEN_PAUSE: Duration = Duration::from_millis(200);

/// When the store was last reopened, to keep reopenings [`REOPEN_PAUSE`] apart.
#[derive(Debug, Default)]
pub(super) struct ReopenThrottle {
    last: Option<Instant>,
}

impl ReopenThrottle {
    /// How long to wait, at `now`, before reopening again (`None`: never reopened).
    pub(super) fn pause(&self, now: Instant) -> Option<Duration> {
        self.last
            .and_then(|at| REOPEN_PAUSE.checked_sub(now.saturating_duration_since(at)))
    }

    /// The store is being reopened at `at`.
    pub(super) fn reopening(&mut self, at: Instant) {
        self.last = Some(at);
    }
}

impl WriterThread {
    /// After a failed commit at `now`: waits out the throttle (on the writer's clock),
    /// reopens the store, wakes every subscriber and reloads the mailbox records.
    pub(super) fn reopen_after_failure(&mut self, now: Now) {
        let mut at = now.instant;
        if let Some(wait) = self.reopen.pause(now.instant) {
            self.clock.sleep(wait);
            at += wait;
        }
        self.reopen.reopening(at);
        match self.store.reopen() {
            Ok(()) => tracing::info!("reopened the store after a failed commit"),
            Err(error) => tracing::error!(%error, "cannot reopen the store; will retry"),
        }
        self.hub.wake_all();
        self.reload_records();
    }

    /// Mailbox records changed in the failed batch are read back from disk; the body id
    /// counter never moves back.
    fn reload_records(&mut self) {
        match self.store.load_state() {
            Ok(state) => {
                self.send_ids = state.records.values().map(|r| r.send_id).collect();
                self.records = state.records;
                self.next_body_id = self.next_body_id.max(state.next_body_id);
            }
            Err(error) => tracing::error!(%error, "cannot reload the mailboxes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use boucle_wire::{PublicKey, ReceiveId, SendId};

    use super::super::fixture::Fixture;
    use super::{REOPEN_PAUSE, ReopenThrottle};
    use crate::store::MailboxRecord;

    #[test]
    fn reopenings_are_kept_a_pause_apart() {
        let mut throttle = ReopenThrottle::default();
        let at = Instant::now();
        assert_eq!(
            throttle.pause(at),
            None,
            "the first reopening does not wait"
        );
        throttle.reopening(at);
        assert_eq!(throttle.pause(at), Some(REOPEN_PAUSE));
        let later = at + Duration::from_millis(50);
        assert_eq!(
            throttle.pause(later),
            Some(REOPEN_PAUSE - Duration::from_millis(50))
        );
        assert_eq!(throttle.pause(at + REOPEN_PAUSE), Some(Duration::ZERO));
        assert_eq!(throttle.pause(at + REOPEN_PAUSE * 2), None);
    }

    #[test]
    fn reopening_reloads_the_mailbox_records_from_disk_and_waits_on_the_clock() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        // What a failed batch may leave in memory: a mailbox it did not store, and one
        // it deleted without the deletion reaching the disk.
        let ghost = ReceiveId::from_bytes([6; 16]);
        let ghost_send = SendId::from_bytes([7; 16]);
        f.writer.records.insert(
            ghost,
            MailboxRecord {
                send_id: ghost_send,
                owner_key: PublicKey::from_bytes([8; 32]),
                sender_key: None,
            },
        );
        f.writer.send_ids.insert(ghost_send);
        f.writer.records.remove(&receive_id);
        f.writer.send_ids.remove(&send_id);
        f.writer.next_body_id = 41;

        let before = f.clock.elapsed();
        f.writer.reopen_after_failure(f.now());
        assert_eq!(f.clock.elapsed(), before, "no wait the first time");
        assert!(f.writer.records.contains_key(&receive_id));
        assert!(f.writer.send_ids.contains(&send_id));
        assert!(!f.writer.records.contains_key(&ghost));
        assert!(!f.writer.send_ids.contains(&ghost_send));
        assert_eq!(
            f.writer.next_body_id, 41,
            "the body counter never moves back"
        );

        f.writer.reopen_after_failure(f.now());
        assert_eq!(f.clock.elapsed() - before, REOPEN_PAUSE, "then a pause");

        // The reopened store serves.
        let seq = f.store_one(&send_id, 10);
        assert_eq!(f.stored_on_disk(&receive_id), vec![seq.0]);
    }
}
