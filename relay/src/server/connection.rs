//! One client connection: drives a [`ServerConnection`] state machine with the stream's
//! bytes, hands writes to the writer thread, and delivers envelopes to subscriptions.
//!
//! Delivery is in seq order per mailbox and never skips: each subscription keeps a
//! cursor (the last seq delivered). While a subscriber is caught up, a new envelope is
//! pushed as soon as the writer has applied it ([`ConnEvent::Stored`]), before its
//! commit lands. Otherwise (backlog, full window) it is left for the post-commit
//! [`ConnEvent::Committed`] signal, which sends the cursor back to the store's index.
//!
//! Memory per connection is bounded whatever the client does: deliveries stop while more
//! than [`OUTPUT_BUDGET`] bytes wait to be written, pushes are bounded by the hub's
//! [`PUSH_BUDGET`](crate::hub::PUSH_BUDGET), and a client that stops reading altogether is
//! dropped once a write has made no progress for the idle timeout.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use boucle_proto::{Request, ServerConnection, ServerSettings};
use boucle_wire::{Challenge, ErrorCode, ReceiveId, RelayLimits, Reply, RequestId, Seq};
use tokio::sync::{Notify, mpsc, watch};

use super::{Context, PROVEN_RECEIVE_WINDOW, PROVEN_SEND_WINDOW};
use crate::hub::{ConnEvent, PushQueue};
use crate::store::writer::{OpKind, ReplyTo, WriteOp, unix_ms};

/// Deliveries stop while this many bytes wait to be written to the client.
const OUTPUT_BUDGET: usize = 1 << 20;

/// Delivery state of one subscription on this connection.
struct Cursor {
    /// Last seq delivered (or skipped as expired).
    last: Option<u64>,
    /// Whether the index may hold envelopes after `last` not yet delivered.
    backlog: bool,
    drained_sent: bool,
}

impl Cursor {
    fn is_before(&self, seq: Seq) -> bool {
        self.last.is_none_or(|last| seq.0 > last)
    }
}

struct Connection {
    context: Arc<Context>,
    id: u64,
    protocol: ServerConnection,
    events: mpsc::UnboundedSender<ConnEvent>,
    /// Bytes of pushed envelopes waiting in `events` (shared with the hub).
    queued: PushQueue,
    cursors: HashMap<ReceiveId, Cursor>,
    /// The last [`Connection::fill`] stopped for lack of output room, not for lack of
    /// envelopes: fill again once the output is written.
    more_to_fill: bool,
}

/// Most bytes read from the stream at once.
const READ_CHUNK: usize = 16 * 1024;
/// How long to wait before asking again for input memory the budget refused.
const INPUT_RETRY: Duration = Duration::from_millis(20);
/// How long, after finishing the stream, to wait for the client to acknowledge the last
/// frames before closing (closing at once would discard them).
const LINGER: Duration = Duration::from_secs(2);
/// QUIC close code of a connection closed to make room for others.
const DISPLACED: u32 = 6;

/// Takes the connection out of the handshake count exactly once.
struct Handshaking<'a>(Option<&'a AtomicUsize>);

impl Handshaking<'_> {
    fn done(&mut self) {
        if let Some(count) = self.0.take() {
            count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Handshaking<'_> {
    fn drop(&mut self) {
        self.done();
    }
}

/// Serves one incoming connection until it closes or the relay shuts down.
pub(crate) async fn run(
    context: Arc<Context>,
    incoming: quinn::Incoming,
    id: u64,
    evicted: Arc<Notify>,
    stop: watch::Receiver<bool>,
) {
    let started = Instant::now();
    serve(&context, incoming, id, &evicted, stop, started).await;
    context.slots.remove(id);
    context
        .connections
        .store(context.slots.len(), Ordering::Relaxed);
    tracing::debug!(connection = id, "connection closed");
}

async fn serve(
    context: &Arc<Context>,
    incoming: quinn::Incoming,
    id: u64,
    evicted: &Notify,
    mut stop: watch::Receiver<bool>,
    started: Instant,
) {
    let peer = incoming.remote_address();
    let hello_deadline =
        started + Duration::from_secs(context.config.limits.handshake_timeout_secs);
    context.handshaking.fetch_add(1, Ordering::Relaxed);
    let mut handshaking = Handshaking(Some(&context.handshaking));
    let opened = tokio::select! {
        opened = tokio::time::timeout_at(hello_deadline.into(), async {
            let connection = incoming.await?;
            handshaking.done();
            context.slots.established(id);
            let (send, recv) = connection.accept_bi().await?;
            Ok::<_, quinn::ConnectionError>((connection, send, recv))
        }) => opened,
        () = evicted.notified() => {
            tracing::debug!(connection = id, "displaced during its handshake");
            return;
        }
    };
    handshaking.done();
    let (quic, mut send, mut recv) = match opened {
        Ok(Ok(parts)) => parts,
        Ok(Err(error)) => {
            tracing::debug!(%error, "handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("handshake timed out");
            return;
        }
    };
    if context.config.log_peer_addresses {
        tracing::debug!(%peer, connection = id, "connection open");
    } else {
        tracing::debug!(connection = id, "connection open");
    }

    let (events, mut event_rx) = mpsc::unbounded_channel();
    let mut challenge = [0u8; 32];
    rand::fill(&mut challenge);
    let mut connection = Connection {
        protocol: ServerConnection::new(
            Challenge::from_bytes(challenge),
            settings(context),
            started,
        ),
        context: context.clone(),
        id,
        events,
        queued: Arc::new(AtomicUsize::new(0)),
        cursors: HashMap::new(),
        more_to_fill: false,
    };
    let write_timeout = Duration::from_secs(context.config.limits.idle_timeout_secs);
    let mut stream_open = true;
    let mut stopping = false;
    let mut displaced = false;
    let mut proven = false;
    // Input memory charged to the relay-wide budget for this connection.
    let mut charged = 0usize;
    loop {
        // Reserve the memory a read could take before reading (relay-protocol §13).
        let mut input_blocked = false;
        let wants = stream_open && !stopping && connection.protocol.wants_input();
        if wants {
            let need = connection.protocol.input_memory()
                + connection.protocol.input_growth_for(READ_CHUNK);
            if need > charged {
                if context.slots.reserve_input(id, need - charged) {
                    charged = need;
                } else {
                    input_blocked = true;
                }
            }
        }
        let deadline = connection.protocol.poll_timeout();
        tokio::select! {
            biased;
            _ = stop.changed(), if !stopping => {
                stopping = true;
            }
            () = evicted.notified() => {
                displaced = true;
                break;
            }
            Some(event) = event_rx.recv() => {
                connection.on_event(event);
                while let Ok(event) = event_rx.try_recv() {
                    connection.on_event(event);
                }
            }
            chunk = recv.read_chunk(READ_CHUNK, true), if wants && !input_blocked => {
                match chunk {
                    Ok(Some(chunk)) => {
                        connection.protocol.handle_bytes(Instant::now(), &chunk.bytes);
                        connection.on_requests().await;
                    }
                    Ok(None) | Err(_) => stream_open = false,
                }
            }
            () = tokio::time::sleep(INPUT_RETRY), if wants && input_blocked => {}
            () = sleep_until(deadline), if deadline.is_some() => {
                connection.protocol.handle_timeout(Instant::now());
            }
            () = std::future::ready(()), if connection.more_to_fill && !stopping => {}
        }
        connection.protocol.trim_input();
        let held = connection.protocol.input_memory();
        if held != charged {
            context.slots.settle_input(id, held);
            charged = held;
        }
        if !proven && connection.protocol.has_proven() {
            proven = true;
            context.slots.prove(id);
            quic.set_receive_window(PROVEN_RECEIVE_WINDOW.into());
            quic.set_send_window(PROVEN_SEND_WINDOW);
        }
        if !stopping {
            connection.fill();
        }
        if stopping && connection.protocol.in_flight() == 0 {
            connection.protocol.shut_down();
        }
        if connection.protocol.has_transmit() {
            let bytes = connection.protocol.take_transmit();
            match tokio::time::timeout(write_timeout, send.write_all(&bytes)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    // The client stopped reading: flow control holds the write back.
                    tracing::debug!(connection = id, "client stopped reading; closing");
                    break;
                }
            }
        }
        // The client half-closed its side: answer everything in flight, then finish.
        let idle = !stream_open && connection.protocol.in_flight() == 0;
        if connection.protocol.is_finished() || idle {
            break;
        }
    }
    for receive_id in connection.cursors.keys() {
        context.hub.unsubscribe(receive_id, id);
    }
    context.slots.settle_input(id, 0);
    let reason = connection.protocol.close_reason();
    let (code, words) = match reason {
        _ if displaced => (DISPLACED, "displaced to make room"),
        Some(reason) => (reason.code(), reason.describe()),
        None => (0, ""),
    };
    if let Some(reason) = reason {
        tracing::debug!(connection = id, reason = reason.describe(), "closing");
    }
    if !displaced {
        // Closing at once would discard frames the client has not acknowledged yet (the
        // reply to its last request, the ProtocolError saying why): wait, bounded, for
        // the client to acknowledge everything written.
        let _ = recv.stop(0u32.into());
        if send.finish().is_ok() {
            let _ = tokio::time::timeout(LINGER, send.stopped()).await;
        }
    }
    quic.close(code.into(), words.as_bytes());
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn settings(context: &Context) -> ServerSettings {
    let l = &context.config.limits;
    let mut settings = ServerSettings::new(RelayLimits {
        max_body: l.max_body_bytes,
        max_header: l.max_header_bytes,
        max_batch: l.max_batch_recipients,
        max_in_flight: l.max_requests_in_flight,
        token_required: context.config.require_access_token,
    });
    settings.max_proven = l.max_mailboxes_per_connection as usize;
    settings.delivery_window = l.delivery_window as usize;
    settings.hello_timeout = Duration::from_secs(l.handshake_timeout_secs);
    settings.unsubscribed_idle = Duration::from_secs(l.unsubscribed_idle_secs);
    settings.frame_timeout = Duration::from_secs(l.frame_timeout_secs);
    settings
}

impl Connection {
    async fn on_requests(&mut self) {
        while let Some(request) = self.protocol.poll_request() {
            self.on_request(request).await;
        }
    }

    async fn on_request(&mut self, request: Request) {
        let reply_to = |request: RequestId, events: &mpsc::UnboundedSender<ConnEvent>| {
            Some(ReplyTo {
                events: events.clone(),
                request,
            })
        };
        let op = match request {
            Request::CreateMailbox {
                request,
                owner_key,
                access_token,
            } => {
                if self.context.config.require_access_token {
                    let refusal = match access_token {
                        None => Some(ErrorCode::AccessTokenRequired),
                        Some(token) if !self.context.tokens.check(&token) => {
                            Some(ErrorCode::AccessTokenInvalid)
                        }
                        Some(_) => None,
                    };
                    if let Some(code) = refusal {
                        self.protocol.reply(request, Err(code));
                        return;
                    }
                }
                WriteOp {
                    kind: OpKind::Create { owner_key },
                    reply: reply_to(request, &self.events),
                }
            }
            Request::Subscribe { request, claim } => {
                let result = self.subscribe(claim);
                self.protocol.reply(request, result);
                return;
            }
            Request::Unsubscribe { request, mailbox } => {
                self.cursors.remove(mailbox.receive_id());
                self.context.hub.unsubscribe(mailbox.receive_id(), self.id);
                self.protocol.reply(request, Ok(Reply::Done));
                return;
            }
            Request::DeleteMailbox { request, mailbox } => {
                self.cursors.remove(mailbox.receive_id());
                self.context.hub.unsubscribe(mailbox.receive_id(), self.id);
                WriteOp {
                    kind: OpKind::Delete {
                        receive_id: *mailbox.receive_id(),
                    },
                    reply: reply_to(request, &self.events),
                }
            }
            Request::SetSenderKey {
                request,
                mailbox,
                sender_key,
            } => WriteOp {
                kind: OpKind::SetSenderKey {
                    receive_id: *mailbox.receive_id(),
                    sender_key,
                },
                reply: reply_to(request, &self.events),
            },
            Request::Send {
                request,
                send_id,
                envelope,
                sender_signature,
            } => {
                let body = Arc::new(envelope.body);
                let admitted = self.context.hub.admit(
                    &send_id,
                    &envelope.header,
                    &body,
                    sender_signature.as_ref(),
                );
                match admitted {
                    Ok((receive_id, seq)) => WriteOp {
                        kind: OpKind::Store {
                            receive_id,
                            seq,
                            header: envelope.header,
                            body,
                        },
                        reply: reply_to(request, &self.events),
                    },
                    Err(code) => {
                        self.protocol.reply(request, Err(code));
                        return;
                    }
                }
            }
            Request::SendBatch {
                request,
                body,
                recipients,
            } => {
                let body = Arc::new(body);
                let results = self.context.hub.admit_batch(&body, recipients);
                let outcomes = results
                    .iter()
                    .map(|r| r.as_ref().map(|_| ()).map_err(|code| *code))
                    .collect();
                let admitted = results.into_iter().filter_map(Result::ok).collect();
                WriteOp {
                    kind: OpKind::StoreBatch {
                        body,
                        admitted,
                        outcomes,
                    },
                    reply: reply_to(request, &self.events),
                }
            }
            Request::Ack { mailbox, seq } => WriteOp {
                kind: OpKind::Ack {
                    receive_id: *mailbox.receive_id(),
                    seq,
                },
                reply: None,
            },
            Request::Status { request, mailbox } => {
                let status = self.context.hub.status(mailbox.receive_id());
                let result = status.map(Reply::Status).ok_or(ErrorCode::UnknownMailbox);
                self.protocol.reply(request, result);
                return;
            }
            _ => return,
        };
        if let Err(refused) = self.context.writer.send(op).await {
            // The writer is gone (shutting down): take back what the hub admitted.
            let WriteOp { kind, reply } = refused.0;
            let mut released = Vec::new();
            kind.admitted_into(&mut released);
            if !released.is_empty() {
                self.context.hub.release(&released);
            }
            if let Some(to) = reply {
                self.protocol
                    .reply(to.request, Err(ErrorCode::ShuttingDown));
            }
        }
    }

    fn subscribe(&mut self, claim: boucle_proto::OwnershipClaim) -> Result<Reply, ErrorCode> {
        let receive_id = *claim.receive_id();
        let owner_key = match self.context.store.owner_key(&receive_id) {
            Ok(Some(key)) => key,
            Ok(None) => return Err(ErrorCode::UnknownMailbox),
            Err(error) => {
                tracing::warn!(%error, "cannot read a mailbox");
                return Err(ErrorCode::StorageFailure);
            }
        };
        self.protocol.verify_claim(claim, &owner_key)?;
        // Register before reading the backlog, so nothing committed in between is missed.
        self.context.hub.subscribe(
            receive_id,
            self.id,
            self.events.clone(),
            self.queued.clone(),
        );
        let stored = self.context.hub.stored_count(&receive_id);
        let stored = u32::try_from(stored).unwrap_or(u32::MAX);
        self.cursors.insert(
            receive_id,
            Cursor {
                last: None,
                backlog: true,
                drained_sent: false,
            },
        );
        Ok(Reply::Subscribed { stored })
    }

    fn on_event(&mut self, event: ConnEvent) {
        match event {
            ConnEvent::Reply { request, result } => self.protocol.reply(request, result),
            ConnEvent::Stored {
                receive_id,
                seq,
                header,
                body,
            } => {
                self.queued
                    .fetch_sub(header.len() + body.len(), Ordering::Relaxed);
                let Some(cursor) = self.cursors.get_mut(&receive_id) else {
                    return;
                };
                let room = self
                    .protocol
                    .window(&receive_id)
                    .map(|w| w.room)
                    .unwrap_or(0);
                let output_room = self.protocol.transmit_len() < OUTPUT_BUDGET;
                // Caught up: nothing committed is waiting before this one.
                if !cursor.backlog && cursor.is_before(seq) && room > 0 && output_room {
                    self.protocol.deliver(receive_id, seq, &header, &body);
                    cursor.last = Some(seq.0);
                } else if cursor.is_before(seq) {
                    // Not delivered now (full window or output): it comes from the store
                    // after its commit, and nothing after it may be pushed before it.
                    cursor.backlog = true;
                }
            }
            ConnEvent::Committed { receive_id, seq } => {
                if let Some(cursor) = self.cursors.get_mut(&receive_id)
                    && cursor.is_before(seq)
                {
                    cursor.backlog = true;
                }
            }
            ConnEvent::Ended { receive_id } => {
                if self.cursors.remove(&receive_id).is_some() {
                    self.protocol.end_subscription(receive_id);
                }
            }
        }
    }

    /// Reads backlogged envelopes from the store into the delivery windows, until the
    /// windows are full, the backlog is delivered, or [`OUTPUT_BUDGET`] bytes wait to be
    /// written (then `more_to_fill` asks for another pass once they are).
    fn fill(&mut self) {
        self.more_to_fill = false;
        let expiry_ms = self
            .context
            .config
            .limits
            .envelope_expiry_secs
            .saturating_mul(1000);
        let not_before = unix_ms().saturating_sub(expiry_ms);
        let mut reader = None;
        for (receive_id, cursor) in self.cursors.iter_mut() {
            if !cursor.backlog {
                continue;
            }
            if self.protocol.transmit_len() >= OUTPUT_BUDGET {
                self.more_to_fill = true;
                return;
            }
            let room = self
                .protocol
                .window(receive_id)
                .map(|w| w.room)
                .unwrap_or(0);
            if room == 0 {
                continue;
            }
            let (seqs, blocked) = self
                .context
                .hub
                .deliverable_after(receive_id, cursor.last, room);
            let mut taken = 0;
            if !seqs.is_empty() {
                if reader.is_none() {
                    match self.context.store.reader() {
                        Ok(opened) => reader = Some(opened),
                        Err(error) => {
                            tracing::warn!(%error, "cannot read envelopes to deliver");
                            return;
                        }
                    }
                }
                let Some(reader) = &reader else { return };
                let protocol = &mut self.protocol;
                let read =
                    reader.for_each_envelope(receive_id, &seqs, not_before, |seq, header, body| {
                        protocol.deliver_parts(*receive_id, seq, header, body);
                        protocol.transmit_len() < OUTPUT_BUDGET
                    });
                match read {
                    Ok(n) => taken = n,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read envelopes to deliver");
                        continue;
                    }
                }
            }
            if let Some(&last) = seqs[..taken].last() {
                cursor.last = Some(last);
            }
            if taken < seqs.len() {
                // Stopped by the output budget.
                self.more_to_fill = true;
                return;
            }
            if seqs.len() < room {
                // Caught up, or stopped by an uncommitted envelope: then stay on the store
                // path until it commits, so nothing is pushed ahead of it.
                cursor.backlog = blocked;
                if !blocked {
                    self.context.hub.caught_up(receive_id, self.id);
                }
                if !cursor.drained_sent {
                    cursor.drained_sent = true;
                    self.protocol.drained(*receive_id);
                }
            }
        }
    }
}
