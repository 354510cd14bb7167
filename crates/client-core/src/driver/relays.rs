//! Connections to every relay the profile uses, kept alive.
//!
//! One supervisor task per relay connects (pinning the certificate fingerprint),
//! subscribes every registered mailbox, forwards deliveries to the engine's inbound
//! channel in order, and on a lost connection reconnects with exponential backoff
//! (0.25 s doubling to 30 s) and subscribes again. Envelopes not acknowledged before a
//! disconnection are delivered again; the engine deduplicates them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boucle_relay_client::{ClientError, ClientOptions, RelayClient, SubscriptionEvent};
use boucle_wire::{Envelope, ReceiveId, RelayAddress, Seq};
use ed25519_dalek::SigningKey;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What the relays hand to the engine.
#[derive(Debug)]
pub(crate) enum Inbound {
    Envelope {
        relay: String,
        receive_id: ReceiveId,
        seq: Seq,
        envelope: Envelope,
    },
    /// Everything stored for the mailbox at subscription time has been handed over.
    Drained { receive_id: ReceiveId },
    /// The mailbox is being subscribed afresh ([`RelayPool::redeliver_later`]): nothing of
    /// its previous subscription follows, and what it had not acknowledged comes again.
    Resubscribed { receive_id: ReceiveId },
    /// A relay's connection came up or went down.
    Status {
        relay: String,
        connected: bool,
        error: Option<String>,
    },
}

struct Slot {
    address: RelayAddress,
    client: watch::Sender<Option<RelayClient>>,
    wanted: Mutex<HashMap<ReceiveId, SigningKey>>,
    /// Mailboxes to subscribe afresh (see [`RelayPool::redeliver_later`]), and those
    /// waiting for their turn.
    redo: Mutex<HashSet<ReceiveId>>,
    redo_scheduled: Mutex<HashSet<ReceiveId>>,
    wake: Notify,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// How long after a failure to store an incoming envelope its mailbox is subscribed
/// afresh, so that the relay delivers it again.
const REDELIVER_AFTER: Duration = Duration::from_secs(2);

/// All relay connections of a profile.
pub(crate) struct RelayPool {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    inbound: mpsc::UnboundedSender<Inbound>,
    options: ClientOptions,
}

impl RelayPool {
    pub(crate) fn new(
        inbound: mpsc::UnboundedSender<Inbound>,
        options: ClientOptions,
    ) -> RelayPool {
        RelayPool {
            slots: Mutex::new(HashMap::new()),
            inbound,
            options,
        }
    }

    fn slot(&self, address: &RelayAddress) -> Arc<Slot> {
        let key = address.to_string();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get(&key) {
            return slot.clone();
        }
        let (client, _) = watch::channel(None);
        let slot = Arc::new(Slot {
            address: address.clone(),
            client,
            wanted: Mutex::new(HashMap::new()),
            redo: Mutex::new(HashSet::new()),
            redo_scheduled: Mutex::new(HashSet::new()),
            wake: Notify::new(),
            task: Mutex::new(None),
        });
        let task = tokio::spawn(supervise(
            slot.clone(),
            self.inbound.clone(),
            self.options.clone(),
        ));
        *slot.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        slots.insert(key, slot.clone());
        slot
    }

    /// Keeps a mailbox subscribed on its relay from now on.
    pub(crate) fn subscribe(
        &self,
        address: &RelayAddress,
        receive_id: ReceiveId,
        owner: SigningKey,
    ) {
        let slot = self.slot(address);
        slot.wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(receive_id, owner);
        slot.wake.notify_one();
    }

    /// Stops keeping a mailbox subscribed (it is being deleted); from the next
    /// connection on it is not subscribed again.
    pub(crate) fn forget(&self, address: &RelayAddress, receive_id: ReceiveId) {
        self.slot(address)
            .wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&receive_id);
    }

    /// A connection of its own, for operations that prove a mailbox's ownership and
    /// should not disturb the subscriptions of the shared one.
    pub(crate) async fn connect_fresh(
        &self,
        address: &RelayAddress,
    ) -> Result<RelayClient, ClientError> {
        RelayClient::connect(address, self.options.clone()).await
    }

    /// The relay's current connection, waiting at most `wait` for one.
    pub(crate) async fn connected(
        &self,
        address: &RelayAddress,
        wait: Duration,
    ) -> Option<RelayClient> {
        let mut client = self.slot(address).client.subscribe();
        tokio::time::timeout(
            wait,
            client.wait_for(|c| c.as_ref().is_some_and(RelayClient::is_open)),
        )
        .await
        .ok()?
        .ok()?
        .clone()
    }

    /// Whether the relay is connected right now (a connection is started if there was no
    /// reason to have one yet).
    pub(crate) fn is_connected(&self, address: &RelayAddress) -> bool {
        self.slot(address)
            .client
            .borrow()
            .as_ref()
            .is_some_and(RelayClient::is_open)
    }

    /// A connection now, or the reason there is none (for operations the user waits on).
    pub(crate) async fn connect_now(
        &self,
        address: &RelayAddress,
    ) -> Result<RelayClient, ClientError> {
        if let Some(client) = self.connected(address, Duration::ZERO).await {
            return Ok(client);
        }
        let client = RelayClient::connect(address, self.options.clone()).await?;
        Ok(client)
    }

    /// Acknowledges an envelope on the relay's current connection. If there is none, the
    /// envelope will simply be delivered again.
    pub(crate) fn ack(&self, address: &RelayAddress, receive_id: ReceiveId, seq: Seq) {
        let slot = self.slot(address);
        let client = slot.client.borrow().clone();
        if let Some(client) = client {
            let _ = client.ack(receive_id, seq);
        }
    }

    /// An envelope of this mailbox could not be stored (a full disk, say) and was not
    /// acknowledged. Within one subscription the relay never delivers an envelope twice,
    /// so a little later the mailbox is unsubscribed and subscribed again: everything not
    /// acknowledged comes again (the engine drops what it already has).
    pub(crate) fn redeliver_later(&self, address: &RelayAddress, receive_id: ReceiveId) {
        let slot = self.slot(address);
        let newly = slot
            .redo_scheduled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(receive_id);
        if !newly {
            return;
        }
        tokio::spawn(async move {
            tokio::time::sleep(REDELIVER_AFTER).await;
            slot.redo_scheduled
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&receive_id);
            slot.redo
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(receive_id);
            slot.wake.notify_one();
        });
    }

    /// Subscribes a mailbox afresh at once (an [`Inbound::Resubscribed`] marks where the
    /// new subscription starts): what was left unacknowledged is delivered again.
    pub(crate) fn redeliver_now(&self, address: &RelayAddress, receive_id: ReceiveId) {
        let slot = self.slot(address);
        slot.redo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(receive_id);
        slot.wake.notify_one();
    }

    /// Stops every connection.
    pub(crate) fn shutdown(&self) {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for slot in slots.values() {
            if let Some(task) = slot.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
                task.abort();
            }
            if let Some(client) = slot.client.borrow().as_ref() {
                client.close();
            }
        }
    }
}

async fn supervise(
    slot: Arc<Slot>,
    inbound: mpsc::UnboundedSender<Inbound>,
    options: ClientOptions,
) {
    let relay = slot.address.to_string();
    let mut backoff = BACKOFF_MIN;
    loop {
        let client = match RelayClient::connect(&slot.address, options.clone()).await {
            Ok(client) => client,
            Err(error) => {
                tracing::debug!(%error, "relay unreachable");
                let _ = inbound.send(Inbound::Status {
                    relay: relay.clone(),
                    connected: false,
                    error: Some(error.to_string()),
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        slot.client.send_replace(Some(client.clone()));
        let _ = inbound.send(Inbound::Status {
            relay: relay.clone(),
            connected: true,
            error: None,
        });
        let mut active: HashSet<ReceiveId> = HashSet::new();
        let mut forwarders: HashMap<ReceiveId, JoinHandle<()>> = HashMap::new();
        loop {
            let redo: Vec<ReceiveId> = slot
                .redo
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain()
                .collect();
            for receive_id in redo {
                if active.remove(&receive_id) {
                    let _ = client.unsubscribe(receive_id).await;
                }
                // Nothing of the old subscription may follow the marker (after a
                // reconnection there is none left: the mailbox is subscribed below).
                if let Some(forwarder) = forwarders.remove(&receive_id) {
                    forwarder.abort();
                    let _ = forwarder.await;
                }
                let _ = inbound.send(Inbound::Resubscribed { receive_id });
            }
            let wanted: Vec<(ReceiveId, SigningKey)> = slot
                .wanted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|(id, _)| !active.contains(*id))
                .map(|(id, key)| (*id, key.clone()))
                .collect();
            let mut lost = false;
            for (receive_id, owner) in wanted {
                match client.subscribe(receive_id, &owner).await {
                    Ok(subscription) => {
                        active.insert(receive_id);
                        forwarders.insert(
                            receive_id,
                            tokio::spawn(forward(subscription, relay.clone(), inbound.clone())),
                        );
                    }
                    Err(error) if error.code().is_some() => {
                        // Refused (mailbox gone, key mismatch): do not retry it endlessly.
                        tracing::warn!(%error, "a mailbox subscription was refused");
                        active.insert(receive_id);
                    }
                    Err(_) => {
                        lost = true;
                        break;
                    }
                }
            }
            if lost {
                break;
            }
            tokio::select! {
                _ = client.closed() => break,
                _ = slot.wake.notified() => {}
            }
        }
        for forwarder in forwarders.into_values() {
            forwarder.abort();
        }
        slot.client.send_replace(None);
        let _ = inbound.send(Inbound::Status {
            relay: relay.clone(),
            connected: false,
            error: Some("the connection was lost; reconnecting".into()),
        });
        tokio::time::sleep(backoff).await;
    }
}

async fn forward(
    mut subscription: boucle_relay_client::Subscription,
    relay: String,
    inbound: mpsc::UnboundedSender<Inbound>,
) {
    let receive_id = subscription.receive_id();
    while let Some(event) = subscription.next().await {
        let sent = match event {
            SubscriptionEvent::Envelope(delivery) => inbound.send(Inbound::Envelope {
                relay: relay.clone(),
                receive_id,
                seq: delivery.seq,
                envelope: delivery.envelope,
            }),
            SubscriptionEvent::Drained => inbound.send(Inbound::Drained { receive_id }),
            _ => break,
        };
        if sent.is_err() {
            break;
        }
    }
}
