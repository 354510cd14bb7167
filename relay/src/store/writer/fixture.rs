//! What the writer's unit tests share: a real store in a temporary directory, its hub, a
//! manual clock, and a writer whose batches the test commits one at a time (no thread:
//! each step is deterministic). [`Fixture::fill_the_disk`] makes the store's writes fail
//! as on a full disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use boucle_wire::{
    Body, ErrorCode, Header, MailboxStatus, PublicKey, ReceiveId, Reply, RequestId, SendId, Seq,
};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::mpsc;

use super::{Clock, ManualClock, Now, OpKind, ReplyTo, WriteOp, WriterThread};
use crate::config::{Durability, Limits};
use crate::hub::{ConnEvent, Hub};
use crate::store::records::EnvelopeRecord;
use crate::store::{BODIES, ENVELOPES, Store};

/// 2023-11-14T22:13:20Z: where the manual clock starts.
pub(super) const START_UNIX_MS: u64 = 1_700_000_000_000;

pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub clock: Arc<ManualClock>,
    pub writer: WriterThread,
    events: mpsc::UnboundedSender<ConnEvent>,
    replies: mpsc::UnboundedReceiver<ConnEvent>,
    next_request: u32,
    next_owner: u8,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Fixture {
        Fixture::with(limits, Durability::Fsync)
    }

    pub fn with(limits: Limits, durability: Durability) -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Store::open(&dir.path().join("relay.redb")).expect("the store opens");
        let hub = Arc::new(Hub::new(limits.clone()));
        let clock = Arc::new(ManualClock::new(START_UNIX_MS));
        let writer = WriterThread::new(
            store.clone(),
            hub.clone(),
            limits,
            durability,
            clock.clone(),
        )
        .expect("the writer starts");
        let (events, replies) = mpsc::unbounded_channel();
        Fixture {
            _dir: dir,
            store,
            hub,
            clock,
            writer,
            events,
            replies,
            next_request: 0,
            next_owner: 0,
        }
    }

    /// From now on the store file refuses writes and syncs, as a full disk does (reads
    /// still work), until the writer reopens it after the commit that fails: the reopened
    /// file has room again.
    pub fn fill_the_disk(&mut self) {
        drop(
            self.store
                .db
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let path = self.store.path.clone();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("the store file opens");
        let full = Arc::new(AtomicBool::new(false));
        let backend = FullDisk {
            inner: redb::backends::FileBackend::new(file).expect("a file backend"),
            full: full.clone(),
        };
        // Opening writes: the disk fills up right after.
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .expect("the store opens");
        full.store(true, Ordering::Relaxed);
        *self.store.db.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(db));
    }

    /// What the writer's clock reads.
    pub fn now(&self) -> Now {
        self.clock.now()
    }

    /// Commits one batch, as the writer thread does with what it found queued.
    pub fn run(&mut self, ops: Vec<WriteOp>) {
        let mut batch = ops;
        self.writer.commit_batch(&mut batch, false);
        assert!(batch.is_empty(), "the batch is consumed");
    }

    /// An operation whose answer comes back to this fixture.
    pub fn with_reply(&mut self, kind: OpKind) -> (RequestId, WriteOp) {
        let request = RequestId(self.next_request);
        self.next_request += 1;
        let reply = Some(ReplyTo {
            events: self.events.clone(),
            request,
        });
        (request, WriteOp { kind, reply })
    }

    /// The answer to `request`. Panics if there is none (yet).
    pub fn reply(&mut self, request: RequestId) -> Result<Reply, ErrorCode> {
        while let Ok(event) = self.replies.try_recv() {
            if let ConnEvent::Reply {
                request: answered,
                result,
            } = event
                && answered == request
            {
                return result;
            }
        }
        panic!("no reply to {request:?}");
    }

    /// Whether an answer is waiting.
    pub fn has_reply(&mut self) -> bool {
        !self.replies.is_empty()
    }

    pub fn create_mailbox(&mut self) -> (ReceiveId, SendId) {
        self.next_owner += 1;
        let owner_key = PublicKey::from_bytes([self.next_owner; 32]);
        let (request, op) = self.with_reply(OpKind::Create { owner_key });
        self.run(vec![op]);
        match self.reply(request) {
            Ok(Reply::MailboxCreated {
                receive_id,
                send_id,
            }) => (receive_id, send_id),
            other => panic!("mailbox not created: {other:?}"),
        }
    }

    pub fn delete_op(&mut self, receive_id: ReceiveId) -> (RequestId, WriteOp) {
        self.with_reply(OpKind::Delete { receive_id })
    }

    /// Admits an envelope of `body_len` bytes at the hub (as a connection task does) and
    /// returns its seq and the `Store` to queue.
    pub fn admit(&mut self, send_id: &SendId, body_len: usize) -> (Seq, RequestId, WriteOp) {
        let header = Header::default();
        let body = body(body_len);
        let (receive_id, seq) = self
            .hub
            .admit(send_id, &header, &body, None)
            .expect("admitted");
        let (request, op) = self.with_reply(OpKind::Store {
            receive_id,
            seq,
            header,
            body,
        });
        (seq, request, op)
    }

    /// Admits and stores one envelope, in a batch of its own.
    pub fn store_one(&mut self, send_id: &SendId, body_len: usize) -> Seq {
        let (seq, request, op) = self.admit(send_id, body_len);
        self.run(vec![op]);
        assert_eq!(self.reply(request), Ok(Reply::Stored));
        seq
    }

    pub fn ack_op(receive_id: ReceiveId, seq: Seq) -> WriteOp {
        WriteOp {
            kind: OpKind::Ack { receive_id, seq },
            reply: None,
        }
    }

    /// Acknowledges an envelope, in a batch of its own.
    pub fn ack(&mut self, receive_id: ReceiveId, seq: Seq) {
        self.run(vec![Fixture::ack_op(receive_id, seq)]);
    }

    pub fn tick(&mut self) {
        self.run(vec![WriteOp {
            kind: OpKind::Tick,
            reply: None,
        }]);
    }

    pub fn expire(&mut self) {
        self.run(vec![WriteOp {
            kind: OpKind::Expire,
            reply: None,
        }]);
    }

    /// The hub's fill level of a mailbox it knows.
    pub fn status(&self, receive_id: &ReceiveId) -> MailboxStatus {
        self.hub
            .status(receive_id)
            .expect("the hub knows the mailbox")
    }

    /// Seqs of a mailbox's envelopes in the store file, read back from disk.
    pub fn stored_on_disk(&self, receive_id: &ReceiveId) -> Vec<u64> {
        let db = self.store.database().expect("the store is open");
        let txn = db.begin_read().expect("a read transaction");
        let table = txn.open_table(ENVELOPES).expect("the envelopes table");
        let mut seqs = Vec::new();
        for entry in table.iter().expect("envelopes") {
            let (key, value) = entry.expect("an envelope");
            let record = EnvelopeRecord::decode(value.value()).expect("a valid envelope");
            if record.receive_id == *receive_id {
                seqs.push(key.value());
            }
        }
        seqs
    }

    /// Shared batch bodies in the store file.
    pub fn bodies_on_disk(&self) -> u64 {
        let db = self.store.database().expect("the store is open");
        let txn = db.begin_read().expect("a read transaction");
        txn.open_table(BODIES)
            .expect("the bodies table")
            .len()
            .expect("a count")
    }

    /// When an envelope was stored, as recorded on disk.
    pub fn stored_at_ms(&self, seq: Seq) -> Option<u64> {
        let db = self.store.database().expect("the store is open");
        let txn = db.begin_read().expect("a read transaction");
        let table = txn.open_table(ENVELOPES).expect("the envelopes table");
        let value = table.get(seq.0).expect("a read")?;
        EnvelopeRecord::decode(value.value()).map(|r| r.stored_at_ms)
    }
}

pub(super) fn body(len: usize) -> Arc<Body> {
    Arc::new(Body::new(vec![7; len]).expect("a body within the wire's limit"))
}

/// A store file on a disk with no room left (see [`Fixture::fill_the_disk`]).
#[derive(Debug)]
struct FullDisk {
    inner: redb::backends::FileBackend,
    full: Arc<AtomicBool>,
}

impl FullDisk {
    fn refuse(&self) -> Result<(), std::io::Error> {
        if self.full.load(Ordering::Relaxed) {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ))
        } else {
            Ok(())
        }
    }
}

impl redb::StorageBackend for FullDisk {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.refuse()?;
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.refuse()?;
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.refuse()?;
        self.inner.write(offset, data)
    }
}
