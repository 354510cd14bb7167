//! Expiry: envelopes older than the configured lifetime are deleted undelivered.
//!
//! The sweep runs when an [`OpKind::Expire`](super::OpKind::Expire) comes through (the
//! server queues one every `expiry_sweep_secs`), inside that batch's transaction, at the
//! batch's time (`now_ms`, from the writer's clock).

use redb::{ReadableTable, WriteTransaction};

use super::{Pending, WriterThread};
use crate::error::RelayError;
use crate::store::ENVELOPES;
use crate::store::records::EnvelopeRecord;

impl WriterThread {
    /// Deletes envelopes older than the expiry. Seqs follow arrival order, so the sweep
    /// reads from the oldest and stops at the first envelope still young enough.
    pub(super) fn expire(
        &mut self,
        txn: &mut WriteTransaction,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let cutoff = now_ms.saturating_sub(self.limits.envelope_expiry_secs.saturating_mul(1000));
        let mut expired = Vec::new();
        for entry in txn.open_table(ENVELOPES)?.iter()? {
            let (key, value) = entry?;
            let stored_at = EnvelopeRecord::decode(value.value()).map_or(0, |r| r.stored_at_ms);
            if stored_at >= cutoff {
                break;
            }
            expired.push((None, key.value()));
        }
        if !expired.is_empty() {
            tracing::info!(expired = expired.len(), "expired envelopes deleted");
            self.remove(txn, &expired, pending)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixture::{Fixture, START_UNIX_MS};
    use crate::config::Limits;

    const LIFETIME: Duration = Duration::from_secs(60);

    fn fixture() -> Fixture {
        Fixture::with_limits(Limits {
            envelope_expiry_secs: LIFETIME.as_secs(),
            ..Limits::default()
        })
    }

    #[test]
    fn expiry_removes_envelopes_past_their_lifetime_and_keeps_younger_ones() {
        let mut f = fixture();
        let (receive_id, send_id) = f.create_mailbox();
        let old = f.store_one(&send_id, 10);
        f.clock.advance(Duration::from_secs(30));
        let young = f.store_one(&send_id, 20);
        assert_eq!(
            f.stored_at_ms(old),
            Some(START_UNIX_MS),
            "stamped by the clock"
        );
        assert_eq!(f.stored_at_ms(young), Some(START_UNIX_MS + 30_000));

        // The old one is exactly as old as the lifetime: kept.
        f.clock.advance(Duration::from_secs(30));
        f.expire();
        assert_eq!(f.stored_on_disk(&receive_id), vec![old.0, young.0]);

        // Past it: deleted, and released from the index and the quota.
        f.clock.advance(Duration::from_millis(1));
        f.expire();
        assert_eq!(f.stored_on_disk(&receive_id), vec![young.0]);
        assert_eq!(f.hub.seqs_after(&receive_id, None, 10), vec![young.0]);
        let status = f.status(&receive_id);
        assert_eq!((status.envelopes, status.bytes), (1, 20));

        f.clock.advance(Duration::from_secs(30));
        f.expire();
        assert!(f.stored_on_disk(&receive_id).is_empty());
        assert_eq!(f.status(&receive_id).envelopes, 0);
    }

    #[test]
    fn time_alone_expires_nothing_without_a_sweep() {
        let mut f = fixture();
        let (receive_id, send_id) = f.create_mailbox();
        let seq = f.store_one(&send_id, 10);
        f.clock.advance(LIFETIME * 2);
        f.tick();
        assert_eq!(f.stored_on_disk(&receive_id), vec![seq.0]);
    }
}
