//! Applying a batch of operations inside one write transaction.
//!
//! [`WriterThread::apply_all`] sorts the batch (acks apart, ticks dropped), opens the
//! transaction, applies each operation in order, deletes the acknowledged envelopes whose
//! group is due, records the high-water marks and commits. What the batch does to the
//! hub and the senders is only collected (in [`Pending`]): `commit_batch` acts on it once
//! the outcome of the commit is known. Nothing here reads the clock: the batch's `now` is
//! passed in.

use boucle_wire::{ErrorCode, Header, PublicKey, ReceiveId, Reply, SendId, Seq};
use redb::{Durability, ReadableTable, WriteTransaction};
use std::time::Duration;

use super::acks::Target;
use super::{Now, OpKind, Pending, WriteOp, WriterThread};
use crate::config;
use crate::error::RelayError;
use crate::store::records::{
    BodyRef, CHUNK_BYTES, EnvelopeRecord, INLINE_MAX, MailboxRecord, chunk_count,
    decode_shared_body, encode_shared_body,
};
use crate::store::{
    BODIES, BODY_CHUNKS, ENVELOPES, MAILBOXES, META, NEXT_BODY, NEXT_SEQ, SEND_INDEX,
};

/// In os-buffered mode, make one durable commit at least this often.
const OS_BUFFERED_SYNC: Duration = Duration::from_secs(1);

/// The answer to one operation, if it has one.
type Outcome = Option<Result<Reply, ErrorCode>>;

/// What [`WriterThread::apply_all`] did with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Applied {
    /// Nothing to write (only acks taken out of the index, or ticks).
    Nothing,
    /// A transaction committed; `durable` if it was synced to disk.
    Committed { durable: bool },
}

impl WriterThread {
    /// Applies `batch` (taking its operations out) in one transaction and commits it.
    /// The answers, and what the hub must learn, are left in `pending`. `flush_acks`
    /// deletes every acknowledged envelope whatever the delay.
    pub(super) fn apply_all(
        &mut self,
        batch: &mut Vec<WriteOp>,
        pending: &mut Pending,
        flush_acks: bool,
        now: Now,
    ) -> Result<Applied, RelayError> {
        // Acknowledgements leave the index now and are deleted later in one sorted group:
        // consecutive seqs share B-tree leaves, so each leaf is rewritten once per group,
        // not once per ack. A crash before the group commits means those envelopes are
        // delivered again (with the same seq), which clients deduplicate (see `acks`).
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
            self.acks
                .take_acks(&self.hub, &std::mem::take(&mut acks), pending, now.instant);
        }
        let flush = self.acks.due(flush_acks, now.instant);
        if others.is_empty() && !flush {
            return Ok(Applied::Nothing);
        }
        let durable = match self.durability {
            config::Durability::Fsync => true,
            config::Durability::OsBuffered => {
                now.instant.saturating_duration_since(self.last_sync) >= OS_BUFFERED_SYNC
            }
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
                self.acks.take_acks(&self.hub, &acks, pending, now.instant);
                return Err(error);
            }
        };
        let now_ms = now.unix_ms;
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
        self.acks.take_acks(&self.hub, &acks, pending, now.instant);
        result?;
        if flush {
            let acked = self.acks.take_group();
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
        Ok(Applied::Committed { durable })
    }

    /// Applies one operation; an `Err` is a storage failure that fails the batch.
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
                    self.acks.acked_early(receive_id, seq, pending);
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
                        self.acks.acked_early(entry.receive_id, entry.seq, pending);
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

    /// Writes one envelope (cutting a long inline body into chunks).
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

    /// Creates a mailbox with fresh random ids.
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

    /// Deletes a mailbox and every envelope it holds, this batch's included.
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
        let targets: Vec<Target> = seqs
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
    pub(super) fn remove(
        &mut self,
        txn: &mut WriteTransaction,
        targets: &[Target],
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use boucle_wire::{
        BatchRecipient, ErrorCode, Header, PublicKey, ReceiveId, Reply, SendId, Seq,
    };
    use redb::{ReadableDatabase, ReadableTableMetadata};
    use tokio::sync::mpsc;

    use super::super::OpKind;
    use super::super::acks::ACK_DELAY;
    use super::super::fixture::{Fixture, body};
    use crate::hub::ConnEvent;
    use crate::store::BODY_CHUNKS;
    use crate::store::records::INLINE_MAX;

    fn chunks_on_disk(f: &Fixture) -> u64 {
        let db = f.store.database().expect("the store is open");
        let txn = db.begin_read().expect("a read transaction");
        txn.open_table(BODY_CHUNKS)
            .expect("the chunks table")
            .len()
            .expect("a count")
    }

    /// Every envelope of a mailbox as the store reads it back: seq and body length.
    fn read_back(f: &Fixture, receive_id: &ReceiveId, seqs: &[u64]) -> Vec<(u64, usize)> {
        let reader = f.store.reader().expect("a reader");
        let mut out = Vec::new();
        reader
            .for_each_envelope(receive_id, seqs, 0, |seq, _, body| {
                out.push((seq.0, body.len()));
                true
            })
            .expect("the envelopes read back");
        out
    }

    fn subscribe(f: &Fixture, receive_id: ReceiveId) -> mpsc::UnboundedReceiver<ConnEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        f.hub.subscribe(receive_id, 1, tx, Arc::default());
        rx
    }

    #[test]
    fn a_created_mailbox_is_on_disk_and_routed_by_the_hub() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let state = f.store.load_state().expect("the state reads back");
        let record = state
            .records
            .get(&receive_id)
            .expect("the mailbox is stored");
        assert_eq!(record.send_id, send_id);
        assert_eq!(
            f.store.owner_key(&receive_id).expect("a read"),
            Some(PublicKey::from_bytes([1; 32]))
        );
        assert!(f.writer.send_ids.contains(&send_id));
        assert!(
            f.hub
                .admit(&send_id, &Header::default(), &body(1), None)
                .is_ok()
        );
    }

    #[test]
    fn a_sender_key_is_stored_and_reaches_the_hub() {
        let mut f = Fixture::new();
        let (receive_id, _) = f.create_mailbox();
        let key = PublicKey::from_bytes([5; 32]);
        let (request, op) = f.with_reply(OpKind::SetSenderKey {
            receive_id,
            sender_key: Some(key),
        });
        f.run(vec![op]);
        assert_eq!(f.reply(request), Ok(Reply::Done));
        assert!(f.status(&receive_id).sender_key_required);
        let state = f.store.load_state().expect("the state reads back");
        assert_eq!(state.records[&receive_id].sender_key, Some(key));

        let (request, op) = f.with_reply(OpKind::SetSenderKey {
            receive_id: ReceiveId::from_bytes([9; 16]),
            sender_key: None,
        });
        f.run(vec![op]);
        assert_eq!(f.reply(request), Err(ErrorCode::UnknownMailbox));
    }

    #[test]
    fn deleting_a_mailbox_releases_its_envelopes() {
        let mut f = Fixture::new();
        let (gone, gone_send) = f.create_mailbox();
        let (kept, kept_send) = f.create_mailbox();
        let small = f.store_one(&gone_send, 10);
        let long = f.store_one(&gone_send, INLINE_MAX + 5_000);
        let other = f.store_one(&kept_send, 30);
        assert!(chunks_on_disk(&f) > 0, "the long body is chunked");
        assert_eq!(
            read_back(&f, &gone, &[small.0, long.0]),
            vec![(small.0, 10), (long.0, INLINE_MAX + 5_000)]
        );
        let mut events = subscribe(&f, gone);

        let (request, op) = f.delete_op(gone);
        f.run(vec![op]);
        assert_eq!(f.reply(request), Ok(Reply::Done));
        assert!(
            f.stored_on_disk(&gone).is_empty(),
            "its envelopes are deleted"
        );
        assert_eq!(chunks_on_disk(&f), 0, "with the chunks of the long body");
        assert!(f.hub.status(&gone).is_none(), "the hub forgets it");
        assert_eq!(f.hub.stored_count(&gone), 0);
        assert_eq!(
            f.hub.counters(),
            (1, 1, 30),
            "only the other mailbox is counted"
        );
        assert!(
            matches!(events.try_recv(), Ok(ConnEvent::Ended { receive_id }) if receive_id == gone),
            "its subscription ends"
        );
        let state = f.store.load_state().expect("the state reads back");
        assert!(!state.records.contains_key(&gone));
        assert!(!f.writer.send_ids.contains(&gone_send));
        assert_eq!(
            f.hub.admit(&gone_send, &Header::default(), &body(1), None),
            Err(ErrorCode::UnknownMailbox),
            "its send id no longer routes"
        );

        assert_eq!(
            f.stored_on_disk(&kept),
            vec![other.0],
            "the other one is kept"
        );
        assert_eq!(read_back(&f, &kept, &[other.0]), vec![(other.0, 30)]);

        let (request, op) = f.delete_op(gone);
        f.run(vec![op]);
        assert_eq!(f.reply(request), Err(ErrorCode::UnknownMailbox));
    }

    #[test]
    fn a_store_to_a_mailbox_the_store_does_not_have_is_refused_and_its_quota_released() {
        let mut f = Fixture::new();
        // The hub routes it, the store has no record of it.
        let (receive_id, send_id) = (ReceiveId::from_bytes([3; 16]), SendId::from_bytes([4; 16]));
        f.hub.mailbox_created(receive_id, send_id);
        let (seq, request, op) = f.admit(&send_id, 100);
        assert_eq!(
            f.status(&receive_id).envelopes,
            1,
            "counted in at admission"
        );
        let mut events = subscribe(&f, receive_id);

        f.run(vec![op]);
        assert_eq!(f.reply(request), Err(ErrorCode::UnknownMailbox));
        let status = f.status(&receive_id);
        assert_eq!((status.envelopes, status.bytes), (0, 0), "quota released");
        assert_eq!(
            f.hub.deliverable_after(&receive_id, None, 10),
            (Vec::new(), false),
            "it no longer holds delivery back"
        );
        assert!(
            matches!(events.try_recv(), Ok(ConnEvent::Committed { seq: s, .. }) if s == seq),
            "its subscriber is told to read on"
        );
        assert!(f.stored_on_disk(&receive_id).is_empty());
    }

    #[test]
    fn a_store_behind_a_delete_of_its_mailbox_in_the_same_batch_is_refused() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let (seq, stored, store) = f.admit(&send_id, 100);
        let mut events = subscribe(&f, receive_id);
        let (deleted, delete) = f.delete_op(receive_id);

        f.run(vec![delete, store]);
        assert_eq!(f.reply(deleted), Ok(Reply::Done));
        assert_eq!(f.reply(stored), Err(ErrorCode::UnknownMailbox));
        assert!(f.stored_on_disk(&receive_id).is_empty());
        assert_eq!(f.hub.counters(), (0, 0, 0));
        assert!(
            matches!(events.try_recv(), Ok(ConnEvent::Committed { seq: s, .. }) if s == seq),
            "the refused envelope is released first"
        );
        assert!(matches!(events.try_recv(), Ok(ConnEvent::Ended { .. })));
    }

    #[test]
    fn a_store_ahead_of_a_delete_of_its_mailbox_in_the_same_batch_is_deleted_with_it() {
        let mut f = Fixture::new();
        let (receive_id, send_id) = f.create_mailbox();
        let (_, stored, store) = f.admit(&send_id, 100);
        let (deleted, delete) = f.delete_op(receive_id);

        f.run(vec![store, delete]);
        assert_eq!(f.reply(stored), Ok(Reply::Stored));
        assert_eq!(f.reply(deleted), Ok(Reply::Done));
        assert!(
            f.stored_on_disk(&receive_id).is_empty(),
            "not left orphaned"
        );
        assert_eq!(f.hub.stored_count(&receive_id), 0);
        assert_eq!(f.hub.counters(), (0, 0, 0));
    }

    #[test]
    fn a_batch_send_shares_one_body_and_refuses_a_recipient_whose_mailbox_is_gone() {
        let mut f = Fixture::new();
        let (a, a_send) = f.create_mailbox();
        let (b, b_send) = f.create_mailbox();
        let (c, c_send) = f.create_mailbox();
        let shared = body(200);
        let recipient = |send_id| BatchRecipient {
            send_id,
            header: Header::new(vec![1; 8]).expect("a small header"),
            sender_signature: None,
        };
        let unknown = SendId::from_bytes([8; 16]);
        let results = f.hub.admit_batch(
            &shared,
            vec![
                recipient(a_send),
                recipient(unknown),
                recipient(b_send),
                recipient(c_send),
            ],
        );
        let outcomes = results
            .iter()
            .map(|r| r.as_ref().map(|_| ()).map_err(|code| *code))
            .collect();
        let admitted: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
        let seqs: Vec<Seq> = admitted.iter().map(|a| a.seq).collect();
        let (deleted, delete) = f.delete_op(c);
        let (request, batch) = f.with_reply(OpKind::StoreBatch {
            body: shared,
            admitted,
            outcomes,
        });

        f.run(vec![delete, batch]);
        assert_eq!(f.reply(deleted), Ok(Reply::Done));
        assert_eq!(
            f.reply(request),
            Ok(Reply::BatchStored {
                outcomes: vec![
                    Ok(()),
                    Err(ErrorCode::UnknownMailbox),
                    Ok(()),
                    Err(ErrorCode::UnknownMailbox),
                ]
            }),
            "each refusal lands in its recipient's slot"
        );
        assert_eq!(f.bodies_on_disk(), 1, "one body for both recipients");
        assert_eq!(f.stored_on_disk(&a), vec![seqs[0].0]);
        assert_eq!(f.stored_on_disk(&b), vec![seqs[1].0]);
        assert_eq!(f.status(&a).bytes, 208);

        // The body is released with its last envelope.
        f.ack(a, seqs[0]);
        f.clock.advance(ACK_DELAY);
        f.tick();
        assert_eq!(f.bodies_on_disk(), 1, "still referenced");
        assert_eq!(read_back(&f, &b, &[seqs[1].0]), vec![(seqs[1].0, 200)]);
        let (request, op) = f.delete_op(b);
        f.run(vec![op]);
        assert_eq!(f.reply(request), Ok(Reply::Done));
        assert_eq!(f.bodies_on_disk(), 0, "released");
    }
}
