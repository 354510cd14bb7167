//! What connection tasks and the writer share: mailbox routing and fill levels, who is
//! subscribed to what, and each mailbox's index of committed envelopes.
//!
//! A send is admitted here, on the sender's connection task: its send id is resolved,
//! the quota and sender key checked, a seq assigned, and a caught-up subscriber handed
//! the envelope at once ([`ConnEvent::Stored`]) — all under one lock, so a mailbox's
//! envelopes are announced in seq order. The writer then persists it and only after the
//! fsync answers the sender and signals [`ConnEvent::Committed`]. Delivery therefore never
//! waits for a disk flush; acknowledgement always does.
//!
//! Early pushes are bounded per connection ([`PUSH_BUDGET`] bytes of bodies waiting in
//! its queue). A subscriber whose connection does not keep up stops getting them: it
//! *lags*, and reads from the store after each commit until it has caught up again, so a
//! client that stops reading costs the relay bounded memory however much is sent to it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use boucle_wire::{
    BatchRecipient, Body, ErrorCode, Header, MailboxStatus, PublicKey, ReceiveId, Reply, RequestId,
    SendId, Seq, Signature,
};
use ed25519_dalek::VerifyingKey;
use tokio::sync::mpsc;

use crate::config::Limits;

/// Sends events to one connection task.
pub(crate) type ConnSender = mpsc::UnboundedSender<ConnEvent>;

/// Most bytes of pushed envelopes ([`ConnEvent::Stored`]) waiting in one connection's
/// queue. Past it, a subscription lags (see the module docs).
pub(crate) const PUSH_BUDGET: usize = 4 << 20;

/// Bytes of pushed envelopes in a connection's queue: the hub adds, the connection
/// subtracts as it takes them.
pub(crate) type PushQueue = Arc<AtomicUsize>;

/// What a connection task receives from the rest of the relay.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// The answer to one of its requests.
    Reply {
        request: RequestId,
        result: Result<Reply, ErrorCode>,
    },
    /// A new envelope for a mailbox it subscribes, admitted but not yet committed: it may
    /// be delivered at once to a subscriber that is caught up.
    Stored {
        receive_id: ReceiveId,
        seq: Seq,
        header: Header,
        body: Arc<Body>,
    },
    /// An envelope is now committed (and in the index), or was refused: a subscriber
    /// that did not take it from [`ConnEvent::Stored`] reads on from the store.
    Committed { receive_id: ReceiveId, seq: Seq },
    /// Its subscription ended (taken over by another connection, or mailbox deleted).
    Ended { receive_id: ReceiveId },
}

/// Routing and fill level of one mailbox.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fill {
    pub send_id: Option<SendId>,
    pub sender_key: Option<PublicKey>,
    pub envelopes: u32,
    pub bytes: u64,
    /// Seqs admitted but not yet committed (or refused). Delivery from the index never
    /// passes the lowest of them: envelopes of one mailbox can commit out of seq order
    /// (they come from different connections), and a subscriber's cursor must not skip.
    pub uncommitted: BTreeSet<u64>,
}

struct Subscriber {
    connection: u64,
    events: ConnSender,
    queued: PushQueue,
    /// A push was skipped for lack of budget: none is sent until the connection has
    /// caught up from the store (see [`Hub::caught_up`]), or it could pass the skipped one.
    lagging: bool,
}

#[derive(Default)]
struct Shared {
    subscribers: HashMap<ReceiveId, Subscriber>,
    by_send: HashMap<SendId, ReceiveId>,
    mailboxes: HashMap<ReceiveId, Fill>,
    next_seq: u64,
}

/// An admitted envelope of a batch.
pub(crate) struct Admitted {
    pub receive_id: ReceiveId,
    pub seq: Seq,
    pub header: Header,
}

/// Shared between connection tasks and the writer.
pub(crate) struct Hub {
    limits: Limits,
    shared: Mutex<Shared>,
    index: Mutex<HashMap<ReceiveId, BTreeSet<u64>>>,
    /// Live counters for the stats file.
    pub mailboxes: AtomicU64,
    pub envelopes: AtomicU64,
    pub envelope_bytes: AtomicU64,
}

impl Hub {
    pub fn new(limits: Limits) -> Hub {
        Hub {
            limits,
            shared: Mutex::default(),
            index: Mutex::default(),
            mailboxes: AtomicU64::new(0),
            envelopes: AtomicU64::new(0),
            envelope_bytes: AtomicU64::new(0),
        }
    }

    /// Installs the state read from disk (at start).
    pub fn load(
        &self,
        mailboxes: HashMap<ReceiveId, Fill>,
        index: HashMap<ReceiveId, BTreeSet<u64>>,
        next_seq: u64,
    ) {
        let mut shared = self.lock();
        shared.by_send = mailboxes
            .iter()
            .filter_map(|(id, fill)| fill.send_id.map(|s| (s, *id)))
            .collect();
        shared.mailboxes = mailboxes;
        shared.next_seq = next_seq;
        drop(shared);
        *self.index_lock() = index;
        self.publish();
    }

    /// Admits one envelope: resolves the send id, checks the sender key and the quota,
    /// assigns the seq and tells a subscriber. Counts it in at once.
    pub fn admit(
        &self,
        send_id: &SendId,
        header: &Header,
        body: &Arc<Body>,
        signature: Option<&Signature>,
    ) -> Result<(ReceiveId, Seq), ErrorCode> {
        let mut shared = self.lock();
        let admitted = admit_locked(&mut shared, &self.limits, send_id, header, body, signature)?;
        Ok(admitted)
    }

    /// Admits each recipient of a batch (one lock for all), in order.
    pub fn admit_batch(
        &self,
        body: &Arc<Body>,
        recipients: Vec<BatchRecipient>,
    ) -> Vec<Result<Admitted, ErrorCode>> {
        let mut shared = self.lock();
        recipients
            .into_iter()
            .map(|r| {
                let signature = r.sender_signature.as_ref();
                admit_locked(
                    &mut shared,
                    &self.limits,
                    &r.send_id,
                    &r.header,
                    body,
                    signature,
                )
                .map(|(receive_id, seq)| Admitted {
                    receive_id,
                    seq,
                    header: r.header,
                })
            })
            .collect()
    }

    /// Takes back admitted envelopes that were not stored (failed commit, deleted
    /// mailbox): mailbox, seq and size of each.
    pub fn release(&self, items: &[(ReceiveId, Seq, u64)]) {
        let mut shared = self.lock();
        for (receive_id, seq, len) in items {
            if let Some(fill) = shared.mailboxes.get_mut(receive_id) {
                fill.envelopes = fill.envelopes.saturating_sub(1);
                fill.bytes = fill.bytes.saturating_sub(*len);
                fill.uncommitted.remove(&seq.0);
            }
            // It no longer holds delivery back: wake its subscriber.
            if let Some(subscriber) = shared.subscribers.get(receive_id) {
                let _ = subscriber.events.send(ConnEvent::Committed {
                    receive_id: *receive_id,
                    seq: *seq,
                });
            }
        }
        drop(shared);
        self.publish();
    }

    /// Fill level of a mailbox.
    pub fn status(&self, receive_id: &ReceiveId) -> Option<MailboxStatus> {
        let shared = self.lock();
        let fill = shared.mailboxes.get(receive_id)?;
        Some(MailboxStatus {
            envelopes: fill.envelopes,
            bytes: fill.bytes,
            max_envelopes: self.limits.mailbox_max_envelopes,
            max_bytes: self.limits.mailbox_max_bytes,
            sender_key_required: fill.sender_key.is_some(),
        })
    }

    /// A mailbox was created (committed).
    pub fn mailbox_created(&self, receive_id: ReceiveId, send_id: SendId) {
        let mut shared = self.lock();
        shared.by_send.insert(send_id, receive_id);
        shared.mailboxes.insert(
            receive_id,
            Fill {
                send_id: Some(send_id),
                ..Fill::default()
            },
        );
        drop(shared);
        self.publish();
    }

    /// A mailbox was deleted (committed): forget it and end its subscription.
    pub fn mailbox_deleted(&self, receive_id: &ReceiveId) {
        let mut shared = self.lock();
        if let Some(fill) = shared.mailboxes.remove(receive_id)
            && let Some(send_id) = fill.send_id
        {
            shared.by_send.remove(&send_id);
        }
        if let Some(subscriber) = shared.subscribers.remove(receive_id) {
            let _ = subscriber.events.send(ConnEvent::Ended {
                receive_id: *receive_id,
            });
        }
        drop(shared);
        self.index_lock().remove(receive_id);
        self.publish();
    }

    /// A mailbox's sender key changed (committed).
    pub fn sender_key_set(&self, receive_id: &ReceiveId, sender_key: Option<PublicKey>) {
        if let Some(fill) = self.lock().mailboxes.get_mut(receive_id) {
            fill.sender_key = sender_key;
        }
    }

    /// Makes `connection` the subscriber of a mailbox; a previous subscriber on another
    /// connection is told its subscription ended.
    pub fn subscribe(
        &self,
        receive_id: ReceiveId,
        connection: u64,
        events: ConnSender,
        queued: PushQueue,
    ) {
        let subscriber = Subscriber {
            connection,
            events,
            queued,
            // Its cursor starts on the store path.
            lagging: true,
        };
        let previous = self.lock().subscribers.insert(receive_id, subscriber);
        if let Some(previous) = previous
            && previous.connection != connection
        {
            let _ = previous.events.send(ConnEvent::Ended { receive_id });
        }
    }

    /// Removes a subscription if `connection` still holds it.
    pub fn unsubscribe(&self, receive_id: &ReceiveId, connection: u64) {
        let mut shared = self.lock();
        if shared
            .subscribers
            .get(receive_id)
            .is_some_and(|s| s.connection == connection)
        {
            shared.subscribers.remove(receive_id);
        }
    }

    /// After a commit: index the new envelopes, drop the removed ones (with their sizes)
    /// from the index and the fill levels, and tell subscribers what is now durable.
    /// `acked` were stored by this commit but acknowledged already: they are not indexed.
    pub fn committed(
        &self,
        added: &[(ReceiveId, Seq)],
        acked: &[(ReceiveId, Seq)],
        removed: &[(ReceiveId, u64, u64)],
    ) {
        {
            let mut index = self.index_lock();
            for (receive_id, seq) in added {
                index.entry(*receive_id).or_default().insert(seq.0);
            }
            for (receive_id, seq, _) in removed {
                if let Some(seqs) = index.get_mut(receive_id) {
                    seqs.remove(seq);
                    if seqs.is_empty() {
                        index.remove(receive_id);
                    }
                }
            }
        }
        // Indexed first, then no longer a barrier: a reader that sees the barrier gone
        // finds the envelope in the index.
        let mut shared = self.lock();
        for (receive_id, seq) in added.iter().chain(acked) {
            if let Some(fill) = shared.mailboxes.get_mut(receive_id) {
                fill.uncommitted.remove(&seq.0);
            }
        }
        for (receive_id, _, len) in removed {
            if let Some(fill) = shared.mailboxes.get_mut(receive_id) {
                fill.envelopes = fill.envelopes.saturating_sub(1);
                fill.bytes = fill.bytes.saturating_sub(*len);
            }
        }
        for (receive_id, seq) in added {
            if let Some(subscriber) = shared.subscribers.get(receive_id) {
                let _ = subscriber.events.send(ConnEvent::Committed {
                    receive_id: *receive_id,
                    seq: *seq,
                });
            }
        }
        drop(shared);
        self.publish();
    }

    /// An acknowledged envelope leaves the index at once (so it is never delivered again),
    /// if it is one of this mailbox's. Returns whether it was.
    pub fn take_from_index(&self, receive_id: &ReceiveId, seq: u64) -> bool {
        let mut index = self.index_lock();
        let Some(seqs) = index.get_mut(receive_id) else {
            return false;
        };
        let taken = seqs.remove(&seq);
        if seqs.is_empty() {
            index.remove(receive_id);
        }
        taken
    }

    /// Sends every subscription back to the store: after the store was reopened, a read
    /// that failed meanwhile is retried.
    pub fn wake_all(&self) {
        let shared = self.lock();
        for (receive_id, subscriber) in &shared.subscribers {
            let _ = subscriber.events.send(ConnEvent::Committed {
                receive_id: *receive_id,
                seq: Seq(u64::MAX),
            });
        }
    }

    /// `connection` has delivered everything committed of a mailbox (its cursor is off the
    /// store path): pushes resume, unless an envelope admitted meanwhile is still
    /// uncommitted. One that was admitted and committed meanwhile is safe: its
    /// [`ConnEvent::Committed`] is already queued ahead of any new push.
    pub fn caught_up(&self, receive_id: &ReceiveId, connection: u64) {
        let mut shared = self.lock();
        let settled = shared
            .mailboxes
            .get(receive_id)
            .is_some_and(|fill| fill.uncommitted.is_empty());
        if let Some(subscriber) = shared.subscribers.get_mut(receive_id)
            && subscriber.connection == connection
            && settled
        {
            subscriber.lagging = false;
        }
    }

    /// Up to `limit` committed envelopes of a mailbox after `after` that may be delivered
    /// now, and whether an uncommitted envelope stopped the list (more will follow its
    /// commit).
    pub fn deliverable_after(
        &self,
        receive_id: &ReceiveId,
        after: Option<u64>,
        limit: usize,
    ) -> (Vec<u64>, bool) {
        // The barrier is read before the index (see `committed`).
        let barrier = self
            .lock()
            .mailboxes
            .get(receive_id)
            .and_then(|fill| fill.uncommitted.first().copied());
        let mut seqs = self.seqs_after(receive_id, after, limit);
        let Some(barrier) = barrier else {
            return (seqs, false);
        };
        let before = seqs.partition_point(|seq| *seq < barrier);
        seqs.truncate(before);
        (seqs, true)
    }

    /// Up to `limit` committed envelopes of a mailbox after `after` (from the start if
    /// `None`).
    pub fn seqs_after(&self, receive_id: &ReceiveId, after: Option<u64>, limit: usize) -> Vec<u64> {
        let index = self.index_lock();
        let Some(seqs) = index.get(receive_id) else {
            return Vec::new();
        };
        match after {
            Some(after) => seqs
                .range(after.saturating_add(1)..)
                .take(limit)
                .copied()
                .collect(),
            None => seqs.iter().take(limit).copied().collect(),
        }
    }

    /// One past the highest seq admitted so far.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// Number of committed envelopes of a mailbox.
    pub fn stored_count(&self, receive_id: &ReceiveId) -> usize {
        self.index_lock().get(receive_id).map_or(0, BTreeSet::len)
    }

    /// Current counters: mailboxes, envelopes, bytes.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.mailboxes.load(Ordering::Relaxed),
            self.envelopes.load(Ordering::Relaxed),
            self.envelope_bytes.load(Ordering::Relaxed),
        )
    }

    fn publish(&self) {
        let shared = self.lock();
        let (mut envelopes, mut bytes) = (0u64, 0u64);
        for fill in shared.mailboxes.values() {
            envelopes += u64::from(fill.envelopes);
            bytes += fill.bytes;
        }
        self.mailboxes
            .store(shared.mailboxes.len() as u64, Ordering::Relaxed);
        self.envelopes.store(envelopes, Ordering::Relaxed);
        self.envelope_bytes.store(bytes, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A poisoned lock only means a panic elsewhere; the maps themselves are consistent.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn index_lock(&self) -> MutexGuard<'_, HashMap<ReceiveId, BTreeSet<u64>>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn admit_locked(
    shared: &mut Shared,
    limits: &Limits,
    send_id: &SendId,
    header: &Header,
    body: &Arc<Body>,
    signature: Option<&Signature>,
) -> Result<(ReceiveId, Seq), ErrorCode> {
    let receive_id = *shared
        .by_send
        .get(send_id)
        .ok_or(ErrorCode::UnknownMailbox)?;
    let len = (header.len() + body.len()) as u64;
    let fill = shared
        .mailboxes
        .get_mut(&receive_id)
        .ok_or(ErrorCode::UnknownMailbox)?;
    if let Some(sender_key) = &fill.sender_key
        && !verify_sender(sender_key, signature, send_id, header, body)
    {
        return Err(ErrorCode::SenderNotAllowed);
    }
    if fill.envelopes >= limits.mailbox_max_envelopes || fill.bytes + len > limits.mailbox_max_bytes
    {
        return Err(ErrorCode::QuotaExceeded);
    }
    let seq = Seq(shared.next_seq);
    fill.envelopes += 1;
    fill.bytes += len;
    fill.uncommitted.insert(seq.0);
    shared.next_seq += 1;
    if let Some(subscriber) = shared.subscribers.get_mut(&receive_id) {
        let size = len as usize;
        let queued = subscriber.queued.load(Ordering::Relaxed);
        if !subscriber.lagging && queued.saturating_add(size) <= PUSH_BUDGET {
            subscriber.queued.fetch_add(size, Ordering::Relaxed);
            let _ = subscriber.events.send(ConnEvent::Stored {
                receive_id,
                seq,
                header: header.clone(),
                body: body.clone(),
            });
        } else {
            // Delivered from the store after its commit, and nothing pushed before then.
            subscriber.lagging = true;
        }
    }
    Ok((receive_id, seq))
}

fn verify_sender(
    key: &PublicKey,
    signature: Option<&Signature>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use boucle_wire::Body;

    fn hub_with_mailbox() -> (Hub, ReceiveId, SendId) {
        let hub = Hub::new(Limits::default());
        let (receive_id, send_id) = (ReceiveId::from_bytes([1; 16]), SendId::from_bytes([2; 16]));
        hub.mailbox_created(receive_id, send_id);
        (hub, receive_id, send_id)
    }

    fn body(len: usize) -> Arc<Body> {
        Arc::new(Body::new(vec![7; len]).expect("small body"))
    }

    fn pushed(events: &mut mpsc::UnboundedReceiver<ConnEvent>) -> Vec<u64> {
        let mut seqs = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let ConnEvent::Stored { seq, .. } = event {
                seqs.push(seq.0);
            }
        }
        seqs
    }

    #[test]
    fn pushes_stop_at_the_budget_and_resume_only_once_everything_is_committed() {
        let (hub, receive_id, send_id) = hub_with_mailbox();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let queued: PushQueue = Arc::default();
        hub.subscribe(receive_id, 1, tx, queued.clone());
        // A new subscriber reads its backlog from the store first.
        let header = Header::default();
        let (first, _) = hub.admit(&send_id, &header, &body(100), None).unwrap();
        assert_eq!(first, receive_id);
        assert!(pushed(&mut rx).is_empty());
        hub.committed(&[(receive_id, Seq(0))], &[], &[]);
        hub.caught_up(&receive_id, 1);

        // Caught up: pushed, until the queue holds PUSH_BUDGET bytes.
        let big = 60_000;
        let fits = PUSH_BUDGET / big;
        let mut admitted = Vec::new();
        for _ in 0..fits + 3 {
            admitted.push(hub.admit(&send_id, &header, &body(big), None).unwrap().1);
        }
        let seqs = pushed(&mut rx);
        assert_eq!(seqs.len(), fits);
        assert_eq!(queued.load(Ordering::Relaxed), fits * big);

        // The connection takes them all: room again, but the subscription lags.
        queued.store(0, Ordering::Relaxed);
        hub.admit(&send_id, &header, &body(10), None).unwrap();
        assert!(
            pushed(&mut rx).is_empty(),
            "nothing may pass the skipped ones"
        );

        // Caught up while some are uncommitted: still lagging.
        hub.caught_up(&receive_id, 1);
        hub.admit(&send_id, &header, &body(10), None).unwrap();
        assert!(pushed(&mut rx).is_empty());

        // Everything committed, caught up: pushes resume.
        let all: Vec<_> = (1..hub.next_seq()).map(|s| (receive_id, Seq(s))).collect();
        hub.committed(&all, &[], &[]);
        hub.caught_up(&receive_id, 1);
        let (_, next) = hub.admit(&send_id, &header, &body(10), None).unwrap();
        assert_eq!(pushed(&mut rx), vec![next.0]);
    }

    #[test]
    fn caught_up_from_another_connection_changes_nothing() {
        let (hub, receive_id, send_id) = hub_with_mailbox();
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.subscribe(receive_id, 1, tx, Arc::default());
        hub.caught_up(&receive_id, 2);
        hub.admit(&send_id, &Header::default(), &body(10), None)
            .unwrap();
        assert!(pushed(&mut rx).is_empty());
        hub.caught_up(&receive_id, 1);
        hub.admit(&send_id, &Header::default(), &body(10), None)
            .unwrap();
        assert!(pushed(&mut rx).is_empty(), "the first is still uncommitted");
    }
}
