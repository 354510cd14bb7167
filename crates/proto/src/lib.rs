//! The client–relay conversation as sans-IO state machines, for both roles.
//!
//! [`ServerConnection`] is what a relay runs per QUIC connection; [`ClientConnection`]
//! is what a client runs. Neither does I/O, reads a clock or draws randomness: the
//! driver feeds received bytes in with `handle_bytes`, pulls decoded work out with
//! `poll_*`, and writes whatever `take_transmit` returns to the stream. That keeps every
//! protocol rule testable without sockets (see `tests/simulated.rs`).
//!
//! What lives here: the hello exchange, request bookkeeping, per-connection proof of
//! mailbox ownership (a signature over a challenge fresh to this connection, so a proof
//! can never be replayed on another), size limits, delivery windows and acknowledgement
//! tracking, and the deadlines that bound what a client proving nothing can hold (time
//! passed in). What does not: storage, quotas, the clock itself — those are the relay's.
//!
//! ```
//! use boucle_proto::{ClientConnection, ClientEvent, ServerConnection, ServerSettings};
//! use boucle_wire::{Challenge, RelayLimits};
//!
//! let limits = RelayLimits { max_body: 65_536, max_header: 256, max_batch: 1024,
//!                            max_in_flight: 256, token_required: false };
//! let now = std::time::Instant::now();
//! let mut server = ServerConnection::new(Challenge::from_bytes([9; 32]),
//!                                        ServerSettings::new(limits), now);
//! let mut client = ClientConnection::new();
//! let ping = client.ping()?;
//! server.handle_bytes(now, &client.take_transmit());
//! while server.poll_request().is_some() {}
//! client.handle_bytes(&server.take_transmit())?;
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Ready { .. })));
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Reply { request, .. }) if request == ping));
//! # Ok::<(), boucle_proto::ProtoError>(())
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod client;
mod error;
mod server;

pub use client::{ClientConnection, ClientEvent, RequestKind};
pub use error::ProtoError;
pub use server::{
    CloseReason, INPUT_STEP, OwnershipClaim, ProvenMailbox, Request, ServerConnection,
    ServerSettings, SubscriptionWindow,
};
