//! # boucle-crypto
//!
//! Every secret of a Boucle user, and the transformation of messages into
//! envelopes a relay can store but neither read nor attribute.
//!
//! It follows the Signal design on audited crates: Olm (vodozemac) for
//! pairwise sessions, Megolm sender keys for group *loops*, HPKE (RFC 9180)
//! for sealed sender, XChaCha20-Poly1305 for state at rest. The normative
//! description, with byte layouts, is `protocol-spec/e2ee.md`.
//!
//! **What it is not:** no I/O, no async, no clock, no logging. Time is passed
//! in as [`Timestamp`], randomness as `&mut impl rand::CryptoRng` wherever
//! the underlying library allows it. Vodozemac draws its own randomness from
//! the OS (`getrandom`) for Olm/Megolm keys and ratchet steps
//! ([`Account::new`], one-time/fallback keys, [`PairwiseSession::outbound`],
//! [`PairwiseSession::encrypt`] on a ratchet turn, [`LoopSession::rotate`]).
//!
//! ## Main types
//! - [`Account`] (device identity, one-time and fallback keys), [`IdentityKeys`],
//!   [`ContactCard`] (signed: identity, prekey, seal key, mailbox address),
//!   [`SafetyNumber`].
//! - [`MailboxKeys`] / [`SealKey`]: the HPKE key a mailbox is sealed to.
//! - [`PairwiseSession`]: Olm with one contact.
//! - [`LoopSession`], [`LoopState`], [`SignedControl`], [`KeyShare`]: loops.
//! - [`seal_pairwise`], [`seal_loop`], [`open`]: envelopes; [`Message`] /
//!   [`Content`]: what is inside.
//! - [`PickleKey`]: every state exports with `pickle` / `from_pickle`.
//!
//! ## Example
//! ```
//! use boucle_crypto::*;
//!
//! let mut rng = rand::rng();
//! let (mut alice, mut bob) = (Account::new(), Account::new());
//! let bob_mailbox = MailboxKeys::generate(&mut rng);
//! let card = bob.contact_card(bob_mailbox.seal_key(), MailboxAddress(b"bob".to_vec()));
//!
//! // Alice starts a session from Bob's card, encrypts and seals.
//! let mut to_bob = PairwiseSession::outbound(&alice, &card)?;
//! let hello = Message {
//!     id: MessageId::random(&mut rng),
//!     sent_at: Timestamp(1_700_000_000_000),
//!     content: Content::Text("hello".into()),
//! };
//! let ct = to_bob.encrypt(&hello)?;
//! let env = seal_pairwise(&mut rng, &alice.sender_proof(), &ct, card.seal_key())?;
//! assert!(BUCKETS.contains(&env.body.len()));
//!
//! // Bob opens it and accepts the new session.
//! let opened = open(&bob_mailbox, &[], &env.header, &env.body)?;
//! let (mut to_alice, got) = PairwiseSession::inbound(&mut bob, &opened)?;
//! assert_eq!(got, hello);
//! assert_eq!(to_alice.their_identity(), &alice.identity_keys());
//! # let _ = &mut to_alice; let _ = &mut alice;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

mod content;
mod error;
mod hexfmt;
mod identity;
mod loops;
mod mailbox;
mod organize;
mod pairwise;
mod pickle;
mod safety_number;
mod seal;
mod time;

pub use content::{AttachmentRef, CONTENT_VERSION, Content, Message, MessageId};
pub use error::{
    ContentError, ControlError, EnvelopeError, KeyError, LoopError, PairwiseError, PickleError,
};
pub use identity::{
    Account, ContactCard, IdentityKeys, MailboxAddress, REMEMBERED_INBOUND_SESSIONS, SenderProof,
};
pub use loops::{
    ControlBody, ControlEffect, ControlOp, Inviting, KeyShare, LoopCiphertext, LoopId, LoopPolicy,
    LoopSession, LoopState, MAX_SKIPPED, MAX_TIMER_SECS, Posting, RotationPolicy, SignedControl,
};
pub use mailbox::{MailboxKeys, SealKey};
pub use organize::{EventSpec, MAX_POLL_OPTIONS, MIN_POLL_OPTIONS, PollSpec, RsvpAnswer};
pub use pairwise::{MAX_SESSIONS, PairwiseCiphertext, PairwiseSession};
pub use pickle::PickleKey;
pub use safety_number::SafetyNumber;
pub use seal::{
    BODY_LABEL, BUCKETS, ENVELOPE_VERSION, Envelope, HEADER_LEN, HPKE_INFO, HeaderKey, KEYED_LABEL,
    LoopEnvelope, MAX_PAYLOAD, Opened, bucket_for, open, seal_loop, seal_pairwise,
};
pub use time::Timestamp;
