//! Message content: what is encrypted inside an Olm or Megolm ciphertext.
//!
//! Frame (version 1), little endian:
//! `version u8 | id [16] | sent_at u64 | kind u16 | payload`, where `payload`
//! is the postcard encoding of the kind's struct. The frame header is frozen
//! across versions; a kind this build does not know decodes to
//! [`Content::Unsupported`] (kept, shown as "unsupported"), never an error.
//! Decoders ignore trailing bytes after a known payload, so later versions may
//! append fields.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ContentError;
use crate::hexfmt::Hex;
use crate::identity::ContactCard;
use crate::loops::{KeyShare, LoopId, SignedControl};
use crate::organize::{EventSpec, PollSpec, RsvpAnswer};
use crate::time::Timestamp;

/// The content format version this build writes.
pub const CONTENT_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 16 + 8 + 2;

/// A message identifier chosen by the sender (16 random bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub [u8; 16]);

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({:?})", Hex(&self.0))
    }
}

impl MessageId {
    /// A fresh random id.
    pub fn random(rng: &mut impl rand::CryptoRng) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}

/// One message: id, the sender's clock, and the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender-chosen unique id (what replies, reactions and edits point to).
    pub id: MessageId,
    /// The sender's clock when it was written.
    pub sent_at: Timestamp,
    /// What the message says or does.
    pub content: Content,
}

/// The kinds of content. `Debug` shows the kind and sizes, never the text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "messages are short-lived values")]
pub enum Content {
    /// Plain text.
    Text(String),
    /// A reply to an earlier message.
    Reply {
        /// The message replied to.
        to: MessageId,
        /// The reply's text.
        text: String,
    },
    /// A reaction (an emoji) to a message, or its removal.
    Reaction {
        /// The message reacted to.
        to: MessageId,
        /// The emoji.
        emoji: String,
        /// `true` to take the reaction back.
        remove: bool,
    },
    /// A replacement text for an earlier message of the same sender.
    Edit {
        /// The edited message.
        target: MessageId,
        /// The new text.
        text: String,
    },
    /// Deletion of an earlier message of the same sender.
    Delete {
        /// The deleted message.
        target: MessageId,
    },
    /// A reference to an encrypted attachment stored elsewhere.
    Attachment(AttachmentRef),
    /// Delivery (or read) receipts.
    Receipt {
        /// The acknowledged messages.
        ids: Vec<MessageId>,
        /// `true` for "read", `false` for "delivered".
        read: bool,
    },
    /// A loop key share (sent over a pairwise session only).
    KeyShare(KeyShare),
    /// A signed loop change (members, admins, name).
    Control(SignedControl),
    /// An invitation into a loop, or (once added) the loop's whole signed history, from
    /// which the recipient builds its state. Sent over a pairwise session only.
    LoopInvitation {
        /// Every signed change of the loop, from its creation on, in version order.
        history: Vec<SignedControl>,
    },
    /// Acceptance of a loop invitation: the member card (a per-loop mailbox and keys)
    /// to add. Sent over a pairwise session to the admin who invited.
    LoopJoin {
        /// The loop.
        loop_id: LoopId,
        /// The card to add as a member.
        card: ContactCard,
    },
    /// The first message to a new contact, sent by whoever accepted an invitation: the
    /// card to write back to and the name they go by. Sent over a pairwise session only;
    /// the card's identity must be the session's.
    Introduction {
        /// Where and how to reach the sender.
        card: ContactCard,
        /// The sender's chosen display name.
        name: String,
        /// The secret half of the card mailbox's sender key (relay-protocol §7): sign
        /// what you send there with it; the relay refuses anything unsigned. `None` from
        /// a sender whose mailbox is not locked.
        sender_key: Option<[u8; 32]>,
    },
    /// Where to write to the sender from now on: a mailbox made for this contact alone
    /// (its card), locked with a sender key whose secret half this carries. Sent over a
    /// pairwise session only, by a contact met on a mailbox that others can write to (a
    /// one-time invitation, a shared card), or not locked yet.
    Rehome {
        /// The new mailbox, in a card of the sender's identity.
        card: ContactCard,
        /// The secret half of the new mailbox's sender key.
        sender_key: [u8; 32],
    },
    /// The answer to [`Content::Rehome`], sent to the old mailbox: the last message that
    /// goes there. Everything queued before it was sent before it, so the old mailbox can
    /// be deleted once this is read.
    Rehomed,
    /// A show-of-hands poll; its id is this message's id.
    Poll(PollSpec),
    /// A vote: every option chosen (indices into the poll's options), replacing the
    /// voter's earlier vote. Empty takes the vote back.
    Vote {
        /// The poll.
        poll: MessageId,
        /// Chosen option indices.
        choices: Vec<u8>,
    },
    /// Closes a poll (its author or a loop admin).
    ClosePoll {
        /// The poll.
        poll: MessageId,
    },
    /// An agenda event; its id is this message's id.
    Event(EventSpec),
    /// New details of an event (its author or a loop admin).
    EditEvent {
        /// The event.
        event: MessageId,
        /// Its details, all of them.
        spec: EventSpec,
    },
    /// Cancels an event (its author or a loop admin).
    CancelEvent {
        /// The event.
        event: MessageId,
    },
    /// An answer to an event, replacing the member's earlier answer.
    Rsvp {
        /// The event.
        event: MessageId,
        /// The answer.
        answer: RsvpAnswer,
    },
    /// A contact shared into a conversation: their card, so the receiver can write to
    /// them and compare safety numbers, and the name the sharer knows them by.
    SharedContact {
        /// The shared person's card.
        card: ContactCard,
        /// The name the sharer gave them.
        name: String,
    },
    /// One chunk of an attachment's encrypted blob.
    FileChunk {
        /// The message that carries the attachment's reference (and key).
        attachment: MessageId,
        /// Position of the chunk, from 0.
        index: u32,
        /// The chunk's ciphertext.
        data: Vec<u8>,
    },
    /// The disappearing-messages timer of a 1:1 conversation, in seconds (0: off).
    /// Loops set theirs with a signed control.
    Timer {
        /// Seconds after sending that a message is deleted.
        seconds: u32,
    },
    /// A kind this version does not know; kept as received.
    Unsupported {
        /// The sender's content version.
        version: u8,
        /// The unknown kind number.
        kind: u16,
        /// The undecoded payload.
        payload: Vec<u8>,
    },
}

/// An attachment: where the encrypted blob is, the key to read it, and what
/// it should hash to.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// Opaque locator of the encrypted blob (format owned by the client).
    pub locator: Vec<u8>,
    /// Symmetric key of the blob.
    pub key: [u8; 32],
    /// SHA-256 of the encrypted blob.
    pub sha256: [u8; 32],
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// Media type, e.g. `image/png`.
    pub media_type: String,
    /// Suggested file name.
    pub name: String,
}

impl fmt::Debug for AttachmentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentRef")
            .field("size", &self.size)
            .field("media_type", &self.media_type)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Text(t) => f.debug_struct("Text").field("len", &t.len()).finish(),
            Content::Reply { to, text } => f
                .debug_struct("Reply")
                .field("to", to)
                .field("len", &text.len())
                .finish(),
            Content::Reaction { to, remove, .. } => f
                .debug_struct("Reaction")
                .field("to", to)
                .field("remove", remove)
                .finish_non_exhaustive(),
            Content::Edit { target, text } => f
                .debug_struct("Edit")
                .field("target", target)
                .field("len", &text.len())
                .finish(),
            Content::Delete { target } => f.debug_struct("Delete").field("target", target).finish(),
            Content::Attachment(a) => f.debug_tuple("Attachment").field(a).finish(),
            Content::Receipt { ids, read } => f
                .debug_struct("Receipt")
                .field("count", &ids.len())
                .field("read", read)
                .finish(),
            Content::KeyShare(k) => f.debug_tuple("KeyShare").field(k).finish(),
            Content::Control(c) => f.debug_tuple("Control").field(c).finish(),
            Content::Introduction { .. } => f.debug_struct("Introduction").finish_non_exhaustive(),
            Content::Rehome { .. } => f.debug_struct("Rehome").finish_non_exhaustive(),
            Content::Rehomed => f.write_str("Rehomed"),
            Content::LoopInvitation { history } => f
                .debug_struct("LoopInvitation")
                .field("changes", &history.len())
                .finish(),
            Content::LoopJoin { .. } => f.debug_struct("LoopJoin").finish_non_exhaustive(),
            Content::Poll(p) => f.debug_tuple("Poll").field(p).finish(),
            Content::Vote { poll, choices } => f
                .debug_struct("Vote")
                .field("poll", poll)
                .field("choices", &choices.len())
                .finish(),
            Content::ClosePoll { poll } => f.debug_struct("ClosePoll").field("poll", poll).finish(),
            Content::Event(e) => f.debug_tuple("Event").field(e).finish(),
            Content::EditEvent { event, spec } => f
                .debug_struct("EditEvent")
                .field("event", event)
                .field("spec", spec)
                .finish(),
            Content::CancelEvent { event } => {
                f.debug_struct("CancelEvent").field("event", event).finish()
            }
            Content::Rsvp { event, answer } => f
                .debug_struct("Rsvp")
                .field("event", event)
                .field("answer", answer)
                .finish(),
            Content::SharedContact { .. } => {
                f.debug_struct("SharedContact").finish_non_exhaustive()
            }
            Content::FileChunk {
                attachment,
                index,
                data,
            } => f
                .debug_struct("FileChunk")
                .field("attachment", attachment)
                .field("index", index)
                .field("len", &data.len())
                .finish(),
            Content::Timer { seconds } => {
                f.debug_struct("Timer").field("seconds", seconds).finish()
            }
            Content::Unsupported {
                version,
                kind,
                payload,
            } => f
                .debug_struct("Unsupported")
                .field("version", version)
                .field("kind", kind)
                .field("len", &payload.len())
                .finish(),
        }
    }
}

mod kind {
    pub const TEXT: u16 = 1;
    pub const REPLY: u16 = 2;
    pub const REACTION: u16 = 3;
    pub const EDIT: u16 = 4;
    pub const DELETE: u16 = 5;
    pub const ATTACHMENT: u16 = 6;
    pub const RECEIPT: u16 = 7;
    pub const POLL: u16 = 8;
    pub const VOTE: u16 = 9;
    pub const CLOSE_POLL: u16 = 10;
    pub const EVENT: u16 = 11;
    pub const EDIT_EVENT: u16 = 12;
    pub const CANCEL_EVENT: u16 = 13;
    pub const RSVP: u16 = 14;
    pub const SHARED_CONTACT: u16 = 15;
    pub const KEY_SHARE: u16 = 16;
    pub const CONTROL: u16 = 17;
    pub const INTRODUCTION: u16 = 18;
    pub const LOOP_INVITATION: u16 = 19;
    pub const LOOP_JOIN: u16 = 20;
    pub const FILE_CHUNK: u16 = 21;
    pub const TIMER: u16 = 22;
    pub const REHOME: u16 = 23;
    pub const REHOMED: u16 = 24;
}

fn pc<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing strings, arrays and vectors into a Vec cannot fail.
    postcard::to_allocvec(value).unwrap_or_default()
}

impl Message {
    /// Encodes the message frame.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (kind, payload) = match &self.content {
            Content::Text(t) => (kind::TEXT, pc(t)),
            Content::Reply { to, text } => (kind::REPLY, pc(&(to, text))),
            Content::Reaction { to, emoji, remove } => (kind::REACTION, pc(&(to, emoji, remove))),
            Content::Edit { target, text } => (kind::EDIT, pc(&(target, text))),
            Content::Delete { target } => (kind::DELETE, pc(target)),
            Content::Attachment(a) => (kind::ATTACHMENT, pc(a)),
            Content::Receipt { ids, read } => (kind::RECEIPT, pc(&(ids, read))),
            Content::KeyShare(k) => (kind::KEY_SHARE, k.to_bytes()),
            Content::Control(c) => (kind::CONTROL, c.to_bytes()),
            Content::LoopInvitation { history } => {
                let controls: Vec<Vec<u8>> = history.iter().map(SignedControl::to_bytes).collect();
                (kind::LOOP_INVITATION, pc(&controls))
            }
            Content::LoopJoin { loop_id, card } => {
                (kind::LOOP_JOIN, pc(&(loop_id.0, card.to_bytes())))
            }
            Content::Introduction {
                card,
                name,
                sender_key,
            } => {
                let mut payload = pc(&(card.to_bytes(), name));
                // Appended (e2ee.md §6): absent, it decodes as `None`.
                if sender_key.is_some() {
                    payload.extend_from_slice(&pc(sender_key));
                }
                (kind::INTRODUCTION, payload)
            }
            Content::Rehome { card, sender_key } => {
                (kind::REHOME, pc(&(card.to_bytes(), sender_key)))
            }
            Content::Rehomed => (kind::REHOMED, Vec::new()),
            Content::Poll(p) => (kind::POLL, pc(p)),
            Content::Vote { poll, choices } => (kind::VOTE, pc(&(poll, choices))),
            Content::ClosePoll { poll } => (kind::CLOSE_POLL, pc(poll)),
            Content::Event(e) => (kind::EVENT, pc(e)),
            Content::EditEvent { event, spec } => (kind::EDIT_EVENT, pc(&(event, spec))),
            Content::CancelEvent { event } => (kind::CANCEL_EVENT, pc(event)),
            Content::Rsvp { event, answer } => (kind::RSVP, pc(&(event, answer))),
            Content::SharedContact { card, name } => {
                (kind::SHARED_CONTACT, pc(&(card.to_bytes(), name)))
            }
            Content::FileChunk {
                attachment,
                index,
                data,
            } => (kind::FILE_CHUNK, pc(&(attachment, index, data))),
            Content::Timer { seconds } => (kind::TIMER, pc(seconds)),
            Content::Unsupported { kind, payload, .. } => (*kind, payload.clone()),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.push(CONTENT_VERSION);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.sent_at.0.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Decodes a message frame. Unknown kinds become [`Content::Unsupported`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ContentError> {
        if bytes.len() < HEADER_LEN {
            return Err(ContentError::Truncated);
        }
        let version = bytes[0];
        if version == 0 {
            return Err(ContentError::BadVersion);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[1..17]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&bytes[17..25]);
        let k = u16::from_le_bytes([bytes[25], bytes[26]]);
        let p = &bytes[HEADER_LEN..];
        let bad = |_| ContentError::Malformed(k);
        let content = match k {
            kind::TEXT => Content::Text(postcard::from_bytes(p).map_err(bad)?),
            kind::REPLY => {
                let (to, text) = postcard::from_bytes(p).map_err(bad)?;
                Content::Reply { to, text }
            }
            kind::REACTION => {
                let (to, emoji, remove) = postcard::from_bytes(p).map_err(bad)?;
                Content::Reaction { to, emoji, remove }
            }
            kind::EDIT => {
                let (target, text) = postcard::from_bytes(p).map_err(bad)?;
                Content::Edit { target, text }
            }
            kind::DELETE => Content::Delete {
                target: postcard::from_bytes(p).map_err(bad)?,
            },
            kind::ATTACHMENT => Content::Attachment(postcard::from_bytes(p).map_err(bad)?),
            kind::RECEIPT => {
                let (ids, read) = postcard::from_bytes(p).map_err(bad)?;
                Content::Receipt { ids, read }
            }
            kind::KEY_SHARE => {
                Content::KeyShare(KeyShare::from_bytes(p).ok_or(ContentError::Malformed(k))?)
            }
            kind::CONTROL => Content::Control(
                SignedControl::from_bytes(p).map_err(|_| ContentError::Malformed(k))?,
            ),
            kind::LOOP_INVITATION => {
                let controls: Vec<Vec<u8>> = postcard::from_bytes(p).map_err(bad)?;
                let history = controls
                    .iter()
                    .map(|c| SignedControl::from_bytes(c))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| ContentError::Malformed(k))?;
                Content::LoopInvitation { history }
            }
            kind::LOOP_JOIN => {
                let (id, card): ([u8; 16], Vec<u8>) = postcard::from_bytes(p).map_err(bad)?;
                Content::LoopJoin {
                    loop_id: LoopId(id),
                    card: ContactCard::from_bytes(&card).map_err(|_| ContentError::Malformed(k))?,
                }
            }
            kind::INTRODUCTION => {
                let ((card, name), rest): ((Vec<u8>, String), _) =
                    postcard::take_from_bytes(p).map_err(bad)?;
                let sender_key = if rest.is_empty() {
                    None
                } else {
                    postcard::take_from_bytes::<Option<[u8; 32]>>(rest)
                        .map_err(bad)?
                        .0
                };
                Content::Introduction {
                    card: ContactCard::from_bytes(&card).map_err(|_| ContentError::Malformed(k))?,
                    name,
                    sender_key,
                }
            }
            kind::REHOME => {
                let (card, sender_key): (Vec<u8>, [u8; 32]) =
                    postcard::from_bytes(p).map_err(bad)?;
                Content::Rehome {
                    card: ContactCard::from_bytes(&card).map_err(|_| ContentError::Malformed(k))?,
                    sender_key,
                }
            }
            kind::REHOMED => Content::Rehomed,
            kind::POLL => Content::Poll(postcard::from_bytes(p).map_err(bad)?),
            kind::VOTE => {
                let (poll, choices) = postcard::from_bytes(p).map_err(bad)?;
                Content::Vote { poll, choices }
            }
            kind::CLOSE_POLL => Content::ClosePoll {
                poll: postcard::from_bytes(p).map_err(bad)?,
            },
            kind::EVENT => Content::Event(postcard::from_bytes(p).map_err(bad)?),
            kind::EDIT_EVENT => {
                let (event, spec) = postcard::from_bytes(p).map_err(bad)?;
                Content::EditEvent { event, spec }
            }
            kind::CANCEL_EVENT => Content::CancelEvent {
                event: postcard::from_bytes(p).map_err(bad)?,
            },
            kind::RSVP => {
                let (event, answer) = postcard::from_bytes(p).map_err(bad)?;
                Content::Rsvp { event, answer }
            }
            kind::SHARED_CONTACT => {
                let (card, name): (Vec<u8>, String) = postcard::from_bytes(p).map_err(bad)?;
                Content::SharedContact {
                    card: ContactCard::from_bytes(&card).map_err(|_| ContentError::Malformed(k))?,
                    name,
                }
            }
            kind::FILE_CHUNK => {
                let (attachment, index, data) = postcard::from_bytes(p).map_err(bad)?;
                Content::FileChunk {
                    attachment,
                    index,
                    data,
                }
            }
            kind::TIMER => Content::Timer {
                seconds: postcard::from_bytes(p).map_err(bad)?,
            },
            other => Content::Unsupported {
                version,
                kind: other,
                payload: p.to_vec(),
            },
        };
        Ok(Self {
            id: MessageId(id),
            sent_at: Timestamp(u64::from_le_bytes(ts)),
            content,
        })
    }
}
