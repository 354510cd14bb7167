//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Processing what the relays deliver: open the seal, decrypt, deduplicate, apply, store,
//! and only then acknowledge. Nothing of the content is ever logged.
//!
//! An envelope is acknowledged once its effects are durably stored, or once it is known
//! to be unusable (undecryptable, forged, a duplicate). If storing fails, it is not
//! acknowledged, and the relay delivers it again later.

use boucle_crypto::{ContactCard, Content, Message, PairwiseSession, open};
use boucle_wire::{Envelope, ReceiveId, SendId, Seq};

use super::messages::is_prekey;
use super::messages::seal_for;
use super::seen::{Seen, mark_seen};
use super::{Core, Event, Handled, conversation_of};
use crate::error::EngineError;
use crate::ids::{ContactId, MemberKey};
use crate::invite::clean_name;
use crate::model::{
    ACCOUNT_KEY, CONTACTS, ContactRecord, MAILBOXES, META, MailboxPurpose, OUTBOX, SESSIONS,
};

/// What handling an envelope came to.
pub(crate) enum Outcome {
    /// Acknowledge it: its effects, if any, are stored.
    Done(Handled),
    /// Not yet: it came to the member mailbox of a loop we are joining, and reading it
    /// takes the loop's keys and members, which come with the history the admin sends us
    /// on another mailbox, maybe later. It stays at the relay, unacknowledged, and so
    /// does what follows it on its mailbox, until we have them.
    NotYet,
}

/// Opens an envelope on one of our mailboxes, and handles it as its purpose says.
pub(crate) fn handle_opened(
    core: &mut Core,
    receive_id: &ReceiveId,
    seen: &Seen,
    purpose: MailboxPurpose,
    envelope: &Envelope,
) -> Result<Handled, EngineError> {
    let Some(mailbox) = core.mailboxes.get(receive_id) else {
        return Ok((Vec::new(), None));
    };
    let loop_session: Vec<&boucle_crypto::LoopSession> = match purpose {
        MailboxPurpose::Loop(id) => core.loops.get(&id).into_iter().collect(),
        _ => Vec::new(),
    };
    let opened = match open(
        &mailbox.keys,
        &loop_session,
        envelope.header.as_bytes(),
        envelope.body.as_bytes(),
    ) {
        Ok(opened) => opened,
        Err(error) => {
            // Nothing changed, so nothing is written: opening it again, if it comes
            // again, fails again. Junk sent to a leaked send id costs no disk.
            tracing::info!(%error, "dropped an envelope that does not open");
            return Ok((Vec::new(), None));
        }
    };
    match purpose {
        MailboxPurpose::Invitation => {
            let events = introduction(core, receive_id, &opened, seen)?;
            let followup = super::sharing::offer_after(&events);
            Ok((events, followup))
        }
        MailboxPurpose::Introductions(via) => {
            match super::sharing::introduced_through(core, receive_id, &opened)? {
                Some(contact) => from_contact(core, contact, receive_id, &opened, seen),
                None => super::sharing::on_introductions(core, via, receive_id, &opened, seen),
            }
        }
        MailboxPurpose::Contact(contact) => from_contact(core, contact, receive_id, &opened, seen),
        MailboxPurpose::Loop(id) => Ok((
            super::loop_inbound::on_loop_mailbox(core, id, &opened, seen)?,
            None,
        )),
        // Being deleted: its contact said they write elsewhere; whatever still comes
        // here is someone else's.
        MailboxPurpose::Retiring => Ok((Vec::new(), None)),
    }
}

/// The first message on an invitation mailbox: whoever accepted introduces themselves.
pub(crate) fn introduction(
    core: &mut Core,
    receive_id: &ReceiveId,
    opened: &boucle_crypto::Opened,
    seen: &Seen,
) -> Result<Vec<Event>, EngineError> {
    let Ok((session, message)) = PairwiseSession::inbound(&mut core.account, opened) else {
        tracing::info!("dropped an invitation reply that is not a valid first message");
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    };
    let Content::Introduction {
        card,
        name,
        sender_key,
    } = message.content
    else {
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    };
    if card.verify().is_err() || card.identity() != &opened.sender {
        tracing::info!("dropped an introduction whose card is not the sender's");
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    }
    if super::contacts::find_by_identity(&core.store, card.identity())?.is_some() {
        mark_seen(core, seen)?;
        return Ok(Vec::new());
    }
    let id = ContactId::random();
    let now = core.now();
    let record = ContactRecord {
        name: clean_name(&name),
        card: card.to_bytes(),
        my_mailbox: *receive_id.as_bytes(),
        verified: false,
        identity_changed: false,
        unread: 0,
        last_activity: now,
        created_at: now,
    };
    // The invitation is used up: its mailbox now belongs to this contact.
    let Some(mailbox) = core.mailboxes.get_mut(receive_id) else {
        return Ok(Vec::new());
    };
    mailbox.record.purpose = MailboxPurpose::Contact(id);
    let mailbox_record = mailbox.record.clone();
    // The invitation's link may have leaked: the contact is moved to a locked mailbox
    // of their own (`rehome.rs`, started by the `ContactAdded` event).
    let keys = super::rehome::introduced(core, &card, sender_key);
    core.sessions.insert(id, session);
    let session = core.session_pickle(&id).unwrap_or_default();
    let account = core.account_pickle();
    let written = core.store.write(|batch| {
        batch.put_value(CONTACTS, &id.0, &record)?;
        batch.put(SESSIONS, &id.0, &session)?;
        batch.put(META, ACCOUNT_KEY, &account)?;
        batch.put_value(MAILBOXES, receive_id.as_bytes(), &mailbox_record)?;
        super::rehome::put(batch, &id, &keys)?;
        seen.record(batch)
    });
    if let Err(error) = written {
        core.sessions.remove(&id);
        if let Some(send) = keys.send {
            core.send_keys.remove(&SendId::from_bytes(send.send_id));
        }
        if let Some(mailbox) = core.mailboxes.get_mut(receive_id) {
            mailbox.record.purpose = MailboxPurpose::Invitation;
        }
        return Err(error.into());
    }
    Ok(vec![Event::ContactAdded(super::contacts::view(
        id, &record,
    ))])
}

/// A message from a contact.
pub(crate) fn from_contact(
    core: &mut Core,
    contact: ContactId,
    receive_id: &ReceiveId,
    opened: &boucle_crypto::Opened,
    seen: &Seen,
) -> Result<Handled, EngineError> {
    let mut record = core.contact_record(&contact)?;
    let known = ContactCard::from_bytes(&record.card)
        .map(|card| *card.identity())
        .map_err(|_| crate::store::StoreError::Corrupt("a contact card is unreadable".into()))?;
    if opened.sender != known {
        // Someone with another identity key writes on this contact's mailbox: a reinstall,
        // or an impostor. Nothing is accepted from it; the user is warned loudly.
        record.identity_changed = true;
        record.verified = false;
        core.store.write(|batch| {
            batch.put_value(CONTACTS, &contact.0, &record)?;
            seen.record(batch)
        })?;
        return Ok((vec![Event::IdentityChanged(contact)], None));
    }
    let decrypted = {
        let Core {
            sessions, account, ..
        } = &mut *core;
        match sessions.get_mut(&contact) {
            Some(session) => session.decrypt(account, opened),
            None => return Err(EngineError::Crypto("no session with this contact".into())),
        }
    };
    let message = match decrypted {
        Ok(message) => message,
        Err(error) => {
            // Replays and duplicates land here too: nothing to do but drop them.
            tracing::info!(%error, "dropped a message that does not decrypt");
            mark_seen(core, seen)?;
            return Ok((Vec::new(), None));
        }
    };
    let from = super::content::From {
        conversation: conversation_of(contact),
        author: MemberKey::of(&known),
        label: None,
    };
    if !super::content::admits(core, &from, &message.content) {
        // A blocked contact (`content::admits`): read, so that the session moves on, and
        // dropped, loop invitations and all. Nothing of it is kept.
        drop(message);
        let session = core.session_pickle(&contact).unwrap_or_default();
        let account = core.account_pickle();
        core.store.write(|batch| {
            batch.put(SESSIONS, &contact.0, &session)?;
            batch.put(META, ACCOUNT_KEY, &account)?;
            seen.record(batch)
        })?;
        return Ok((Vec::new(), None));
    }
    match &message.content {
        Content::LoopInvitation { history } => {
            return super::loop_inbound::on_invitation(core, contact, history.clone(), seen);
        }
        Content::LoopJoin { loop_id, card } => {
            let events = super::loop_inbound::on_join(core, contact, *loop_id, card.clone(), seen)?;
            return Ok((events, None));
        }
        Content::Rehome { card, sender_key } => {
            return super::rehome::on_rehome(core, contact, opened, card, *sender_key, seen);
        }
        Content::Rehomed => {
            return super::rehome::on_rehomed(core, contact, receive_id, opened, seen);
        }
        _ => {}
    }
    let session = core.session_pickle(&contact).unwrap_or_default();
    // Only a first (pre-key) message changes the account: it uses up a one-time key.
    let account = is_prekey(opened).then(|| core.account_pickle());
    let applied = super::content::apply(core, &from, &message)?;
    let receipt_item = if applied.counted {
        record.unread += 1;
        record.last_activity = core.now();
        let receipt = Message {
            id: boucle_crypto::MessageId::random(&mut *core.rng()),
            sent_at: boucle_crypto::Timestamp(core.now()),
            content: Content::Receipt {
                ids: vec![message.id],
                read: false,
            },
        };
        Some(seal_for(core, contact, &receipt, None)?)
    } else {
        None
    };
    let session = match receipt_item {
        Some(_) => core.session_pickle(&contact).unwrap_or(session),
        None => session,
    };
    if receipt_item.is_some() {
        core.counters.outbox += 1;
    }
    let outbox_key = core.counters.outbox.to_be_bytes();
    let core_ref = &*core;
    core_ref.store.write(|batch| {
        applied.write(batch)?;
        if let Some(item) = &receipt_item {
            batch.put_value(OUTBOX, &outbox_key, item)?;
        }
        batch.put_value(CONTACTS, &contact.0, &record)?;
        batch.put(SESSIONS, &contact.0, &session)?;
        if let Some(account) = &account {
            batch.put(META, ACCOUNT_KEY, account)?;
        }
        seen.record(batch)?;
        core_ref.save_counters(batch)
    })?;
    Ok((applied.events(), None))
}

/// Handles one envelope delivered on one of our mailboxes: already seen, not ours, held
/// back (a loop being joined), or opened and applied, its effects written.
pub(crate) fn handle(
    core: &mut Core,
    receive_id: &ReceiveId,
    seq: Seq,
    envelope: &Envelope,
) -> Result<Outcome, EngineError> {
    let seen = Seen::new(receive_id, seq);
    if seen.already(&core.store)? {
        return Ok(Outcome::Done((Vec::new(), None)));
    }
    let Some(mailbox) = core.mailboxes.get(receive_id) else {
        return Ok(Outcome::Done((Vec::new(), None)));
    };
    let purpose = mailbox.record.purpose;
    if let MailboxPurpose::Loop(id) = purpose
        && super::loop_inbound::joining(core, id)
    {
        return Ok(Outcome::NotYet);
    }
    handle_opened(core, receive_id, &seen, purpose, envelope).map(Outcome::Done)
}
