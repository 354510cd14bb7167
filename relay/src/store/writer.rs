//! The single writer thread and its group commit.
//!
//! Connection tasks queue [`WriteOp`]s on a bounded channel (a full queue makes them
//! wait, and so stops them reading from the network: memory stays bounded). The thread
//! takes everything queued, applies it in one write transaction, commits (with fsync in
//! the default durability mode), and only then answers the senders and updates the
//! [`Hub`]. If the commit fails (for example: the disk is full), every request of the
//! batch is answered `StorageFailure`, admitted envelopes are released from their
//! mailboxes' quotas, and the relay goes on serving.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use boucle_wire::{Body, ErrorCode, Header, PublicKey, ReceiveId, Reply, RequestId, SendId, Seq};
use redb::{Durability, ReadableTable, WriteTransaction};
use tokio::sync::mpsc;

use super::records::{
    BodyRef, EnvelopeRecord, MailboxRecord, decode_shared_body, encode_shared_body,
};
use super::records::{CHUNK_BYTES, INLINE_MAX, chunk_count};
use super::{
    BODIES, BODY_CHUNKS, ENVELOPES, MAILBOXES, META, NEXT_BODY, NEXT_SEQ, SEND_INDEX, Store,
};
use crate::config::{self, Limits};
use crate::error::RelayError;
use crate::hub::{Admitted, ConnEvent, ConnSender, Hub};

/// Most operations applied in one transaction.
const MAX_BATCH: usize = 4096;
/// Acknowledged envelopes are deleted in sorted groups of up to this many...
const ACK_GROUP: usize = 32 * 1024;
/// ...or after this long, whichever comes first (and at shutdown).
const ACK_DELAY: Duration = Duration::from_millis(200);
/// At most this many acks wait for their envelope, each at most this long.
const MAX_EARLY_ACKS: usize = 16 * 1024;
const EARLY_ACK_LIFETIME: Duration = Duration::from_secs(10);
/// In os-buffered mode, make one durable commit at least this often.
const OS_BUFFERED_SYNC: Duration = Duration::from_secs(1);

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
    pub(crate) fn start(
        store: Store,
        hub: Arc<Hub>,
        limits: Limits,
        durability: config::Durability,
    ) -> Result<Writer, RelayError> {
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
        let (sender, receiver) = mpsc::channel(16 * 1024);
        let send_ids = state.records.values().map(|r| r.send_id).collect();
        let thread = WriterThread {
            store,
            hub,
            limits,
            durability,
            records: state.records,
            send_ids,
            next_body_id: state.next_body_id,
            high_seq: next_seq,
            last_sync: Instant::now(),
            scratch: Vec::new(),
            acked: Vec::new(),
            acked_since: None,
            early_acks: HashMap::new(),
            last_reopen: None,
        };
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
    records: HashMap<ReceiveId, MailboxRecord>,
    send_ids: HashSet<SendId>,
    next_body_id: u64,
    /// One past the highest seq ever stored (persisted as a high-water mark).
    high_seq: u64,
    last_sync: Instant,
    scratch: Vec<u8>,
    /// Acknowledged envelopes, already out of the index, whose deletion is not yet
    /// committed; and since when the oldest has waited.
    acked: Vec<(Option<ReceiveId>, u64)>,
    acked_since: Option<Instant>,
    /// Acknowledgements that reached the writer before the envelope they name: a
    /// caught-up subscriber gets an envelope before its `Store` is queued here, so under
    /// load its ack can overtake it. Kept a short while, and bounded.
    early_acks: HashMap<(ReceiveId, u64), Instant>,
    /// When the store was last reopened after a failed commit.
    last_reopen: Option<Instant>,
}

/// Least time between two reopenings of the store after failed commits.
const REOPEN_PAUSE: Duration = Duration::from_millis(200);

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

type Outcome = Option<Result<Reply, ErrorCode>>;

impl WriterThread {
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

    fn commit_batch(&mut self, batch: &mut Vec<WriteOp>, flush_acks: bool) {
        let mut pending = Pending::default();
        let outcome = self.apply_all(batch, &mut pending, flush_acks);
        if !pending.refused.is_empty() {
            self.hub.release(&pending.refused);
        }
        match outcome {
            Ok(()) => {
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
                if !pending.acked_on_arrival.is_empty() {
                    self.acked.extend(
                        pending
                            .acked_on_arrival
                            .iter()
                            .map(|(id, seq)| (Some(*id), *seq)),
                    );
                    self.acked_since.get_or_insert_with(Instant::now);
                }
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
            Err(error) => {
                tracing::warn!(%error, "a commit failed; the batch was refused and nothing of it was stored");
                // Everything admitted for the batch is taken back, once: what was refused
                // already (mailbox gone) is released above.
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
                if !pending.flushed_acks.is_empty() {
                    self.acked.append(&mut pending.flushed_acks);
                    self.acked_since.get_or_insert_with(Instant::now);
                }
                for (to, result) in pending.replies {
                    let result = result.and(Err(ErrorCode::StorageFailure));
                    let _ = to.events.send(ConnEvent::Reply {
                        request: to.request,
                        result,
                    });
                }
                // An I/O error leaves the database handle refusing everything, reads
                // included: open the file again (its last commit is intact) and let
                // subscribers retry what they could not read. While the disk stays full
                // every batch fails: pausing between reopenings throttles them.
                if let Some(wait) = self
                    .last_reopen
                    .and_then(|at| REOPEN_PAUSE.checked_sub(at.elapsed()))
                {
                    std::thread::sleep(wait);
                }
                self.last_reopen = Some(Instant::now());
                match self.store.reopen() {
                    Ok(()) => tracing::info!("reopened the store after a failed commit"),
                    Err(error) => tracing::error!(%error, "cannot reopen the store; will retry"),
                }
                self.hub.wake_all();
                // Mailbox records changed in the failed batch are read back from disk.
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
    }

    fn apply_all(
        &mut self,
        batch: &mut Vec<WriteOp>,
        pending: &mut Pending,
        flush_acks: bool,
    ) -> Result<(), RelayError> {
        // Acknowledgements leave the index now and are deleted later in one sorted group:
        // consecutive seqs share B-tree leaves, so each leaf is rewritten once per group,
        // not once per ack. A crash before the group commits means those envelopes are
        // delivered again (with the same seq), which clients deduplicate.
        let mut others = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        for op in batch.drain(..) {
            match &op.kind {
                OpKind::Ack { receive_id, seq } => acks.push((*receive_id, seq.0)),
                OpKind::Tick => {}
                kind => {
                    kind.admitted_into(&mut pending.admitted);
                    others.push(op);
                }
            }
        }
        if others.is_empty() {
            self.take_acks(&std::mem::take(&mut acks), pending);
        }
        let flush = !self.acked.is_empty()
            && (flush_acks
                || self.acked.len() >= ACK_GROUP
                || self.acked_since.is_some_and(|t| t.elapsed() >= ACK_DELAY));
        if others.is_empty() && !flush {
            return Ok(());
        }
        let durable = match self.durability {
            config::Durability::Fsync => true,
            config::Durability::OsBuffered => self.last_sync.elapsed() >= OS_BUFFERED_SYNC,
        };
        let began = self.store.database().and_then(|db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(if durable {
                Durability::Immediate
            } else {
                Durability::None
            })
            .map_err(|e| RelayError::Store(e.to_string()))?;
            Ok(txn)
        });
        let mut txn = match began {
            Ok(txn) => txn,
            Err(error) => {
                // Every request of the batch is answered: nothing was stored.
                for op in others {
                    if let Some(to) = op.reply {
                        pending.replies.push((to, Err(ErrorCode::StorageFailure)));
                    }
                }
                self.take_acks(&acks, pending);
                return Err(error);
            }
        };
        let now_ms = unix_ms();
        let mut result = Ok(());
        for op in others {
            let outcome = match result {
                Ok(()) => self.apply(&mut txn, op.kind, now_ms, pending),
                Err(_) => Ok(Some(Err(ErrorCode::StorageFailure))),
            };
            let outcome = outcome.unwrap_or_else(|error| {
                result = Err(error);
                Some(Err(ErrorCode::StorageFailure))
            });
            if let (Some(to), Some(outcome)) = (op.reply, outcome) {
                pending.replies.push((to, outcome));
            }
        }
        // After this batch's envelopes, since an ack may name one of them.
        self.take_acks(&acks, pending);
        result?;
        if flush {
            let mut acked = std::mem::take(&mut self.acked);
            self.acked_since = None;
            acked.sort_unstable_by_key(|(_, seq)| *seq);
            let removed = self.remove(&mut txn, &acked, pending);
            pending.flushed_acks = acked;
            removed?;
        }
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(NEXT_SEQ, self.high_seq)?;
            meta.insert(NEXT_BODY, self.next_body_id)?;
        }
        txn.commit()?;
        if durable {
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Takes acknowledged envelopes out of the index (or out of this batch, or holds the
    /// ack until its envelope arrives).
    fn take_acks(&mut self, acks: &[(ReceiveId, u64)], pending: &mut Pending) {
        let mut this_batch: Option<HashSet<(ReceiveId, u64)>> = None;
        for &(receive_id, seq) in acks {
            if self.hub.take_from_index(&receive_id, seq) {
                self.acked.push((Some(receive_id), seq));
                self.acked_since.get_or_insert_with(Instant::now);
            } else if this_batch
                .get_or_insert_with(|| pending.added.iter().map(|(id, s, _)| (*id, s.0)).collect())
                .contains(&(receive_id, seq))
            {
                pending.acked_on_arrival.insert((receive_id, seq));
            } else if seq < self.hub.next_seq() && self.early_acks.len() < MAX_EARLY_ACKS {
                self.early_acks.insert((receive_id, seq), Instant::now());
            }
        }
        if !self.early_acks.is_empty() {
            self.early_acks
                .retain(|_, at| at.elapsed() < EARLY_ACK_LIFETIME);
        }
    }

    /// Whether an ack arrived before this envelope did.
    fn acked_early(&mut self, receive_id: ReceiveId, seq: Seq, pending: &mut Pending) {
        if !self.early_acks.is_empty() && self.early_acks.remove(&(receive_id, seq.0)).is_some() {
            pending.acked_on_arrival.insert((receive_id, seq.0));
        }
    }

    fn apply(
        &mut self,
        txn: &mut WriteTransaction,
        op: OpKind,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<Outcome, RelayError> {
        let outcome = match op {
            OpKind::Create { owner_key } => self.create(txn, owner_key, pending)?,
            OpKind::Delete { receive_id } => {
                if self.records.contains_key(&receive_id) {
                    self.delete_mailbox(txn, &receive_id, pending)?;
                    Ok(Reply::Done)
                } else {
                    Err(ErrorCode::UnknownMailbox)
                }
            }
            OpKind::SetSenderKey {
                receive_id,
                sender_key,
            } => match self.records.get_mut(&receive_id) {
                Some(record) => {
                    record.sender_key = sender_key;
                    let bytes = record.encode();
                    txn.open_table(MAILBOXES)?
                        .insert(receive_id.as_bytes(), bytes.as_slice())?;
                    pending.sender_keys.push((receive_id, sender_key));
                    Ok(Reply::Done)
                }
                None => Err(ErrorCode::UnknownMailbox),
            },
            OpKind::Store {
                receive_id,
                seq,
                header,
                body,
            } => {
                let len = (header.len() + body.len()) as u64;
                if self.records.contains_key(&receive_id) {
                    self.insert(
                        txn,
                        receive_id,
                        seq,
                        &header,
                        BodyRef::Inline(body.as_bytes()),
                        now_ms,
                    )?;
                    pending.added.push((receive_id, seq, len));
                    self.acked_early(receive_id, seq, pending);
                    Ok(Reply::Stored)
                } else {
                    pending.refused.push((receive_id, seq, len));
                    Err(ErrorCode::UnknownMailbox)
                }
            }
            OpKind::StoreBatch {
                body,
                admitted,
                mut outcomes,
            } => {
                let body_id = self.next_body_id;
                let mut refs = 0u32;
                let mut slot = 0;
                for entry in admitted {
                    // Admitted entries fill the `Ok` slots of `outcomes`, in order.
                    while outcomes.get(slot).is_some_and(Result::is_err) {
                        slot += 1;
                    }
                    let len = (entry.header.len() + body.len()) as u64;
                    if self.records.contains_key(&entry.receive_id) {
                        let shared = BodyRef::Shared(body_id);
                        self.insert(
                            txn,
                            entry.receive_id,
                            entry.seq,
                            &entry.header,
                            shared,
                            now_ms,
                        )?;
                        pending.added.push((entry.receive_id, entry.seq, len));
                        self.acked_early(entry.receive_id, entry.seq, pending);
                        refs += 1;
                    } else {
                        pending.refused.push((entry.receive_id, entry.seq, len));
                        if let Some(outcome) = outcomes.get_mut(slot) {
                            *outcome = Err(ErrorCode::UnknownMailbox);
                        }
                    }
                    slot += 1;
                }
                if refs > 0 {
                    txn.open_table(BODIES)?.insert(
                        body_id,
                        encode_shared_body(refs, body.as_bytes()).as_slice(),
                    )?;
                    self.next_body_id += 1;
                }
                Ok(Reply::BatchStored { outcomes })
            }
            OpKind::Ack { .. } | OpKind::Tick => return Ok(None),
            OpKind::Expire => {
                self.expire(txn, now_ms, pending)?;
                return Ok(None);
            }
        };
        Ok(Some(outcome))
    }

    fn insert(
        &mut self,
        txn: &mut WriteTransaction,
        receive_id: ReceiveId,
        seq: Seq,
        header: &Header,
        body: BodyRef<'_>,
        now_ms: u64,
    ) -> Result<(), RelayError> {
        let body = match body {
            BodyRef::Inline(bytes) if bytes.len() > INLINE_MAX => {
                let mut chunks = txn.open_table(BODY_CHUNKS)?;
                for (i, chunk) in (0u8..).zip(bytes.chunks(CHUNK_BYTES)) {
                    chunks.insert((seq.0, i), chunk)?;
                }
                // Bodies are at most 65,536 bytes (checked on receipt).
                BodyRef::Chunked(u32::try_from(bytes.len()).unwrap_or(u32::MAX))
            }
            other => other,
        };
        EnvelopeRecord {
            receive_id,
            stored_at_ms: now_ms,
            header: header.as_bytes(),
            body,
        }
        .encode(&mut self.scratch);
        txn.open_table(ENVELOPES)?
            .insert(seq.0, self.scratch.as_slice())?;
        self.high_seq = self.high_seq.max(seq.0 + 1);
        Ok(())
    }

    fn create(
        &mut self,
        txn: &mut WriteTransaction,
        owner_key: PublicKey,
        pending: &mut Pending,
    ) -> Result<Result<Reply, ErrorCode>, RelayError> {
        let (receive_id, send_id) = loop {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes);
            let (r, s) = bytes.split_at(16);
            let receive_id =
                ReceiveId::from_slice(r).map_err(|e| RelayError::Store(e.to_string()))?;
            let send_id = SendId::from_slice(s).map_err(|e| RelayError::Store(e.to_string()))?;
            // 128-bit random ids do not collide in practice; check anyway.
            if !self.records.contains_key(&receive_id) && !self.send_ids.contains(&send_id) {
                break (receive_id, send_id);
            }
        };
        let record = MailboxRecord {
            send_id,
            owner_key,
            sender_key: None,
        };
        txn.open_table(MAILBOXES)?
            .insert(receive_id.as_bytes(), record.encode().as_slice())?;
        txn.open_table(SEND_INDEX)?
            .insert(send_id.as_bytes(), receive_id.as_bytes())?;
        self.records.insert(receive_id, record);
        self.send_ids.insert(send_id);
        pending.created.push((receive_id, send_id));
        Ok(Ok(Reply::MailboxCreated {
            receive_id,
            send_id,
        }))
    }

    fn delete_mailbox(
        &mut self,
        txn: &mut WriteTransaction,
        receive_id: &ReceiveId,
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let mut seqs = self.hub.seqs_after(receive_id, None, usize::MAX);
        seqs.extend(
            pending
                .added
                .iter()
                .filter(|(id, _, _)| id == receive_id)
                .map(|(_, seq, _)| seq.0),
        );
        let targets: Vec<(Option<ReceiveId>, u64)> = seqs
            .into_iter()
            .map(|seq| (Some(*receive_id), seq))
            .collect();
        self.remove(txn, &targets, pending)?;
        if let Some(record) = self.records.remove(receive_id) {
            self.send_ids.remove(&record.send_id);
            txn.open_table(SEND_INDEX)?
                .remove(record.send_id.as_bytes())?;
        }
        txn.open_table(MAILBOXES)?.remove(receive_id.as_bytes())?;
        pending.deleted.push(*receive_id);
        Ok(())
    }

    /// Removes envelopes (missing ones are ignored: acks are idempotent), releasing
    /// shared bodies. An envelope with an expected mailbox is removed only if it belongs
    /// to it: an owner can acknowledge only its own.
    fn remove(
        &mut self,
        txn: &mut WriteTransaction,
        targets: &[(Option<ReceiveId>, u64)],
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let mut envelopes = txn.open_table(ENVELOPES)?;
        let mut bodies = txn.open_table(BODIES)?;
        let mut chunks = txn.open_table(BODY_CHUNKS)?;
        for &(only, seq) in targets {
            // One descent: remove, and put back in the rare case it is not the owner's.
            let (receive_id, header_len, body) = {
                let Some(removed) = envelopes.remove(seq)? else {
                    continue;
                };
                let Some(record) = EnvelopeRecord::decode(removed.value()) else {
                    continue;
                };
                if only.is_some_and(|id| id != record.receive_id) {
                    let bytes = removed.value().to_vec();
                    drop(removed);
                    envelopes.insert(seq, bytes.as_slice())?;
                    continue;
                }
                let body = match record.body {
                    BodyRef::Inline(bytes) => Err(bytes.len()),
                    BodyRef::Chunked(len) => {
                        for i in 0..chunk_count(len as usize) {
                            chunks.remove((seq, i))?;
                        }
                        Err(len as usize)
                    }
                    BodyRef::Shared(id) => Ok(id),
                };
                (record.receive_id, record.header.len(), body)
            };
            let body_len = match body {
                Err(len) => len,
                Ok(id) => {
                    let shared = bodies.get(id)?.and_then(|v| {
                        decode_shared_body(v.value()).map(|(refs, b)| (refs, b.to_vec()))
                    });
                    match shared {
                        Some((refs, bytes)) if refs > 1 => {
                            bodies.insert(id, encode_shared_body(refs - 1, &bytes).as_slice())?;
                            bytes.len()
                        }
                        Some((_, bytes)) => {
                            bodies.remove(id)?;
                            bytes.len()
                        }
                        None => 0,
                    }
                }
            };
            pending
                .removed
                .push((receive_id, seq, (header_len + body_len) as u64));
        }
        Ok(())
    }

    /// Deletes envelopes older than the expiry. Seqs follow arrival order, so the sweep
    /// reads from the oldest and stops at the first envelope still young enough.
    fn expire(
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

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
