//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Blocking a contact. Nothing they send is shown or kept, and nothing can be sent to
//! them. Their envelopes are still opened and decrypted, then dropped, so that their
//! session moves on and unblocking needs no new invitation. They are not told: their
//! relay still stores what they send, and they get no delivery receipts. In a loop they
//! stay a member: their posts and reactions are not kept, their votes and answers count.

use super::Core;
use crate::ids::{ContactId, MemberKey};
use crate::model::BLOCKED;

/// Whether `ed25519` is the identity of a contact we blocked (for loop messages, where
/// senders are known by key). Blocked contacts are few: their records are read each time.
pub(crate) fn blocks_identity(core: &Core, ed25519: &MemberKey) -> bool {
    let Ok(blocked) = core.store.scan(BLOCKED, b"") else {
        return false;
    };
    blocked.iter().any(|(key, _)| {
        <[u8; 16]>::try_from(key.as_slice())
            .ok()
            .and_then(|id| core.contact_record(&ContactId(id)).ok())
            .and_then(|record| boucle_crypto::ContactCard::from_bytes(&record.card).ok())
            .is_some_and(|card| MemberKey::of(card.identity()) == *ed25519)
    })
}

/// Whether a contact is blocked. A store that cannot be read counts as blocked: when in
/// doubt, nothing is shown and nothing is sent.
pub(crate) fn is_blocked(core: &Core, id: &ContactId) -> bool {
    !matches!(core.store.get(BLOCKED, &id.0), Ok(None))
}
