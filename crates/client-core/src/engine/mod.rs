//! The engine: a profile unlocked, its relays connected, its inbox processed and its
//! outbox sent. Front ends call its methods and listen to its [`Event`]s.

pub(crate) mod agenda;
pub(crate) mod blocking;
pub(crate) mod contacts;
pub(crate) mod files;
pub(crate) mod loops;
pub(crate) mod messages;
pub(crate) mod organize;
pub(crate) mod polls;
pub(crate) mod rehome;
pub(crate) mod roles;
pub(crate) mod sharing;
pub(crate) mod timers;
pub(crate) mod token;

pub(crate) use crate::core::loops::kept;
pub(crate) use crate::core::{schema, seen};
pub(crate) mod inbound {
    pub(crate) use crate::core::inbound::*;
    pub(crate) use crate::driver::inbound::*;
}
pub(crate) mod loop_inbound {
    pub(crate) use crate::core::loop_inbound::*;
    pub(crate) use crate::driver::loop_inbound::*;
}

pub use crate::core::loops::kept::AwaitingMembers;
pub use crate::core::timers::TIMER_CHOICES;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use boucle_crypto::Account;
use boucle_relay_client::ClientOptions;
use boucle_wire::{ReceiveId, RelayAddress};
use ed25519_dalek::SigningKey;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

pub use crate::core::Event;
pub(crate) use crate::core::{Core, Mailbox};
pub(crate) use crate::driver::Inner;
use crate::driver::relays::RelayPool;
use crate::error::EngineError;
use crate::model::{ACCOUNT_KEY, COUNTERS_KEY, Counters, META, PROFILE_KEY, ProfileRecord};
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

/// Writes the records of a new profile (its name, home relay, token and a new identity)
/// into a store just created.
pub(crate) fn write_new_profile(
    store: &ProfileStore,
    name: &str,
    home: &RelayAddress,
    access_token: Option<[u8; 32]>,
    now: u64,
    rng: &mut impl rand::CryptoRng,
) -> Result<(), EngineError> {
    let profile = ProfileRecord {
        name: crate::invite::clean_name(name),
        home_relay: home.to_string(),
        access_token,
        created_at: now,
    };
    let account = Account::new();
    let pickled = account.pickle(&store.pickle_key(), rng);
    store.write(|batch| {
        batch.put_value(META, PROFILE_KEY, &profile)?;
        batch.put(META, ACCOUNT_KEY, &pickled)?;
        batch.put_value(META, COUNTERS_KEY, &Counters::default())
    })?;
    Ok(())
}

impl Engine {
    /// An engine over a loaded core with no relay connection and no task: the test net
    /// (`crate::pair`) plays the driver.
    #[cfg(test)]
    pub(crate) fn detached(core: Core, clock: crate::Clock) -> Engine {
        let (inbound_tx, _) = mpsc::unbounded_channel();
        let pool = RelayPool::new(inbound_tx, ClientOptions::default());
        Engine {
            inner: Arc::new(Inner::new(core, clock, pool)),
        }
    }

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
        write_new_profile(
            &store,
            name,
            &home,
            access_token,
            options.clock.now_ms(),
            &mut rand::rng(),
        )?;
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
        let pool = RelayPool::new(inbound_tx, options.client.clone());
        let inner = Arc::new(Inner::new(core, options.clock.clone(), pool));
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
        let outbox = tokio::spawn(crate::driver::outbox::run(engine.inner.clone()));
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
            undrained.insert(mailbox.record.receive());
        }
    }
}
