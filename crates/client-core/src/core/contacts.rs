//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Invitations, contacts, safety numbers.

use boucle_wire::{MailboxAddress, RelayAddress};

use boucle_crypto::{
    ContactCard, Content, Message, MessageId, PairwiseSession, Timestamp, seal_pairwise,
};
use ed25519_dalek::SigningKey;

use super::{Core, Mailbox};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::invite::Invitation;
use crate::model::{CONTACTS, Contact, ContactRecord};
use crate::model::{MAILBOXES, OUTBOX, OutboxRecord, SESSIONS};

pub(crate) fn view(id: ContactId, record: &ContactRecord) -> Contact {
    let relay_host = boucle_crypto::ContactCard::from_bytes(&record.card)
        .ok()
        .and_then(|card| postcard::from_bytes::<MailboxAddress>(&card.mailbox().0).ok())
        .map(|address| relay_label(&address.relay))
        .unwrap_or_default();
    Contact {
        id,
        name: record.name.clone(),
        verified: record.verified,
        identity_changed: record.identity_changed,
        unread: record.unread,
        relay_host,
        last_activity: record.last_activity,
        introduced_by: None,
        can_share: false,
        blocked: false,
    }
}

pub(crate) fn relay_label(relay: &RelayAddress) -> String {
    format!("{}:{}", relay.host(), relay.port())
}

pub(crate) fn find_by_identity(
    store: &crate::store::ProfileStore,
    identity: &boucle_crypto::IdentityKeys,
) -> Result<Option<ContactRecord>, EngineError> {
    for (_, bytes) in store.scan(CONTACTS, b"")? {
        let Ok(record) = postcard::from_bytes::<ContactRecord>(&bytes) else {
            continue;
        };
        let same = boucle_crypto::ContactCard::from_bytes(&record.card)
            .is_ok_and(|card| card.identity() == identity);
        if same {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// Records a fresh invitation mailbox and returns the invitation that leads to it.
pub(crate) fn invite(core: &mut Core, mailbox: Mailbox) -> Result<Invitation, EngineError> {
    let address = mailbox.card_address();
    let card = core.account.contact_card(mailbox.keys.seal_key(), address);
    let account = core.account_pickle();
    core.store.write(|batch| {
        batch.put_value(MAILBOXES, &mailbox.record.receive_id, &mailbox.record)?;
        batch.put(crate::model::META, crate::model::ACCOUNT_KEY, &account)
    })?;
    let invitation = Invitation {
        name: core.profile.name.clone(),
        card,
    };
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    Ok(invitation)
}

/// Our introduction to someone whose card we hold (an invitation's, or a shared one's):
/// a new session with them, and the sealed `Introduction` with our card for `mailbox`
/// and the secret half of its sender key.
pub(crate) fn introduce_to(
    core: &mut Core,
    their_card: &ContactCard,
    mailbox: &Mailbox,
    sender: &SigningKey,
) -> Result<(PairwiseSession, boucle_crypto::Envelope), EngineError> {
    let my_card = core
        .account
        .contact_card(mailbox.keys.seal_key(), mailbox.card_address());
    let mut session = PairwiseSession::outbound(&core.account, their_card)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let introduction = Message {
        id: MessageId::random(&mut *core.rng()),
        sent_at: Timestamp(core.now()),
        content: Content::Introduction {
            card: my_card,
            name: core.profile.name.clone(),
            sender_key: Some(sender.to_bytes()),
        },
    };
    let ciphertext = session
        .encrypt(&introduction)
        .map_err(|e| EngineError::Crypto(e.to_string()))?;
    let envelope = seal_pairwise(
        &mut *core.rng(),
        &core.account.sender_proof(),
        &ciphertext,
        their_card.seal_key(),
    )
    .map_err(|e| EngineError::Crypto(e.to_string()))?;
    Ok((session, envelope))
}

/// Refuses our own invitation, and one from someone who is a contact already.
pub(crate) fn check_invitation(core: &Core, invitation: &Invitation) -> Result<(), EngineError> {
    if invitation.card.identity() == &core.account.identity_keys() {
        return Err(EngineError::OwnInvitation);
    }
    if let Some(existing) = find_by_identity(&core.store, invitation.card.identity())? {
        return Err(EngineError::AlreadyContact(existing.name));
    }
    Ok(())
}

/// Accepts an invitation: the inviter becomes contact `id`, who writes to `mailbox`
/// (locked with `sender`, whose secret half goes to them in our introduction), and the
/// introduction is queued to their invitation mailbox.
pub(crate) fn accept(
    core: &mut Core,
    id: ContactId,
    invitation: &Invitation,
    their_address: &MailboxAddress,
    mailbox: Mailbox,
    sender: &SigningKey,
) -> Result<Contact, EngineError> {
    let (session, envelope) = introduce_to(core, &invitation.card, &mailbox, sender)?;
    let now = core.now();
    let record = ContactRecord {
        name: invitation.name.clone(),
        card: invitation.card.to_bytes(),
        my_mailbox: mailbox.record.receive_id,
        verified: false,
        identity_changed: false,
        unread: 0,
        last_activity: now,
        created_at: now,
    };
    core.sessions.insert(id, session);
    let session = core.session_pickle(&id).unwrap_or_default();
    let account = core.account_pickle();
    core.counters.outbox += 1;
    let outbox_key = core.counters.outbox.to_be_bytes();
    let item = OutboxRecord {
        message: None,
        relay: their_address.relay.to_string(),
        recipients: vec![(*their_address.send_id.as_bytes(), envelope.header)],
        body: envelope.body,
        attempts: 0,
    };
    let written = core.store.write(|batch| {
        batch.put_value(CONTACTS, &id.0, &record)?;
        batch.put(SESSIONS, &id.0, &session)?;
        batch.put(crate::model::META, crate::model::ACCOUNT_KEY, &account)?;
        batch.put_value(MAILBOXES, &mailbox.record.receive_id, &mailbox.record)?;
        batch.put_value(OUTBOX, &outbox_key, &item)?;
        super::rehome::put(batch, &id, &super::rehome::introducing())?;
        core.save_counters(batch)
    });
    if let Err(error) = written {
        core.sessions.remove(&id);
        return Err(error.into());
    }
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    Ok(view(id, &record))
}
