//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Loops: group conversations with Megolm sender keys (see `protocol-spec/client-protocol.md`).
//!
//! Joining takes three messages, all over pairwise sessions, so members need not be each
//! other's contacts: the admin sends the loop's signed history to a contact
//! (`LoopInvitation`); the contact creates a per-loop mailbox and answers with its member
//! card (`LoopJoin`); the admin signs `AddMember(card)`, sends it to every member, and
//! sends the new member the whole history to join from. Every membership change makes
//! every member rotate its sending key before its next message and share the new key,
//! pairwise, with the members of the new state only: a removed member cannot read what is
//! sent after its removal.

pub(crate) mod kept;

use std::collections::BTreeMap;
use std::sync::Arc;

use boucle_crypto::{
    ContactCard, Content, ControlBody, ControlOp, LoopId, MailboxAddress as CardAddress, Message,
    PairwiseSession, SignedControl, Timestamp, seal_loop, seal_pairwise,
};
use boucle_wire::MailboxAddress;

use super::Core;
use super::messages::new_message;
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::ids::MemberKey;
use crate::model::{
    Counters, LOOPS, LoopPhase, LoopRecord, MEMBER_SESSIONS, OUTBOX, OutboxRecord, Recipient,
};
use crate::store::{StoreError, WriteBatch};

/// Signs and applies a change; returns what to send: the change to every member of the
/// new state (and to a removed member, so it knows). An added member gets the whole
/// history over its contact session instead, from the caller.
pub(crate) fn issue(
    core: &mut Core,
    id: LoopId,
    record: &mut LoopRecord,
    op: ControlOp,
) -> Result<Vec<OutboxRecord>, EngineError> {
    let me = core.account.identity_keys();
    let session = core.loops.get_mut(&id).ok_or(EngineError::NotInLoop)?;
    let before: Vec<ContactCard> = session.state().members().cloned().collect();
    let control = SignedControl::sign(
        &core.account,
        ControlBody {
            loop_id: id,
            version: session.state().version() + 1,
            author: me,
            issued_at: Timestamp(core.now),
            op: op.clone(),
        },
    );
    let effect = session
        .apply_control(&control)
        .map_err(|e| EngineError::LoopChange(e.to_string()))?;
    record.history.push(control.to_bytes());
    record.last_activity = core.now;
    let added = match &op {
        ControlOp::AddMember(card) => Some(card.identity().ed25519),
        _ => None,
    };
    // Members of the new state, plus anyone it removed.
    let mut targets: BTreeMap<[u8; 32], ContactCard> = session
        .state()
        .members()
        .map(|c| (c.identity().ed25519, c.clone()))
        .collect();
    for card in before {
        targets.entry(card.identity().ed25519).or_insert(card);
    }
    targets.remove(&me.ed25519);
    if let Some(added) = added {
        targets.remove(&added);
    }
    let mut items = Vec::new();
    for card in targets.values() {
        let message = new_message(core, Content::Control(control.clone()));
        items.push(to_member(core, card, &message)?);
    }
    if effect.removed_me {
        core.loops.remove(&id);
        record.phase = LoopPhase::Left;
        core.kept.push(kept::Pending::ForgetLoop(id));
    }
    Ok(items)
}

/// Encrypts a loop message: rotates the sending key first when due (sharing the new key
/// with every other member, pairwise), then seals one body for all of them.
pub(crate) fn loop_message(
    core: &mut Core,
    id: LoopId,
    message: &Message,
    visible: Option<([u8; 16], u64)>,
) -> Result<Vec<OutboxRecord>, EngineError> {
    let now = Timestamp(core.now());
    let session = core.loops.get_mut(&id).ok_or(EngineError::NotInLoop)?;
    let share = session
        .rotate_if_needed(&mut *core.rng.borrow_mut(), now)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let ciphertext = session
        .encrypt(message, now)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let others: Vec<ContactCard> = session.others().cloned().collect();
    let mut items = Vec::new();
    if let Some(share) = share {
        for card in &others {
            let keys = new_message(core, Content::KeyShare(share.clone()));
            items.push(to_member(core, card, &keys)?);
        }
    }
    // Contacts we invited who have not joined yet get it when they do.
    kept::note(core, id, message, visible)?;
    let me = core.account.identity_keys();
    items.extend(seal_to(
        &mut *core.rng(),
        &me,
        &ciphertext,
        &others,
        visible,
    )?);
    Ok(items)
}

/// Seals a loop ciphertext for these members: one outbox item per relay, the body once
/// and a header per member there. Nothing when there is nobody.
pub(crate) fn seal_to(
    rng: &mut impl rand::CryptoRng,
    me: &boucle_crypto::IdentityKeys,
    ciphertext: &boucle_crypto::LoopCiphertext,
    members: &[ContactCard],
    visible: Option<([u8; 16], u64)>,
) -> Result<Vec<OutboxRecord>, EngineError> {
    let recipients: Vec<CardAddress> = members.iter().map(|c| c.mailbox().clone()).collect();
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let sealed = seal_loop(rng, me, ciphertext, &recipients)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    // One batch per relay: the body once, a header per member there.
    let mut per_relay: BTreeMap<String, Vec<Recipient>> = BTreeMap::new();
    for (to, header) in sealed.headers {
        let address: MailboxAddress = postcard::from_bytes(&to.0)
            .map_err(|_| StoreError::Corrupt("a member's mailbox address is unreadable".into()))?;
        per_relay
            .entry(address.relay.to_string())
            .or_default()
            .push((*address.send_id.as_bytes(), header));
    }
    Ok(per_relay
        .into_iter()
        .map(|(relay, recipients)| OutboxRecord {
            message: visible,
            relay,
            recipients,
            body: sealed.body.clone(),
            attempts: 0,
        })
        .collect())
}

/// Encrypts and seals a message for one loop member over our pairwise session with them
/// (started from their member card if we have none yet).
pub(crate) fn to_member(
    core: &mut Core,
    card: &ContactCard,
    message: &Message,
) -> Result<OutboxRecord, EngineError> {
    let key = MemberKey::of(card.identity());
    if !core.member_sessions.contains_key(&key) {
        let session = PairwiseSession::outbound(&core.account, card)
            .map_err(|e| EngineError::Crypto(e.to_string()))?;
        core.member_sessions.insert(key, session);
    }
    let proof = core.account.sender_proof();
    let session = core
        .member_sessions
        .get_mut(&key)
        .ok_or_else(|| EngineError::Crypto("no session with this member".into()))?;
    let ciphertext = session
        .encrypt(message)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let envelope = seal_pairwise(&mut *core.rng(), &proof, &ciphertext, card.seal_key())
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let address: MailboxAddress = postcard::from_bytes(&card.mailbox().0)
        .map_err(|_| StoreError::Corrupt("a member's mailbox address is unreadable".into()))?;
    Ok(OutboxRecord {
        message: None,
        relay: address.relay.to_string(),
        recipients: vec![(*address.send_id.as_bytes(), envelope.header)],
        body: envelope.body,
        attempts: 0,
    })
}

pub(crate) fn loop_record(core: &Core, id: LoopId) -> Result<LoopRecord, EngineError> {
    core.store
        .get_value::<LoopRecord>(LOOPS, &id.0)?
        .ok_or(EngineError::NotInLoop)
}

/// Puts the current pickle of a loop's session into its record.
pub(crate) fn save_loop(
    core: &Core,
    id: LoopId,
    record: &mut LoopRecord,
) -> Result<(), EngineError> {
    if let Some(session) = core.loops.get(&id) {
        record.phase = LoopPhase::Member {
            session: session.pickle(&core.pickle_key, &mut *core.rng()),
        };
    }
    Ok(())
}

/// Stores a loop's record (with its session's current pickle), every member session,
/// any `extra` writes, what is kept for invited contacts (`kept.rs`) and the outbox
/// `items`, in one write.
pub(crate) fn commit_loop(
    core: &mut Core,
    id: LoopId,
    record: &mut LoopRecord,
    items: Vec<OutboxRecord>,
    extra: impl FnOnce(&mut WriteBatch<'_>) -> Result<(), StoreError>,
) -> Result<(), EngineError> {
    save_loop(core, id, record)?;
    let members = member_session_pickles(core);
    let timer_line = timer_line(core, id, record)?;
    let kept = kept::prepare(core)?;
    let Core {
        store, counters, ..
    } = &mut *core;
    store.write(|batch| {
        batch.put_value(LOOPS, &id.0, &*record)?;
        put_member_sessions(batch, &members)?;
        if let Some(line) = &timer_line {
            super::messages::put_view(batch, line)?;
        }
        extra(batch)?;
        kept.write(batch)?;
        queue(counters, batch, items)
    })?;
    Ok(())
}

/// Pickles of the member sessions, to store.
pub(crate) fn member_session_pickles(core: &Core) -> Vec<(MemberKey, Vec<u8>)> {
    core.member_sessions
        .iter()
        .map(|(key, session)| (*key, session.pickle(&core.pickle_key, &mut *core.rng())))
        .collect()
}

pub(crate) fn put_member_sessions(
    batch: &mut WriteBatch<'_>,
    pickles: &[(MemberKey, Vec<u8>)],
) -> Result<(), StoreError> {
    for (key, pickle) in pickles {
        batch.put(MEMBER_SESSIONS, &key.0, pickle)?;
    }
    Ok(())
}

/// Appends items to the outbox (in order) inside a write, and saves the counters.
pub(crate) fn queue(
    counters: &mut Counters,
    batch: &mut WriteBatch<'_>,
    items: Vec<OutboxRecord>,
) -> Result<(), StoreError> {
    for item in items {
        counters.outbox += 1;
        batch.put_value(OUTBOX, &counters.outbox.to_be_bytes(), &item)?;
    }
    batch.put_value(crate::model::META, crate::model::COUNTERS_KEY, counters)
}

pub(crate) fn decode_history(history: &[Vec<u8>]) -> Result<Vec<SignedControl>, EngineError> {
    history
        .iter()
        .map(|bytes| SignedControl::from_bytes(bytes))
        .collect::<Result<_, _>>()
        .map_err(|_| StoreError::Corrupt("a loop's history is unreadable".into()).into())
}

/// Contact names and verification, by Ed25519 identity key.
pub(crate) type ByIdentity = BTreeMap<MemberKey, (String, bool)>;

/// [`contacts_by_identity`], kept between calls until the contacts table changes: every
/// loop message names its sender through it.
#[derive(Default)]
pub(crate) struct NameCache(std::sync::Mutex<Option<(u64, Arc<ByIdentity>)>>);

/// Contact names and verification, by identity key.
pub(crate) fn contacts_by_identity(core: &Core) -> Result<Arc<ByIdentity>, EngineError> {
    // Read before the table, so a change in between makes the next call rebuild.
    let generation = core.store.generation(crate::model::CONTACTS);
    let mut cached = core.names.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((built, names)) = &*cached
        && *built == generation
    {
        return Ok(names.clone());
    }
    let mut out = BTreeMap::new();
    for (_, bytes) in core.store.scan(crate::model::CONTACTS, b"")? {
        let Ok(record) = postcard::from_bytes::<crate::model::ContactRecord>(&bytes) else {
            continue;
        };
        if let Ok(card) = ContactCard::from_bytes(&record.card) {
            out.insert(
                MemberKey::of(card.identity()),
                (record.name, record.verified),
            );
        }
    }
    let names = Arc::new(out);
    *cached = Some((generation, names.clone()));
    Ok(names)
}

/// How a loop member is shown: their name if they are a contact, else a short id.
pub(crate) fn member_label(names: &ByIdentity, ed25519: &MemberKey) -> String {
    names
        .get(ed25519)
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| format!("member {}", ed25519.short()))
}

/// How a loop message's sender is shown.
pub(crate) fn sender_label(core: &Core, ed25519: &MemberKey) -> String {
    match contacts_by_identity(core) {
        Ok(names) => member_label(&names, ed25519),
        Err(_) => member_label(&ByIdentity::new(), ed25519),
    }
}

pub(crate) fn conversation(id: LoopId) -> ConversationId {
    ConversationId::Loop(id)
}

/// Creates loop `id` with us as its admin and its first member, reading on `mailbox`,
/// and queues an invitation to each of `contacts`.
pub(crate) fn create(
    core: &mut Core,
    id: LoopId,
    name: String,
    contacts: &[crate::ids::ContactId],
    mailbox: super::Mailbox,
) -> Result<(), EngineError> {
    for contact in contacts {
        core.contact_record(contact)?;
    }
    let card = core
        .account
        .member_card(mailbox.keys.seal_key(), mailbox.card_address());
    let (session, create) = boucle_crypto::LoopSession::create(
        &core.account,
        id,
        &name,
        card,
        Vec::new(),
        Timestamp(core.now()),
    )
    .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let mut record = LoopRecord {
        name,
        phase: LoopPhase::Member {
            session: Vec::new(),
        },
        history: vec![create.to_bytes()],
        pending: Vec::new(),
        my_mailbox: mailbox.record.receive_id,
        invited: contacts.to_vec(),
        unread: 0,
        last_activity: core.now(),
    };
    core.loops.insert(id, session);
    let mut items = Vec::new();
    for contact in contacts {
        let invitation = new_message(
            core,
            Content::LoopInvitation {
                history: vec![create.clone()],
            },
        );
        items.push(super::messages::seal_for(
            core,
            *contact,
            &invitation,
            None,
        )?);
    }
    let account = core.account_pickle();
    save_loop(core, id, &mut record)?;
    let sessions: Vec<_> = contacts
        .iter()
        .filter_map(|c| core.session_pickle(c).map(|p| (*c, p)))
        .collect();
    let Core {
        store, counters, ..
    } = core;
    store.write(|batch| {
        batch.put_value(LOOPS, &id.0, &record)?;
        batch.put_value(
            crate::model::MAILBOXES,
            &mailbox.record.receive_id,
            &mailbox.record,
        )?;
        batch.put(crate::model::META, crate::model::ACCOUNT_KEY, &account)?;
        for (contact, session) in &sessions {
            batch.put(crate::model::SESSIONS, &contact.0, session)?;
        }
        queue(counters, batch, items)
    })?;
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    Ok(())
}

/// If a loop's timer (in its signed state) differs from the stored one, the history line
/// saying so, ready to store with `put_view` (which records the new timer). Called
/// before every write of a loop's state.
fn timer_line(
    core: &mut Core,
    id: LoopId,
    record: &LoopRecord,
) -> Result<Option<crate::model::MessageView>, EngineError> {
    let Some(session) = core.loops.get(&id) else {
        return Ok(None);
    };
    let seconds = session.state().timer_secs();
    let conversation = conversation(id);
    let stored = super::expiry::timer_record(core, conversation)?.map_or(0, |r| r.seconds);
    if seconds == stored {
        return Ok(None);
    }
    let now = core.now();
    let me = core.account.identity_keys().ed25519;
    let setter = decode_history(&record.history)?
        .iter()
        .rev()
        .find(|c| matches!(c.body().op, ControlOp::SetTimer(_)))
        .map(|c| (c.body().author.ed25519, c.body().issued_at.0));
    let who = match setter {
        Some((author, _)) if author == me => (true, None),
        Some((author, _)) => (
            false,
            Some(sender_label(core, &crate::ids::MemberKey(author))),
        ),
        None => (false, None),
    };
    let sent_at = setter.map_or(now, |(_, at)| at);
    core.counters.message += 1;
    Ok(Some(super::expiry::timer_line(
        conversation,
        boucle_crypto::MessageId::random(&mut *core.rng()),
        seconds,
        who,
        sent_at,
        now,
        core.counters.message,
    )))
}
