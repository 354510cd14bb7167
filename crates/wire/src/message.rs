//! Commands a client sends and frames a relay sends back.
//!
//! A connection carries one bidirectional QUIC stream. The client speaks first with
//! [`Command::Hello`]; the relay answers [`ServerFrame::Hello`] with a fresh challenge and
//! its limits. After that the client may pipeline commands, each tagged with a
//! [`RequestId`]; the relay answers each (except [`Command::Ack`], which has no reply on
//! success) with a [`ServerFrame::Reply`] carrying the same id, in any order, and pushes
//! [`ServerFrame::Deliver`] frames for subscribed mailboxes.

use serde::{Deserialize, Serialize};

use crate::envelope::{Body, Envelope, Header};
use crate::error::ErrorCode;
use crate::error::WireError;
use crate::frame::encode_frame;
use crate::ids::{AccessToken, Challenge, PublicKey, ReceiveId, RequestId, SendId, Seq, Signature};

/// The most recipients one batch may name.
pub const MAX_BATCH_RECIPIENTS: usize = 1_024;

/// A command with the request id its reply will carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// Echoed in the reply.
    pub request: RequestId,
    /// What to do.
    pub command: Command,
}

/// Everything a client can ask of a relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Command {
    /// First command of a connection.
    Hello,
    /// Create a mailbox owned by `owner_key`. The relay picks both ids.
    CreateMailbox {
        /// Ed25519 key whose holder owns the mailbox.
        owner_key: PublicKey,
        /// Needed when the relay's operator requires one.
        access_token: Option<AccessToken>,
    },
    /// Prove ownership of a mailbox on this connection and start receiving its envelopes.
    /// The signature covers [`subscribe_proof`] for this connection's challenge.
    Subscribe {
        /// The mailbox.
        receive_id: ReceiveId,
        /// Owner key signature over the proof message.
        signature: Signature,
    },
    /// Stop receiving a mailbox's envelopes on this connection (ownership stays proven).
    Unsubscribe {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// Delete a proven mailbox and everything in it.
    DeleteMailbox {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// Require (or stop requiring) that senders sign with this key. Needs ownership proven.
    SetSenderKey {
        /// The mailbox.
        receive_id: ReceiveId,
        /// `None` accepts unsigned envelopes again.
        sender_key: Option<PublicKey>,
    },
    /// Store an envelope in the mailbox with this send id.
    Send {
        /// Where to.
        send_id: SendId,
        /// What.
        envelope: Envelope,
        /// Required if the mailbox has a sender key: a signature over [`sender_proof`].
        sender_signature: Option<Signature>,
    },
    /// Store one body for many mailboxes of this relay, each with its own header. The
    /// relay keeps the body once.
    SendBatch {
        /// The shared body.
        body: Body,
        /// One entry per recipient mailbox.
        recipients: Vec<BatchRecipient>,
    },
    /// The owner has the envelope: delete it. No reply on success.
    Ack {
        /// The mailbox.
        receive_id: ReceiveId,
        /// The envelope.
        seq: Seq,
    },
    /// How full a proven mailbox is.
    Status {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// Keep-alive and round-trip probe.
    Ping,
}

/// One recipient of a [`Command::SendBatch`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecipient {
    /// Where to.
    pub send_id: SendId,
    /// This recipient's header.
    pub header: Header,
    /// Required if the mailbox has a sender key.
    pub sender_signature: Option<Signature>,
}

/// Everything a relay sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ServerFrame {
    /// Answer to [`Command::Hello`].
    Hello {
        /// Fresh random bytes for this connection only.
        challenge: Challenge,
        /// Limits in force on this relay.
        limits: RelayLimits,
    },
    /// Answer to a command.
    Reply {
        /// The command's request id.
        request: RequestId,
        /// Outcome.
        result: Result<Reply, ErrorCode>,
    },
    /// A stored envelope for a subscribed mailbox. Acknowledge it with [`Command::Ack`].
    Deliver {
        /// The mailbox.
        receive_id: ReceiveId,
        /// Position; also the key to acknowledge with.
        seq: Seq,
        /// The envelope.
        envelope: Envelope,
    },
    /// Everything stored for the mailbox when it was subscribed has now been delivered
    /// (not necessarily acknowledged). New envelopes keep coming as they arrive.
    Drained {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// The subscription ended because another connection subscribed the same mailbox,
    /// or the mailbox was deleted or expired.
    SubscriptionEnded {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// An error not tied to a request id: an undecodable frame, or a frame too large.
    ProtocolError {
        /// What went wrong.
        code: ErrorCode,
    },
}

/// Successful outcomes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Reply {
    /// The new mailbox's ids.
    MailboxCreated {
        /// For the owner.
        receive_id: ReceiveId,
        /// For senders.
        send_id: SendId,
    },
    /// Subscribed; `stored` envelopes are waiting.
    Subscribed {
        /// Number of envelopes stored when the subscription started.
        stored: u32,
    },
    /// Done, nothing to report (unsubscribe, delete, sender key set).
    Done,
    /// The envelope is durably stored.
    Stored,
    /// Per-recipient outcomes of a batch, in the batch's order.
    BatchStored {
        /// `Ok` where stored.
        outcomes: Vec<Result<(), ErrorCode>>,
    },
    /// Fill level of a mailbox.
    Status(MailboxStatus),
    /// Answer to ping.
    Pong,
}

/// How full a mailbox is, and its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxStatus {
    /// Envelopes stored.
    pub envelopes: u32,
    /// Bytes stored (headers and bodies).
    pub bytes: u64,
    /// Most envelopes the mailbox may hold.
    pub max_envelopes: u32,
    /// Most bytes the mailbox may hold.
    pub max_bytes: u64,
    /// Whether sends must be signed with a sender key.
    pub sender_key_required: bool,
}

/// Limits a relay announces in its hello.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayLimits {
    /// Largest body accepted.
    pub max_body: u32,
    /// Largest header accepted.
    pub max_header: u32,
    /// Most recipients per batch.
    pub max_batch: u32,
    /// Most unanswered requests per connection before the relay stops reading.
    pub max_in_flight: u32,
    /// Whether creating a mailbox needs an access token.
    pub token_required: bool,
}

/// Domain separation prefix of subscription proofs.
pub const SUBSCRIBE_PROOF_LABEL: &[u8; 24] = b"boucle subscribe v1\0\0\0\0\0";
/// Domain separation prefix of sender proofs.
pub const SENDER_PROOF_LABEL: &[u8; 24] = b"boucle sender v1\0\0\0\0\0\0\0\0";

/// The bytes a mailbox owner signs to subscribe: label ‖ challenge ‖ receive id.
pub fn subscribe_proof(challenge: &Challenge, receive_id: &ReceiveId) -> [u8; 72] {
    let mut out = [0u8; 72];
    out[..24].copy_from_slice(SUBSCRIBE_PROOF_LABEL);
    out[24..56].copy_from_slice(challenge.as_bytes());
    out[56..].copy_from_slice(receive_id.as_bytes());
    out
}

/// The bytes a sender signs when the mailbox has a sender key:
/// label ‖ send id ‖ u16 BE header length ‖ header ‖ body.
pub fn sender_proof(send_id: &SendId, header: &Header, body: &Body) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + 16 + 2 + header.len() + body.len());
    out.extend_from_slice(SENDER_PROOF_LABEL);
    out.extend_from_slice(send_id.as_bytes());
    // Header length is at most MAX_HEADER_LEN (256), which fits in a u16.
    out.extend_from_slice(&(header.len() as u16).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body.as_bytes());
    out
}

/// Variant index of [`ServerFrame::Deliver`] in the postcard encoding.
const DELIVER_VARIANT: u32 = 2;

/// Appends a [`ServerFrame::Deliver`] frame to `out` without copying the envelope: the
/// bytes are identical to encoding the owned frame.
pub fn encode_deliver(
    receive_id: &ReceiveId,
    seq: Seq,
    header: &Header,
    body: &Body,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    encode_deliver_parts(receive_id, seq, header.as_bytes(), body.as_bytes(), out)
}

/// Like [`encode_deliver`], from raw header and body bytes (for example, straight from a
/// store's page). Refuses parts longer than the wire limits.
pub fn encode_deliver_parts(
    receive_id: &ReceiveId,
    seq: Seq,
    header: &[u8],
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    if header.len() > crate::MAX_HEADER_LEN || body.len() > crate::MAX_BODY_LEN {
        return Err(WireError::TooLong {
            what: "delivered envelope",
            max: crate::MAX_BODY_LEN,
            actual: body.len().max(header.len()),
        });
    }
    let frame = (
        DELIVER_VARIANT,
        receive_id,
        seq,
        serde_bytes::Bytes::new(header),
        serde_bytes::Bytes::new(body),
    );
    encode_frame(&frame, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_deliver_matches_the_owned_frame() {
        let receive_id = ReceiveId::from_bytes([3; 16]);
        let envelope = Envelope {
            header: Header::new(vec![1, 2, 3]).unwrap(),
            body: Body::new(vec![9; 300]).unwrap(),
        };
        let mut borrowed = Vec::new();
        encode_deliver(
            &receive_id,
            Seq(70_000),
            &envelope.header,
            &envelope.body,
            &mut borrowed,
        )
        .unwrap();
        let owned = crate::frame_bytes(&ServerFrame::Deliver {
            receive_id,
            seq: Seq(70_000),
            envelope,
        })
        .unwrap();
        assert_eq!(borrowed, owned);
    }
}
