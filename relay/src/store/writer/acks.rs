//! The ack queue: acknowledgements between their arrival and the commit that deletes
//! their envelopes.
//!
//! Acknowledgements leave the index at once (so an envelope is never delivered again)
//! and are deleted later in one sorted group: consecutive seqs share B-tree leaves, so
//! each leaf is rewritten once per group, not once per ack. A group is deleted when it
//! reaches [`ACK_GROUP`] envelopes, when its oldest has waited [`ACK_DELAY`], or at
//! shutdown. A crash before the group commits means those envelopes are delivered again
//! (with the same seq), which clients deduplicate.
//!
//! An ack can also reach the writer before the envelope it names (an *early* ack): a
//! caught-up subscriber gets an envelope before its `Store` is queued here, so under load
//! its ack can overtake it. Early acks are kept a short while ([`EARLY_ACK_LIFETIME`]),
//! and at most [`MAX_EARLY_ACKS`] of them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use boucle_wire::{ReceiveId, Seq};

use super::Pending;
use crate::hub::Hub;

/// Acknowledged envelopes are deleted in sorted groups of up to this many...
pub(super) const ACK_GROUP: usize = 32 * 1024;
/// ...or after this long, whichever comes first (and at shutdown).
pub(super) const ACK_DELAY: Duration = Duration::from_millis(200);
/// At most this many acks wait for their envelope, each at most this long.
pub(super) const MAX_EARLY_ACKS: usize = 16 * 1024;
pub(super) const EARLY_ACK_LIFETIME: Duration = Duration::from_secs(10);

/// An envelope to delete: its seq, and the mailbox it must belong to (`None`: any).
pub(super) type Target = (Option<ReceiveId>, u64);

/// The writer's acknowledgements not yet acted on (see the module docs).
#[derive(Debug, Default)]
pub(super) struct AckQueue {
    /// Acknowledged envelopes, already out of the index, whose deletion is not yet
    /// committed...
    acked: Vec<Target>,
    /// ...and since when the oldest has waited.
    acked_since: Option<Instant>,
    /// Acknowledgements that reached the writer before the envelope they name, and when.
    early: HashMap<(ReceiveId, u64), Instant>,
}

impl AckQueue {
    /// Envelopes that wait for deletion; if none was waiting, the wait starts `now`.
    pub(super) fn wait(&mut self, envelopes: impl IntoIterator<Item = Target>, now: Instant) {
        let before = self.acked.len();
        self.acked.extend(envelopes);
        if self.acked.len() > before {
            self.acked_since.get_or_insert(now);
        }
    }

    /// Whether the waiting envelopes are to be deleted by this batch: there are some,
    /// and `flush_all` is set, or the group is full, or the oldest has waited long enough.
    pub(super) fn due(&self, flush_all: bool, now: Instant) -> bool {
        !self.acked.is_empty()
            && (flush_all
                || self.acked.len() >= ACK_GROUP
                || self
                    .acked_since
                    .is_some_and(|t| now.saturating_duration_since(t) >= ACK_DELAY))
    }

    /// Takes the whole group, sorted by seq, for deletion. If the commit fails, it waits
    /// again ([`AckQueue::wait`]).
    pub(super) fn take_group(&mut self) -> Vec<Target> {
        let mut acked = std::mem::take(&mut self.acked);
        self.acked_since = None;
        acked.sort_unstable_by_key(|(_, seq)| *seq);
        acked
    }

    /// Takes acknowledged envelopes out of the index (or out of this batch, or holds the
    /// ack until its envelope arrives), and forgets early acks past their lifetime.
    pub(super) fn take_acks(
        &mut self,
        hub: &Hub,
        acks: &[(ReceiveId, u64)],
        pending: &mut Pending,
        now: Instant,
    ) {
        let mut this_batch: Option<HashSet<(ReceiveId, u64)>> = None;
        for &(receive_id, seq) in acks {
            if hub.take_from_index(&receive_id, seq) {
                self.acked.push((Some(receive_id), seq));
                self.acked_since.get_or_insert(now);
            } else if this_batch
                .get_or_insert_with(|| pending.added.iter().map(|(id, s, _)| (*id, s.0)).collect())
                .contains(&(receive_id, seq))
            {
                pending.acked_on_arrival.insert((receive_id, seq));
            } else if seq < hub.next_seq() && self.early.len() < MAX_EARLY_ACKS {
                self.early.insert((receive_id, seq), now);
            }
        }
        if !self.early.is_empty() {
            self.early
                .retain(|_, at| now.saturating_duration_since(*at) < EARLY_ACK_LIFETIME);
        }
    }

    /// Whether an ack arrived before this envelope did: if so, the envelope is deleted
    /// once stored.
    pub(super) fn acked_early(&mut self, receive_id: ReceiveId, seq: Seq, pending: &mut Pending) {
        if !self.early.is_empty() && self.early.remove(&(receive_id, seq.0)).is_some() {
            pending.acked_on_arrival.insert((receive_id, seq.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use boucle_wire::{ReceiveId, Reply, Seq};

    use super::{ACK_DELAY, ACK_GROUP, EARLY_ACK_LIFETIME, MAX_EARLY_ACKS};
    use crate::store::writer::fixture::Fixture;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn acked_envelopes_are_deleted_after_the_ack_delay_and_not_before() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let seq = f.store_one(&send_id, 100);
        assert_eq!(f.stored_on_disk(&receive_id), vec![seq.0]);

        f.ack(receive_id, seq);
        assert_eq!(
            f.hub.stored_count(&receive_id),
            0,
            "an acknowledged envelope leaves the index at once"
        );
        assert_eq!(
            f.stored_on_disk(&receive_id),
            vec![seq.0],
            "but its deletion waits for the group"
        );

        f.clock.advance(ACK_DELAY - MS);
        f.tick();
        assert_eq!(
            f.stored_on_disk(&receive_id),
            vec![seq.0],
            "not before the delay"
        );
        assert_eq!(f.writer.acks.acked.len(), 1);
        assert_eq!(
            f.status(&receive_id).envelopes,
            1,
            "its quota is still counted"
        );

        f.clock.advance(MS);
        f.tick();
        assert!(
            f.stored_on_disk(&receive_id).is_empty(),
            "deleted at the delay"
        );
        assert!(f.writer.acks.acked.is_empty());
        assert!(f.writer.acks.acked_since.is_none());
        let status = f.status(&receive_id);
        assert_eq!((status.envelopes, status.bytes), (0, 0), "quota released");
    }

    #[test]
    fn the_delay_runs_from_the_oldest_ack_of_the_group() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let first = f.store_one(&send_id, 10);
        let second = f.store_one(&send_id, 10);
        f.ack(receive_id, first);
        f.clock.advance(ACK_DELAY / 2);
        f.ack(receive_id, second);
        f.clock.advance(ACK_DELAY / 2);
        f.tick();
        assert!(
            f.stored_on_disk(&receive_id).is_empty(),
            "the second ack did not restart the delay, and both go in one group"
        );
    }

    #[test]
    fn an_ack_before_its_envelope_deletes_it_when_it_arrives() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        // Admitted (seq assigned, possibly pushed to a subscriber), not yet queued.
        let (seq, request, store) = f.admit(&send_id, 50);
        f.ack(receive_id, seq);
        assert!(
            f.writer.acks.early.contains_key(&(receive_id, seq.0)),
            "the ack waits for its envelope"
        );

        f.run(vec![store]);
        assert_eq!(f.reply(request), Ok(Reply::Stored));
        assert!(f.writer.acks.early.is_empty(), "the early ack was used");
        assert_eq!(
            f.hub.stored_count(&receive_id),
            0,
            "an envelope acknowledged already is never indexed (never delivered again)"
        );
        assert!(
            f.hub.deliverable_after(&receive_id, None, 10).0.is_empty(),
            "nothing to deliver"
        );
        assert_eq!(f.stored_on_disk(&receive_id), vec![seq.0]);

        f.clock.advance(ACK_DELAY);
        f.tick();
        assert!(f.stored_on_disk(&receive_id).is_empty(), "then deleted");
        assert_eq!(f.status(&receive_id).envelopes, 0);
    }

    #[test]
    fn an_ack_in_the_same_batch_as_its_envelope_deletes_it() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let (seq, request, store) = f.admit(&send_id, 50);
        f.run(vec![store, Fixture::ack_op(receive_id, seq)]);
        assert_eq!(f.reply(request), Ok(Reply::Stored));
        assert_eq!(f.hub.stored_count(&receive_id), 0, "never indexed");
        assert_eq!(f.writer.acks.acked.len(), 1, "waits in the deletion group");
        f.clock.advance(ACK_DELAY);
        f.tick();
        assert!(f.stored_on_disk(&receive_id).is_empty());
    }

    #[test]
    fn early_acks_expire_after_their_lifetime_and_stay_bounded() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let (seq, request, store) = f.admit(&send_id, 50);
        f.ack(receive_id, seq);

        // Acks naming envelopes the relay never had (below the seq counter): all but
        // the bound are dropped.
        let stranger = ReceiveId::from_bytes([9; 16]);
        let flood: Vec<_> = (0..MAX_EARLY_ACKS as u64 + 100)
            .map(|s| Fixture::ack_op(stranger, Seq(s)))
            .collect();
        f.run(flood);
        assert_eq!(f.writer.acks.early.len(), MAX_EARLY_ACKS, "bounded");
        assert!(
            f.writer.acks.early.contains_key(&(receive_id, seq.0)),
            "those already held are kept"
        );

        // Just before the lifetime: still held.
        f.clock.advance(EARLY_ACK_LIFETIME - MS);
        f.tick();
        assert_eq!(f.writer.acks.early.len(), MAX_EARLY_ACKS);

        // While the map is full, a new early ack is not held.
        let late = Seq(u64::from(u32::MAX));
        f.ack(stranger, late);
        assert!(!f.writer.acks.early.contains_key(&(stranger, late.0)));

        // At the lifetime, they are all forgotten, and there is room again.
        f.clock.advance(MS);
        f.tick();
        assert!(
            f.writer.acks.early.is_empty(),
            "expired early acks are forgotten"
        );
        f.ack(stranger, late);
        assert_eq!(f.writer.acks.early.len(), 1);
        f.clock.advance(EARLY_ACK_LIFETIME);
        f.tick();

        // The envelope now arrives: its ack expired, so it is kept and delivered.
        f.run(vec![store]);
        assert_eq!(f.reply(request), Ok(Reply::Stored));
        assert_eq!(f.hub.seqs_after(&receive_id, None, 10), vec![seq.0]);
        f.clock.advance(ACK_DELAY);
        f.tick();
        assert_eq!(f.stored_on_disk(&receive_id), vec![seq.0]);
    }

    #[test]
    fn an_ack_past_every_seq_handed_out_is_not_held() {
        let mut f = Fixture::new();
        let next = f.hub.next_seq();
        f.ack(ReceiveId::from_bytes([9; 16]), Seq(next));
        assert!(f.writer.acks.early.is_empty());
    }

    #[test]
    fn a_full_group_is_deleted_without_waiting() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let seq = f.store_one(&send_id, 10);
        // Fill the group with targets that match nothing on disk, then the real one.
        let now = f.now().instant;
        f.writer
            .acks
            .wait((0..ACK_GROUP as u64 - 1).map(|s| (None, s)), now);
        assert!(!f.writer.acks.due(false, now));
        // The ack that fills the group deletes it in the same batch, with no delay.
        f.ack(receive_id, seq);
        assert!(f.writer.acks.acked.is_empty(), "deleted with no delay");
        assert!(f.stored_on_disk(&receive_id).is_empty());
    }

    #[test]
    fn acknowledged_envelopes_are_deleted_at_shutdown() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let seq = f.store_one(&send_id, 10);
        f.ack(receive_id, seq);
        f.writer.commit_batch(&mut Vec::new(), true);
        assert!(f.stored_on_disk(&receive_id).is_empty());
    }

    #[test]
    fn an_owner_cannot_acknowledge_another_mailboxs_envelope() {
        let mut f = Fixture::new();
        let (mine, _) = f.create_mailbox();
        let (theirs, their_send) = f.create_mailbox();
        let seq = f.store_one(&their_send, 10);
        f.ack(mine, seq);
        f.clock.advance(ACK_DELAY);
        f.tick();
        assert_eq!(f.stored_on_disk(&theirs), vec![seq.0]);
        assert_eq!(f.hub.seqs_after(&theirs, None, 10), vec![seq.0]);
    }
}
