//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::inbound`, its public API in `crate::engine::inbound`.
//!
//! Processing what the relays deliver: open the seal, decrypt, deduplicate, apply, store,
//! and only then acknowledge. Nothing of the content is ever logged.
//!
//! An envelope is acknowledged once its effects are durably stored, or once it is known
//! to be unusable (undecryptable, forged, a duplicate). If storing fails, it is not
//! acknowledged, and the relay delivers it again later.

use crate::engine::inbound::*;
use std::collections::HashSet;
use std::sync::Arc;

use boucle_wire::{ReceiveId, RelayAddress};
use tokio::sync::mpsc;

use crate::core::Followup;
use crate::driver::relays::Inbound;
use crate::engine::{Event, Inner};
use crate::error::EngineError;

pub(crate) async fn run(inner: Arc<Inner>, mut inbound: mpsc::UnboundedReceiver<Inbound>) {
    // Mailboxes with an envelope that could not be stored: what follows it is left
    // unacknowledged too, until the fresh subscription delivers it again, so that
    // messages keep their order.
    let mut held: HashSet<ReceiveId> = HashSet::new();
    while let Some(item) = inbound.recv().await {
        inner.on_relay_event(&item);
        match item {
            Inbound::Envelope { receive_id, .. } if held.contains(&receive_id) => {}
            Inbound::Resubscribed { receive_id } => {
                held.remove(&receive_id);
            }
            Inbound::Envelope {
                relay,
                receive_id,
                seq,
                envelope,
            } => {
                let outcome = match inner.core() {
                    Ok(mut core) => {
                        crate::core::inbound::handle(&mut core, &receive_id, seq, &envelope)
                    }
                    Err(error) => Err(error),
                };
                match outcome {
                    Ok(Outcome::NotYet) => {
                        // Left unacknowledged, with what follows it on its mailbox, until
                        // the loop's history arrives (`Followup::Joined`).
                        tracing::debug!("held back an envelope of a loop being joined");
                        held.insert(receive_id);
                    }
                    Ok(Outcome::Done((events, followup))) => {
                        match followup {
                            Some(Followup::Joined { mailbox }) if held.contains(&mailbox) => {
                                inner.redeliver_now(mailbox);
                            }
                            Some(Followup::Joined { .. }) => {}
                            Some(Followup::JoinLoop { loop_id }) => {
                                tokio::spawn(crate::engine::loop_inbound::accept_invitation(
                                    inner.clone(),
                                    loop_id,
                                ));
                            }
                            Some(Followup::OfferCard { contact }) => {
                                crate::engine::sharing::spawn_offer(&inner, contact);
                            }
                            Some(Followup::Retire { mailbox }) => {
                                crate::engine::rehome::spawn_retire(&inner, mailbox);
                            }
                            None => {}
                        }
                        if let Ok(address) = relay.parse::<RelayAddress>() {
                            inner.pool.ack(&address, receive_id, seq);
                        }
                        let wrote = !events.is_empty();
                        for event in &events {
                            // Met on a mailbox others can write to: give them their own.
                            if let Event::ContactAdded(contact) = event {
                                crate::engine::rehome::spawn(&inner, contact.id);
                            }
                        }
                        for event in events {
                            inner.emit(event);
                        }
                        if wrote {
                            inner.changed();
                        }
                    }
                    Err(error) => {
                        // Not acknowledged: the relay delivers it again on a fresh
                        // subscription, shortly.
                        tracing::warn!(%error, "an incoming message could not be stored; it will be retried");
                        // Decrypting it advanced a session in memory only: go back to the
                        // stored state, from which the next delivery decrypts.
                        if let Ok(mut core) = inner.core()
                            && let Err(error) = core.reload()
                        {
                            tracing::error!(%error, "cannot reload the profile's state");
                        }
                        // The disk refused it: once it has room, the same envelope will
                        // be stored. (Another failure is left for the next connection,
                        // and must not hold the mailbox back.)
                        let disk = matches!(&error, EngineError::Store(e) if e.is_io());
                        if disk && let Ok(address) = relay.parse::<RelayAddress>() {
                            held.insert(receive_id);
                            inner.pool.redeliver_later(&address, receive_id);
                        }
                    }
                }
            }
            Inbound::Status {
                relay,
                connected,
                error,
            } => {
                if connected {
                    inner.outbox_wake.notify_one();
                    inner.progress.notify_waiters();
                }
                inner.emit(Event::RelayStatus {
                    relay,
                    connected,
                    error,
                });
            }
            Inbound::Drained { .. } => {}
        }
    }
}
