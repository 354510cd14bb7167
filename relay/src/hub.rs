//! Who is subscribed to what, and the events the writer sends to connections.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use boucle_wire::{Body, ErrorCode, Header, ReceiveId, Reply, RequestId, Seq};
use tokio::sync::mpsc;

/// Sends events to one connection task.
pub(crate) type ConnSender = mpsc::UnboundedSender<ConnEvent>;

/// What a connection task receives from the rest of the relay.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// The answer to one of its requests.
    Reply {
        request: RequestId,
        result: Result<Reply, ErrorCode>,
    },
    /// A new envelope for a mailbox it subscribes, applied but not yet committed: it may
    /// be delivered at once to a subscriber that is caught up.
    Stored {
        receive_id: ReceiveId,
        seq: Seq,
        header: Header,
        body: Arc<Body>,
    },
    /// An envelope is now committed (and in the index): a subscriber that did not take
    /// it from [`ConnEvent::Stored`] reads it from the store.
    Committed { receive_id: ReceiveId, seq: Seq },
    /// Its subscription ended (taken over by another connection, or mailbox deleted).
    Ended { receive_id: ReceiveId },
}

struct Subscriber {
    connection: u64,
    events: ConnSender,
}

/// Shared between connection tasks and the writer.
#[derive(Default)]
pub(crate) struct Hub {
    subscribers: Mutex<HashMap<ReceiveId, Subscriber>>,
    /// Each mailbox's committed envelopes, in order. Written by the writer after each
    /// commit, read by connection tasks to find what to deliver.
    index: Mutex<HashMap<ReceiveId, BTreeSet<u64>>>,
    /// Live counters, kept by the writer.
    pub mailboxes: AtomicU64,
    pub envelopes: AtomicU64,
    pub envelope_bytes: AtomicU64,
}

impl Hub {
    /// Makes `connection` the subscriber of a mailbox; a previous subscriber on another
    /// connection is told its subscription ended.
    pub fn subscribe(&self, receive_id: ReceiveId, connection: u64, events: ConnSender) {
        let previous = self
            .lock()
            .insert(receive_id, Subscriber { connection, events });
        if let Some(previous) = previous
            && previous.connection != connection
        {
            let _ = previous.events.send(ConnEvent::Ended { receive_id });
        }
    }

    /// Removes a subscription if `connection` still holds it.
    pub fn unsubscribe(&self, receive_id: &ReceiveId, connection: u64) {
        let mut subscribers = self.lock();
        if subscribers
            .get(receive_id)
            .is_some_and(|s| s.connection == connection)
        {
            subscribers.remove(receive_id);
        }
    }

    /// Ends any subscription of a deleted mailbox.
    pub fn mailbox_gone(&self, receive_id: &ReceiveId) {
        if let Some(subscriber) = self.lock().remove(receive_id) {
            let _ = subscriber.events.send(ConnEvent::Ended {
                receive_id: *receive_id,
            });
        }
    }

    /// Tells caught-up subscribers about envelopes applied in the transaction being
    /// committed.
    pub fn stored(&self, items: Vec<(ReceiveId, Seq, Header, Arc<Body>)>) {
        if items.is_empty() {
            return;
        }
        let subscribers = self.lock();
        for (receive_id, seq, header, body) in items {
            if let Some(subscriber) = subscribers.get(&receive_id) {
                let _ = subscriber.events.send(ConnEvent::Stored {
                    receive_id,
                    seq,
                    header,
                    body,
                });
            }
        }
    }

    /// After a commit: updates the index, then tells subscribers what is now durable.
    pub fn committed(&self, added: &[(ReceiveId, Seq)], removed: &[(ReceiveId, u64)]) {
        {
            let mut index = self.index_lock();
            for (receive_id, seq) in added {
                index.entry(*receive_id).or_default().insert(seq.0);
            }
            for (receive_id, seq) in removed {
                if let Some(seqs) = index.get_mut(receive_id) {
                    seqs.remove(seq);
                    if seqs.is_empty() {
                        index.remove(receive_id);
                    }
                }
            }
        }
        if added.is_empty() {
            return;
        }
        let subscribers = self.lock();
        for (receive_id, seq) in added {
            if let Some(subscriber) = subscribers.get(receive_id) {
                let _ = subscriber.events.send(ConnEvent::Committed {
                    receive_id: *receive_id,
                    seq: *seq,
                });
            }
        }
    }

    /// Replaces the whole index (at start, and after a failed commit).
    pub fn replace_index(&self, index: HashMap<ReceiveId, BTreeSet<u64>>) {
        *self.index_lock() = index;
    }

    /// Up to `limit` envelopes of a mailbox after `after` (all if `None`).
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

    /// Number of envelopes a mailbox has in the index.
    pub fn stored_count(&self, receive_id: &ReceiveId) -> usize {
        self.index_lock().get(receive_id).map_or(0, BTreeSet::len)
    }

    fn index_lock(&self) -> std::sync::MutexGuard<'_, HashMap<ReceiveId, BTreeSet<u64>>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Current counters: mailboxes, envelopes, bytes.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.mailboxes.load(Ordering::Relaxed),
            self.envelopes.load(Ordering::Relaxed),
            self.envelope_bytes.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ReceiveId, Subscriber>> {
        // A poisoned lock only means a panic elsewhere; the map itself is still consistent.
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}
