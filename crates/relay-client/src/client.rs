//! The public handle: connect, then issue requests from any task.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use boucle_wire::{
    AccessToken, BatchRecipient, Body, Envelope, ErrorCode, MailboxStatus, PublicKey, ReceiveId,
    RelayAddress, RelayLimits, Reply, SendId, Seq, Signature,
};
use ed25519_dalek::SigningKey;
use tokio::sync::{mpsc, oneshot};

use crate::driver::{self, Command, Op};
use crate::error::ClientError;
use crate::tls::{self, PinnedCertificate};

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// How long to wait for the QUIC handshake and the relay's hello.
    pub connect_timeout: Duration,
    /// How long a request may wait for its reply.
    pub request_timeout: Duration,
    /// QUIC keep-alive interval (keeps subscriptions alive through NATs).
    pub keep_alive: Duration,
    /// UDP socket buffer size to ask the kernel for.
    pub socket_buffer: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
            socket_buffer: 4 << 20,
        }
    }
}

/// The two ids of a new mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxIds {
    /// Keep private: subscribe, acknowledge and manage with it.
    pub receive_id: ReceiveId,
    /// Give to senders.
    pub send_id: SendId,
}

/// An envelope delivered to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Acknowledge with this.
    pub seq: Seq,
    /// The envelope.
    pub envelope: Envelope,
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionEvent {
    /// An envelope.
    Envelope(Delivery),
    /// The backlog stored at subscription time has been delivered.
    Drained,
    /// The relay ended the subscription (another connection took it over, or the
    /// mailbox is gone), or the connection closed.
    Ended,
}

/// A connection to one relay. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct RelayClient {
    ops: mpsc::UnboundedSender<Op>,
    connection: quinn::Connection,
    limits: RelayLimits,
    options: Arc<ClientOptions>,
    _endpoint: quinn::Endpoint,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient").finish_non_exhaustive()
    }
}

impl RelayClient {
    /// Connects to the relay at `address`, checking its certificate fingerprint, and
    /// waits for its hello.
    pub async fn connect(
        address: &RelayAddress,
        options: ClientOptions,
    ) -> Result<RelayClient, ClientError> {
        let handshake = async {
            let raw = RawStream::open(address, &options).await?;
            let (ops, ready) = driver::spawn(raw.send, raw.recv);
            let limits = ready
                .await
                .map_err(|_| ClientError::Closed("the relay closed before greeting".into()))??;
            Ok::<_, ClientError>((raw.endpoint, raw.connection, ops, limits))
        };
        let (endpoint, connection, ops, limits) =
            tokio::time::timeout(options.connect_timeout, handshake)
                .await
                .map_err(|_| ClientError::Timeout)??;
        Ok(RelayClient {
            ops,
            connection,
            limits,
            options: Arc::new(options),
            _endpoint: endpoint,
        })
    }

    /// The relay's announced limits.
    pub fn limits(&self) -> &RelayLimits {
        &self.limits
    }

    /// Whether the connection is still open.
    pub fn is_open(&self) -> bool {
        self.connection.close_reason().is_none() && !self.ops.is_closed()
    }

    /// Completes when the connection is closed (by either side, or lost).
    pub async fn closed(&self) {
        let _ = self.connection.closed().await;
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.connection.close(0u32.into(), b"bye");
    }

    async fn request(&self, command: Command) -> Result<Reply, ClientError> {
        let (reply, rx) = oneshot::channel();
        self.ops
            .send(Op::Request { command, reply })
            .map_err(|_| closed())?;
        match tokio::time::timeout(self.options.request_timeout, rx).await {
            Err(_) => Err(ClientError::Timeout),
            Ok(Err(_)) => Err(closed()),
            Ok(Ok(result)) => result,
        }
    }

    /// Creates a mailbox owned by `owner`.
    pub async fn create_mailbox(
        &self,
        owner: &SigningKey,
        access_token: Option<AccessToken>,
    ) -> Result<MailboxIds, ClientError> {
        let owner_key = PublicKey::from_bytes(owner.verifying_key().to_bytes());
        match self
            .request(Command::CreateMailbox {
                owner_key,
                access_token,
            })
            .await?
        {
            Reply::MailboxCreated {
                receive_id,
                send_id,
            } => Ok(MailboxIds {
                receive_id,
                send_id,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends an envelope; returns once the relay has durably stored it.
    pub async fn send(&self, send_id: SendId, envelope: Envelope) -> Result<(), ClientError> {
        self.send_with(send_id, envelope, None).await
    }

    /// Queues an envelope for sending and returns at once; await
    /// [`PendingSend::stored`] for the relay's acknowledgement. Lets one task keep a
    /// window of sends in flight (replies on one connection come back in order).
    pub fn send_queued(
        &self,
        send_id: SendId,
        envelope: Envelope,
    ) -> Result<PendingSend, ClientError> {
        let (reply, rx) = oneshot::channel();
        let command = Command::Send {
            send_id,
            envelope,
            sender_signature: None,
        };
        self.ops
            .send(Op::Request { command, reply })
            .map_err(|_| closed())?;
        Ok(PendingSend(rx))
    }

    /// Sends an envelope signed with the mailbox's sender key.
    pub async fn send_signed(
        &self,
        send_id: SendId,
        envelope: Envelope,
        sender: &SigningKey,
    ) -> Result<(), ClientError> {
        use ed25519_dalek::Signer;
        let proof = boucle_wire::sender_proof(&send_id, &envelope.header, &envelope.body);
        let signature = Signature::from_bytes(sender.sign(&proof).to_bytes());
        self.send_with(send_id, envelope, Some(signature)).await
    }

    /// Sends an envelope with the signature its mailbox's sender key requires, if any
    /// (`None` for a mailbox without one).
    pub async fn send_with_signature(
        &self,
        send_id: SendId,
        envelope: Envelope,
        sender_signature: Option<Signature>,
    ) -> Result<(), ClientError> {
        self.send_with(send_id, envelope, sender_signature).await
    }

    async fn send_with(
        &self,
        send_id: SendId,
        envelope: Envelope,
        sender_signature: Option<Signature>,
    ) -> Result<(), ClientError> {
        match self
            .request(Command::Send {
                send_id,
                envelope,
                sender_signature,
            })
            .await?
        {
            Reply::Stored => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends one body to many mailboxes of this relay; returns each recipient's outcome.
    pub async fn send_batch(
        &self,
        body: Body,
        recipients: Vec<BatchRecipient>,
    ) -> Result<Vec<Result<(), ErrorCode>>, ClientError> {
        match self
            .request(Command::SendBatch { body, recipients })
            .await?
        {
            Reply::BatchStored { outcomes } => Ok(outcomes),
            other => Err(unexpected(&other)),
        }
    }

    /// Proves ownership of a mailbox and starts receiving its envelopes.
    pub async fn subscribe(
        &self,
        receive_id: ReceiveId,
        owner: &SigningKey,
    ) -> Result<Subscription, ClientError> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (reply, rx) = oneshot::channel();
        self.ops
            .send(Op::Subscribe {
                receive_id,
                owner: owner.clone(),
                events: events_tx,
                reply,
            })
            .map_err(|_| closed())?;
        let reply = match tokio::time::timeout(self.options.request_timeout, rx).await {
            Err(_) => return Err(ClientError::Timeout),
            Ok(Err(_)) => return Err(closed()),
            Ok(Ok(result)) => result?,
        };
        match reply {
            Reply::Subscribed { stored } => Ok(Subscription {
                receive_id,
                stored,
                events,
                ops: self.ops.clone(),
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Acknowledges (deletes) a delivered envelope. Does not wait for the relay.
    pub fn ack(&self, receive_id: ReceiveId, seq: Seq) -> Result<(), ClientError> {
        self.ops
            .send(Op::Ack { receive_id, seq })
            .map_err(|_| closed())
    }

    /// How full a proven (subscribed) mailbox is.
    pub async fn status(&self, receive_id: ReceiveId) -> Result<MailboxStatus, ClientError> {
        match self.request(Command::Status { receive_id }).await? {
            Reply::Status(status) => Ok(status),
            other => Err(unexpected(&other)),
        }
    }

    /// Deletes a proven mailbox and everything in it.
    pub async fn delete_mailbox(&self, receive_id: ReceiveId) -> Result<(), ClientError> {
        self.done(Command::DeleteMailbox { receive_id }).await
    }

    /// Stops delivery of a mailbox on this connection.
    pub async fn unsubscribe(&self, receive_id: ReceiveId) -> Result<(), ClientError> {
        self.done(Command::Unsubscribe { receive_id }).await
    }

    /// Requires senders to sign with `sender_key`, or (with `None`) stops requiring it.
    pub async fn set_sender_key(
        &self,
        receive_id: ReceiveId,
        sender_key: Option<PublicKey>,
    ) -> Result<(), ClientError> {
        self.done(Command::SetSenderKey {
            receive_id,
            sender_key,
        })
        .await
    }

    /// Round trip to the relay.
    pub async fn ping(&self) -> Result<(), ClientError> {
        match self.request(Command::Ping).await? {
            Reply::Pong => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    async fn done(&self, command: Command) -> Result<(), ClientError> {
        match self.request(command).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

/// A send queued with [`RelayClient::send_queued`].
#[derive(Debug)]
pub struct PendingSend(oneshot::Receiver<Result<Reply, ClientError>>);

impl PendingSend {
    /// Waits until the relay has durably stored the envelope (or refused it).
    pub async fn stored(self) -> Result<(), ClientError> {
        match self.0.await.map_err(|_| closed())?? {
            Reply::Stored => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

/// A QUIC stream to a relay with its certificate checked, and no protocol on top: for
/// diagnostics and for tests that must send bytes a well-behaved client never would.
#[derive(Debug)]
pub struct RawStream {
    /// The local endpoint (keep it alive as long as the connection).
    pub endpoint: quinn::Endpoint,
    /// The connection.
    pub connection: quinn::Connection,
    /// Client-to-relay half of the stream.
    pub send: quinn::SendStream,
    /// Relay-to-client half of the stream.
    pub recv: quinn::RecvStream,
}

impl RawStream {
    /// Connects, checks the certificate fingerprint, and opens the protocol stream.
    pub async fn open(
        address: &RelayAddress,
        options: &ClientOptions,
    ) -> Result<RawStream, ClientError> {
        let remote = resolve(address).await?;
        let provider = rustls::crypto::ring::default_provider();
        let verifier = PinnedCertificate::new(*address.fingerprint(), &provider);
        let tls = tls::client_config(verifier.clone())
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let mut config = quinn::ClientConfig::new(Arc::new(quic));
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(options.keep_alive));
        config.transport_config(Arc::new(transport));

        let endpoint = client_endpoint(remote, options.socket_buffer)?;
        let connecting = endpoint
            .connect_with(config, remote, tls::SERVER_NAME)
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let connection = connecting.await.map_err(|e| match verifier.mismatch() {
            Some(presented) => ClientError::FingerprintMismatch { presented },
            None => ClientError::Connect(e.to_string()),
        })?;
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        Ok(RawStream {
            endpoint,
            connection,
            send,
            recv,
        })
    }
}

/// Envelopes of one mailbox, as the relay delivers them.
#[derive(Debug)]
pub struct Subscription {
    receive_id: ReceiveId,
    stored: u32,
    events: mpsc::UnboundedReceiver<SubscriptionEvent>,
    ops: mpsc::UnboundedSender<Op>,
}

impl Subscription {
    /// The mailbox.
    pub fn receive_id(&self) -> ReceiveId {
        self.receive_id
    }

    /// Envelopes stored when the subscription started.
    pub fn stored_at_start(&self) -> u32 {
        self.stored
    }

    /// The next event; `None` once the connection is gone.
    pub async fn next(&mut self) -> Option<SubscriptionEvent> {
        self.events.recv().await
    }

    /// The next envelope, skipping `Drained`; `None` when the subscription ended.
    pub async fn next_envelope(&mut self) -> Option<Delivery> {
        loop {
            match self.events.recv().await? {
                SubscriptionEvent::Envelope(delivery) => return Some(delivery),
                SubscriptionEvent::Drained => continue,
                SubscriptionEvent::Ended => return None,
            }
        }
    }

    /// Acknowledges (deletes) an envelope of this mailbox.
    pub fn ack(&self, seq: Seq) -> Result<(), ClientError> {
        self.ops
            .send(Op::Ack {
                receive_id: self.receive_id,
                seq,
            })
            .map_err(|_| closed())
    }
}

fn closed() -> ClientError {
    ClientError::Closed("the connection is gone".into())
}

fn unexpected(reply: &Reply) -> ClientError {
    ClientError::Protocol(format!("unexpected reply {reply:?}"))
}

async fn resolve(address: &RelayAddress) -> Result<SocketAddr, ClientError> {
    let host = address.host();
    let mut addresses = tokio::net::lookup_host((host, address.port()))
        .await
        .map_err(|e| ClientError::Resolve {
            host: host.to_owned(),
            reason: e.to_string(),
        })?;
    addresses.next().ok_or_else(|| ClientError::Resolve {
        host: host.to_owned(),
        reason: "no address found".into(),
    })
}

fn client_endpoint(remote: SocketAddr, buffer: usize) -> Result<quinn::Endpoint, ClientError> {
    let bind: SocketAddr = if remote.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(bind),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .map_err(|e| ClientError::Connect(e.to_string()))?;
    // Larger buffers avoid drops under load; the kernel may cap them, which is fine.
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    socket
        .bind(&bind.into())
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let socket: UdpSocket = socket.into();
    let runtime = quinn::default_runtime()
        .ok_or_else(|| ClientError::Connect("no async runtime is running".into()))?;
    quinn::Endpoint::new(quinn::EndpointConfig::default(), None, socket, runtime)
        .map_err(|e| ClientError::Connect(e.to_string()))
}
