//! Every byte that crosses between a Boucle client and a relay.
//!
//! This crate is the single source of truth for the client–relay wire format
//! (`protocol-spec/wire-format.md`): length-prefixed frames with a version byte, the
//! commands a client sends ([`ClientFrame`], [`Command`]), what a relay sends back
//! ([`ServerFrame`], [`Reply`], [`ErrorCode`]), the relay-visible [`Envelope`] whose
//! header and body are opaque, and relay and mailbox addresses.
//!
//! It is pure: no I/O, no async, no cryptography. Decoders never panic on any input
//! (fuzzed in `crates/wire/fuzz`).
//!
//! ```
//! use boucle_wire::{ClientFrame, Command, FrameDecoder, RequestId, encode_frame};
//!
//! let mut bytes = Vec::new();
//! encode_frame(&ClientFrame { request: RequestId(1), command: Command::Ping }, &mut bytes)?;
//! let mut decoder = FrameDecoder::default();
//! decoder.extend(&bytes);
//! let frame: ClientFrame = decoder.decode()?.expect("one complete frame");
//! assert_eq!(frame.command, Command::Ping);
//! # Ok::<(), boucle_wire::WireError>(())
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod address;
mod envelope;
mod error;
mod frame;
mod ids;
mod message;

pub use address::{MailboxAddress, RelayAddress};
pub use envelope::{Body, Envelope, Header, MAX_BODY_LEN, MAX_HEADER_LEN};
pub use error::{ErrorCode, WireError};
pub use frame::{FrameDecoder, MAX_FRAME_LEN, decode_payload, encode_frame, frame_bytes};
pub use ids::{
    AccessToken, CertFingerprint, Challenge, PublicKey, ReceiveId, RequestId, SealKey, SendId, Seq,
    Signature,
};
pub use message::{
    BatchRecipient, ClientFrame, Command, MAX_BATCH_RECIPIENTS, MailboxStatus, RelayLimits, Reply,
    SENDER_PROOF_LABEL, SUBSCRIBE_PROOF_LABEL, ServerFrame, encode_deliver, encode_deliver_parts,
    sender_proof, subscribe_proof,
};

/// The protocol version this crate speaks, first byte of every frame.
pub const PROTOCOL_VERSION: u8 = 1;
