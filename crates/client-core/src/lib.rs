//! The Boucle client engine that every front end embeds.
//!
//! It owns the user's **profile**: an encrypted local store (identity keys, contacts,
//! sessions, history, outbox — see [`store`]), the connections to any number of relays
//! (one QUIC connection each, kept alive with reconnection and backoff), and the
//! end-to-end encryption of `boucle-crypto`. Front ends issue commands (methods of
//! [`Engine`]) and show what [`Event`]s say; they never touch the network, the store or
//! the cryptography directly.
//!
//! - [`Engine::create`] / [`Engine::unlock`]: open a profile and start it;
//! - [`Engine::invite`] / [`Engine::accept`]: one-time invitation links ([`Invitation`]);
//! - [`Engine::send_text`], [`Engine::reply`], [`Engine::react`], [`Engine::edit`],
//!   [`Engine::delete`], [`Engine::history`]: conversations;
//! - [`Engine::safety_number`], [`Engine::mark_verified`]: verification;
//! - [`Engine::create_poll`], [`Engine::vote`], [`Engine::poll`]: show-of-hands polls;
//! - [`Engine::create_event`], [`Engine::rsvp`], [`Engine::agenda`],
//!   [`Engine::export_ics`]: the agenda.
//! - [`Engine::share_contact`], [`Engine::add_shared_contact`]: shared contacts;
//! - [`Engine::set_loop_policy`]: announcement loops and who may invite;
//! - [`Engine::set_timer`], [`Engine::sweep_expired`]: disappearing messages;
//! - [`Engine::send_file`], [`Engine::attachment`], [`Engine::save_attachment`]: files.
//!
//! Each contact writes to its own mailbox of ours, so a relay cannot link a user's
//! contacts together by mailbox id. Messages are sealed when queued; the outbox sends
//! them in order and keeps them across restarts until a relay has stored them.

mod clock;
mod core;
mod driver;
mod engine;
mod error;
mod ids;
pub mod invite;
mod model;
mod organize;
#[cfg(test)]
mod pair;
pub mod store;
pub mod time;

pub use crate::core::files::{AttachmentView, MAX_FILE_SIZE, TransferState};
pub use boucle_crypto::RsvpAnswer;
pub use boucle_crypto::{Inviting, LoopPolicy, Posting};
pub use clock::Clock;
pub use engine::{AwaitingMembers, Engine, EngineOptions, Event, TIMER_CHOICES};
pub use error::EngineError;
pub use ids::{ContactId, ConversationId, LoopId, MessageId};
pub use invite::{Invitation, InvitationError};
pub use model::{
    Contact, DeliveryState, LoopView, MemberView, MessageBody, MessageView, Reaction, SharedCard,
};
pub use organize::{EventDetails, EventView, Participant, PollOption, PollView, RsvpCounts, ics};
