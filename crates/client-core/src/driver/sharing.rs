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

use boucle_crypto::Content;

use crate::engine::messages::{new_message, seal_for};
use crate::engine::{Core, Engine, Inner};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{ACCOUNT_KEY, MAILBOXES, META, MailboxPurpose, SESSIONS};

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
                let result = (|| -> Result<(), EngineError> {
                    let mut core = inner.core()?;
                    let card = core
                        .account
                        .member_card(mailbox.keys.seal_key(), mailbox.card_address());
                    let offer = new_message(
                        &core,
                        Content::SharedContact {
                            card,
                            name: core.profile.name.clone(),
                        },
                    );
                    let item = seal_for(&mut core, contact, &offer, None)?;
                    let session = core.session_pickle(&contact).unwrap_or_default();
                    let account = core.account_pickle();
                    let Core {
                        store, counters, ..
                    } = &mut *core;
                    store.write(|batch| {
                        batch.put_value(MAILBOXES, &mailbox.record.receive_id, &mailbox.record)?;
                        batch.put(SESSIONS, &contact.0, &session)?;
                        batch.put(META, ACCOUNT_KEY, &account)?;
                        crate::engine::loops::queue(counters, batch, vec![item])
                    })?;
                    inner.watch_mailbox(&mailbox);
                    core.mailboxes.insert(mailbox.record.receive(), mailbox);
                    Ok(())
                })();
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
