//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Locked mailboxes per contact (client-protocol §2.1, relay-protocol §7).
//!
//! Whoever knows a mailbox's send id can fill it, unless the mailbox has a sender key.
//! So a contact's mailbox is locked: its owner makes a sender key for it and gives the
//! secret half to the contact alone, inside the end-to-end encrypted session, and the
//! relay refuses whatever is not signed with it.
//!
//! - Accepting an invitation (or a shared card), we make a locked mailbox for the new
//!   contact and send the key in our `Introduction`.
//! - A contact met on a mailbox others can write to (a one-time invitation whose link may
//!   have leaked, a shared card, or a mailbox of an older version that is not locked) is
//!   **rehomed**: we make a locked mailbox for them alone and send `Rehome{card, key}`.
//!   They answer `Rehomed` on the old mailbox, after everything they had queued for it;
//!   once we have read it nothing more of theirs comes there, and an old mailbox that was
//!   theirs alone (the invitation's) is deleted on the relay. A shared card's mailbox
//!   stays for the others.
//!
//! [`ContactKeys`] holds, per contact, the key to sign with when writing to them, and
//! how far the rehoming has come.

use std::collections::HashMap;
use std::time::Duration;

use boucle_crypto::{ContactCard, Content};
use boucle_wire::{MailboxAddress, ReceiveId, SendId};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::messages::is_prekey;
use super::messages::{new_message, seal_for};
use super::seen::Seen;
use super::{Core, Mailbox};
use super::{Followup, Handled};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{
    ACCOUNT_KEY, BY_ID, CONTACTS, MAILBOXES, META, MailboxPurpose, OUTBOX, SESSIONS,
};
use crate::store::{StoreError, Table, WriteBatch};

/// Per contact: [`ContactKeys`].
pub(crate) const CONTACT_KEYS: Table = Table::new("contact_keys", BY_ID);

/// How often, and how many times, a rehoming or a deletion that could not reach the
/// relay is tried again in one run (the next unlock starts over).
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(10);

pub(crate) const RETRIES: u32 = 360;

/// What we hold about a contact's mailbox keys.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct ContactKeys {
    /// Their mailbox's sender key, if it is locked: sign what goes to `send_id` with it.
    pub send: Option<SendKey>,
    /// Whether the mailbox they write to is theirs alone and locked.
    pub rehome: Rehome,
}

/// The sender key of a contact's mailbox.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(crate) struct SendKey {
    pub send_id: [u8; 16],
    pub secret: [u8; 32],
}

/// How far moving a contact to a locked mailbox of their own has come.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Rehome {
    /// They write to a mailbox others can write to (or a contact of an older version,
    /// with no record here): to do.
    #[default]
    Needed,
    /// `Rehome` is sent; they may still write to `from` until their `Rehomed` comes.
    Sent { from: [u8; 16] },
    /// They write to a locked mailbox of their own.
    Done,
}

/// A contact's keys (a contact with none predates locked mailboxes: rehoming needed).
pub(crate) fn keys(core: &Core, contact: &ContactId) -> Result<ContactKeys, EngineError> {
    Ok(core
        .store
        .get_value::<ContactKeys>(CONTACT_KEYS, &contact.0)?
        .unwrap_or_default())
}

pub(crate) fn put(
    batch: &mut WriteBatch<'_>,
    contact: &ContactId,
    keys: &ContactKeys,
) -> Result<(), StoreError> {
    batch.put_value(CONTACT_KEYS, &contact.0, keys)
}

/// The key for writing to `card`'s mailbox, if its owner gave one; also updates the
/// in-memory map the outbox signs with (the caller writes `keys`).
pub(crate) fn learn_send_key(
    core: &mut Core,
    keys: &mut ContactKeys,
    card: &ContactCard,
    secret: Option<[u8; 32]>,
) {
    if let Some(old) = keys.send.take() {
        core.send_keys.remove(&SendId::from_bytes(old.send_id));
    }
    let Some(secret) = secret else { return };
    let Ok(address) = postcard::from_bytes::<MailboxAddress>(&card.mailbox().0) else {
        return;
    };
    let send_id = *address.send_id.as_bytes();
    core.send_keys
        .insert(SendId::from_bytes(send_id), SigningKey::from_bytes(&secret));
    keys.send = Some(SendKey { send_id, secret });
}

/// The signing keys by send id, as stored (loaded at unlock).
pub(crate) fn load_send_keys(
    store: &crate::store::ProfileStore,
) -> Result<HashMap<SendId, SigningKey>, EngineError> {
    let mut map = HashMap::new();
    for (_, bytes) in store.scan(CONTACT_KEYS, b"")? {
        let keys: ContactKeys = postcard::from_bytes(&bytes)
            .map_err(|_| StoreError::Corrupt("a contact's mailbox keys are unreadable".into()))?;
        if let Some(send) = keys.send {
            map.insert(
                SendId::from_bytes(send.send_id),
                SigningKey::from_bytes(&send.secret),
            );
        }
    }
    Ok(map)
}

/// A contact tells us where to write to them from now on, and the key to sign with.
/// We answer `Rehomed` at the old address (after whatever we queued for it), then write
/// to the new one.
pub(crate) fn on_rehome(
    core: &mut Core,
    contact: ContactId,
    opened: &boucle_crypto::Opened,
    card: &ContactCard,
    sender_key: [u8; 32],
    seen: &Seen,
) -> Result<Handled, EngineError> {
    let mut record = core.contact_record(&contact)?;
    let same = ContactCard::from_bytes(&record.card).is_ok_and(|known| {
        known.identity() == card.identity()
            && card.verify().is_ok()
            && postcard::from_bytes::<MailboxAddress>(&card.mailbox().0).is_ok()
    });
    if !same {
        tracing::info!("dropped a new address that is not the contact's");
        write_session(core, contact, opened, seen, None)?;
        return Ok((Vec::new(), None));
    }
    let answer = new_message(core, Content::Rehomed);
    let item = seal_for(core, contact, &answer, None)?;
    let mut keys = keys(core, &contact)?;
    learn_send_key(core, &mut keys, card, Some(sender_key));
    record.card = card.to_bytes();
    core.counters.outbox += 1;
    let outbox_key = core.counters.outbox.to_be_bytes();
    write_session(
        core,
        contact,
        opened,
        seen,
        Some(&|batch: &mut WriteBatch<'_>| {
            batch.put_value(OUTBOX, &outbox_key, &item)?;
            batch.put_value(CONTACTS, &contact.0, &record)?;
            put(batch, &contact, &keys)
        }),
    )?;
    Ok((Vec::new(), None))
}

/// The contact will not write to the old mailbox again: the rehoming is done, and the
/// old mailbox, if it was theirs alone, is deleted.
pub(crate) fn on_rehomed(
    core: &mut Core,
    contact: ContactId,
    receive_id: &ReceiveId,
    opened: &boucle_crypto::Opened,
    seen: &Seen,
) -> Result<Handled, EngineError> {
    let mut keys = keys(core, &contact)?;
    let from = match keys.rehome {
        Rehome::Sent { from } if from == *receive_id.as_bytes() => from,
        _ => {
            write_session(core, contact, opened, seen, None)?;
            return Ok((Vec::new(), None));
        }
    };
    keys.rehome = Rehome::Done;
    let retire = core
        .mailboxes
        .get(&ReceiveId::from_bytes(from))
        .filter(|m| m.record.purpose == MailboxPurpose::Contact(contact))
        .map(|m| {
            let mut record = m.record.clone();
            record.purpose = MailboxPurpose::Retiring;
            record
        });
    write_session(
        core,
        contact,
        opened,
        seen,
        Some(&|batch: &mut WriteBatch<'_>| {
            put(batch, &contact, &keys)?;
            if let Some(record) = &retire {
                batch.put_value(MAILBOXES, &record.receive_id, record)?;
            }
            Ok(())
        }),
    )?;
    let followup = retire.map(|record| {
        if let Some(mailbox) = core.mailboxes.get_mut(&record.receive()) {
            mailbox.record.purpose = MailboxPurpose::Retiring;
        }
        Followup::Retire {
            mailbox: record.receive(),
        }
    });
    Ok((Vec::new(), followup))
}

/// What a handler writes with the session, in the same write.
pub(crate) type MoreWrites<'a> = dyn Fn(&mut WriteBatch<'_>) -> Result<(), StoreError> + 'a;

/// Writes the session (and the account, after a first message) with the seen mark and
/// whatever `more` adds, in one write.
pub(crate) fn write_session(
    core: &Core,
    contact: ContactId,
    opened: &boucle_crypto::Opened,
    seen: &Seen,
    more: Option<&MoreWrites<'_>>,
) -> Result<(), EngineError> {
    let session = core.session_pickle(&contact).unwrap_or_default();
    let account = is_prekey(opened).then(|| core.account_pickle());
    core.store.write(|batch| {
        batch.put(SESSIONS, &contact.0, &session)?;
        if let Some(account) = &account {
            batch.put(META, ACCOUNT_KEY, account)?;
        }
        if let Some(more) = more {
            more(batch)?;
        }
        seen.record(batch)?;
        core.save_counters(batch)
    })?;
    Ok(())
}

/// Signs a recipient's header and the body with its mailbox's sender key, if it has one.
pub(crate) fn sign(
    keys: &HashMap<SendId, SigningKey>,
    recipient: &mut boucle_wire::BatchRecipient,
    body: &boucle_wire::Body,
) {
    use ed25519_dalek::Signer;
    if let Some(key) = keys.get(&recipient.send_id) {
        let proof = boucle_wire::sender_proof(&recipient.send_id, &recipient.header, body);
        recipient.sender_signature = Some(boucle_wire::Signature::from_bytes(
            key.sign(&proof).to_bytes(),
        ));
    }
}

/// A contact's record, for `Introduction` handlers: their keys as the introduction
/// gives them, rehoming needed (they wrote to a mailbox others can write to).
pub(crate) fn introduced(
    core: &mut Core,
    card: &ContactCard,
    sender_key: Option<[u8; 32]>,
) -> ContactKeys {
    let mut keys = ContactKeys::default();
    learn_send_key(core, &mut keys, card, sender_key);
    keys
}

/// The keys of a contact we wrote our introduction to: we made them a locked mailbox.
pub(crate) fn introducing() -> ContactKeys {
    ContactKeys {
        send: None,
        rehome: Rehome::Done,
    }
}

/// Whether `receive_id` is the old mailbox a contact may still write to.
pub(crate) fn is_old_mailbox(core: &Core, contact: &ContactId, receive_id: &ReceiveId) -> bool {
    keys(core, contact).is_ok_and(|k| {
        k.rehome
            == Rehome::Sent {
                from: *receive_id.as_bytes(),
            }
    })
}

/// Records the new mailbox and queues `Rehome` to the contact, in one write.
/// Whether it did (the contact may have been moved meanwhile).
pub(crate) fn move_contact(
    core: &mut Core,
    contact: ContactId,
    mailbox: Mailbox,
    sender: &SigningKey,
) -> Result<bool, EngineError> {
    let mut keys = keys(core, &contact)?;
    if keys.rehome != Rehome::Needed {
        // Done meanwhile: the mailbox made is left to expire on the relay.
        return Ok(false);
    }
    let mut record = core.contact_record(&contact)?;
    let card = core
        .account
        .member_card(mailbox.keys.seal_key(), mailbox.card_address());
    let message = new_message(
        core,
        Content::Rehome {
            card,
            sender_key: sender.to_bytes(),
        },
    );
    let item = seal_for(core, contact, &message, None)?;
    keys.rehome = Rehome::Sent {
        from: record.my_mailbox,
    };
    record.my_mailbox = mailbox.record.receive_id;
    let session = core.session_pickle(&contact).unwrap_or_default();
    let account = core.account_pickle();
    core.counters.outbox += 1;
    let outbox_key = core.counters.outbox.to_be_bytes();
    let written = core.store.write(|batch| {
        batch.put_value(MAILBOXES, &mailbox.record.receive_id, &mailbox.record)?;
        batch.put_value(CONTACTS, &contact.0, &record)?;
        put(batch, &contact, &keys)?;
        batch.put_value(OUTBOX, &outbox_key, &item)?;
        batch.put(SESSIONS, &contact.0, &session)?;
        batch.put(META, ACCOUNT_KEY, &account)?;
        core.save_counters(batch)
    });
    if let Err(error) = written {
        // The session advanced in memory for a message that was not kept.
        core.reload()?;
        return Err(error.into());
    }
    core.mailboxes.insert(mailbox.record.receive(), mailbox);
    Ok(true)
}

/// Forgets a mailbox deleted on its relay.
pub(crate) fn forget_mailbox(core: &mut Core, receive_id: ReceiveId) -> Result<(), EngineError> {
    core.store.write(|batch| {
        batch.delete(MAILBOXES, receive_id.as_bytes())?;
        Ok(())
    })?;
    core.mailboxes.remove(&receive_id);
    Ok(())
}
