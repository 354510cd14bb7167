//! A small async client for Boucle relays, over QUIC (quinn + rustls).
//!
//! One implementation shared by the relay benchmark, the end-to-end tests and the client
//! engine: [`RelayClient::connect`] pins the relay's certificate by the SHA-256
//! fingerprint carried in its [`RelayAddress`](boucle_wire::RelayAddress) (a mismatch is
//! refused with [`ClientError::FingerprintMismatch`]), then the handle creates
//! mailboxes, sends (one envelope or a batch), subscribes as a stream and acknowledges.
//! The protocol itself is [`boucle_proto::ClientConnection`]; this crate only moves its
//! bytes. Handles are cheap to clone and may be used from many tasks at once: requests
//! are pipelined on one stream.
//!
//! ```no_run
//! # async fn demo(address: boucle_wire::RelayAddress) -> Result<(), Box<dyn std::error::Error>> {
//! use boucle_relay_client::{ClientOptions, RelayClient};
//! use boucle_wire::{Body, Envelope, Header};
//!
//! let client = RelayClient::connect(&address, ClientOptions::default()).await?;
//! let owner = ed25519_dalek::SigningKey::from_bytes(&[7; 32]); // use a random key
//! let ids = client.create_mailbox(&owner, None).await?;
//! let envelope = Envelope { header: Header::default(), body: Body::new(vec![0; 256])? };
//! client.send(ids.send_id, envelope).await?;
//! let mut subscription = client.subscribe(ids.receive_id, &owner).await?;
//! while let Some(delivery) = subscription.next_envelope().await {
//!     subscription.ack(delivery.seq)?;
//! }
//! # Ok(()) }
//! ```

mod client;
mod driver;
mod error;
mod tls;

pub use client::{
    ClientOptions, Delivery, MailboxIds, PendingSend, RawStream, RelayClient, Subscription,
    SubscriptionEvent,
};
pub use error::ClientError;
pub use tls::{ALPN, SERVER_NAME, fingerprint_of};
