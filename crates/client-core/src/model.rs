//! What the engine keeps in the profile store, and the views it hands to front ends.
//!
//! Every table says what its keys are made of: ids are stored hashed, only counters,
//! positions and times in clear (see `protocol-spec/client-store.md` §1 and §8).

use boucle_crypto::MessageId;
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, ConversationId};
use crate::store::{KeyPart, Table};

/// Keys made of one 16-byte id: a contact's, a loop's, a message's, a mailbox's.
pub(crate) const BY_ID: &[KeyPart] = &[KeyPart::Id(16)];
/// Keys made of a conversation (a contact's or a loop's id) and a position in it.
pub(crate) const BY_POSITION: &[KeyPart] = &[KeyPart::Id(16), KeyPart::Clear(8)];

/// The engine's fixed records: `profile`, `account`, `counters`.
pub(crate) const META: Table = Table::new("meta", &[KeyPart::Label]);
/// Our mailboxes: receive id → [`MailboxRecord`].
pub(crate) const MAILBOXES: Table = Table::new("mailboxes", BY_ID);
pub(crate) const CONTACTS: Table = Table::new("contacts", BY_ID);
/// The pairwise session with each contact: contact id → pickle.
pub(crate) const SESSIONS: Table = Table::new("sessions", BY_ID);
/// History: conversation ‖ position → [`MessageView`].
pub(crate) const MESSAGES: Table = Table::new("messages", BY_POSITION);
/// Where each message is: message id → [`MessageLocation`].
pub(crate) const MESSAGE_INDEX: Table = Table::new("message_index", BY_ID);
/// What is waiting to be sent, in order: counter → [`OutboxRecord`].
pub(crate) const OUTBOX: Table = Table::new("outbox", &[KeyPart::Clear(8)]);
pub(crate) const LOOPS: Table = Table::new("loops", BY_ID);
/// The pairwise session with each loop member: Ed25519 identity key → pickle.
pub(crate) const MEMBER_SESSIONS: Table = Table::new("member_sessions", &[KeyPart::Id(32)]);
/// Polls: conversation ‖ poll id → its record.
pub(crate) const POLLS: Table = Table::new("polls", &[KeyPart::Id(16), KeyPart::Id(16)]);
/// Agenda events: conversation ‖ event id → its record.
pub(crate) const EVENTS: Table = Table::new("events", &[KeyPart::Id(16), KeyPart::Id(16)]);
/// Loop messages from others: message id → the sender's Ed25519 identity key. The
/// sender is named as we know them when the message is read, and only they may edit or
/// delete it.
pub(crate) const MESSAGE_SENDERS: Table = Table::new("message_senders", BY_ID);
/// Blocked contacts: contact id → nothing.
pub(crate) const BLOCKED: Table = Table::new("blocked", BY_ID);

pub(crate) const PROFILE_KEY: &[u8] = b"profile";
pub(crate) const ACCOUNT_KEY: &[u8] = b"account";
pub(crate) const COUNTERS_KEY: &[u8] = b"counters";

/// Who this profile is and where it lives.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ProfileRecord {
    pub name: String,
    /// Text form of the home relay's address.
    pub home_relay: String,
    pub access_token: Option<[u8; 32]>,
    pub created_at: u64,
}

/// Monotonic counters (message order, outbox order).
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Counters {
    pub message: u64,
    pub outbox: u64,
}

/// What a mailbox of ours is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MailboxPurpose {
    /// Waiting for whoever accepts an invitation (one-time).
    Invitation,
    /// Where one contact writes to us.
    Contact(ContactId),
    /// Our member mailbox in one loop (other members write to it).
    Loop(boucle_crypto::LoopId),
    /// Where people introduced through one contact write to us: the mailbox of the
    /// shareable card we gave that contact (`organizing.md` §3). Shared by everyone who
    /// arrives through it; messages are told apart by their sealed sender.
    Introductions(ContactId),
    /// A contact's old mailbox, theirs alone, that they no longer write to
    /// (`engine/rehome.rs`): being deleted on its relay.
    Retiring,
}

/// One of our mailboxes, with everything needed to use it.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct MailboxRecord {
    pub relay: String,
    pub receive_id: [u8; 16],
    pub send_id: [u8; 16],
    /// Ed25519 secret key proving ownership to the relay.
    pub owner_secret: [u8; 32],
    /// Pickled `MailboxKeys` (the key envelopes to us are sealed to).
    pub keys: Vec<u8>,
    pub purpose: MailboxPurpose,
    pub created_at: u64,
}

impl MailboxRecord {
    /// The mailbox's receive id (ours alone).
    pub fn receive(&self) -> boucle_wire::ReceiveId {
        boucle_wire::ReceiveId::from_bytes(self.receive_id)
    }
}

/// A contact as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ContactRecord {
    pub name: String,
    /// Their contact card (identity keys and the mailbox we write to).
    pub card: Vec<u8>,
    /// Receive id of our mailbox they write to.
    pub my_mailbox: [u8; 16],
    pub verified: bool,
    pub identity_changed: bool,
    pub unread: u32,
    pub last_activity: u64,
    pub created_at: u64,
}

/// Delivery state of a message we wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting to be sent (offline, or the relay is unreachable).
    Queued,
    /// The recipient's relay stored it.
    Sent,
    /// The recipient's device received it.
    Delivered,
    /// It could not be sent, and will not be retried.
    Failed(String),
    /// The recipient's mailbox (a member's, in a loop) is full: the relay refuses more
    /// until they read their messages. Kept and retried; it goes out once there is room.
    MailboxFull {
        /// Host and port of the recipient's relay.
        relay: String,
    },
    /// Posted in a loop before the contacts we invited joined it: kept for them (this
    /// many), and sent to each one when they join.
    WaitingForMembers(u32),
}

/// The content of a stored message, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MessageBody {
    /// Text.
    Text(String),
    /// A kind from a newer version of Boucle, kept but not understood.
    Unsupported {
        /// Its kind number.
        kind: u16,
    },
    /// A show-of-hands poll; its live state is [`crate::Engine::poll`] (same id).
    Poll {
        /// The question.
        question: String,
    },
    /// An agenda event; its live state is [`crate::Engine::event`] (same id). Kept in
    /// step with edits and cancellation.
    Event {
        /// Its title.
        title: String,
        /// When it starts (unix ms).
        starts_at: u64,
        /// Whether it is cancelled.
        cancelled: bool,
    },
    /// A contact shared into the conversation ([`crate::Engine::add_shared_contact`]
    /// adds them in one action).
    SharedContact {
        /// The name the sharer knows them by (theirs to choose, unverified).
        name: String,
        /// The safety number we would have with them (60 digits): compare it with
        /// them later, as for any contact.
        safety_number: String,
        /// Whether they are already one of our contacts (when the message arrived, or
        /// since we added them from it).
        already_contact: bool,
        /// That contact, if known.
        contact: Option<ContactId>,
        /// Their signed card (what adding them uses).
        card: SharedCard,
    },
    /// A change of the disappearing-messages timer (a line of its own in the history;
    /// `from_me` or `sender` says who changed it). Never expires itself.
    TimerChanged {
        /// The new timer in seconds (0: off).
        seconds: u32,
    },
    /// A file: its transfer state and content through [`crate::Engine::attachment`].
    Attachment {
        /// Its (cleaned) file name.
        name: String,
        /// Its media type, e.g. `image/png`.
        media_type: String,
        /// Its size in bytes.
        size: u64,
    },
}

/// A contact card carried by a shared-contact message: opaque bytes, signed by the
/// person shared. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedCard(pub(crate) Vec<u8>);

impl std::fmt::Debug for SharedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedCard({} bytes)", self.0.len())
    }
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// Whether we reacted (else the contact).
    pub mine: bool,
    /// The emoji.
    pub emoji: String,
}

/// A message in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The sender's id for it.
    pub id: MessageId,
    /// The conversation.
    pub conversation: ConversationId,
    /// Whether we wrote it.
    pub from_me: bool,
    /// Who wrote it, for loop messages: a contact's name or a member's short id.
    pub sender: Option<String>,
    /// When the sender wrote it (their clock, unix ms).
    pub sent_at: u64,
    /// When it reached this profile (unix ms).
    pub received_at: u64,
    /// What it says (after edits; empty once deleted).
    pub body: MessageBody,
    /// The message it replies to.
    pub reply_to: Option<MessageId>,
    /// Reactions, in arrival order.
    pub reactions: Vec<Reaction>,
    /// Edited after sending.
    pub edited: bool,
    /// Deleted by its sender.
    pub deleted: bool,
    /// For our messages: how far it got. `None` for received messages.
    pub delivery: Option<DeliveryState>,
    /// Position in the conversation, for paging ([`crate::Engine::history`]).
    pub position: u64,
}

/// A contact, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Local id.
    pub id: ContactId,
    /// Their chosen name.
    pub name: String,
    /// Whether we compared safety numbers and marked them verified.
    pub verified: bool,
    /// Their identity key changed since we met: show a warning until re-verified.
    pub identity_changed: bool,
    /// Unread messages.
    pub unread: u32,
    /// Host of the relay they receive on.
    pub relay_host: String,
    /// Last activity (unix ms), for ordering.
    pub last_activity: u64,
    /// For a contact made from a shared contact card: who shared them with us, or
    /// through whose card they reached us (a name as we know it, not a verification).
    pub introduced_by: Option<String>,
    /// Whether we hold their shareable card, so that they can be shared with others
    /// ([`crate::Engine::share_contact`]); it arrives shortly after meeting them.
    pub can_share: bool,
    /// Blocked ([`crate::Engine::block`]): nothing they send is shown or kept, and
    /// nothing can be sent to them.
    pub blocked: bool,
}

/// One recipient of an outbox item: its send id and its own header.
pub(crate) type Recipient = ([u8; 16], Vec<u8>);

/// An item waiting to be sent: an already sealed body, and the mailboxes of one relay
/// it goes to, each with its own header (one for a 1:1 message; a loop message is one
/// batch per relay, its body stored once).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct OutboxRecord {
    /// The message it carries, if it is one the user sees (not a receipt or key share).
    pub message: Option<([u8; 16], u64)>,
    pub relay: String,
    /// Send id and header of each recipient.
    pub recipients: Vec<Recipient>,
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// How far we are in a loop.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum LoopPhase {
    /// A contact invited us; our member mailbox and join request are still to be made
    /// (retried at every unlock until done).
    Invited { inviter: ContactId },
    /// We accepted an invitation; waiting for the admin to add us.
    Joining { inviter: ContactId },
    /// A member: the pickled session (state, keys).
    Member { session: Vec<u8> },
    /// We left or were removed.
    Left,
}

/// A loop as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct LoopRecord {
    pub name: String,
    pub phase: LoopPhase,
    /// Every signed change applied, in version order (sent to members who join later).
    pub history: Vec<Vec<u8>>,
    /// Changes received ahead of their turn, applied once the gap is filled.
    pub pending: Vec<Vec<u8>>,
    /// Receive id of our member mailbox in this loop.
    pub my_mailbox: [u8; 16],
    /// Contacts invited (by us, as admin) and not yet joined.
    pub invited: Vec<ContactId>,
    pub unread: u32,
    pub last_activity: u64,
}

/// A loop, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopView {
    /// Its id.
    pub id: boucle_crypto::LoopId,
    /// Its name.
    pub name: String,
    /// Number of members.
    pub members: usize,
    /// Whether we are an admin.
    pub admin: bool,
    /// Whether we are a member yet (`false` while joining, or after leaving).
    pub member: bool,
    /// Unread messages.
    pub unread: u32,
    /// Last activity (unix ms).
    pub last_activity: u64,
    /// Who may post and who may invite (the defaults while not a member).
    pub policy: boucle_crypto::LoopPolicy,
    /// The disappearing-messages timer in seconds (0: off).
    pub timer: u32,
    /// Whether we may post (an announcement loop lets only admins post).
    pub may_post: bool,
    /// Whether we may invite contacts into it.
    pub may_invite: bool,
}

/// A loop member, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    /// Short form of the member's identity key (what to pass to remove or promote).
    pub id: String,
    /// The contact's name if the member is one of our contacts.
    pub name: Option<String>,
    /// Whether it is us.
    pub me: bool,
    /// Whether the member is an admin.
    pub admin: bool,
    /// Whether we verified this member (as a contact).
    pub verified: bool,
}

/// Where a message is stored: its conversation and position.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(crate) struct MessageLocation {
    pub conversation: [u8; 16],
    pub position: u64,
}

/// Key of a message record: conversation ‖ position (big-endian).
pub(crate) fn message_key(conversation: &[u8; 16], position: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(conversation);
    key[16..].copy_from_slice(&position.to_be_bytes());
    key
}
