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

pub(crate) mod blocking;
pub(crate) mod contacts;
pub(crate) mod content;
pub(crate) mod expiry;
pub(crate) mod files;
pub(crate) mod inbound;
pub(crate) mod loop_inbound;
pub(crate) mod loops;
pub(crate) mod messages;
pub(crate) mod organized;
pub(crate) mod outbox;
pub(crate) mod rehome;
pub(crate) mod roles;
pub(crate) mod schema;
pub(crate) mod seen;
pub(crate) mod sharing;
pub(crate) mod timers;
pub(crate) mod token;

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;

use boucle_crypto::{Account, LoopId, LoopSession, MailboxKeys, PairwiseSession, PickleKey};
use boucle_wire::{ReceiveId, RelayAddress, SendId};
use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;

use crate::error::EngineError;
use crate::ids::{ContactId, ConversationId, MemberKey};
use crate::model::{
    ACCOUNT_KEY, CONTACTS, COUNTERS_KEY, ContactRecord, Counters, MAILBOXES, META, MailboxRecord,
    MessageView, PROFILE_KEY, ProfileRecord, SESSIONS,
};
use crate::store::{ProfileStore, StoreError};

/// One of our mailboxes, ready to use.
pub(crate) struct Mailbox {
    pub record: MailboxRecord,
    pub keys: MailboxKeys,
    pub relay: RelayAddress,
}

impl Mailbox {
    /// The address others write to, as carried in a card.
    pub(crate) fn card_address(&self) -> boucle_crypto::MailboxAddress {
        let address = boucle_wire::MailboxAddress {
            relay: self.relay.clone(),
            send_id: SendId::from_bytes(self.record.send_id),
            seal_key: boucle_wire::SealKey::from_bytes(self.keys.seal_key().0),
        };
        // An address always encodes.
        boucle_crypto::MailboxAddress(postcard::to_allocvec(&address).unwrap_or_default())
    }
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
    pub mailboxes: HashMap<ReceiveId, Mailbox>,
    /// Loops we are a member of.
    pub loops: HashMap<LoopId, LoopSession>,
    /// Pairwise sessions with loop members, by Ed25519 identity key.
    pub member_sessions: HashMap<MemberKey, PairwiseSession>,
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
    pub kept: Vec<loops::kept::Pending>,
    /// Sender keys of our contacts' locked mailboxes, by send id: the outbox signs with
    /// them (`rehome.rs`).
    pub send_keys: HashMap<SendId, SigningKey>,
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
    mailboxes: HashMap<ReceiveId, Mailbox>,
    loops: HashMap<LoopId, LoopSession>,
    member_sessions: HashMap<MemberKey, PairwiseSession>,
    send_keys: HashMap<SendId, SigningKey>,
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
            record.receive(),
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
        member_sessions.insert(MemberKey(key), session);
    }
    Ok(LoadedState {
        account,
        counters,
        sessions,
        mailboxes,
        loops,
        member_sessions,
        send_keys: rehome::load_send_keys(store)?,
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

/// Work that needs the network, started once an envelope is handled.
pub(crate) enum Followup {
    /// A contact invited us into a loop: create our member mailbox and answer.
    JoinLoop { loop_id: LoopId },
    /// A new contact: offer them our shareable card.
    OfferCard { contact: ContactId },
    /// We joined a loop: what its member mailbox (this receive id) holds can be read now.
    Joined { mailbox: ReceiveId },
    /// A contact's old mailbox is no longer written to: delete it (`rehome.rs`).
    Retire { mailbox: ReceiveId },
}

pub(crate) type Handled = (Vec<Event>, Option<Followup>);

/// Conversation key helpers shared by the submodules.
pub(crate) fn conversation_of(contact: ContactId) -> ConversationId {
    ConversationId::Contact(contact)
}
