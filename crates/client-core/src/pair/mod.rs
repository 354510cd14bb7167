//! A deterministic network of engines in memory, for tests (quinn-proto's `Pair`).
//!
//! Each [`User`] is a real [`Engine`] on a real (temporary) profile store, with no relay
//! connection and no task: the [`Net`] plays the driver. It keeps an in-memory relay
//! ([`MemRelay`]: mailboxes with a send id, a receive id, an optional sender key, and a
//! queue of envelopes in order), makes the mailboxes the core asks for, runs the outbox
//! rounds through `core::outbox` and hands each stored envelope to
//! `core::inbound::handle` — all synchronously, in an order the test chooses, on a
//! manual clock, with every core's rng seeded from the net's seed. No sleeps, no
//! sockets, no processes.
//!
//! Call order: make users ([`Net::new`]), connect them ([`Net::introduce`]), act
//! through their engines' synchronous API (`net.users[i].engine.send_text(…)`), then
//! move envelopes: [`Net::settle`] until quiet, or [`Net::flush`] and
//! [`Net::deliver_next`] one step at a time (the fuzzer does that, and duplicates,
//! reorders and restarts between steps).
//!
//! It also plays the driver's follow-ups: joining a loop, moving a new contact to a
//! locked mailbox, retiring old mailboxes, offering shareable cards (an introduction
//! mailbox per contact), and adding a shared contact ([`Net::add_shared`]).
//!
//! What the net does not do yet: files (their sealing runs on a blocking thread of the
//! driver: use the real-process tests) and relay-side limits (quotas, sizes).

#[cfg(test)]
mod agenda;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod sharing;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use boucle_crypto::{LoopId, MailboxKeys};
use boucle_wire::{
    Body, CertFingerprint, Envelope, ErrorCode, Header, ReceiveId, RelayAddress, SendId, Seq,
};
use ed25519_dalek::{SigningKey, Verifier, VerifyingKey};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::broadcast;

use crate::core::Followup;
use crate::core::inbound::Outcome;
use crate::core::outbox::{Next, Round};
use crate::core::{Core, Mailbox};
use crate::engine::{Engine, Event};
use crate::ids::ContactId;
use crate::invite::Invitation;
use crate::model::{MailboxPurpose, MailboxRecord};
use crate::store::{KdfParams, ProfileStore};
use crate::{Clock, Contact};

const PASSPHRASE: &str = "pair passphrase";
/// Where the net's clock starts (2030-01-01).
pub(crate) const T0: u64 = 1_893_456_000_000;

/// One mailbox on the in-memory relay.
struct MemBox {
    /// Index of the user who owns it.
    owner: usize,
    send_id: SendId,
    sender_key: Option<VerifyingKey>,
    /// Stored, not yet acknowledged, by seq.
    queue: BTreeMap<u64, Envelope>,
    next_seq: u64,
}

/// The relay, in memory: what `relay-protocol.md` promises about mailboxes (order per
/// mailbox, sender keys, unknown mailboxes refused), without limits.
#[derive(Default)]
pub(crate) struct MemRelay {
    boxes: BTreeMap<ReceiveId, MemBox>,
    by_send: BTreeMap<SendId, ReceiveId>,
}

impl MemRelay {
    fn create(&mut self, owner: usize, rng: &mut StdRng) -> (ReceiveId, SendId) {
        let receive_id = ReceiveId::from_bytes(rng.random());
        let send_id = SendId::from_bytes(rng.random());
        self.boxes.insert(
            receive_id,
            MemBox {
                owner,
                send_id,
                sender_key: None,
                queue: BTreeMap::new(),
                next_seq: 1,
            },
        );
        self.by_send.insert(send_id, receive_id);
        (receive_id, send_id)
    }

    fn deposit(
        &mut self,
        send_id: &SendId,
        header: Header,
        body: &Body,
        signature: Option<boucle_wire::Signature>,
    ) -> Result<(), ErrorCode> {
        let receive_id = self.by_send.get(send_id).ok_or(ErrorCode::UnknownMailbox)?;
        let mailbox = self
            .boxes
            .get_mut(receive_id)
            .ok_or(ErrorCode::UnknownMailbox)?;
        if let Some(key) = &mailbox.sender_key {
            let proof = boucle_wire::sender_proof(send_id, &header, body);
            let signed = signature.is_some_and(|s| {
                key.verify(&proof, &ed25519_dalek::Signature::from_bytes(s.as_bytes()))
                    .is_ok()
            });
            if !signed {
                return Err(ErrorCode::SenderNotAllowed);
            }
        }
        let seq = mailbox.next_seq;
        mailbox.next_seq += 1;
        mailbox.queue.insert(
            seq,
            Envelope {
                header,
                body: body.clone(),
            },
        );
        Ok(())
    }

    fn delete(&mut self, receive_id: &ReceiveId) {
        if let Some(mailbox) = self.boxes.remove(receive_id) {
            self.by_send.remove(&mailbox.send_id);
        }
    }

    /// Envelopes stored and not yet acknowledged, on every mailbox.
    pub(crate) fn in_flight(&self) -> usize {
        self.boxes.values().map(|m| m.queue.len()).sum()
    }

    /// Mailboxes of `owner` that hold something, in receive-id order.
    fn nonempty_of(&self, owner: usize) -> Vec<ReceiveId> {
        self.boxes
            .iter()
            .filter(|(_, m)| m.owner == owner && !m.queue.is_empty())
            .map(|(id, _)| *id)
            .collect()
    }
}

/// A user of the net: a profile, its engine, what it was told.
pub(crate) struct User {
    pub name: String,
    dir: tempfile::TempDir,
    pub engine: Engine,
    events: broadcast::Receiver<Event>,
    /// Mailboxes of a loop being joined: left unacknowledged until its history arrives.
    held: HashSet<ReceiveId>,
    seed: [u8; 32],
    /// This user's clock: [`Net::advance`] moves everyone's, [`Net::advance_user`] one.
    pub clock: Clock,
}

impl User {
    /// Events since the last call.
    pub(crate) fn events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            out.push(event);
        }
        out
    }

    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.engine.inner.core().expect("the core is not poisoned")
    }
}

/// The network: users, the relay they share, their clocks.
pub(crate) struct Net {
    rng: StdRng,
    pub relay: MemRelay,
    home: RelayAddress,
    pub users: Vec<User>,
    /// Users cut off from the relay: [`Net::settle`] neither sends nor delivers for them.
    offline: HashSet<usize>,
    /// Profiles that stood in for a user's during a restart, removed with the net.
    scratch: Vec<tempfile::TempDir>,
}

impl Net {
    /// Users with these names, on one relay, at [`T0`]; everything random follows `seed`.
    pub(crate) fn new(seed: u64, names: &[&str]) -> Net {
        let mut net = Net {
            rng: StdRng::seed_from_u64(seed),
            relay: MemRelay::default(),
            home: RelayAddress::new("relay.invalid", 4433, CertFingerprint::from_bytes([7; 32]))
                .expect("a valid address"),
            users: Vec::new(),
            offline: HashSet::new(),
            scratch: Vec::new(),
        };
        for name in names {
            net.add_user(name);
        }
        net
    }

    /// Adds a user with a new profile.
    pub(crate) fn add_user(&mut self, name: &str) -> usize {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store =
            ProfileStore::create(dir.path(), PASSPHRASE, KdfParams::for_tests()).expect("store");
        let seed: [u8; 32] = self.rng.random();
        // A newcomer's clock shows the net's time: the latest of everyone's.
        let now = self
            .users
            .iter()
            .map(|u| u.clock.now_ms())
            .max()
            .unwrap_or(T0);
        let clock = Clock::manual(now);
        crate::engine::write_new_profile(
            &store,
            name,
            &self.home,
            None,
            now,
            &mut StdRng::from_seed(seed),
        )
        .expect("a new profile");
        drop(store);
        let engine = self.open(dir.path(), seed, &clock);
        let events = engine.events();
        self.users.push(User {
            name: name.to_owned(),
            dir,
            engine,
            events,
            held: HashSet::new(),
            seed,
            clock,
        });
        self.users.len() - 1
    }

    fn open(&self, dir: &std::path::Path, seed: [u8; 32], clock: &Clock) -> Engine {
        let store = ProfileStore::unlock(dir, PASSPHRASE, crate::core::schema::TABLES)
            .expect("the profile unlocks");
        let core = crate::core::load(store, clock.now_ms(), StdRng::from_seed(seed))
            .expect("the profile loads");
        Engine::detached(core, clock.clone())
    }

    /// Closes a user's engine and opens the profile again from its store, as after a
    /// crash: whatever was only in memory is gone.
    pub(crate) fn restart(&mut self, user: usize) {
        // A different seed for the new run, derived from the old one.
        let mut seed = self.users[user].seed;
        seed[0] = seed[0].wrapping_add(1);
        self.users[user].seed = seed;
        let dir = self.users[user].dir.path().to_owned();
        // The old engine's store must be closed before the new one opens it.
        let stand_in = self.open_placeholder();
        let old = std::mem::replace(&mut self.users[user].engine, stand_in);
        drop(old);
        let clock = self.users[user].clock.clone();
        let reopened = self.open(&dir, seed, &clock);
        self.users[user].engine = reopened;
        self.users[user].events = self.users[user].engine.events();
        self.users[user].held.clear();
    }

    /// An engine on a throwaway profile, to hold a user's place while theirs reopens.
    fn open_placeholder(&mut self) -> Engine {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store =
            ProfileStore::create(dir.path(), PASSPHRASE, KdfParams::for_tests()).expect("store");
        crate::engine::write_new_profile(
            &store,
            "placeholder",
            &self.home,
            None,
            T0,
            &mut StdRng::seed_from_u64(0),
        )
        .expect("a profile");
        drop(store);
        let engine = self.open(dir.path(), [0; 32], &Clock::manual(T0));
        self.scratch.push(dir);
        engine
    }

    /// Cuts `user` off from the relay (`false`), or brings them back (`true`).
    pub(crate) fn set_online(&mut self, user: usize, online: bool) {
        if online {
            self.offline.remove(&user);
        } else {
            self.offline.insert(user);
        }
    }

    /// Moves everyone's clock forward.
    pub(crate) fn advance(&mut self, by: Duration) {
        for user in &self.users {
            user.clock.advance(by);
        }
    }

    /// Moves one user's clock forward (clocks disagree, as on real machines).
    pub(crate) fn advance_user(&mut self, user: usize, by: Duration) {
        self.users[user].clock.advance(by);
    }

    /// A new mailbox of `user` on the relay, for `purpose`, not yet recorded by its core.
    fn new_mailbox(&mut self, user: usize, purpose: MailboxPurpose) -> Mailbox {
        let (receive_id, send_id) = self.relay.create(user, &mut self.rng);
        let owner_secret: [u8; 32] = self.rng.random();
        let core = self.users[user].core();
        let keys = MailboxKeys::generate(&mut *core.rng());
        let pickled = keys.pickle(&core.pickle_key, &mut *core.rng());
        Mailbox {
            record: MailboxRecord {
                relay: self.home.to_string(),
                receive_id: *receive_id.as_bytes(),
                send_id: *send_id.as_bytes(),
                owner_secret,
                keys: pickled,
                purpose,
                created_at: core.now(),
            },
            keys,
            relay: self.home.clone(),
        }
    }

    /// A new mailbox locked with a fresh sender key (returned).
    fn new_locked_mailbox(
        &mut self,
        user: usize,
        purpose: MailboxPurpose,
    ) -> (Mailbox, SigningKey) {
        let mailbox = self.new_mailbox(user, purpose);
        let sender = SigningKey::from_bytes(&self.rng.random());
        let receive_id = mailbox.record.receive();
        if let Some(mailbox) = self.relay.boxes.get_mut(&receive_id) {
            mailbox.sender_key = Some(sender.verifying_key());
        }
        (mailbox, sender)
    }

    /// `user` makes a one-time invitation.
    pub(crate) fn invite(&mut self, user: usize) -> Invitation {
        let mailbox = self.new_mailbox(user, MailboxPurpose::Invitation);
        let mut core = self.users[user].core();
        crate::core::contacts::invite(&mut core, mailbox).expect("an invitation")
    }

    /// `user` accepts an invitation.
    pub(crate) fn accept(&mut self, user: usize, invitation: &Invitation) -> Contact {
        let address: boucle_wire::MailboxAddress =
            postcard::from_bytes(&invitation.card.mailbox().0).expect("an address");
        crate::core::contacts::check_invitation(&self.users[user].core(), invitation)
            .expect("an invitation we may accept");
        let id = ContactId(self.rng.random());
        let (mailbox, sender) = self.new_locked_mailbox(user, MailboxPurpose::Contact(id));
        let contact = {
            let mut core = self.users[user].core();
            crate::core::contacts::accept(&mut core, id, invitation, &address, mailbox, &sender)
                .expect("accepted")
        };
        self.users[user]
            .engine
            .inner
            .emit(Event::ContactAdded(contact.clone()));
        self.offer_card(user, contact.id);
        contact
    }

    /// `a` invites `b`, `b` accepts, and the net settles: both are contacts, on mailboxes
    /// of their own. Returns (b as a contact of a, a as a contact of b).
    pub(crate) fn introduce(&mut self, a: usize, b: usize) -> (ContactId, ContactId) {
        let invitation = self.invite(a);
        let a_for_b = self.accept(b, &invitation).id;
        self.settle();
        let name = self.users[b].engine.name().expect("a name");
        let b_for_a = self.users[a]
            .engine
            .contacts()
            .expect("contacts")
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{} never met {name}", self.users[a].name))
            .id;
        (b_for_a, a_for_b)
    }

    /// `user` creates a loop and invites these contacts (they join as the net settles).
    pub(crate) fn create_loop(
        &mut self,
        user: usize,
        name: &str,
        contacts: &[ContactId],
    ) -> LoopId {
        let id = LoopId::random(&mut self.rng);
        let mailbox = self.new_mailbox(user, MailboxPurpose::Loop(id));
        let mut core = self.users[user].core();
        crate::core::loops::create(&mut core, id, name.to_owned(), contacts, mailbox)
            .expect("a loop");
        id
    }

    /// One outbox round of `user`: every item due is deposited on the relay, and what the
    /// relay answered goes back to the core. Returns how many items were sent.
    pub(crate) fn flush(&mut self, user: usize) -> usize {
        let items = {
            let core = self.users[user].core();
            crate::core::outbox::pending(&core).expect("the outbox reads")
        };
        let mut round = Round::default();
        let mut sent = 0;
        for (key, item) in items {
            let core = self.users[user].core();
            let (relay, body, recipients) =
                match crate::core::outbox::next(&core, &key, &item, &round) {
                    Next::Skip => continue,
                    Next::Settled(events) => {
                        drop(core);
                        self.users[user].engine.inner.emit_all(events);
                        continue;
                    }
                    Next::Send(relay, body, recipients) => (relay, body, recipients),
                };
            let outcomes: Vec<Result<(), ErrorCode>> = recipients
                .into_iter()
                .map(|r| {
                    self.relay
                        .deposit(&r.send_id, r.header, &body, r.sender_signature)
                })
                .collect();
            let events =
                crate::core::outbox::settle(&core, &key, item, &relay, &outcomes, &mut round);
            drop(core);
            self.users[user].engine.inner.emit_all(events);
            sent += 1;
        }
        sent
    }

    /// Mailboxes of `user` with something to deliver (and not held back).
    pub(crate) fn deliverable(&self, user: usize) -> Vec<ReceiveId> {
        self.relay
            .nonempty_of(user)
            .into_iter()
            .filter(|id| !self.users[user].held.contains(id))
            .collect()
    }

    /// Delivers the oldest envelope of one mailbox to its owner; `ack: false` leaves it
    /// at the relay (as a connection lost before the acknowledgement), so it comes again.
    /// Returns whether the owner took it (acknowledged or not).
    pub(crate) fn deliver_next(&mut self, receive_id: ReceiveId, ack: bool) -> bool {
        let Some(mailbox) = self.relay.boxes.get(&receive_id) else {
            return false;
        };
        let user = mailbox.owner;
        let Some((seq, envelope)) = mailbox
            .queue
            .first_key_value()
            .map(|(s, e)| (*s, e.clone()))
        else {
            return false;
        };
        if self.users[user].held.contains(&receive_id) {
            return false;
        }
        let outcome = {
            let mut core = self.users[user].core();
            crate::core::inbound::handle(&mut core, &receive_id, Seq(seq), &envelope)
                .expect("an envelope is stored")
        };
        let (events, followup) = match outcome {
            Outcome::NotYet => {
                self.users[user].held.insert(receive_id);
                return true;
            }
            Outcome::Done(handled) => handled,
        };
        if ack && let Some(mailbox) = self.relay.boxes.get_mut(&receive_id) {
            mailbox.queue.remove(&seq);
        }
        match followup {
            Some(Followup::JoinLoop { loop_id }) => self.join_loop(user, loop_id),
            Some(Followup::Joined { mailbox }) => {
                self.users[user].held.remove(&mailbox);
            }
            Some(Followup::Retire { mailbox }) => self.retire(user, mailbox),
            Some(Followup::OfferCard { contact }) => self.offer_card(user, contact),
            None => {}
        }
        for event in &events {
            if let Event::ContactAdded(contact) = event {
                self.rehome(user, contact.id);
                self.offer_card(user, contact.id);
            }
        }
        self.users[user].engine.inner.emit_all(events);
        true
    }

    /// Delivers everything `user` can take now, mailbox by mailbox.
    pub(crate) fn deliver_all(&mut self, user: usize) -> usize {
        let mut delivered = 0;
        loop {
            let ready = self.deliverable(user);
            if ready.is_empty() {
                return delivered;
            }
            for receive_id in ready {
                while self.deliver_next(receive_id, true) {
                    delivered += 1;
                    if self.users[user].held.contains(&receive_id) {
                        break;
                    }
                }
            }
        }
    }

    /// Outbox rounds and deliveries for everyone until nothing moves. Panics after
    /// 1,000 rounds (a loop of messages that never ends is a bug).
    pub(crate) fn settle(&mut self) {
        for _ in 0..1_000 {
            let mut moved = 0;
            let online: Vec<usize> = (0..self.users.len())
                .filter(|u| !self.offline.contains(u))
                .collect();
            for &user in &online {
                moved += self.flush(user);
            }
            for &user in &online {
                moved += self.deliver_all(user);
            }
            if moved == 0 {
                return;
            }
        }
        panic!("the net did not settle in 1,000 rounds");
    }

    fn join_loop(&mut self, user: usize, id: LoopId) {
        let mailbox = self.new_mailbox(user, MailboxPurpose::Loop(id));
        let joined = {
            let mut core = self.users[user].core();
            crate::core::loop_inbound::join(&mut core, id, mailbox).expect("joined")
        };
        if joined {
            self.users[user].engine.inner.emit(Event::LoopChanged(id));
        }
    }

    fn rehome(&mut self, user: usize, contact: ContactId) {
        let needed = crate::core::rehome::keys(&self.users[user].core(), &contact)
            .is_ok_and(|k| k.rehome == crate::core::rehome::Rehome::Needed);
        if !needed {
            return;
        }
        let (mailbox, sender) = self.new_locked_mailbox(user, MailboxPurpose::Contact(contact));
        let mut core = self.users[user].core();
        crate::core::rehome::move_contact(&mut core, contact, mailbox, &sender).expect("moved");
    }

    /// Offers `user`'s shareable card to a contact, as the driver does for every new
    /// contact (an introduction mailbox of its own, then the offer).
    fn offer_card(&mut self, user: usize, contact: ContactId) {
        if !crate::core::sharing::needs_offer(&self.users[user].core(), contact) {
            return;
        }
        let mailbox = self.new_mailbox(user, MailboxPurpose::Introductions(contact));
        let mut core = self.users[user].core();
        crate::core::sharing::offer(&mut core, contact, mailbox).expect("offered");
    }

    /// `user` adds the person a shared-contact message showed, in one action (what
    /// `Engine::add_shared_contact` does, with the net's mailboxes).
    pub(crate) fn add_shared(
        &mut self,
        user: usize,
        conversation: crate::ConversationId,
        message: boucle_crypto::MessageId,
    ) -> Result<ContactId, crate::EngineError> {
        use crate::core::sharing::{Added, ToAdd, add, prepare_add};
        let prepared = prepare_add(&self.users[user].core(), conversation, message)?;
        let (card, name, introducer) = match prepared {
            ToAdd::Existing(existing) => return Ok(existing),
            ToAdd::New {
                card,
                name,
                introducer,
            } => (card, name, introducer),
        };
        let id = ContactId(self.rng.random());
        let (mailbox, sender) = self.new_locked_mailbox(user, MailboxPurpose::Contact(id));
        let added = {
            let mut core = self.users[user].core();
            add(
                &mut core,
                message,
                id,
                (&card, &name, introducer),
                mailbox,
                &sender,
            )?
        };
        match added {
            Added::Existing(existing) => Ok(existing),
            Added::New { contact, .. } => {
                self.users[user]
                    .engine
                    .inner
                    .emit(Event::ContactAdded(*contact));
                self.offer_card(user, id);
                Ok(id)
            }
        }
    }

    fn retire(&mut self, user: usize, receive_id: ReceiveId) {
        self.relay.delete(&receive_id);
        let mut core = self.users[user].core();
        crate::core::rehome::forget_mailbox(&mut core, receive_id).expect("forgotten");
    }
}
