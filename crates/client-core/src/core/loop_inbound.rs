//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! What arrives for loops: on our member mailboxes (loop messages, key shares, signed
//! changes) and, over contact sessions, invitations and join requests.

use boucle_crypto::{
    ContactCard, Content, ControlOp, LoopId, LoopSession, Opened, PairwiseSession, RotationPolicy,
    SignedControl,
};

use super::Followup;
use super::loops::{self, commit_loop, decode_history, loop_record, save_loop, sender_label};
use super::messages::{new_message, seal_for};
use super::seen::Seen;
use super::seen::mark_seen;
use super::{Core, Event, Mailbox};
use crate::error::EngineError;
use crate::ids::{ContactId, MemberKey};
use crate::model::{ACCOUNT_KEY, LOOPS, LoopPhase, LoopRecord, META, SESSIONS};

/// An envelope on one of our member mailboxes.
pub(crate) fn on_loop_mailbox(
    core: &mut Core,
    id: LoopId,
    opened: &Opened,
    seen: &Seen,
) -> Result<Vec<Event>, EngineError> {
    if opened.loop_id().is_some() {
        return loop_message(core, id, opened, seen);
    }
    // A pairwise message from another member: a key share or a signed change.
    let sender = opened.sender;
    let decrypted = {
        let Core {
            member_sessions,
            account,
            ..
        } = &mut *core;
        match member_sessions.get_mut(&MemberKey::of(&sender)) {
            Some(session) => session.decrypt(account, opened),
            None => PairwiseSession::inbound(account, opened).map(|(session, message)| {
                member_sessions.insert(MemberKey::of(&sender), session);
                message
            }),
        }
    };
    let Ok(message) = decrypted else {
        tracing::info!("dropped a member message that does not decrypt");
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    };
    let Ok(mut record) = loop_record(core, id) else {
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    match message.content {
        Content::KeyShare(share) => {
            if let Some(session) = core.loops.get_mut(&share.loop_id())
                && let Err(error) = session.accept_key_share(&sender, &share)
            {
                tracing::info!(%error, "refused a key share");
            }
        }
        Content::Control(control) => {
            record.pending.push(control.to_bytes());
            if apply_pending(core, id, &mut record)? {
                events.push(Event::LoopChanged(id));
            }
        }
        _ => {}
    }
    let account = core.account_pickle();
    commit_loop(core, id, &mut record, Vec::new(), |batch| {
        batch.put(META, ACCOUNT_KEY, &account)?;
        seen.record(batch)
    })?;
    Ok(events)
}

/// Applies every pending change whose turn has come, in version order. Returns whether
/// anything changed. A change that does not verify is dropped.
pub(crate) fn apply_pending(
    core: &mut Core,
    id: LoopId,
    record: &mut LoopRecord,
) -> Result<bool, EngineError> {
    let mut changed = false;
    loop {
        let Some(session) = core.loops.get_mut(&id) else {
            return Ok(changed);
        };
        let next = session.state().version() + 1;
        let mut pending: Vec<SignedControl> = decode_history(&record.pending)?;
        pending.retain(|c| c.body().version >= next);
        let Some(position) = pending.iter().position(|c| c.body().version == next) else {
            record.pending = pending.iter().map(SignedControl::to_bytes).collect();
            return Ok(changed);
        };
        let control = pending.remove(position);
        record.pending = pending.iter().map(SignedControl::to_bytes).collect();
        match session.apply_control(&control) {
            Ok(effect) => {
                record.history.push(control.to_bytes());
                changed = true;
                if let ControlOp::Rename(name) = &control.body().op {
                    record.name = name.clone();
                }
                if effect.removed_me {
                    core.loops.remove(&id);
                    record.phase = LoopPhase::Left;
                    return Ok(true);
                }
            }
            Err(error) => tracing::info!(%error, "refused a loop change"),
        }
    }
}

/// A Megolm-encrypted loop message.
pub(crate) fn loop_message(
    core: &mut Core,
    id: LoopId,
    opened: &Opened,
    seen: &Seen,
) -> Result<Vec<Event>, EngineError> {
    let Some(session) = core.loops.get_mut(&id) else {
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    };
    let (sender, message) = match session.decrypt(opened) {
        Ok(decrypted) => decrypted,
        Err(error) => {
            tracing::info!(%error, "dropped a loop message that does not decrypt");
            mark_seen(core, seen)?;
            return Ok(Vec::new());
        }
    };
    let mut record = loop_record(core, id)?;
    let author = MemberKey::of(&sender);
    let from = super::content::From {
        conversation: loops::conversation(id),
        author,
        label: Some(sender_label(core, &author)),
    };
    let applied = super::content::apply(core, &from, &message)?;
    if applied.counted {
        record.unread += 1;
        record.last_activity = core.now();
    }
    save_loop(core, id, &mut record)?;
    let counters = core.counters;
    core.store.write(|batch| {
        applied.write(batch)?;
        batch.put_value(LOOPS, &id.0, &record)?;
        batch.put_value(META, crate::model::COUNTERS_KEY, &counters)?;
        seen.record(batch)
    })?;
    Ok(applied.events())
}

/// A contact sent a loop's history: an invitation, or (once the admin added us) the
/// history to join from.
pub(crate) fn on_invitation(
    core: &mut Core,
    contact: ContactId,
    history: Vec<SignedControl>,
    seen: &Seen,
) -> Result<(Vec<Event>, Option<Followup>), EngineError> {
    let session_pickle = core.session_pickle(&contact).unwrap_or_default();
    let account = core.account_pickle();
    let save_seen = |core: &Core| -> Result<(), EngineError> {
        core.store.write(|batch| {
            batch.put(SESSIONS, &contact.0, &session_pickle)?;
            batch.put(META, ACCOUNT_KEY, &account)?;
            seen.record(batch)
        })?;
        Ok(())
    };
    let Some(first) = history.first() else {
        save_seen(core)?;
        return Ok((Vec::new(), None));
    };
    let id = first.body().loop_id;
    let me = core.account.identity_keys();
    let existing = core.store.get_value::<LoopRecord>(LOOPS, &id.0)?;
    if core.loops.contains_key(&id) {
        save_seen(core)?;
        return Ok((Vec::new(), None));
    }
    match LoopSession::join_history(me, &history, RotationPolicy::default()) {
        Ok(session) => {
            // We are a member: only accept it if we asked to join (or it is a loop we are
            // in from its creation), never be put in a loop behind our back.
            let Some(mut record) = existing else {
                save_seen(core)?;
                return Ok((Vec::new(), None));
            };
            record.name = session.state().name().to_owned();
            record.history = history.iter().map(SignedControl::to_bytes).collect();
            record.last_activity = core.now();
            core.loops.insert(id, session);
            // Changes that reached our member mailbox before this history did.
            apply_pending(core, id, &mut record)?;
            commit_loop(core, id, &mut record, Vec::new(), |batch| {
                batch.put(SESSIONS, &contact.0, &session_pickle)?;
                batch.put(META, ACCOUNT_KEY, &account)?;
                seen.record(batch)
            })?;
            // What our member mailbox held back can be read now.
            let followup = Followup::Joined {
                mailbox: boucle_wire::ReceiveId::from_bytes(record.my_mailbox),
            };
            Ok((vec![Event::LoopChanged(id)], Some(followup)))
        }
        Err(_) if existing.is_none() => {
            // An invitation from a contact: recorded now (so it survives a restart), then
            // accepted with a member mailbox and a join request.
            let ControlOp::Create { name, .. } = &first.body().op else {
                save_seen(core)?;
                return Ok((Vec::new(), None));
            };
            let record = LoopRecord {
                name: name.clone(),
                phase: LoopPhase::Invited { inviter: contact },
                history: history.iter().map(SignedControl::to_bytes).collect(),
                pending: Vec::new(),
                my_mailbox: [0; 16],
                invited: Vec::new(),
                unread: 0,
                last_activity: core.now(),
            };
            core.store.write(|batch| {
                batch.put_value(LOOPS, &id.0, &record)?;
                batch.put(SESSIONS, &contact.0, &session_pickle)?;
                batch.put(META, ACCOUNT_KEY, &account)?;
                seen.record(batch)
            })?;
            Ok((
                vec![Event::LoopChanged(id)],
                Some(Followup::JoinLoop { loop_id: id }),
            ))
        }
        Err(_) => {
            save_seen(core)?;
            Ok((Vec::new(), None))
        }
    }
}

/// A contact we invited answers with its member card: add it, tell the members, and send
/// the newcomer the whole history.
pub(crate) fn on_join(
    core: &mut Core,
    contact: ContactId,
    id: LoopId,
    card: ContactCard,
    seen: &Seen,
) -> Result<Vec<Event>, EngineError> {
    let session_pickle = core.session_pickle(&contact).unwrap_or_default();
    let account = core.account_pickle();
    let known =
        ContactCard::from_bytes(&core.contact_record(&contact)?.card).map(|c| *c.identity());
    let mut record = match loop_record(core, id) {
        Ok(record) => record,
        Err(_) => {
            mark_seen(core, seen)?;
            return Ok(Vec::new());
        }
    };
    let me = core.account.identity_keys();
    // Admins, or any member when the policy lets members invite.
    let may_invite = core
        .loops
        .get(&id)
        .is_some_and(|s| s.state().may_invite(&me.ed25519));
    let same_person = known.as_ref().is_ok_and(|k| k == card.identity());
    if !may_invite || !same_person || !record.invited.contains(&contact) {
        tracing::info!("ignored a join request that was not invited");
        core.store.write(|batch| {
            batch.put(SESSIONS, &contact.0, &session_pickle)?;
            seen.record(batch)
        })?;
        return Ok(Vec::new());
    }
    let mut items = loops::issue(core, id, &mut record, ControlOp::AddMember(card.clone()))?;
    let history = decode_history(&record.history)?;
    let welcome = new_message(core, Content::LoopInvitation { history });
    items.push(seal_for(core, contact, &welcome, None)?);
    // What we posted since inviting them, to them alone and in order (`kept.rs`).
    let (backlog, kept) = super::loops::kept::deliver(core, id, contact, &card)?;
    items.extend(backlog);
    record.invited.retain(|c| *c != contact);
    let session_pickle = core.session_pickle(&contact).unwrap_or(session_pickle);
    commit_loop(core, id, &mut record, items, |batch| {
        batch.put(SESSIONS, &contact.0, &session_pickle)?;
        batch.put(META, ACCOUNT_KEY, &account)?;
        kept.write(batch)?;
        seen.record(batch)
    })?;
    Ok(vec![Event::LoopChanged(id)])
}

/// Whether we asked to join this loop and are waiting for its history: what comes to
/// our member mailbox meanwhile (key shares, messages, changes) can only be read once
/// the history is here (`inbound::Outcome::NotYet`).
pub(crate) fn joining(core: &Core, id: LoopId) -> bool {
    !core.loops.contains_key(&id)
        && loop_record(core, id).is_ok_and(|r| matches!(r.phase, LoopPhase::Joining { .. }))
}

/// Loops we were invited into and have not answered yet.
pub(crate) fn pending_invitations(core: &Core) -> Vec<LoopId> {
    let Ok(loops) = core.store.scan(LOOPS, b"") else {
        return Vec::new();
    };
    loops
        .into_iter()
        .filter_map(|(key, bytes)| {
            let record: LoopRecord = postcard::from_bytes(&bytes).ok()?;
            matches!(record.phase, LoopPhase::Invited { .. })
                .then(|| <[u8; 16]>::try_from(key.as_slice()).ok().map(LoopId))
                .flatten()
        })
        .collect()
}

/// Joins loop `id`, to which we were invited, reading on `mailbox`: our join request
/// (with our member card) is queued to the inviter. Whether it did (we may have joined
/// meanwhile).
pub(crate) fn join(core: &mut Core, id: LoopId, mailbox: Mailbox) -> Result<bool, EngineError> {
    let mut record = loop_record(core, id)?;
    let LoopPhase::Invited { inviter } = record.phase else {
        return Ok(false);
    };
    let card = core
        .account
        .member_card(mailbox.keys.seal_key(), mailbox.card_address());
    let join = new_message(core, Content::LoopJoin { loop_id: id, card });
    let item = seal_for(core, inviter, &join, None)?;
    record.phase = LoopPhase::Joining { inviter };
    record.my_mailbox = mailbox.record.receive_id;
    let account = core.account_pickle();
    let session = core.session_pickle(&inviter).unwrap_or_default();
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
        batch.put(META, ACCOUNT_KEY, &account)?;
        batch.put(SESSIONS, &inviter.0, &session)?;
        super::loops::queue(counters, batch, vec![item])
    })?;
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    Ok(true)
}
