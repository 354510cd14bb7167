//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::sharing`, its public API in `crate::engine::sharing`.
//!
//! Shared contacts (normative: `protocol-spec/organizing.md` §3).
//!
//! A card from an invitation carries a one-time key, used up once someone accepted it,
//! so it cannot be passed on. Instead, each side of a new contact offers the other a
//! **shareable card**: signed by its owner, with the account's reusable fallback key and
//! a mailbox of its own for the people introduced through that contact. The offer is a
//! `SharedContact` whose card is the sender's own; it is stored, not shown.
//!
//! Sharing a contact sends that card into a conversation. Whoever receives it can add
//! the person in one action ([`Engine::add_shared_contact`]): an Olm session from the
//! card and an `Introduction`, exactly as when accepting an invitation. The person shared
//! sees a new, unverified contact, "introduced through" the contact whose card it came
//! by; both compare safety numbers as with anyone.

use crate::engine::sharing::*;
use std::sync::Arc;

use crate::engine::{Engine, Inner};
use crate::ids::ContactId;
use crate::model::MailboxPurpose;

/// Offers a contact our shareable card: a new introduction mailbox on our home relay,
/// and a card for it with our fallback key, sent as a `SharedContact` of ourselves. If
/// the relay cannot be reached, the offer is retried later.
pub(crate) async fn offer_card(inner: Arc<Inner>, contact: ContactId) {
    let engine = Engine {
        inner: inner.clone(),
    };
    let pending = |inner: &Inner| inner.core().is_ok_and(|core| needs_offer(&core, contact));
    if pending(&inner) {
        match engine
            .new_mailbox(MailboxPurpose::Introductions(contact))
            .await
        {
            Ok(mailbox) if pending(&inner) => {
                let result = inner.core().and_then(|mut core| {
                    let watched = mailbox.record.receive();
                    crate::core::sharing::offer(&mut core, contact, mailbox)?;
                    if let Some(mailbox) = core.mailboxes.get(&watched) {
                        inner.watch_mailbox(mailbox);
                    }
                    Ok(())
                });
                match result {
                    Ok(()) => inner.outbox_wake.notify_one(),
                    Err(error) => tracing::warn!(%error, "could not offer a shareable card"),
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "no introduction mailbox yet; the card offer will be retried");
            }
        }
    }
    inner.offering_lock().remove(&contact);
    inner.progress.notify_waiters();
}
