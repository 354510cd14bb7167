//! The single writer thread and its group commit.
//!
//! Connection tasks queue [`WriteOp`]s on a bounded channel (a full queue makes them
//! wait, and so stops them reading from the network: memory stays bounded). The thread
//! takes everything queued, applies it in one write transaction, commits (with fsync in
//! the default durability mode), and only then sends the replies and tells subscribers.
//! If the commit fails (for example: the disk is full), every request of the batch is
//! answered `StorageFailure`, the in-memory state is rebuilt from disk, and the relay
//! goes on serving.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use boucle_wire::{
    BatchRecipient, Body, Envelope, ErrorCode, Header, MailboxStatus, PublicKey, ReceiveId, Reply,
    RequestId, SendId, Seq, Signature,
};
use ed25519_dalek::VerifyingKey;
use redb::{Durability, ReadableTable, WriteTransaction};
use tokio::sync::mpsc;

use super::records::{
    BodyRef, EnvelopeRecord, MailboxRecord, decode_shared_body, encode_shared_body,
};
use super::{
    BODIES, ENVELOPES, MAILBOXES, META, MailboxState, NEXT_BODY, NEXT_SEQ, SEND_INDEX, State,
    Store,
};
use crate::config::{self, Limits};
use crate::error::RelayError;
use crate::hub::{ConnEvent, ConnSender, Hub};

/// Most operations applied in one transaction.
const MAX_BATCH: usize = 4096;
/// In os-buffered mode, make one durable commit at least this often.
const OS_BUFFERED_SYNC: Duration = Duration::from_secs(1);

/// Where to send a reply.
pub(crate) struct ReplyTo {
    pub events: ConnSender,
    pub request: RequestId,
}

/// A write (or a state query the writer alone can answer), and where its answer goes.
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
    Store {
        send_id: SendId,
        envelope: Envelope,
        signature: Option<Signature>,
    },
    StoreBatch {
        body: Body,
        recipients: Vec<BatchRecipient>,
    },
    Ack {
        receive_id: ReceiveId,
        seq: Seq,
    },
    Status {
        receive_id: ReceiveId,
    },
    Expire,
}

type Outcome = Option<Result<Reply, ErrorCode>>;

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
        let mut state = store.load_state()?;
        hub.replace_index(std::mem::take(&mut state.index));
        let (sender, receiver) = mpsc::channel(16 * 1024);
        let thread = WriterThread {
            store,
            hub,
            limits,
            durability,
            state,
            last_sync: Instant::now(),
            scratch: Vec::new(),
        };
        thread.publish_counters();
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
    state: State,
    last_sync: Instant,
    scratch: Vec<u8>,
}

/// Effects held back until the commit succeeds.
#[derive(Default)]
struct Pending {
    replies: Vec<(ReplyTo, Result<Reply, ErrorCode>)>,
    /// Told to caught-up subscribers just before the commit.
    stored: Vec<(ReceiveId, Seq, Header, Arc<Body>)>,
    added: Vec<(ReceiveId, Seq)>,
    removed: Vec<(ReceiveId, u64)>,
    gone: Vec<ReceiveId>,
}

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
            self.commit_batch(&mut batch);
        }
        tracing::debug!("writer stopped");
    }

    fn commit_batch(&mut self, batch: &mut Vec<WriteOp>) {
        let mut pending = Pending::default();
        let outcome = self.apply_all(batch, &mut pending);
        match outcome {
            Ok(()) => {
                for (to, result) in pending.replies {
                    let _ = to.events.send(ConnEvent::Reply {
                        request: to.request,
                        result,
                    });
                }
                self.hub.committed(&pending.added, &pending.removed);
                for receive_id in pending.gone {
                    self.hub.mailbox_gone(&receive_id);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "a commit failed; the batch was refused and nothing of it was stored");
                for (to, result) in pending.replies {
                    let result = result.and(Err(ErrorCode::StorageFailure));
                    let _ = to.events.send(ConnEvent::Reply {
                        request: to.request,
                        result,
                    });
                }
                match self.store.load_state() {
                    Ok(mut state) => {
                        // Seqs handed out in the failed batch are never reused.
                        state.next_seq = state.next_seq.max(self.state.next_seq);
                        state.next_body_id = state.next_body_id.max(self.state.next_body_id);
                        self.hub.replace_index(std::mem::take(&mut state.index));
                        self.state = state;
                    }
                    Err(error) => tracing::error!(%error, "cannot reload the store state"),
                }
            }
        }
        self.publish_counters();
    }

    fn apply_all(
        &mut self,
        batch: &mut Vec<WriteOp>,
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let mut txn = self.store.database().begin_write()?;
        let durable = match self.durability {
            config::Durability::Fsync => true,
            config::Durability::OsBuffered => self.last_sync.elapsed() >= OS_BUFFERED_SYNC,
        };
        txn.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })
        .map_err(|e| RelayError::Store(e.to_string()))?;
        let now_ms = unix_ms();
        let mut result = Ok(());
        // Acks are applied last, sorted: consecutive seqs share B-tree leaves, so each
        // leaf is rewritten once per batch instead of once per ack.
        let mut acks: Vec<(ReceiveId, u64)> = Vec::new();
        for op in batch.drain(..) {
            if let OpKind::Ack { receive_id, seq } = op.kind {
                acks.push((receive_id, seq.0));
                continue;
            }
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
        result?;
        if !acks.is_empty() {
            acks.sort_unstable_by_key(|(_, seq)| *seq);
            self.remove_acknowledged(&mut txn, &acks, pending)?;
        }
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(NEXT_SEQ, self.state.next_seq)?;
            meta.insert(NEXT_BODY, self.state.next_body_id)?;
        }
        // Caught-up subscribers may have these now; senders hear back only after commit.
        self.hub.stored(std::mem::take(&mut pending.stored));
        txn.commit()?;
        if durable {
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    fn apply(
        &mut self,
        txn: &mut WriteTransaction,
        op: OpKind,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<Outcome, RelayError> {
        let outcome = match op {
            OpKind::Create { owner_key } => self.create(txn, owner_key)?,
            OpKind::Delete { receive_id } => {
                if self.state.mailboxes.contains_key(&receive_id) {
                    self.delete_mailbox(txn, &receive_id, pending)?;
                    pending.gone.push(receive_id);
                    Ok(Reply::Done)
                } else {
                    Err(ErrorCode::UnknownMailbox)
                }
            }
            OpKind::SetSenderKey {
                receive_id,
                sender_key,
            } => match self.state.mailboxes.get_mut(&receive_id) {
                Some(mailbox) => {
                    mailbox.record.sender_key = sender_key;
                    let record = mailbox.record.encode();
                    txn.open_table(MAILBOXES)?
                        .insert(receive_id.as_bytes(), record.as_slice())?;
                    Ok(Reply::Done)
                }
                None => Err(ErrorCode::UnknownMailbox),
            },
            OpKind::Store {
                send_id,
                envelope,
                signature,
            } => self.store_one(txn, send_id, envelope, signature, now_ms, pending)?,
            OpKind::StoreBatch { body, recipients } => {
                let outcomes = self.store_batch(txn, body, recipients, now_ms, pending)?;
                Ok(Reply::BatchStored { outcomes })
            }
            OpKind::Ack { receive_id, seq } => {
                self.remove_acknowledged(txn, &[(receive_id, seq.0)], pending)?;
                return Ok(None);
            }
            OpKind::Status { receive_id } => match self.state.mailboxes.get(&receive_id) {
                Some(mailbox) => Ok(Reply::Status(MailboxStatus {
                    envelopes: mailbox.envelopes,
                    bytes: mailbox.bytes,
                    max_envelopes: self.limits.mailbox_max_envelopes,
                    max_bytes: self.limits.mailbox_max_bytes,
                    sender_key_required: mailbox.record.sender_key.is_some(),
                })),
                None => Err(ErrorCode::UnknownMailbox),
            },
            OpKind::Expire => {
                self.expire(txn, now_ms, pending)?;
                return Ok(None);
            }
        };
        Ok(Some(outcome))
    }

    fn create(
        &mut self,
        txn: &mut WriteTransaction,
        owner_key: PublicKey,
    ) -> Result<Result<Reply, ErrorCode>, RelayError> {
        let (receive_id, send_id) = loop {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes);
            let (r, s) = bytes.split_at(16);
            let receive_id =
                ReceiveId::from_slice(r).map_err(|e| RelayError::Store(e.to_string()))?;
            let send_id = SendId::from_slice(s).map_err(|e| RelayError::Store(e.to_string()))?;
            // 128-bit random ids do not collide in practice; check anyway.
            if !self.state.mailboxes.contains_key(&receive_id)
                && !self.state.by_send.contains_key(&send_id)
            {
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
        self.state.by_send.insert(send_id, receive_id);
        self.state.mailboxes.insert(
            receive_id,
            MailboxState {
                record,
                envelopes: 0,
                bytes: 0,
            },
        );
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
                .filter(|(id, _)| id == receive_id)
                .map(|(_, seq)| seq.0),
        );
        self.remove_envelopes(txn, Some(receive_id), &seqs, pending)?;
        if let Some(mailbox) = self.state.mailboxes.remove(receive_id) {
            self.state.by_send.remove(&mailbox.record.send_id);
            txn.open_table(SEND_INDEX)?
                .remove(mailbox.record.send_id.as_bytes())?;
        }
        txn.open_table(MAILBOXES)?.remove(receive_id.as_bytes())?;
        Ok(())
    }

    /// Checks that `send_id` may receive an envelope of `len` bytes now.
    fn admit(
        &self,
        send_id: &SendId,
        len: usize,
        proof: impl FnOnce(&PublicKey) -> bool,
    ) -> Result<ReceiveId, ErrorCode> {
        let receive_id = *self
            .state
            .by_send
            .get(send_id)
            .ok_or(ErrorCode::UnknownMailbox)?;
        let mailbox = self
            .state
            .mailboxes
            .get(&receive_id)
            .ok_or(ErrorCode::UnknownMailbox)?;
        if let Some(sender_key) = &mailbox.record.sender_key
            && !proof(sender_key)
        {
            return Err(ErrorCode::SenderNotAllowed);
        }
        if mailbox.envelopes >= self.limits.mailbox_max_envelopes
            || mailbox.bytes + len as u64 > self.limits.mailbox_max_bytes
        {
            return Err(ErrorCode::QuotaExceeded);
        }
        Ok(receive_id)
    }

    /// Assigns the next seq and counts the envelope in its mailbox.
    fn take_seq(&mut self, receive_id: &ReceiveId, len: usize, pending: &mut Pending) -> Seq {
        let seq = Seq(self.state.next_seq);
        self.state.next_seq += 1;
        if let Some(mailbox) = self.state.mailboxes.get_mut(receive_id) {
            mailbox.envelopes += 1;
            mailbox.bytes += len as u64;
        }
        pending.added.push((*receive_id, seq));
        seq
    }

    fn store_one(
        &mut self,
        txn: &mut WriteTransaction,
        send_id: SendId,
        envelope: Envelope,
        signature: Option<Signature>,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<Result<Reply, ErrorCode>, RelayError> {
        let len = envelope.stored_len();
        let admitted = self.admit(&send_id, len, |key| {
            verify_sender(key, &signature, &send_id, &envelope.header, &envelope.body)
        });
        let receive_id = match admitted {
            Ok(id) => id,
            Err(code) => return Ok(Err(code)),
        };
        let seq = self.take_seq(&receive_id, len, pending);
        EnvelopeRecord {
            receive_id,
            stored_at_ms: now_ms,
            header: envelope.header.as_bytes(),
            body: BodyRef::Inline(envelope.body.as_bytes()),
        }
        .encode(&mut self.scratch);
        txn.open_table(ENVELOPES)?
            .insert(seq.0, self.scratch.as_slice())?;
        pending
            .stored
            .push((receive_id, seq, envelope.header, Arc::new(envelope.body)));
        Ok(Ok(Reply::Stored))
    }

    fn store_batch(
        &mut self,
        txn: &mut WriteTransaction,
        body: Body,
        recipients: Vec<BatchRecipient>,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<Vec<Result<(), ErrorCode>>, RelayError> {
        let body = Arc::new(body);
        let body_id = self.state.next_body_id;
        let mut outcomes = Vec::with_capacity(recipients.len());
        let mut refs = 0u32;
        let mut envelopes = txn.open_table(ENVELOPES)?;
        for recipient in recipients {
            let len = recipient.header.len() + body.len();
            let admitted = self.admit(&recipient.send_id, len, |key| {
                verify_sender(
                    key,
                    &recipient.sender_signature,
                    &recipient.send_id,
                    &recipient.header,
                    &body,
                )
            });
            let receive_id = match admitted {
                Ok(id) => id,
                Err(code) => {
                    outcomes.push(Err(code));
                    continue;
                }
            };
            let seq = self.take_seq(&receive_id, len, pending);
            EnvelopeRecord {
                receive_id,
                stored_at_ms: now_ms,
                header: recipient.header.as_bytes(),
                body: BodyRef::Shared(body_id),
            }
            .encode(&mut self.scratch);
            envelopes.insert(seq.0, self.scratch.as_slice())?;
            pending
                .stored
                .push((receive_id, seq, recipient.header, body.clone()));
            refs += 1;
            outcomes.push(Ok(()));
        }
        drop(envelopes);
        if refs > 0 {
            txn.open_table(BODIES)?.insert(
                body_id,
                encode_shared_body(refs, body.as_bytes()).as_slice(),
            )?;
            self.state.next_body_id += 1;
        }
        Ok(outcomes)
    }

    /// Removes envelopes (missing ones are ignored: acks are idempotent), releasing shared
    /// bodies and updating counts. With `only`, envelopes of other mailboxes are left
    /// alone: an owner can acknowledge only its own.
    fn remove_envelopes(
        &mut self,
        txn: &mut WriteTransaction,
        only: Option<&ReceiveId>,
        seqs: &[u64],
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let targets: Vec<(Option<ReceiveId>, u64)> =
            seqs.iter().map(|&seq| (only.copied(), seq)).collect();
        self.remove(txn, &targets, pending)
    }

    /// Acknowledged envelopes: each only if it belongs to the acknowledging mailbox.
    fn remove_acknowledged(
        &mut self,
        txn: &mut WriteTransaction,
        acks: &[(ReceiveId, u64)],
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let targets: Vec<(Option<ReceiveId>, u64)> =
            acks.iter().map(|&(id, seq)| (Some(id), seq)).collect();
        self.remove(txn, &targets, pending)
    }

    fn remove(
        &mut self,
        txn: &mut WriteTransaction,
        targets: &[(Option<ReceiveId>, u64)],
        pending: &mut Pending,
    ) -> Result<(), RelayError> {
        let mut envelopes = txn.open_table(ENVELOPES)?;
        let mut bodies = txn.open_table(BODIES)?;
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
            if let Some(mailbox) = self.state.mailboxes.get_mut(&receive_id) {
                mailbox.envelopes = mailbox.envelopes.saturating_sub(1);
                mailbox.bytes = mailbox.bytes.saturating_sub((header_len + body_len) as u64);
            }
            pending.removed.push((receive_id, seq));
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
            expired.push(key.value());
        }
        if !expired.is_empty() {
            tracing::info!(expired = expired.len(), "expired envelopes deleted");
            self.remove_envelopes(txn, None, &expired, pending)?;
        }
        Ok(())
    }

    fn publish_counters(&self) {
        let (mut envelopes, mut bytes) = (0u64, 0u64);
        for mailbox in self.state.mailboxes.values() {
            envelopes += u64::from(mailbox.envelopes);
            bytes += mailbox.bytes;
        }
        self.hub
            .mailboxes
            .store(self.state.mailboxes.len() as u64, Ordering::Relaxed);
        self.hub.envelopes.store(envelopes, Ordering::Relaxed);
        self.hub.envelope_bytes.store(bytes, Ordering::Relaxed);
    }
}

fn verify_sender(
    key: &PublicKey,
    signature: &Option<Signature>,
    send_id: &SendId,
    header: &Header,
    body: &Body,
) -> bool {
    let Some(signature) = signature else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(key.as_bytes()) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(signature.as_bytes());
    key.verify_strict(
        &boucle_wire::sender_proof(send_id, header, body),
        &signature,
    )
    .is_ok()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
