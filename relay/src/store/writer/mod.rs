//! The single writer thread and its group commit.
//!
//! Connection tasks queue [`WriteOp`]s on a bounded channel (a full queue makes them
//! wait, and so stops them reading from the network: memory stays bounded). The thread
//! takes everything queued, applies it in one write transaction, commits (with fsync in
//! the default durability mode), and only then answers the senders and updates the
//! [`Hub`]. If the commit fails (for example: the disk is full), every request of the
//! batch is answered `StorageFailure`, admitted envelopes are released from their
//! mailboxes' quotas, and the relay goes on serving.
//!
//! This file owns the handle ([`Writer`]), the operations ([`WriteOp`], [`OpKind`],
//! [`ReplyTo`]), the thread loop, and what a batch's outcome does once the commit has
//! succeeded or failed (`commit_batch`). The rest is split by concern:
//!
//! - `apply`: applying a batch of operations inside one write transaction;
//! - `acks`: acknowledgements waiting for their envelopes to be deleted in groups, and
//!   acknowledgements that arrived before their envelope;
//! - `expiry`: the sweep of envelopes past their lifetime;
//! - `reopen`: reopening the store after a failed commit;
//! - `clock`: where the time comes from. The thread reads its [`Clock`] once per batch
//!   and hands that reading down, so tests run it on a manual clock.

mod acks;
mod apply;
mod clock;
mod expiry;
#[cfg(test)]
mod fixture;
mod reopen;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use boucle_wire::{Body, ErrorCode, Header, PublicKey, ReceiveId, Reply, RequestId, SendId, Seq};
use tokio::sync::mpsc;

use super::Store;
use super::records::MailboxRecord;
use crate::config::{self, Limits};
use crate::error::RelayError;
use crate::hub::{Admitted, ConnEvent, ConnSender, Hub};
use acks::AckQueue;
use apply::Applied;
#[cfg(test)]
pub(crate) use clock::ManualClock;
pub(crate) use clock::{Clock, Now, SystemClock, unix_ms};
use reopen::ReopenThrottle;

/// Most operations applied in one transaction.
const MAX_BATCH: usize = 4096;

/// Where to send a reply.
pub(crate) struct ReplyTo {
    pub events: ConnSender,
    pub request: RequestId,
}

/// A write, and where its answer goes.
pub(crate) struct WriteOp {
    pub kind: OpKind,
    /// `None` for operations without a reply (acks, sweeps).
    pub reply: Option<ReplyTo>,
}

/// What to do.
pub(crate) enum OpKind {
    Create {
        owner_key: PublicKey,
    },
    Delete {
        receive_id: ReceiveId,
    },
    SetSenderKey {
        receive_id: ReceiveId,
        sender_key: Option<PublicKey>,
    },
    /// An envelope admitted by the hub (seq assigned, quota counted).
    Store {
        receive_id: ReceiveId,
        seq: Seq,
        header: Header,
        body: Arc<Body>,
    },
    /// A batch: one body, the admitted recipients, and every recipient's outcome.
    StoreBatch {
        body: Arc<Body>,
        admitted: Vec<Admitted>,
        outcomes: Vec<Result<(), ErrorCode>>,
    },
    Ack {
        receive_id: ReceiveId,
        seq: Seq,
    },
    Expire,
    /// Periodic nudge: flushes acknowledgements waiting longer than the delay.
    Tick,
}

impl OpKind {
    /// Appends the envelopes the hub admitted for this operation (mailbox, seq, size):
    /// what must be taken back if it is not stored.
    pub(crate) fn admitted_into(&self, out: &mut Vec<(ReceiveId, Seq, u64)>) {
        match self {
            OpKind::Store {
                receive_id,
                seq,
                header,
                body,
            } => out.push((*receive_id, *seq, (header.len() + body.len()) as u64)),
            OpKind::StoreBatch { body, admitted, .. } => out.extend(
                admitted
                    .iter()
                    .map(|a| (a.receive_id, a.seq, (a.header.len() + body.len()) as u64)),
            ),
            _ => {}
        }
    }
}

/// Handle to the writer thread. Dropping every sender stops it after its last commit.
pub(crate) struct Writer {
    pub sender: mpsc::Sender<WriteOp>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Loads the store's state into the hub and starts the writer thread. `clock` is
    /// every time the writer acts on ([`SystemClock`] outside tests).
    pub(crate) fn start(
        store: Store,
        hub: Arc<Hub>,
        limits: Limits,
        durability: config::Durability,
        clock: Arc<dyn Clock>,
    ) -> Result<Writer, RelayError> {
        let thread = WriterThread::new(store, hub, limits, durability, clock)?;
        let (sender, receiver) = mpsc::channel(16 * 1024);
        let thread = std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || thread.run(receiver))
            .map_err(|e| RelayError::Store(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            sender,
            thread: Some(thread),
        })
    }

    /// Stops the writer: waits for queued operations to be committed.
    pub(crate) fn finish(mut self) {
        drop(self.sender);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct WriterThread {
    store: Store,
    hub: Arc<Hub>,
    limits: Limits,
    durability: config::Durability,
    clock: Arc<dyn Clock>,
    records: HashMap<ReceiveId, MailboxRecord>,
    send_ids: HashSet<SendId>,
    next_body_id: u64,
    /// One past the highest seq ever stored (persisted as a high-water mark).
    high_seq: u64,
    /// When the last durable commit ended (os-buffered mode syncs at least this often).
    last_sync: Instant,
    scratch: Vec<u8>,
    /// Acknowledgements waiting for their envelopes' deletion, or for their envelopes.
    acks: AckQueue,
    /// When the store was last reopened after a failed commit.
    reopen: ReopenThrottle,
}

/// Effects held back until the commit succeeds.
#[derive(Default)]
struct Pending {
    replies: Vec<(ReplyTo, Result<Reply, ErrorCode>)>,
    /// Stored envelopes and their sizes.
    added: Vec<(ReceiveId, Seq, u64)>,
    /// Admitted envelopes that will not be stored (mailbox gone): released at once.
    refused: Vec<(ReceiveId, Seq, u64)>,
    /// Removed envelopes: mailbox, seq, size.
    removed: Vec<(ReceiveId, u64, u64)>,
    created: Vec<(ReceiveId, SendId)>,
    deleted: Vec<ReceiveId>,
    sender_keys: Vec<(ReceiveId, Option<PublicKey>)>,
    /// Envelopes stored by this batch and already acknowledged: they join the deletion
    /// group instead of the index once the commit succeeds.
    acked_on_arrival: HashSet<(ReceiveId, u64)>,
    /// Every envelope the hub admitted for this batch: released if the commit fails.
    admitted: Vec<(ReceiveId, Seq, u64)>,
    /// Acknowledged envelopes this batch deletes: waiting again if the commit fails.
    flushed_acks: Vec<(Option<ReceiveId>, u64)>,
}

impl WriterThread {
    /// Reads the store's state, reserves this run's seqs and installs the state in the
    /// hub.
    fn new(
        store: Store,
        hub: Arc<Hub>,
        limits: Limits,
        durability: config::Durability,
        clock: Arc<dyn Clock>,
    ) -> Result<WriterThread, RelayError> {
        let state = store.load_state()?;
        let next_seq = match store.start_run(state.next_seq) {
            Ok(first) => first,
            Err(error) => {
                // A full disk, most likely: serve what is stored anyway. The first commit
                // that succeeds records the new high-water mark.
                tracing::warn!(%error, "cannot record the seqs of this run; going on");
                state.next_seq.saturating_add(Store::SEQS_PER_RUN)
            }
        };
        hub.load(state.fills, state.index, next_seq);
        let send_ids = state.records.values().map(|r| r.send_id).collect();
        let last_sync = clock.now().instant;
        Ok(WriterThread {
            store,
            hub,
            limits,
            durability,
            clock,
            records: state.records,
            send_ids,
            next_body_id: state.next_body_id,
            high_seq: next_seq,
            last_sync,
            scratch: Vec::new(),
            acks: AckQueue::default(),
            reopen: ReopenThrottle::default(),
        })
    }

    fn run(mut self, mut receiver: mpsc::Receiver<WriteOp>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(op) = receiver.blocking_recv() {
            batch.push(op);
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            self.commit_batch(&mut batch, false);
        }
        // Shutting down: acknowledged envelopes are deleted before the store closes.
        self.commit_batch(&mut batch, true);
        tracing::debug!("writer stopped");
    }

    /// Applies and commits a batch (taking its operations out of `batch`), then answers
    /// its requests and tells the hub. `flush_acks` deletes every acknowledged envelope
    /// whatever the delay (at shutdown).
    fn commit_batch(&mut self, batch: &mut Vec<WriteOp>, flush_acks: bool) {
        let now = self.clock.now();
        let mut pending = Pending::default();
        let outcome = self.apply_all(batch, &mut pending, flush_acks, now);
        // What waits from here on waits from the end of the commit (an fsync, by default),
        // as it did before the clock was read once per batch.
        let after = self.clock.now();
        if !pending.refused.is_empty() {
            self.hub.release(&pending.refused);
        }
        match outcome {
            Ok(applied) => self.committed(applied, pending, after),
            Err(error) => self.failed(&error, pending, after),
        }
    }

    /// The batch is on disk (or there was nothing to commit): tell the hub, then answer.
    fn committed(&mut self, applied: Applied, pending: Pending, now: Now) {
        if let Applied::Committed { durable: true } = applied {
            self.last_sync = now.instant;
        }
        for (receive_id, send_id) in &pending.created {
            self.hub.mailbox_created(*receive_id, *send_id);
        }
        for (receive_id, key) in &pending.sender_keys {
            self.hub.sender_key_set(receive_id, *key);
        }
        let (acked, added): (Vec<_>, Vec<_>) = pending
            .added
            .iter()
            .map(|(id, seq, _)| (*id, *seq))
            .partition(|(id, seq)| pending.acked_on_arrival.contains(&(*id, seq.0)));
        self.acks.wait(
            pending
                .acked_on_arrival
                .iter()
                .map(|(id, seq)| (Some(*id), *seq)),
            now.instant,
        );
        self.hub.committed(&added, &acked, &pending.removed);
        for receive_id in &pending.deleted {
            self.hub.mailbox_deleted(receive_id);
        }
        for (to, result) in pending.replies {
            let _ = to.events.send(ConnEvent::Reply {
                request: to.request,
                result,
            });
        }
    }

    /// Nothing of the batch is on disk: take back what was admitted, answer
    /// `StorageFailure`, and reopen the store.
    fn failed(&mut self, error: &RelayError, mut pending: Pending, now: Now) {
        tracing::warn!(%error, "a commit failed; the batch was refused and nothing of it was stored");
        // Everything admitted for the batch is taken back, once: what was refused
        // already (mailbox gone) is released by `commit_batch`.
        let refused: HashSet<(ReceiveId, u64)> = pending
            .refused
            .iter()
            .map(|(id, seq, _)| (*id, seq.0))
            .collect();
        let released: Vec<(ReceiveId, Seq, u64)> = pending
            .admitted
            .iter()
            .filter(|(id, seq, _)| !refused.contains(&(*id, seq.0)))
            .copied()
            .collect();
        self.hub.release(&released);
        self.acks
            .wait(std::mem::take(&mut pending.flushed_acks), now.instant);
        for (to, result) in pending.replies {
            let result = result.and(Err(ErrorCode::StorageFailure));
            let _ = to.events.send(ConnEvent::Reply {
                request: to.request,
                result,
            });
        }
        self.reopen_after_failure(now);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use boucle_wire::{ErrorCode, Header, PublicKey, Reply, RequestId};
    use tokio::sync::mpsc;

    use super::acks::ACK_DELAY;
    use super::fixture::{Fixture, body};
    use super::reopen::REOPEN_PAUSE;
    use super::{ManualClock, OpKind, ReplyTo, WriteOp, Writer};
    use crate::config::{Durability, Limits};
    use crate::hub::{ConnEvent, Hub};
    use crate::store::Store;

    #[test]
    fn a_batch_of_stores_commits_then_replies_stored_and_the_hub_counts_them() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let sizes = [10, 20, 30];
        let admitted: Vec<_> = sizes.iter().map(|&len| f.admit(&send_id, len)).collect();
        assert!(!f.has_reply(), "nothing is answered before the commit");
        assert_eq!(
            f.hub.deliverable_after(&receive_id, None, 10),
            (Vec::new(), true),
            "admitted envelopes hold delivery from the index back until committed"
        );

        let seqs: Vec<u64> = admitted.iter().map(|(seq, _, _)| seq.0).collect();
        let requests: Vec<_> = admitted.iter().map(|(_, request, _)| *request).collect();
        f.run(admitted.into_iter().map(|(_, _, op)| op).collect());

        for request in requests {
            assert_eq!(f.reply(request), Ok(Reply::Stored));
        }
        assert_eq!(f.stored_on_disk(&receive_id), seqs, "all three are on disk");
        assert_eq!(f.hub.seqs_after(&receive_id, None, 10), seqs, "and indexed");
        assert_eq!(
            f.hub.deliverable_after(&receive_id, None, 10),
            (seqs.clone(), false),
            "and deliverable"
        );
        let status = f.status(&receive_id);
        assert_eq!((status.envelopes, status.bytes), (3, 60));
        assert_eq!(f.hub.counters(), (1, 3, 60));
        let state = f.store.load_state().expect("the state reads back");
        assert_eq!(
            state.next_seq,
            seqs[2] + 1,
            "the high-water mark is committed with the batch"
        );
    }

    #[test]
    fn a_failed_commit_answers_storage_failure_releases_the_quota_and_reopens_the_store() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let kept = f.store_one(&send_id, 10);
        // The handle is gone, as after an I/O error: beginning the transaction fails.
        let closed = f.store.db.write().expect("the store's lock").take();
        drop(closed);

        let (lost, request, store) = f.admit(&send_id, 20);
        let (create, create_op) = f.with_reply(OpKind::Create {
            owner_key: PublicKey::from_bytes([77; 32]),
        });
        let before = f.clock.elapsed();
        f.run(vec![store, create_op]);
        assert_eq!(f.reply(request), Err(ErrorCode::StorageFailure));
        assert_eq!(f.reply(create), Err(ErrorCode::StorageFailure));
        assert_eq!(f.clock.elapsed(), before, "a first reopening does not wait");
        let status = f.status(&receive_id);
        assert_eq!(
            (status.envelopes, status.bytes),
            (1, 10),
            "the refused envelope's quota is released"
        );
        assert_eq!(
            f.hub.deliverable_after(&receive_id, None, 10),
            (vec![kept.0], false),
            "and it no longer holds delivery back"
        );
        assert_eq!(f.hub.counters().0, 1, "no mailbox was created");

        // The store was reopened: the next batch is stored.
        assert!(f.store.database().is_ok(), "reopened");
        let next = f.store_one(&send_id, 30);
        assert_eq!(f.stored_on_disk(&receive_id), vec![kept.0, next.0]);
        assert!(!f.stored_on_disk(&receive_id).contains(&lost.0));

        // A second failure right away waits out the pause first (on the writer's clock).
        drop(f.store.db.write().expect("the store's lock").take());
        let (_, request, store) = f.admit(&send_id, 40);
        f.clock.advance(REOPEN_PAUSE / 4);
        let before = f.clock.elapsed();
        f.run(vec![store]);
        assert_eq!(f.reply(request), Err(ErrorCode::StorageFailure));
        assert_eq!(f.clock.elapsed() - before, REOPEN_PAUSE - REOPEN_PAUSE / 4);
        assert!(f.store.database().is_ok(), "reopened again");
    }

    /// The disk fills up: the batch is applied, its commit fails. Every request is
    /// refused, the admitted envelopes are released, the acknowledged group the batch was
    /// deleting waits again, and the mailbox it created is forgotten.
    #[test]
    fn a_commit_that_fails_on_a_full_disk_refuses_the_batch_and_keeps_its_acks_waiting() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let acked = f.store_one(&send_id, 10);
        f.ack(receive_id, acked);
        // The group is due: the next batch deletes it.
        f.clock.advance(ACK_DELAY);
        f.fill_the_disk();
        let (lost, stored, store) = f.admit(&send_id, 20);
        let (created, create) = f.with_reply(OpKind::Create {
            owner_key: PublicKey::from_bytes([77; 32]),
        });

        f.run(vec![store, create]);
        assert_eq!(f.reply(stored), Err(ErrorCode::StorageFailure));
        assert_eq!(f.reply(created), Err(ErrorCode::StorageFailure));
        let status = f.status(&receive_id);
        assert_eq!(
            (status.envelopes, status.bytes),
            (1, 10),
            "the refused envelope is released; the acknowledged one is not deleted yet"
        );
        assert_eq!(f.hub.counters().0, 1, "no mailbox was created");
        assert_eq!(
            f.writer.records.len(),
            1,
            "the writer forgets the mailbox the failed batch created"
        );

        // Reopened, with room again. Nothing of the batch is on disk.
        assert_eq!(f.stored_on_disk(&receive_id), vec![acked.0]);
        assert!(!f.stored_on_disk(&receive_id).contains(&lost.0));
        assert_eq!(f.hub.stored_count(&receive_id), 0, "still out of the index");

        // The acknowledged envelope waits a whole delay again, then is deleted.
        f.clock.advance(ACK_DELAY - Duration::from_millis(1));
        f.tick();
        assert_eq!(f.stored_on_disk(&receive_id), vec![acked.0]);
        f.clock.advance(Duration::from_millis(1));
        f.tick();
        assert!(f.stored_on_disk(&receive_id).is_empty());
        let status = f.status(&receive_id);
        assert_eq!((status.envelopes, status.bytes), (0, 0));
    }

    #[test]
    fn acks_due_when_a_commit_fails_are_deleted_by_the_next_commit() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let seq = f.store_one(&send_id, 10);
        f.ack(receive_id, seq);
        f.clock.advance(Duration::from_secs(1));
        drop(f.store.db.write().expect("the store's lock").take());
        f.tick();
        assert_eq!(f.hub.stored_count(&receive_id), 0, "still out of the index");
        f.tick();
        assert!(
            f.stored_on_disk(&receive_id).is_empty(),
            "deleted by the next commit"
        );
        assert_eq!(f.status(&receive_id).envelopes, 0);
    }

    #[test]
    fn os_buffered_commits_are_synced_at_least_once_a_second() {
        let mut f = Fixture::with(Limits::default(), Durability::OsBuffered);
        let started = f.now().instant;
        assert_eq!(f.writer.last_sync, started);
        let (_, send_id) = f.create_mailbox();
        assert_eq!(
            f.writer.last_sync, started,
            "a commit within the second is not synced"
        );

        f.clock.advance(Duration::from_millis(999));
        f.store_one(&send_id, 10);
        assert_eq!(f.writer.last_sync, started);

        f.clock.advance(Duration::from_millis(1));
        f.store_one(&send_id, 10);
        let synced = f.now().instant;
        assert_eq!(f.writer.last_sync, synced, "a second later: synced");

        f.clock.advance(Duration::from_millis(500));
        f.store_one(&send_id, 10);
        assert_eq!(
            f.writer.last_sync, synced,
            "the second runs from the last sync"
        );
    }

    /// The thread itself: what is queued is committed and answered, and at shutdown the
    /// acknowledged envelopes are deleted whatever the delay.
    #[test]
    fn the_writer_thread_commits_what_is_queued_and_deletes_acked_envelopes_at_shutdown() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Store::open(&dir.path().join("relay.redb")).expect("the store opens");
        let hub = Arc::new(Hub::new(Limits::default()));
        let clock = Arc::new(ManualClock::new(super::fixture::START_UNIX_MS));
        let writer = Writer::start(
            store.clone(),
            hub.clone(),
            Limits::default(),
            Durability::Fsync,
            clock,
        )
        .expect("the writer starts");
        let (events, mut replies) = mpsc::unbounded_channel();
        let call = |kind: OpKind, request: u32| {
            let op = WriteOp {
                kind,
                reply: Some(ReplyTo {
                    events: events.clone(),
                    request: RequestId(request),
                }),
            };
            writer.sender.blocking_send(op).expect("the writer runs");
        };
        let mut answer = || match replies.blocking_recv() {
            Some(ConnEvent::Reply { result, .. }) => result,
            other => panic!("not a reply: {other:?}"),
        };

        call(
            OpKind::Create {
                owner_key: PublicKey::from_bytes([1; 32]),
            },
            1,
        );
        let Ok(Reply::MailboxCreated {
            receive_id,
            send_id,
        }) = answer()
        else {
            panic!("mailbox not created");
        };
        let header = Header::default();
        let body = body(10);
        let (_, seq) = hub.admit(&send_id, &header, &body, None).expect("admitted");
        call(
            OpKind::Store {
                receive_id,
                seq,
                header,
                body,
            },
            2,
        );
        assert_eq!(answer(), Ok(Reply::Stored));
        assert_eq!(hub.stored_count(&receive_id), 1);
        writer
            .sender
            .blocking_send(WriteOp {
                kind: OpKind::Ack { receive_id, seq },
                reply: None,
            })
            .expect("the writer runs");
        writer.finish();

        let state = store.load_state().expect("the state reads back");
        assert!(
            state.records.contains_key(&receive_id),
            "the mailbox is stored"
        );
        assert!(
            !state.index.contains_key(&receive_id),
            "the acknowledged envelope was deleted at shutdown, the clock never moved"
        );
    }
}
