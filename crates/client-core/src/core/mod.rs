//! The engine's state, and the code that changes it: synchronous, with no I/O of its
//! own. The profile store is passed in (it is the profile), the time is set by the
//! driver each time it takes the core, and randomness comes from the seeded rng the
//! core was given. Nothing under `core/` reads a clock, draws from the operating
//! system's randomness, or uses tokio (`.ci/run` checks it).
//!
//! Call order, for the driver (`crate::driver`) and for tests:
//! 1. take the core and [`Core::set_now`] (the engine's `Inner::core` does both);
//! 2. call one operation (a command of the public API, or handling what a relay
//!    delivered);
//! 3. act on what it returned: events for front ends, follow-up network work.

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;

use boucle_crypto::{Account, LoopId, LoopSession, MailboxKeys, PairwiseSession, PickleKey};
use boucle_wire::RelayAddress;
use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;

use crate::engine::kept;
use crate::engine::loops;
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{
    ACCOUNT_KEY, CONTACTS, COUNTERS_KEY, ContactRecord, Counters, MAILBOXES, META, MailboxRecord,
    PROFILE_KEY, ProfileRecord, SESSIONS,
};
use crate::store::{ProfileStore, StoreError};

/// One of our mailboxes, ready to use.
pub(crate) struct Mailbox {
    pub record: MailboxRecord,
    pub keys: MailboxKeys,
    pub relay: RelayAddress,
}

/// Everything mutable, behind one lock: writes to the store are serialized through it.
pub(crate) struct Core {
    pub store: ProfileStore,
    pub pickle_key: PickleKey,
    pub account: Account,
    pub profile: ProfileRecord,
    pub home: RelayAddress,
    pub counters: Counters,
    pub sessions: HashMap<ContactId, PairwiseSession>,
    pub mailboxes: HashMap<[u8; 16], Mailbox>,
    /// Loops we are a member of.
    pub loops: HashMap<LoopId, LoopSession>,
    /// Pairwise sessions with loop members, by Ed25519 identity key.
    pub member_sessions: HashMap<[u8; 32], PairwiseSession>,
    /// The time of the call being handled (ms since the Unix epoch): the driver sets it
    /// each time it takes the core ([`Core::set_now`]); the core never reads a clock.
    pub(crate) now: u64,
    /// Every random choice the core makes (ids, pickling nonces, sealing, rotation).
    /// Seeded by the driver from the operating system, by tests from a fixed seed.
    pub(crate) rng: RefCell<StdRng>,
    /// Contact names by identity key (see [`loops::contacts_by_identity`]).
    pub names: loops::NameCache,
    /// What encrypting loop messages left to keep for invited contacts, written with
    /// them by `loops::commit_loop` (`kept.rs`). Emptied whenever the lock is taken, so
    /// nothing of an operation that failed half-way is written by the next one.
    pub kept: Vec<kept::Pending>,
    /// Sender keys of our contacts' locked mailboxes, by send id: the outbox signs with
    /// them (`rehome.rs`).
    pub send_keys: HashMap<[u8; 16], SigningKey>,
}

impl Core {
    pub(crate) fn save_counters(
        &self,
        batch: &mut crate::store::WriteBatch<'_>,
    ) -> Result<(), StoreError> {
        batch.put_value(META, COUNTERS_KEY, &self.counters)
    }

    pub(crate) fn account_pickle(&self) -> Vec<u8> {
        self.account.pickle(&self.pickle_key, &mut *self.rng())
    }

    pub(crate) fn session_pickle(&self, contact: &ContactId) -> Option<Vec<u8>> {
        self.sessions
            .get(contact)
            .map(|s| s.pickle(&self.pickle_key, &mut *self.rng()))
    }

    pub(crate) fn contact_record(&self, id: &ContactId) -> Result<ContactRecord, EngineError> {
        self.store
            .get_value::<ContactRecord>(CONTACTS, &id.0)?
            .ok_or_else(|| EngineError::UnknownContact(id.short()))
    }
}

/// Loads the unlocked profile's state, with the time `now` and the randomness `rng`.
pub(crate) fn load(store: ProfileStore, now: u64, rng: StdRng) -> Result<Core, EngineError> {
    let pickle_key = store.pickle_key();
    let profile: ProfileRecord = store
        .get_value(META, PROFILE_KEY)?
        .ok_or_else(|| damaged("profile"))?;
    let home: RelayAddress = profile
        .home_relay
        .parse()
        .map_err(|_| damaged("home relay"))?;
    let state = load_state(&store, &pickle_key)?;
    Ok(Core {
        store,
        pickle_key,
        account: state.account,
        profile,
        home,
        counters: state.counters,
        sessions: state.sessions,
        mailboxes: state.mailboxes,
        loops: state.loops,
        member_sessions: state.member_sessions,
        now,
        rng: RefCell::new(rng),
        names: loops::NameCache::default(),
        kept: Vec::new(),
        send_keys: state.send_keys,
    })
}

fn damaged(what: &str) -> EngineError {
    EngineError::Store(StoreError::Corrupt(format!(
        "the {what} record is missing or unreadable"
    )))
}

/// The part of [`Core`] that handling a message changes in memory before it is written.
struct LoadedState {
    account: Account,
    counters: Counters,
    sessions: HashMap<ContactId, PairwiseSession>,
    mailboxes: HashMap<[u8; 16], Mailbox>,
    loops: HashMap<LoopId, LoopSession>,
    member_sessions: HashMap<[u8; 32], PairwiseSession>,
    send_keys: HashMap<[u8; 16], SigningKey>,
}

impl Core {
    /// Puts the in-memory state back to what the store holds (what a restart would load).
    /// Called when writing the effects of an incoming envelope failed: decrypting it
    /// already advanced a session in memory, and the relay will deliver it again, to be
    /// decrypted from the stored session.
    pub(crate) fn reload(&mut self) -> Result<(), EngineError> {
        let state = load_state(&self.store, &self.pickle_key)?;
        self.account = state.account;
        self.counters = state.counters;
        self.sessions = state.sessions;
        self.mailboxes = state.mailboxes;
        self.loops = state.loops;
        self.member_sessions = state.member_sessions;
        self.send_keys = state.send_keys;
        Ok(())
    }
}

fn load_state(store: &ProfileStore, pickle_key: &PickleKey) -> Result<LoadedState, EngineError> {
    let pickle_key = pickle_key.clone();
    let account_bytes = store
        .get(META, ACCOUNT_KEY)?
        .ok_or_else(|| damaged("identity"))?;
    let account =
        Account::from_pickle(&account_bytes, &pickle_key).map_err(|_| damaged("identity"))?;
    let counters: Counters = store.get_value(META, COUNTERS_KEY)?.unwrap_or_default();
    let mut sessions = HashMap::new();
    for (key, bytes) in store.scan(SESSIONS, b"")? {
        let id = ContactId(key.as_slice().try_into().map_err(|_| damaged("session"))?);
        let session =
            PairwiseSession::from_pickle(&bytes, &pickle_key).map_err(|_| damaged("session"))?;
        sessions.insert(id, session);
    }
    let mut mailboxes = HashMap::new();
    for (_, bytes) in store.scan(MAILBOXES, b"")? {
        let record: MailboxRecord = postcard::from_bytes(&bytes).map_err(|_| damaged("mailbox"))?;
        let keys =
            MailboxKeys::from_pickle(&record.keys, &pickle_key).map_err(|_| damaged("mailbox"))?;
        let relay: RelayAddress = record.relay.parse().map_err(|_| damaged("mailbox"))?;
        mailboxes.insert(
            record.receive_id,
            Mailbox {
                record,
                keys,
                relay,
            },
        );
    }
    let mut loops = HashMap::new();
    for (key, bytes) in store.scan(crate::model::LOOPS, b"")? {
        let Ok(id) = <[u8; 16]>::try_from(key.as_slice()) else {
            return Err(damaged("loop"));
        };
        let record: crate::model::LoopRecord =
            postcard::from_bytes(&bytes).map_err(|_| damaged("loop"))?;
        if let crate::model::LoopPhase::Member { session } = record.phase {
            let session =
                LoopSession::from_pickle(&session, &pickle_key).map_err(|_| damaged("loop"))?;
            loops.insert(LoopId(id), session);
        }
    }
    let mut member_sessions = HashMap::new();
    for (key, bytes) in store.scan(crate::model::MEMBER_SESSIONS, b"")? {
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| damaged("member session"))?;
        let session = PairwiseSession::from_pickle(&bytes, &pickle_key)
            .map_err(|_| damaged("member session"))?;
        member_sessions.insert(key, session);
    }
    Ok(LoadedState {
        account,
        counters,
        sessions,
        mailboxes,
        loops,
        member_sessions,
        send_keys: crate::engine::rehome::load_send_keys(store)?,
    })
}

impl Core {
    /// The time of the operation being handled (ms since the Unix epoch).
    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    /// Sets the time for the next operation. Time never goes back for the core: a clock
    /// stepped back by the system keeps the last time seen.
    pub(crate) fn set_now(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// The core's random number generator, for one use at a time.
    pub(crate) fn rng(&self) -> RefMut<'_, StdRng> {
        self.rng.borrow_mut()
    }
}
