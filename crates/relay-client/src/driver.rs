//! The task that owns a connection's stream and its [`ClientConnection`] state machine.
//!
//! Two tasks per connection: this one decodes what the relay sends and encodes what the
//! handles ask for; a writer task writes encoded bytes, coalescing everything queued into
//! one write so a burst of pipelined requests costs one system call.

use std::collections::HashMap;

use boucle_proto::{ClientConnection, ClientEvent, ProtoError, RequestKind};
use boucle_wire::{
    AccessToken, BatchRecipient, Body, Envelope, PublicKey, ReceiveId, RelayLimits, Reply,
    RequestId, SendId, Seq, Signature,
};
use ed25519_dalek::SigningKey;
use tokio::sync::{mpsc, oneshot};

use crate::client::{Delivery, SubscriptionEvent};
use crate::error::ClientError;

type ReplySender = oneshot::Sender<Result<Reply, ClientError>>;

/// Requests that have a reply.
pub(crate) enum Command {
    CreateMailbox {
        owner_key: PublicKey,
        access_token: Option<AccessToken>,
    },
    Send {
        send_id: SendId,
        envelope: Envelope,
        sender_signature: Option<Signature>,
    },
    SendBatch {
        body: Body,
        recipients: Vec<BatchRecipient>,
    },
    Status {
        receive_id: ReceiveId,
    },
    DeleteMailbox {
        receive_id: ReceiveId,
    },
    Unsubscribe {
        receive_id: ReceiveId,
    },
    SetSenderKey {
        receive_id: ReceiveId,
        sender_key: Option<PublicKey>,
    },
    Ping,
}

/// What a handle asks of the driver.
pub(crate) enum Op {
    Request {
        command: Command,
        reply: ReplySender,
    },
    Subscribe {
        receive_id: ReceiveId,
        owner: SigningKey,
        events: mpsc::UnboundedSender<SubscriptionEvent>,
        reply: ReplySender,
    },
    Ack {
        receive_id: ReceiveId,
        seq: Seq,
    },
}

/// Starts the tasks; the receiver yields the relay's limits once it has greeted us.
pub(crate) fn spawn(
    send: quinn::SendStream,
    recv: quinn::RecvStream,
) -> (
    mpsc::UnboundedSender<Op>,
    oneshot::Receiver<Result<RelayLimits, ClientError>>,
) {
    let (ops_tx, ops) = mpsc::unbounded_channel();
    let (ready_tx, ready) = oneshot::channel();
    let (bytes_tx, bytes_rx) = mpsc::unbounded_channel();
    tokio::spawn(write_loop(send, bytes_rx));
    let driver = Driver {
        protocol: ClientConnection::new(),
        pending: HashMap::new(),
        subscribing: HashMap::new(),
        subscriptions: HashMap::new(),
        ready: Some(ready_tx),
        bytes: bytes_tx,
    };
    tokio::spawn(driver.run(recv, ops));
    (ops_tx, ready)
}

struct Driver {
    protocol: ClientConnection,
    pending: HashMap<RequestId, ReplySender>,
    subscribing: HashMap<RequestId, ReceiveId>,
    subscriptions: HashMap<ReceiveId, mpsc::UnboundedSender<SubscriptionEvent>>,
    ready: Option<oneshot::Sender<Result<RelayLimits, ClientError>>>,
    bytes: mpsc::UnboundedSender<Vec<u8>>,
}

impl Driver {
    async fn run(mut self, mut recv: quinn::RecvStream, mut ops: mpsc::UnboundedReceiver<Op>) {
        self.flush();
        let reason = loop {
            tokio::select! {
                op = ops.recv() => match op {
                    Some(op) => {
                        self.apply(op);
                        // Take everything already queued so it goes out in one write.
                        for _ in 0..4096 {
                            match ops.try_recv() {
                                Ok(op) => self.apply(op),
                                Err(_) => break,
                            }
                        }
                        self.flush();
                    }
                    None => break "the client was dropped".to_owned(),
                },
                chunk = recv.read_chunk(1 << 20, true) => match chunk {
                    Ok(Some(chunk)) => {
                        if let Err(error) = self.protocol.handle_bytes(&chunk.bytes) {
                            break error.to_string();
                        }
                        if let Err(reason) = self.dispatch() {
                            break reason;
                        }
                        self.flush();
                    }
                    Ok(None) => break "the relay closed the stream".to_owned(),
                    Err(error) => break error.to_string(),
                },
            }
        };
        self.fail_all(&reason);
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Request { command, reply } => {
                let protocol = &mut self.protocol;
                let queued = match command {
                    Command::CreateMailbox {
                        owner_key,
                        access_token,
                    } => protocol.create_mailbox(owner_key, access_token),
                    Command::Send {
                        send_id,
                        envelope,
                        sender_signature,
                    } => protocol.send(send_id, envelope, sender_signature),
                    Command::SendBatch { body, recipients } => {
                        protocol.send_batch(body, recipients)
                    }
                    Command::Status { receive_id } => protocol.status(receive_id),
                    Command::DeleteMailbox { receive_id } => protocol.delete_mailbox(receive_id),
                    Command::Unsubscribe { receive_id } => protocol.unsubscribe(receive_id),
                    Command::SetSenderKey {
                        receive_id,
                        sender_key,
                    } => protocol.set_sender_key(receive_id, sender_key),
                    Command::Ping => protocol.ping(),
                };
                match queued {
                    Ok(request) => {
                        self.pending.insert(request, reply);
                    }
                    Err(error) => {
                        let _ = reply.send(Err(invalid(error)));
                    }
                }
            }
            Op::Subscribe {
                receive_id,
                owner,
                events,
                reply,
            } => match self.protocol.subscribe(receive_id, &owner) {
                Ok(request) => {
                    self.pending.insert(request, reply);
                    self.subscribing.insert(request, receive_id);
                    // Registered now: deliveries may follow the reply in the same read.
                    self.subscriptions.insert(receive_id, events);
                }
                Err(error) => {
                    let _ = reply.send(Err(invalid(error)));
                }
            },
            Op::Ack { receive_id, seq } => {
                // An ack always encodes; if not, the envelope is simply redelivered later.
                let _ = self.protocol.ack(receive_id, seq);
            }
        }
    }

    fn dispatch(&mut self) -> Result<(), String> {
        while let Some(event) = self.protocol.poll_event() {
            match event {
                ClientEvent::Ready { limits } => {
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Ok(limits));
                    }
                }
                ClientEvent::Reply {
                    request,
                    kind,
                    result,
                } => {
                    if kind == RequestKind::Ack {
                        tracing::debug!(code = ?result.as_ref().err(), "the relay refused an acknowledgement");
                        continue;
                    }
                    if let Some(receive_id) = self.subscribing.remove(&request)
                        && result.is_err()
                    {
                        self.subscriptions.remove(&receive_id);
                    }
                    if let Some(reply) = self.pending.remove(&request) {
                        let _ = reply.send(result.map_err(ClientError::Refused));
                    }
                }
                ClientEvent::Delivery {
                    receive_id,
                    seq,
                    envelope,
                } => {
                    if let Some(events) = self.subscriptions.get(&receive_id) {
                        let _ =
                            events.send(SubscriptionEvent::Envelope(Delivery { seq, envelope }));
                    }
                }
                ClientEvent::Drained { receive_id } => {
                    if let Some(events) = self.subscriptions.get(&receive_id) {
                        let _ = events.send(SubscriptionEvent::Drained);
                    }
                }
                ClientEvent::SubscriptionEnded { receive_id } => {
                    if let Some(events) = self.subscriptions.remove(&receive_id) {
                        let _ = events.send(SubscriptionEvent::Ended);
                    }
                }
                ClientEvent::ProtocolError { code } => {
                    if code == boucle_wire::ErrorCode::ShuttingDown {
                        return Err(code.describe().to_owned());
                    }
                    tracing::debug!(?code, "the relay reported a protocol error");
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn flush(&mut self) {
        let mut bytes = Vec::new();
        self.protocol.append_transmit(&mut bytes);
        if !bytes.is_empty() {
            let _ = self.bytes.send(bytes);
        }
    }

    fn fail_all(&mut self, reason: &str) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(ClientError::Closed(reason.to_owned())));
        }
        for (_, reply) in self.pending.drain() {
            let _ = reply.send(Err(ClientError::Closed(reason.to_owned())));
        }
        for (_, events) in self.subscriptions.drain() {
            let _ = events.send(SubscriptionEvent::Ended);
        }
    }
}

fn invalid(error: ProtoError) -> ClientError {
    ClientError::Invalid(error.to_string())
}

async fn write_loop(mut send: quinn::SendStream, mut bytes: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(mut buffer) = bytes.recv().await {
        while let Ok(more) = bytes.try_recv() {
            buffer.extend_from_slice(&more);
            if buffer.len() > 1 << 20 {
                break;
            }
        }
        if send.write_all(&buffer).await.is_err() {
            return;
        }
    }
    let _ = send.finish();
}
