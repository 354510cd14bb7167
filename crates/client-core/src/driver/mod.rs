//! The engine's asynchronous edge, on tokio: the relay connections, the task that hands
//! what relays deliver to the core, the outbox pump, housekeeping, and the network
//! halves of operations (making and locking mailboxes, joining loops, offering cards,
//! moving contacts, deleting old mailboxes). It takes the core, sets its time, calls it,
//! and acts on what it returns.

pub(crate) mod inbound;
pub(crate) mod loop_inbound;
pub(crate) mod outbox;
pub(crate) mod rehome;
pub(crate) mod relays;
pub(crate) mod sharing;
pub(crate) mod timers;
pub(crate) mod token;

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use boucle_wire::ReceiveId;
use ed25519_dalek::SigningKey;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::core::{Core, Event, Mailbox};
use crate::error::EngineError;
use crate::ids::ContactId;
use relays::{Inbound, RelayPool};

pub(crate) struct Inner {
    pub core: Mutex<Core>,
    /// The clock the core's time is read from, each time it is taken.
    pub clock: crate::Clock,
    pub pool: RelayPool,
    pub events: broadcast::Sender<Event>,
    pub outbox_wake: Notify,
    /// Wakes the housekeeping (something was written: maybe a message that expires
    /// sooner than the next one it knew of).
    pub housekeeping_wake: Notify,
    /// Mailboxes subscribed but not yet drained since the last (re)connection.
    pub undrained: Mutex<HashSet<ReceiveId>>,
    pub progress: Notify,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Contacts we are offering our shareable card to right now.
    pub offering: Mutex<HashSet<ContactId>>,
    /// Contacts being moved to a locked mailbox of their own, and old mailboxes being
    /// deleted (`rehome.rs`).
    pub rehoming: Mutex<HashSet<ContactId>>,
    pub retiring: Mutex<HashSet<ReceiveId>>,
}

impl Inner {
    /// The shared state of an engine over a loaded core, before any task starts.
    pub(crate) fn new(core: Core, clock: crate::Clock, pool: RelayPool) -> Inner {
        let (events, _) = broadcast::channel(4096);
        Inner {
            core: Mutex::new(core),
            clock,
            pool,
            events,
            outbox_wake: Notify::new(),
            housekeeping_wake: Notify::new(),
            undrained: Mutex::new(HashSet::new()),
            progress: Notify::new(),
            tasks: Mutex::new(Vec::new()),
            offering: Mutex::new(HashSet::new()),
            rehoming: Mutex::new(HashSet::new()),
            retiring: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn core(&self) -> Result<MutexGuard<'_, Core>, EngineError> {
        let mut core = self.core.lock().map_err(|_| EngineError::Locked)?;
        core.kept.clear();
        core.set_now(self.clock.now_ms());
        Ok(core)
    }

    pub(crate) fn undrained_lock(&self) -> MutexGuard<'_, HashSet<ReceiveId>> {
        self.undrained.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn offering_lock(&self) -> MutexGuard<'_, HashSet<ContactId>> {
        self.offering.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn rehoming_lock(&self) -> MutexGuard<'_, HashSet<ContactId>> {
        self.rehoming.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn retiring_lock(&self) -> MutexGuard<'_, HashSet<ReceiveId>> {
        self.retiring.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn tasks_lock(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Something was written that may need sending, or may expire: wake the outbox and
    /// the housekeeping.
    pub(crate) fn changed(&self) {
        self.outbox_wake.notify_one();
        self.housekeeping_wake.notify_one();
    }

    pub(crate) fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub(crate) fn emit_all(&self, events: Vec<Event>) {
        for event in events {
            self.emit(event);
        }
    }

    /// Starts keeping subscribed a mailbox the core has just taken on.
    pub(crate) fn watch(&self, core: &Core, receive_id: ReceiveId) {
        if let Some(mailbox) = core.mailboxes.get(&receive_id) {
            self.watch_mailbox(mailbox);
        }
    }

    /// Starts keeping a new mailbox subscribed.
    pub(crate) fn watch_mailbox(&self, mailbox: &Mailbox) {
        self.undrained_lock().insert(mailbox.record.receive());
        self.pool.subscribe(
            &mailbox.relay,
            ReceiveId::from_bytes(mailbox.record.receive_id),
            SigningKey::from_bytes(&mailbox.record.owner_secret),
        );
    }

    /// Subscribes one of our mailboxes afresh, now, so that its relay delivers again what
    /// was left unacknowledged; `sync` waits for it.
    pub(crate) fn redeliver_now(&self, receive_id: ReceiveId) {
        let relay = match self.core() {
            Ok(core) => core.mailboxes.get(&receive_id).map(|m| m.relay.clone()),
            Err(_) => None,
        };
        if let Some(relay) = relay {
            self.undrained_lock().insert(receive_id);
            self.pool.redeliver_now(&relay, receive_id);
        }
    }

    pub(crate) fn on_relay_event(&self, event: &Inbound) {
        if let Inbound::Drained { receive_id } = event {
            self.undrained_lock().remove(receive_id);
            self.progress.notify_waiters();
        }
    }
}
