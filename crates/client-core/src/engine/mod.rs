//! The engine: a profile unlocked, its relays connected, its inbox processed and its
//! outbox sent. Front ends call its methods and listen to its [`Event`]s.

mod agenda;
mod blocking;
mod contacts;
pub(crate) mod files;
mod inbound;
pub(crate) mod kept;
mod loop_inbound;
pub(crate) mod loops;
mod messages;
mod organize;
mod outbox;
mod polls;
pub(crate) mod rehome;
mod roles;
mod schema;
mod seen;
mod sharing;
mod timers;
mod token;

pub use kept::AwaitingMembers;
pub use timers::TIMER_CHOICES;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use boucle_crypto::{Account, LoopId};
use boucle_relay_client::ClientOptions;
use boucle_wire::{ReceiveId, RelayAddress};
use ed25519_dalek::SigningKey;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::task::JoinHandle;

pub(crate) use crate::core::{Core, Mailbox};
use crate::error::EngineError;
use crate::ids::{ContactId, ConversationId};
use crate::model::{
    ACCOUNT_KEY, COUNTERS_KEY, Counters, META, MessageView, PROFILE_KEY, ProfileRecord,
};
use crate::relays::{Inbound, RelayPool};
use crate::store::{KdfParams, ProfileStore, StoreError};

/// Settings of an engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Passphrase hashing cost (use [`KdfParams::recommended`] outside tests).
    pub kdf: KdfParams,
    /// Relay connection settings.
    pub client: ClientOptions,
    /// Where time comes from ([`Clock::system`] outside tests).
    pub clock: crate::Clock,
    /// Seed of the core's random number generator; `None` (outside tests) seeds it from
    /// the operating system.
    pub rng_seed: Option<[u8; 32]>,
}

/// Something that happened, for front ends to show.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A new message arrived.
    MessageReceived(MessageView),
    /// A message changed: edited, deleted, reacted to, or its delivery state moved on.
    MessageUpdated(MessageView),
    /// Someone accepted our invitation, or we accepted theirs.
    ContactAdded(crate::model::Contact),
    /// A contact's identity key changed: warn until re-verified.
    IdentityChanged(ContactId),
    /// A loop was joined, left, or changed (members, admins, name).
    LoopChanged(LoopId),
    /// A relay connection came up or went down.
    RelayStatus {
        /// Host and port of the relay.
        relay: String,
        /// Whether it is connected now.
        connected: bool,
        /// What went wrong, if it is not.
        error: Option<String>,
    },
    /// A poll was created, or its votes or state changed: ask [`Engine::poll`].
    PollChanged {
        /// Where it is.
        conversation: ConversationId,
        /// The poll.
        poll: boucle_crypto::MessageId,
    },
    /// An agenda event was created, edited, cancelled or answered: ask [`Engine::event`].
    AgendaChanged {
        /// Where it is.
        conversation: ConversationId,
        /// The event.
        event: boucle_crypto::MessageId,
    },
    /// Messages of a conversation reached the end of their disappearing-messages timer
    /// and were deleted from this profile.
    MessagesExpired {
        /// The conversation.
        conversation: ConversationId,
        /// The messages deleted.
        ids: Vec<boucle_crypto::MessageId>,
    },
    /// A file is on its way: `done` of `total` bytes sent (`upload`, ours) or received.
    /// Sent at most every 2%; [`Event::MessageUpdated`] follows when it is complete or
    /// failed ([`Engine::attachment`] tells which).
    TransferProgress {
        /// The conversation.
        conversation: ConversationId,
        /// The message that carries the file.
        message: crate::ids::MessageId,
        /// Bytes done.
        done: u64,
        /// The file's size.
        total: u64,
        /// `true` for a file we send, `false` for one we receive.
        upload: bool,
    },
}

pub(crate) struct Inner {
    pub core: Mutex<Core>,
    /// The clock the core's time is read from, each time it is taken.
    pub clock: crate::Clock,
    pub pool: RelayPool,
    pub events: broadcast::Sender<Event>,
    pub outbox_wake: Notify,
    /// Mailboxes subscribed but not yet drained since the last (re)connection.
    pub undrained: Mutex<HashSet<[u8; 16]>>,
    pub progress: Notify,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Contacts we are offering our shareable card to right now.
    pub offering: Mutex<HashSet<ContactId>>,
    /// Contacts being moved to a locked mailbox of their own, and old mailboxes being
    /// deleted (`rehome.rs`).
    pub rehoming: Mutex<HashSet<ContactId>>,
    pub retiring: Mutex<HashSet<[u8; 16]>>,
}

/// An unlocked profile with its relays connected. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates a profile in `dir` with a new identity, after checking that the home relay
    /// answers with the certificate its address names. Nothing is written if it does not.
    pub async fn create(
        dir: &Path,
        passphrase: &str,
        name: &str,
        home_relay: &str,
        access_token: Option<&str>,
        options: EngineOptions,
    ) -> Result<Engine, EngineError> {
        if ProfileStore::exists(dir) {
            return Err(StoreError::AlreadyExists(dir.to_owned()).into());
        }
        let home: RelayAddress = home_relay.parse().map_err(EngineError::RelayAddress)?;
        let access_token = match access_token {
            Some(text) => Some(token::parse_token(text)?),
            None => None,
        };
        // Reach the relay first: a wrong fingerprint, a dead relay, or a relay that needs
        // a token we lack (or refuses ours) leaves nothing behind.
        let probe = boucle_relay_client::RelayClient::connect(&home, options.client.clone())
            .await
            .map_err(|e| EngineError::relay(&home, e))?;
        let checked = token::check(&probe, &home, access_token).await;
        probe.close();
        checked?;
        let store = ProfileStore::create(dir, passphrase, options.kdf)?;
        let profile = ProfileRecord {
            name: crate::invite::clean_name(name),
            home_relay: home.to_string(),
            access_token,
            created_at: options.clock.now_ms(),
        };
        let account = Account::new();
        let pickle_key = store.pickle_key();
        let pickled = account.pickle(&pickle_key, &mut rand::rng());
        store.write(|batch| {
            batch.put_value(META, PROFILE_KEY, &profile)?;
            batch.put(META, ACCOUNT_KEY, &pickled)?;
            batch.put_value(META, COUNTERS_KEY, &Counters::default())
        })?;
        drop(store);
        Engine::unlock(dir, passphrase, options).await
    }

    /// Unlocks the profile in `dir` and starts its relays, inbox and outbox.
    pub async fn unlock(
        dir: &Path,
        passphrase: &str,
        options: EngineOptions,
    ) -> Result<Engine, EngineError> {
        let store = ProfileStore::unlock(dir, passphrase, schema::TABLES)?;
        seen::convert_legacy(&store)?;
        let rng = match options.rng_seed {
            Some(seed) => StdRng::from_seed(seed),
            None => rand::make_rng(),
        };
        let core = crate::core::load(store, options.clock.now_ms(), rng)?;
        files::prune_orphans(&core);
        let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(4096);
        let inner = Arc::new(Inner {
            core: Mutex::new(core),
            clock: options.clock.clone(),
            pool: RelayPool::new(inbound_tx, options.client.clone()),
            events,
            outbox_wake: Notify::new(),
            undrained: Mutex::new(HashSet::new()),
            progress: Notify::new(),
            tasks: Mutex::new(Vec::new()),
            offering: Mutex::new(HashSet::new()),
            rehoming: Mutex::new(HashSet::new()),
            retiring: Mutex::new(HashSet::new()),
        });
        let engine = Engine { inner };
        engine.subscribe_all();
        // Invitations recorded but not yet answered (the last run ended first).
        let invitations = loop_inbound::pending_invitations(&*engine.inner.core()?);
        for id in invitations {
            tokio::spawn(loop_inbound::accept_invitation(engine.inner.clone(), id));
        }
        sharing::offer_pending(&engine.inner);
        rehome::spawn_pending(&engine.inner);
        let inbound = tokio::spawn(inbound::run(engine.inner.clone(), inbound_rx));
        let outbox = tokio::spawn(outbox::run(engine.inner.clone()));
        let housekeeping = tokio::spawn(timers::run(engine.inner.clone()));
        engine
            .inner
            .tasks_lock()
            .extend([inbound, outbox, housekeeping]);
        Ok(engine)
    }

    /// Changes the passphrase. A wrong old passphrase changes nothing.
    pub fn change_passphrase(
        &self,
        old: &str,
        new: &str,
        kdf: KdfParams,
    ) -> Result<(), EngineError> {
        self.inner.core()?.store.change_passphrase(old, new, kdf)?;
        Ok(())
    }

    /// Stops the relays and tasks and closes the store (once no other handle of this
    /// engine is left). Queued messages stay queued for the next unlock.
    pub async fn lock(self) {
        self.inner.pool.shutdown();
        // A task may start another while it is being stopped (the inbox starts the
        // rehoming of a contact it just met): stop those too, until none is left.
        loop {
            let tasks: Vec<JoinHandle<()>> = self.inner.tasks_lock().drain(..).collect();
            if tasks.is_empty() {
                break;
            }
            for task in &tasks {
                task.abort();
            }
            for task in tasks {
                let _ = task.await;
            }
        }
    }

    /// Our display name.
    pub fn name(&self) -> Result<String, EngineError> {
        Ok(self.inner.core()?.profile.name.clone())
    }

    /// Our public identity keys (for comparison in tests and diagnostics; people compare
    /// safety numbers instead).
    pub fn identity_keys(&self) -> Result<boucle_crypto::IdentityKeys, EngineError> {
        Ok(self.inner.core()?.account.identity_keys())
    }

    /// The home relay's address.
    pub fn home_relay(&self) -> Result<RelayAddress, EngineError> {
        Ok(self.inner.core()?.home.clone())
    }

    /// Events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Waits until the home relay is connected, every mailbox has handed over what its
    /// relay held and the outbox is empty, or `timeout` passes. Returns whether it got
    /// there.
    pub async fn sync(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let Ok(home) = self.home_relay() else {
            return false;
        };
        loop {
            let notified = self.inner.progress.notified();
            let connected = self.inner.pool.is_connected(&home);
            let drained = self.inner.undrained_lock().is_empty();
            let outbox_empty = self.outbox_len().map(|n| n == 0).unwrap_or(false);
            let joined = self
                .inner
                .core()
                .map(|core| loop_inbound::pending_invitations(&core).is_empty())
                .unwrap_or(true);
            let offered = self.inner.offering_lock().is_empty();
            let rehomed =
                self.inner.rehoming_lock().is_empty() && self.inner.retiring_lock().is_empty();
            if connected && drained && outbox_empty && joined && offered && rehomed {
                return true;
            }
            self.inner.outbox_wake.notify_one();
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Messages waiting in the outbox.
    pub fn outbox_len(&self) -> Result<u64, EngineError> {
        Ok(self.inner.core()?.store.count(crate::model::OUTBOX, b"")?)
    }

    /// What we posted in loops that is kept for invited contacts until they join
    /// (nothing can send it before): how many messages, for how many of them.
    pub fn awaiting_members(&self) -> Result<AwaitingMembers, EngineError> {
        kept::summary(&*self.inner.core()?)
    }

    fn subscribe_all(&self) {
        let Ok(core) = self.inner.core() else { return };
        let mut undrained = self.inner.undrained_lock();
        for mailbox in core.mailboxes.values() {
            self.inner.pool.subscribe(
                &mailbox.relay,
                ReceiveId::from_bytes(mailbox.record.receive_id),
                SigningKey::from_bytes(&mailbox.record.owner_secret),
            );
            undrained.insert(mailbox.record.receive_id);
        }
    }
}

impl Inner {
    pub(crate) fn core(&self) -> Result<MutexGuard<'_, Core>, EngineError> {
        let mut core = self.core.lock().map_err(|_| EngineError::Locked)?;
        core.kept.clear();
        core.set_now(self.clock.now_ms());
        Ok(core)
    }

    pub(crate) fn undrained_lock(&self) -> MutexGuard<'_, HashSet<[u8; 16]>> {
        self.undrained.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn offering_lock(&self) -> MutexGuard<'_, HashSet<ContactId>> {
        self.offering.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn rehoming_lock(&self) -> MutexGuard<'_, HashSet<ContactId>> {
        self.rehoming.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn retiring_lock(&self) -> MutexGuard<'_, HashSet<[u8; 16]>> {
        self.retiring.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn tasks_lock(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Starts keeping a new mailbox subscribed.
    pub(crate) fn watch_mailbox(&self, mailbox: &Mailbox) {
        self.undrained_lock().insert(mailbox.record.receive_id);
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
            Ok(core) => core
                .mailboxes
                .get(receive_id.as_bytes())
                .map(|m| m.relay.clone()),
            Err(_) => None,
        };
        if let Some(relay) = relay {
            self.undrained_lock().insert(*receive_id.as_bytes());
            self.pool.redeliver_now(&relay, receive_id);
        }
    }

    pub(crate) fn on_relay_event(&self, event: &Inbound) {
        if let Inbound::Drained { receive_id } = event {
            self.undrained_lock().remove(receive_id.as_bytes());
            self.progress.notify_waiters();
        }
    }
}

/// Conversation key helpers shared by the submodules.
pub(crate) fn conversation_of(contact: ContactId) -> ConversationId {
    ConversationId::Contact(contact)
}
