//! The client's side of one connection.
//!
//! Call order for a driver: queue commands with the command methods (each returns the
//! [`RequestId`] its reply will carry), write [`ClientConnection::take_transmit`] to the
//! stream, feed what the stream yields to [`ClientConnection::handle_bytes`], then drain
//! [`ClientConnection::poll_event`]. Commands that need the relay's challenge
//! ([`ClientConnection::subscribe`]) are refused until [`ClientEvent::Ready`] has been
//! seen.

use std::collections::{HashMap, VecDeque};

use boucle_wire::{
    AccessToken, BatchRecipient, Body, Challenge, ClientFrame, Command, Envelope, ErrorCode,
    FrameDecoder, PublicKey, ReceiveId, RelayLimits, Reply, RequestId, SendId, Seq, ServerFrame,
    Signature, encode_frame, subscribe_proof,
};
use ed25519_dalek::{Signer, SigningKey};

use crate::error::ProtoError;

/// What a reply is expected to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestKind {
    /// The greeting.
    Hello,
    /// [`ClientConnection::create_mailbox`].
    CreateMailbox,
    /// [`ClientConnection::subscribe`].
    Subscribe,
    /// [`ClientConnection::unsubscribe`], [`ClientConnection::delete_mailbox`] and
    /// [`ClientConnection::set_sender_key`].
    Manage,
    /// [`ClientConnection::send`].
    Send,
    /// [`ClientConnection::send_batch`].
    SendBatch,
    /// [`ClientConnection::status`].
    Status,
    /// [`ClientConnection::ping`].
    Ping,
    /// [`ClientConnection::ack`]: answered only on error.
    Ack,
}

impl RequestKind {
    fn accepts(self, reply: &Reply) -> bool {
        matches!(
            (self, reply),
            (Self::CreateMailbox, Reply::MailboxCreated { .. })
                | (Self::Subscribe, Reply::Subscribed { .. })
                | (Self::Manage, Reply::Done)
                | (Self::Send, Reply::Stored)
                | (Self::SendBatch, Reply::BatchStored { .. })
                | (Self::Status, Reply::Status(_))
                | (Self::Ping, Reply::Pong)
        )
    }
}

/// What happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The relay greeted us; all commands may now be sent.
    Ready {
        /// The relay's limits.
        limits: RelayLimits,
    },
    /// The answer to a request.
    Reply {
        /// Which request.
        request: RequestId,
        /// What it was.
        kind: RequestKind,
        /// Outcome.
        result: Result<Reply, ErrorCode>,
    },
    /// An envelope for a subscribed mailbox.
    Delivery {
        /// The mailbox.
        receive_id: ReceiveId,
        /// Acknowledge with this.
        seq: Seq,
        /// The envelope.
        envelope: Envelope,
    },
    /// The mailbox's stored backlog has been delivered.
    Drained {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// The relay stopped delivering this mailbox here.
    SubscriptionEnded {
        /// The mailbox.
        receive_id: ReceiveId,
    },
    /// The relay reported an error not tied to a request.
    ProtocolError {
        /// What it said.
        code: ErrorCode,
    },
}

/// One connection, client side. See the module documentation for the call order.
#[derive(Debug)]
pub struct ClientConnection {
    next_request: u32,
    pending: HashMap<RequestId, RequestKind>,
    challenge: Option<Challenge>,
    limits: Option<RelayLimits>,
    decoder: FrameDecoder,
    out: Vec<u8>,
    events: VecDeque<ClientEvent>,
}

impl Default for ClientConnection {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientConnection {
    /// A connection whose hello is already queued for transmission.
    pub fn new() -> Self {
        let mut connection = Self {
            next_request: 0,
            pending: HashMap::new(),
            challenge: None,
            limits: None,
            decoder: FrameDecoder::default(),
            out: Vec::new(),
            events: VecDeque::new(),
        };
        // A hello always encodes.
        let _ = connection.queue(Command::Hello, RequestKind::Hello);
        connection
    }

    /// The relay's limits, once greeted.
    pub fn limits(&self) -> Option<&RelayLimits> {
        self.limits.as_ref()
    }

    /// Requests sent and not yet answered (acks excluded).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Asks for a new mailbox owned by `owner_key`.
    pub fn create_mailbox(
        &mut self,
        owner_key: PublicKey,
        access_token: Option<AccessToken>,
    ) -> Result<RequestId, ProtoError> {
        self.queue(
            Command::CreateMailbox {
                owner_key,
                access_token,
            },
            RequestKind::CreateMailbox,
        )
    }

    /// Proves ownership of a mailbox with its owner key and subscribes to it.
    pub fn subscribe(
        &mut self,
        receive_id: ReceiveId,
        owner: &SigningKey,
    ) -> Result<RequestId, ProtoError> {
        let challenge = self.challenge.ok_or(ProtoError::NotReady)?;
        let signature = owner.sign(&subscribe_proof(&challenge, &receive_id));
        self.queue(
            Command::Subscribe {
                receive_id,
                signature: Signature::from_bytes(signature.to_bytes()),
            },
            RequestKind::Subscribe,
        )
    }

    /// Stops delivery of a mailbox on this connection.
    pub fn unsubscribe(&mut self, receive_id: ReceiveId) -> Result<RequestId, ProtoError> {
        self.queue(Command::Unsubscribe { receive_id }, RequestKind::Manage)
    }

    /// Deletes a mailbox proven on this connection.
    pub fn delete_mailbox(&mut self, receive_id: ReceiveId) -> Result<RequestId, ProtoError> {
        self.queue(Command::DeleteMailbox { receive_id }, RequestKind::Manage)
    }

    /// Requires senders to sign with `sender_key` (or stops requiring it).
    pub fn set_sender_key(
        &mut self,
        receive_id: ReceiveId,
        sender_key: Option<PublicKey>,
    ) -> Result<RequestId, ProtoError> {
        self.queue(
            Command::SetSenderKey {
                receive_id,
                sender_key,
            },
            RequestKind::Manage,
        )
    }

    /// Sends an envelope to a mailbox.
    pub fn send(
        &mut self,
        send_id: SendId,
        envelope: Envelope,
        sender_signature: Option<Signature>,
    ) -> Result<RequestId, ProtoError> {
        self.queue(
            Command::Send {
                send_id,
                envelope,
                sender_signature,
            },
            RequestKind::Send,
        )
    }

    /// Sends one body to many mailboxes of this relay.
    pub fn send_batch(
        &mut self,
        body: Body,
        recipients: Vec<BatchRecipient>,
    ) -> Result<RequestId, ProtoError> {
        self.queue(
            Command::SendBatch { body, recipients },
            RequestKind::SendBatch,
        )
    }

    /// Acknowledges (deletes) a delivered envelope.
    pub fn ack(&mut self, receive_id: ReceiveId, seq: Seq) -> Result<RequestId, ProtoError> {
        self.queue(Command::Ack { receive_id, seq }, RequestKind::Ack)
    }

    /// Asks how full a proven mailbox is.
    pub fn status(&mut self, receive_id: ReceiveId) -> Result<RequestId, ProtoError> {
        self.queue(Command::Status { receive_id }, RequestKind::Status)
    }

    /// Pings the relay.
    pub fn ping(&mut self) -> Result<RequestId, ProtoError> {
        self.queue(Command::Ping, RequestKind::Ping)
    }

    fn queue(&mut self, command: Command, kind: RequestKind) -> Result<RequestId, ProtoError> {
        let request = RequestId(self.next_request);
        let frame = ClientFrame { request, command };
        encode_frame(&frame, &mut self.out).map_err(ProtoError::Encode)?;
        self.next_request = self.next_request.wrapping_add(1);
        if kind != RequestKind::Ack {
            self.pending.insert(request, kind);
        }
        Ok(request)
    }

    /// Bytes to write to the stream.
    pub fn take_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Appends the bytes to write to `out` (to batch many commands in one write).
    pub fn append_transmit(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            std::mem::swap(out, &mut self.out);
        } else {
            out.append(&mut self.out);
        }
    }

    /// Feeds bytes read from the stream. An error means the connection cannot go on.
    pub fn handle_bytes(&mut self, data: &[u8]) -> Result<(), ProtoError> {
        self.decoder.extend(data);
        loop {
            let frame = match self.decoder.decode::<ServerFrame>() {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(error) => return Err(ProtoError::Undecodable(error)),
            };
            self.handle_frame(frame)?;
        }
    }

    fn handle_frame(&mut self, frame: ServerFrame) -> Result<(), ProtoError> {
        let event = match frame {
            ServerFrame::Hello { challenge, limits } => {
                if self.challenge.is_some() {
                    return Err(ProtoError::Refused(ErrorCode::OutOfOrder));
                }
                self.pending.retain(|_, kind| *kind != RequestKind::Hello);
                self.challenge = Some(challenge);
                self.limits = Some(limits);
                ClientEvent::Ready { limits }
            }
            ServerFrame::Reply { request, result } => {
                let kind = match self.pending.remove(&request) {
                    Some(kind) => kind,
                    // Acks are answered only on error and are not tracked.
                    None if result.is_err() => RequestKind::Ack,
                    None => return Err(ProtoError::UnexpectedReply(request)),
                };
                if let Ok(reply) = &result
                    && !kind.accepts(reply)
                {
                    return Err(ProtoError::UnexpectedReply(request));
                }
                if kind == RequestKind::Hello {
                    return Err(ProtoError::Refused(
                        result.err().unwrap_or(ErrorCode::OutOfOrder),
                    ));
                }
                ClientEvent::Reply {
                    request,
                    kind,
                    result,
                }
            }
            ServerFrame::Deliver {
                receive_id,
                seq,
                envelope,
            } => ClientEvent::Delivery {
                receive_id,
                seq,
                envelope,
            },
            ServerFrame::Drained { receive_id } => ClientEvent::Drained { receive_id },
            ServerFrame::SubscriptionEnded { receive_id } => {
                ClientEvent::SubscriptionEnded { receive_id }
            }
            ServerFrame::ProtocolError { code } => ClientEvent::ProtocolError { code },
            _ => return Err(ProtoError::Refused(ErrorCode::Unknown(0))),
        };
        self.events.push_back(event);
        Ok(())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}
