//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Invitations, contacts, safety numbers.

use boucle_crypto::MailboxAddress as CardAddress;
use boucle_wire::{MailboxAddress, RelayAddress, SealKey};

use super::Mailbox;
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{CONTACTS, Contact, ContactRecord};

/// The address others write to, as carried in a card.
pub(crate) fn card_address(mailbox: &Mailbox) -> CardAddress {
    let address = MailboxAddress {
        relay: mailbox.relay.clone(),
        send_id: boucle_wire::SendId::from_bytes(mailbox.record.send_id),
        seal_key: SealKey::from_bytes(mailbox.keys.seal_key().0),
    };
    // An address always encodes.
    CardAddress(postcard::to_allocvec(&address).unwrap_or_default())
}

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
