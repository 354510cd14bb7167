//! The relay's side of one connection.
//!
//! Call order for a driver:
//! 0. before reading, [`ServerConnection::input_growth_for`] says how much more memory a
//!    read of that many bytes could take (for a relay-wide budget), and
//!    [`ServerConnection::poll_timeout`] when [`ServerConnection::handle_timeout`] is due;
//! 1. [`ServerConnection::handle_bytes`] with whatever the stream yielded, and the time;
//! 2. [`ServerConnection::poll_request`] until `None`, acting on each [`Request`] and
//!    answering those that carry a request id with [`ServerConnection::reply`] (now or
//!    later, in any order);
//! 3. [`ServerConnection::deliver`] stored envelopes while
//!    [`ServerConnection::window`] reports room;
//! 4. write [`ServerConnection::take_transmit`] to the stream; close it once
//!    [`ServerConnection::is_finished`] says so ([`ServerConnection::close_reason`] says
//!    why);
//! 5. [`ServerConnection::trim_input`] gives back input memory no longer needed.
//!
//! Time is passed in, never read. Three deadlines bound what a client that proves
//! nothing can hold (relay-protocol §2.4): the complete `Hello` frame must arrive within
//! [`ServerSettings::hello_timeout`] of the start; a connection with nothing subscribed
//! and nothing in flight must complete a frame at least every
//! [`ServerSettings::unsubscribed_idle`] (QUIC keep-alives are not frames); and a frame
//! whose first byte has arrived must be complete within [`ServerSettings::frame_timeout`]
//! while the relay is reading.
//!
//! Frames this machine can answer alone (hello, ping, malformed frames, limit
//! violations, commands on mailboxes not proven on this connection) never reach the
//! driver.

mod input;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use boucle_wire::{
    AccessToken, BatchRecipient, Body, Challenge, ClientFrame, Command, Envelope, ErrorCode,
    Header, PublicKey, ReceiveId, RelayLimits, Reply, RequestId, SendId, Seq, ServerFrame,
    Signature, encode_deliver_parts, encode_frame, subscribe_proof,
};
use ed25519_dalek::VerifyingKey;

use input::FrameInput;
pub use input::INPUT_STEP;

/// Settings of a server connection.
#[derive(Clone, Copy, Debug)]
pub struct ServerSettings {
    /// Limits announced to the client and enforced.
    pub limits: RelayLimits,
    /// Most mailboxes one connection may prove ownership of.
    pub max_proven: usize,
    /// Most envelopes delivered to one subscription and not yet acknowledged.
    pub delivery_window: usize,
    /// The complete `Hello` frame must arrive within this long of the connection's start.
    pub hello_timeout: Duration,
    /// A connection with no subscription and no request in flight that completes no
    /// frame for this long is closed.
    pub unsubscribed_idle: Duration,
    /// A frame whose first byte has arrived must be complete within this long (counted
    /// only while the connection reads: not while it waits for replies to be answered).
    pub frame_timeout: Duration,
}

impl ServerSettings {
    /// Settings with the given limits and default per-connection bounds.
    pub fn new(limits: RelayLimits) -> Self {
        Self {
            limits,
            max_proven: 1_000,
            delivery_window: 512,
            hello_timeout: Duration::from_secs(10),
            unsubscribed_idle: Duration::from_secs(60),
            frame_timeout: Duration::from_secs(30),
        }
    }
}

/// Work for the relay, decoded and checked.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// Create a mailbox (check the token, pick ids, store it).
    CreateMailbox {
        /// Reply with this id.
        request: RequestId,
        /// The new mailbox's owner key.
        owner_key: PublicKey,
        /// Token offered.
        access_token: Option<AccessToken>,
    },
    /// Someone claims a mailbox: look up its owner key and call
    /// [`ServerConnection::verify_claim`].
    Subscribe {
        /// Reply with this id.
        request: RequestId,
        /// The claim to verify.
        claim: OwnershipClaim,
    },
    /// Stop delivering this mailbox here.
    Unsubscribe {
        /// Reply with this id.
        request: RequestId,
        /// Proven on this connection.
        mailbox: ProvenMailbox,
    },
    /// Delete a mailbox.
    DeleteMailbox {
        /// Reply with this id.
        request: RequestId,
        /// Proven on this connection.
        mailbox: ProvenMailbox,
    },
    /// Set or clear the sender key.
    SetSenderKey {
        /// Reply with this id.
        request: RequestId,
        /// Proven on this connection.
        mailbox: ProvenMailbox,
        /// New key.
        sender_key: Option<PublicKey>,
    },
    /// Store an envelope (sizes already checked).
    Send {
        /// Reply with this id.
        request: RequestId,
        /// Destination.
        send_id: SendId,
        /// Content.
        envelope: Envelope,
        /// Sender signature, if any.
        sender_signature: Option<Signature>,
    },
    /// Store one body for many mailboxes (sizes and count already checked).
    SendBatch {
        /// Reply with this id.
        request: RequestId,
        /// Shared body.
        body: Body,
        /// Recipients.
        recipients: Vec<BatchRecipient>,
    },
    /// Delete an acknowledged envelope. Needs no reply.
    Ack {
        /// Proven on this connection.
        mailbox: ProvenMailbox,
        /// Which envelope.
        seq: Seq,
    },
    /// Report a mailbox's fill level.
    Status {
        /// Reply with this id.
        request: RequestId,
        /// Proven on this connection.
        mailbox: ProvenMailbox,
    },
}

/// A not-yet-verified claim of mailbox ownership. Only
/// [`ServerConnection::verify_claim`] turns it into a [`ProvenMailbox`].
#[derive(Debug)]
pub struct OwnershipClaim {
    receive_id: ReceiveId,
    signature: Signature,
}

impl OwnershipClaim {
    /// The mailbox claimed.
    pub fn receive_id(&self) -> &ReceiveId {
        &self.receive_id
    }
}

/// Proof that this connection holds the owner key of a mailbox. Cannot be built outside
/// this crate, so a driver cannot act for an unproven mailbox by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProvenMailbox(ReceiveId);

impl ProvenMailbox {
    /// The mailbox.
    pub fn receive_id(&self) -> &ReceiveId {
        &self.0
    }
}

/// Delivery state of one subscription.
#[derive(Debug, Default)]
struct Subscription {
    unacked: BTreeSet<Seq>,
}

/// Room in a subscription's delivery window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionWindow {
    /// Envelopes that may still be delivered before acknowledgements are needed.
    pub room: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingHello,
    Ready,
    Finished,
}

/// Why a connection finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// A frame longer than the frame limit (a `ProtocolError{FrameTooLarge}` was sent).
    FrameTooLarge,
    /// The relay is shutting down (a `ProtocolError{ShuttingDown}` was sent).
    ShuttingDown,
    /// No complete `Hello` frame within [`ServerSettings::hello_timeout`].
    HelloTimeout,
    /// Nothing subscribed and no frame for [`ServerSettings::unsubscribed_idle`].
    Idle,
    /// A frame left incomplete for [`ServerSettings::frame_timeout`].
    FrameTimeout,
}

impl CloseReason {
    /// The QUIC application close code a relay uses for this reason (relay-protocol §2.4).
    pub fn code(self) -> u32 {
        match self {
            Self::FrameTooLarge => 1,
            Self::ShuttingDown => 2,
            Self::HelloTimeout => 3,
            Self::Idle => 4,
            Self::FrameTimeout => 5,
        }
    }

    /// A few words for logs and the QUIC close reason.
    pub fn describe(self) -> &'static str {
        match self {
            Self::FrameTooLarge => "frame too large",
            Self::ShuttingDown => "relay shutting down",
            Self::HelloTimeout => "no hello in time",
            Self::Idle => "idle without a subscription",
            Self::FrameTimeout => "frame not completed in time",
        }
    }
}

/// One connection, relay side. See the module documentation for the call order.
#[derive(Debug)]
pub struct ServerConnection {
    phase: Phase,
    challenge: Challenge,
    settings: ServerSettings,
    input: FrameInput,
    out: Vec<u8>,
    proven: HashSet<ReceiveId>,
    subscriptions: HashMap<ReceiveId, Subscription>,
    in_flight: usize,
    started: Instant,
    /// The latest time passed in.
    now: Instant,
    /// When the last frame completed (or the connection started, or the last request
    /// was answered): the unsubscribed-idle clock.
    last_activity: Instant,
    /// Since when the frame being received has been incomplete (while reading).
    partial_since: Option<Instant>,
    /// Whether some request of this client succeeded (see [`ServerConnection::has_proven`]).
    has_proven: bool,
    close_reason: Option<CloseReason>,
}

impl ServerConnection {
    /// A connection that will greet the client with this challenge (fresh random bytes,
    /// never reused), opened at `now`.
    pub fn new(challenge: Challenge, settings: ServerSettings, now: Instant) -> Self {
        Self {
            phase: Phase::AwaitingHello,
            challenge,
            settings,
            input: FrameInput::new(boucle_wire::MAX_FRAME_LEN),
            out: Vec::new(),
            proven: HashSet::new(),
            subscriptions: HashMap::new(),
            in_flight: 0,
            started: now,
            now,
            last_activity: now,
            partial_since: None,
            has_proven: false,
            close_reason: None,
        }
    }

    /// Adds bytes read from the stream at `now`.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) {
        self.now = self.now.max(now);
        if self.phase != Phase::Finished && !data.is_empty() {
            self.input.extend(data);
            if self.partial_since.is_none() {
                self.partial_since = Some(now);
            }
            self.handle_timeout(now);
        }
    }

    /// Whether the driver should read more from the stream. False while too many
    /// requests wait for replies (backpressure), while a whole frame waits to be decoded,
    /// or once the connection is finished.
    pub fn wants_input(&self) -> bool {
        self.phase != Phase::Finished
            && self.in_flight < self.settings.limits.max_in_flight as usize
            && self.input.buffered() <= boucle_wire::MAX_FRAME_LEN + 4
    }

    /// How much more input memory ([`ServerConnection::input_memory`]) reading `n` more
    /// bytes could take. A driver with a memory budget reserves this before reading.
    pub fn input_growth_for(&self, n: usize) -> usize {
        self.input.growth_for(n)
    }

    /// Memory held for received bytes not yet decoded (partial frames, mostly).
    pub fn input_memory(&self) -> usize {
        self.input.memory()
    }

    /// Received bytes not yet decoded.
    pub fn input_buffered(&self) -> usize {
        self.input.buffered()
    }

    /// Gives back input memory no longer needed (call after `poll_request`).
    pub fn trim_input(&mut self) {
        self.input.trim();
        if self.phase == Phase::Finished {
            self.input = FrameInput::new(0);
        }
    }

    /// When [`ServerConnection::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Finished {
            return None;
        }
        let mut next = None::<Instant>;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if self.phase == Phase::AwaitingHello {
            at(self.started + self.settings.hello_timeout);
        }
        if self.subscriptions.is_empty() && self.in_flight == 0 {
            at(self.last_activity + self.settings.unsubscribed_idle);
        }
        if let Some(since) = self.partial_since {
            at(since + self.settings.frame_timeout);
        }
        next
    }

    /// Applies the deadlines at `now`: finishes the connection if one has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.phase == Phase::Finished {
            return;
        }
        if !self.wants_input() {
            // The relay is not reading: the client cannot be blamed for a slow frame.
            if self.partial_since.is_some() {
                self.partial_since = Some(now);
            }
        }
        if self.in_flight > 0 || !self.subscriptions.is_empty() {
            self.last_activity = now;
        }
        let reason = if self.phase == Phase::AwaitingHello
            && now >= self.started + self.settings.hello_timeout
        {
            Some(CloseReason::HelloTimeout)
        } else if self
            .partial_since
            .is_some_and(|since| now >= since + self.settings.frame_timeout)
        {
            Some(CloseReason::FrameTimeout)
        } else if now >= self.last_activity + self.settings.unsubscribed_idle {
            Some(CloseReason::Idle)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.finish(reason);
        }
    }

    /// Why the connection finished, once [`ServerConnection::is_finished`].
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// Whether this client has proved something: a mailbox's ownership, or a request
    /// answered with success (a mailbox created, an envelope stored). A relay keeps
    /// room for such connections before those that have proved nothing.
    pub fn has_proven(&self) -> bool {
        self.has_proven
    }

    fn finish(&mut self, reason: CloseReason) {
        if self.phase != Phase::Finished {
            self.phase = Phase::Finished;
            self.close_reason = Some(reason);
            self.partial_since = None;
        }
    }

    /// Whether the connection should be closed once the transmit buffer is written.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Requests answered by the driver so far not yet replied to.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Decodes the next piece of work for the relay, answering by itself what it can.
    pub fn poll_request(&mut self) -> Option<Request> {
        while self.phase != Phase::Finished
            && self.in_flight < self.settings.limits.max_in_flight as usize
        {
            let decoded = self.input.decode();
            if !matches!(decoded, Ok(None)) {
                // A frame completed (well-formed or not): the client is active, and the
                // next frame's clock starts when its first byte is here.
                self.frame_completed();
            }
            let frame = match decoded {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err(error) => {
                    let code = match &error {
                        boucle_wire::WireError::UnsupportedVersion(_) => {
                            ErrorCode::UnsupportedVersion
                        }
                        boucle_wire::WireError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
                        _ => ErrorCode::Malformed,
                    };
                    self.push(&ServerFrame::ProtocolError { code });
                    if error.is_fatal() {
                        self.finish(CloseReason::FrameTooLarge);
                    }
                    continue;
                }
            };
            if let Some(request) = self.handle_frame(frame) {
                if !matches!(request, Request::Ack { .. }) {
                    self.in_flight += 1;
                }
                return Some(request);
            }
        }
        None
    }

    fn frame_completed(&mut self) {
        self.last_activity = self.now;
        self.partial_since = (self.input.buffered() > 0).then_some(self.now);
    }

    fn handle_frame(&mut self, frame: ClientFrame) -> Option<Request> {
        let request = frame.request;
        if self.phase == Phase::AwaitingHello {
            if frame.command == Command::Hello {
                self.phase = Phase::Ready;
                self.push(&ServerFrame::Hello {
                    challenge: self.challenge,
                    limits: self.settings.limits,
                });
            } else {
                self.push_reply(request, Err(ErrorCode::OutOfOrder));
            }
            return None;
        }
        match frame.command {
            Command::Hello => self.refuse(request, ErrorCode::OutOfOrder),
            Command::Ping => {
                self.push_reply(request, Ok(Reply::Pong));
                None
            }
            Command::CreateMailbox {
                owner_key,
                access_token,
            } => Some(Request::CreateMailbox {
                request,
                owner_key,
                access_token,
            }),
            Command::Subscribe {
                receive_id,
                signature,
            } => Some(Request::Subscribe {
                request,
                claim: OwnershipClaim {
                    receive_id,
                    signature,
                },
            }),
            Command::Unsubscribe { receive_id } => {
                let mailbox = self.proven(request, receive_id)?;
                self.subscriptions.remove(&receive_id);
                Some(Request::Unsubscribe { request, mailbox })
            }
            Command::DeleteMailbox { receive_id } => {
                let mailbox = self.proven(request, receive_id)?;
                self.subscriptions.remove(&receive_id);
                self.proven.remove(&receive_id);
                Some(Request::DeleteMailbox { request, mailbox })
            }
            Command::SetSenderKey {
                receive_id,
                sender_key,
            } => {
                let mailbox = self.proven(request, receive_id)?;
                Some(Request::SetSenderKey {
                    request,
                    mailbox,
                    sender_key,
                })
            }
            Command::Status { receive_id } => {
                let mailbox = self.proven(request, receive_id)?;
                Some(Request::Status { request, mailbox })
            }
            Command::Send {
                send_id,
                envelope,
                sender_signature,
            } => {
                let limits = &self.settings.limits;
                if envelope.body.len() > limits.max_body as usize
                    || envelope.header.len() > limits.max_header as usize
                {
                    return self.refuse(request, ErrorCode::EnvelopeTooLarge);
                }
                Some(Request::Send {
                    request,
                    send_id,
                    envelope,
                    sender_signature,
                })
            }
            Command::SendBatch { body, recipients } => {
                let limits = &self.settings.limits;
                if recipients.is_empty() || recipients.len() > limits.max_batch as usize {
                    return self.refuse(request, ErrorCode::LimitReached);
                }
                if body.len() > limits.max_body as usize
                    || recipients
                        .iter()
                        .any(|r| r.header.len() > limits.max_header as usize)
                {
                    return self.refuse(request, ErrorCode::EnvelopeTooLarge);
                }
                Some(Request::SendBatch {
                    request,
                    body,
                    recipients,
                })
            }
            Command::Ack { receive_id, seq } => {
                let mailbox = self.proven(request, receive_id)?;
                if let Some(subscription) = self.subscriptions.get_mut(&receive_id) {
                    subscription.unacked.remove(&seq);
                }
                Some(Request::Ack { mailbox, seq })
            }
            _ => self.refuse(request, ErrorCode::Malformed),
        }
    }

    fn proven(&mut self, request: RequestId, receive_id: ReceiveId) -> Option<ProvenMailbox> {
        if self.proven.contains(&receive_id) {
            Some(ProvenMailbox(receive_id))
        } else {
            self.refuse(request, ErrorCode::NotProven)
        }
    }

    fn refuse<T>(&mut self, request: RequestId, code: ErrorCode) -> Option<T> {
        self.push_reply(request, Err(code));
        None
    }

    /// Checks a claim against the mailbox's owner key (as stored by the relay). On
    /// success the mailbox is proven for the rest of this connection and subscribed.
    /// On failure the driver replies with the returned code.
    pub fn verify_claim(
        &mut self,
        claim: OwnershipClaim,
        owner_key: &PublicKey,
    ) -> Result<ProvenMailbox, ErrorCode> {
        let key =
            VerifyingKey::from_bytes(owner_key.as_bytes()).map_err(|_| ErrorCode::BadSignature)?;
        let signature = ed25519_dalek::Signature::from_bytes(claim.signature.as_bytes());
        key.verify_strict(
            &subscribe_proof(&self.challenge, &claim.receive_id),
            &signature,
        )
        .map_err(|_| ErrorCode::BadSignature)?;
        if !self.proven.contains(&claim.receive_id) {
            if self.proven.len() >= self.settings.max_proven {
                return Err(ErrorCode::LimitReached);
            }
            self.proven.insert(claim.receive_id);
        }
        self.has_proven = true;
        self.subscriptions.entry(claim.receive_id).or_default();
        Ok(ProvenMailbox(claim.receive_id))
    }

    /// Answers a request handed out by [`ServerConnection::poll_request`].
    pub fn reply(&mut self, request: RequestId, result: Result<Reply, ErrorCode>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.last_activity = self.now;
        self.has_proven |= match &result {
            Ok(Reply::BatchStored { outcomes }) => outcomes.iter().any(Result::is_ok),
            Ok(Reply::Pong) | Err(_) => false,
            Ok(_) => true,
        };
        self.push_reply(request, result);
    }

    /// Room left in the delivery window of a subscription on this connection, or `None`
    /// if the mailbox is not subscribed here.
    pub fn window(&self, receive_id: &ReceiveId) -> Option<SubscriptionWindow> {
        self.subscriptions
            .get(receive_id)
            .map(|s| SubscriptionWindow {
                room: self
                    .settings
                    .delivery_window
                    .saturating_sub(s.unacked.len()),
            })
    }

    /// Whether `seq` was delivered on this connection and is not yet acknowledged.
    pub fn is_unacked(&self, receive_id: &ReceiveId, seq: Seq) -> bool {
        self.subscriptions
            .get(receive_id)
            .is_some_and(|s| s.unacked.contains(&seq))
    }

    /// Pushes a stored envelope to the subscriber. Returns false (and sends nothing) if
    /// the mailbox is not subscribed here or its window is full.
    pub fn deliver(
        &mut self,
        receive_id: ReceiveId,
        seq: Seq,
        header: &Header,
        body: &Body,
    ) -> bool {
        self.deliver_parts(receive_id, seq, header.as_bytes(), body.as_bytes())
    }

    /// Like [`ServerConnection::deliver`], from raw header and body bytes.
    pub fn deliver_parts(
        &mut self,
        receive_id: ReceiveId,
        seq: Seq,
        header: &[u8],
        body: &[u8],
    ) -> bool {
        let window = self.settings.delivery_window;
        let Some(subscription) = self.subscriptions.get_mut(&receive_id) else {
            return false;
        };
        if subscription.unacked.len() >= window || !subscription.unacked.insert(seq) {
            return false;
        }
        if encode_deliver_parts(&receive_id, seq, header, body, &mut self.out).is_err() {
            // An envelope the relay accepted always fits in a frame; if it somehow does
            // not, the subscriber is told rather than left waiting.
            self.push(&ServerFrame::ProtocolError {
                code: ErrorCode::StorageFailure,
            });
        }
        true
    }

    /// Tells the subscriber that the backlog present at subscription time has been sent.
    pub fn drained(&mut self, receive_id: ReceiveId) {
        self.push(&ServerFrame::Drained { receive_id });
    }

    /// Ends a subscription (taken over by another connection, or mailbox deleted).
    pub fn end_subscription(&mut self, receive_id: ReceiveId) {
        if self.subscriptions.remove(&receive_id).is_some() {
            self.push(&ServerFrame::SubscriptionEnded { receive_id });
        }
    }

    /// Mailboxes subscribed on this connection.
    pub fn subscribed(&self) -> impl Iterator<Item = &ReceiveId> {
        self.subscriptions.keys()
    }

    /// Tells the client the relay is going away, and finishes the connection.
    pub fn shut_down(&mut self) {
        if self.phase != Phase::Finished {
            self.push(&ServerFrame::ProtocolError {
                code: ErrorCode::ShuttingDown,
            });
            self.finish(CloseReason::ShuttingDown);
        }
    }

    /// Bytes to write to the stream.
    pub fn take_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Whether there are bytes to write.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty()
    }

    /// How many bytes wait to be written. A driver stops delivering while this is large,
    /// so a client that reads slowly (or not at all) costs the relay bounded memory.
    pub fn transmit_len(&self) -> usize {
        self.out.len()
    }

    fn push_reply(&mut self, request: RequestId, result: Result<Reply, ErrorCode>) {
        self.push(&ServerFrame::Reply { request, result });
    }

    fn push(&mut self, frame: &ServerFrame) {
        // Server frames are built from bounded values and always fit in a frame.
        let _ = encode_frame(frame, &mut self.out);
    }
}
