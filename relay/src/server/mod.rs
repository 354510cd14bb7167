//! The QUIC server: admits connections within limits ([`admission`]), runs one task per
//! connection, sweeps expired envelopes, and shuts down gracefully.
//!
//! Memory: QUIC's own buffers are bounded per connection by the windows below (small
//! until a connection has proved something), undecoded input by one relay-wide budget,
//! and output by [`connection`]'s budget; relay-protocol §13 adds them up.

mod admission;
mod connection;
mod refusals;
mod slots;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use boucle_wire::RelayAddress;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::error::RelayError;
use crate::hub::Hub;
use crate::store::writer::{OpKind, SystemClock, WriteOp, Writer};
use crate::store::{STORE_FILE, Store};
use crate::tls::Identity;
use crate::tokens::TokenFile;

/// UDP socket buffer size asked of the kernel (the default drops packets under load).
const SOCKET_BUFFER: usize = 4 << 20;
/// How long in-flight requests may take to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the live counters are written to the `stats` file.
const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// QUIC flow-control windows (bytes the peer may send ahead of what the relay has read)
/// and send windows (bytes the relay buffers until acknowledged), for connections that
/// have proved nothing, and once they have (`connection` raises them).
pub(crate) const UNPROVEN_RECEIVE_WINDOW: u32 = 64 << 10;
pub(crate) const UNPROVEN_SEND_WINDOW: u64 = 64 << 10;
pub(crate) const PROVEN_RECEIVE_WINDOW: u32 = 1 << 20;
pub(crate) const PROVEN_SEND_WINDOW: u64 = 2 << 20;
/// Connection attempts quinn may queue before the accept loop sees them, and what each
/// (and all together) may buffer meanwhile.
const MAX_INCOMING: usize = 4_096;
const INCOMING_BUFFER: u64 = 16 << 10;
const INCOMING_BUFFER_TOTAL: u64 = 8 << 20;

/// What connection tasks share.
pub(crate) struct Context {
    pub config: Config,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub writer: mpsc::Sender<WriteOp>,
    pub tokens: TokenFile,
    /// Connections in the table, for the stats file.
    pub connections: AtomicUsize,
    /// QUIC handshakes in progress.
    pub handshaking: AtomicUsize,
    pub slots: slots::Slots,
}

/// A relay bound to its socket, ready to serve.
pub struct Relay {
    endpoint: quinn::Endpoint,
    address: RelayAddress,
    context: Arc<Context>,
    writer: Writer,
    data_dir: PathBuf,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Opens the data directory's store and binds the listening socket.
    pub fn bind(config: Config, data_dir: &Path) -> Result<Relay, RelayError> {
        let identity = Identity::load(data_dir)?;
        let store = Store::open(&data_dir.join(STORE_FILE))?;
        let hub = Arc::new(Hub::new(config.limits.clone()));
        let writer = Writer::start(
            store.clone(),
            hub.clone(),
            config.limits.clone(),
            config.durability,
            Arc::new(SystemClock),
        )?;
        let mut server_config = identity.server_config()?;
        let mut transport = quinn::TransportConfig::default();
        let idle = Duration::from_secs(config.limits.idle_timeout_secs.max(1));
        transport
            .max_idle_timeout(quinn::IdleTimeout::try_from(idle).ok())
            .max_concurrent_bidi_streams(1u32.into())
            .max_concurrent_uni_streams(0u32.into())
            .stream_receive_window(PROVEN_RECEIVE_WINDOW.into())
            .receive_window(UNPROVEN_RECEIVE_WINDOW.into())
            .send_window(UNPROVEN_SEND_WINDOW)
            // The protocol uses no QUIC datagrams: buffer none.
            .datagram_receive_buffer_size(None);
        server_config.transport_config(Arc::new(transport));
        server_config
            .max_incoming(MAX_INCOMING)
            .incoming_buffer_size(INCOMING_BUFFER)
            .incoming_buffer_size_total(INCOMING_BUFFER_TOTAL);
        let socket = bind_socket(config.listen)?;
        let local = socket.local_addr().map_err(|source| RelayError::Listen {
            address: config.listen,
            source,
        })?;
        let runtime = quinn::default_runtime().ok_or_else(|| RelayError::Listen {
            address: config.listen,
            source: std::io::Error::other("no async runtime"),
        })?;
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server_config),
            socket,
            runtime,
        )
        .map_err(|source| RelayError::Listen {
            address: config.listen,
            source,
        })?;
        let address =
            RelayAddress::new(&config.address_host(), local.port(), identity.fingerprint())
                .map_err(|e| RelayError::Config {
                    path: data_dir.join("config.toml"),
                    reason: format!("public_host: {e}"),
                })?;
        let context = Arc::new(Context {
            store,
            hub,
            writer: writer.sender.clone(),
            tokens: TokenFile::new(data_dir),
            connections: AtomicUsize::new(0),
            handshaking: AtomicUsize::new(0),
            slots: slots::Slots::new(&config.limits),
            config,
        });
        Ok(Relay {
            endpoint,
            address,
            context,
            writer,
            data_dir: data_dir.to_owned(),
        })
    }

    /// The address clients use.
    pub fn address(&self) -> &RelayAddress {
        &self.address
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> Result<SocketAddr, RelayError> {
        self.endpoint
            .local_addr()
            .map_err(|source| RelayError::Listen {
                address: self.context.config.listen,
                source,
            })
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests
    /// finish and their commits land, and returns.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), RelayError> {
        let Relay {
            endpoint,
            context,
            writer,
            data_dir,
            ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut connections = JoinSet::new();
        let background = tokio::spawn(background(context.clone(), data_dir.clone()));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                incoming = endpoint.accept() => {
                    let Some(incoming) = incoming else { break };
                    match door(&context, &incoming) {
                        Door::Admit(id, evicted) => {
                            connections.spawn(connection::run(context.clone(), incoming, id, evicted, stop_rx.clone()));
                        }
                        Door::Retry => {
                            if let Err(error) = incoming.retry() {
                                error.into_incoming().refuse();
                            }
                        }
                        Door::Refuse => incoming.refuse(),
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        tracing::info!("shutting down: no new connections; finishing in-flight requests");
        endpoint.set_server_config(None);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("some connections did not finish in time; closing them");
            connections.shutdown().await;
        }
        background.abort();
        let _ = background.await;
        write_stats_file(&context, &data_dir);
        drop(context);
        // Every sender is gone: the writer commits what is queued and stops.
        tokio::task::spawn_blocking(move || writer.finish())
            .await
            .map_err(|e| RelayError::Store(e.to_string()))?;
        endpoint.close(0u32.into(), b"relay shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// What to do with a connection attempt.
enum Door {
    Admit(admission::ConnId, Arc<tokio::sync::Notify>),
    /// Ask the client to prove its address first (QUIC Retry; no state kept).
    Retry,
    Refuse,
}

/// Admits a connection attempt, or answers it without keeping state. While many
/// handshakes are in progress, or when a limit would refuse an address not yet proven to
/// be the client's, the client is first asked to prove its address: so spoofed attempts
/// cost nothing and cannot use up a real client's per-address allowance.
fn door(context: &Context, incoming: &quinn::Incoming) -> Door {
    let validated = incoming.remote_address_validated();
    let may_retry = !validated && incoming.may_retry();
    let under_load = context.handshaking.load(Ordering::Relaxed)
        >= context.config.limits.retry_above_handshakes as usize;
    if under_load && may_retry {
        return Door::Retry;
    }
    let admitted = context
        .slots
        .admit(incoming.remote_address().ip(), validated, Instant::now());
    context
        .connections
        .store(context.slots.len(), Ordering::Relaxed);
    match admitted {
        Ok((id, evicted)) => Door::Admit(id, evicted),
        Err(_) if may_retry => Door::Retry,
        Err(refusal) => {
            context
                .slots
                .note(refusals::Turned::Refused(refusal), Instant::now());
            Door::Refuse
        }
    }
}

/// Sweeps expired envelopes and writes the stats file, forever.
async fn background(context: Arc<Context>, data_dir: PathBuf) {
    let sweep = Duration::from_secs(context.config.limits.expiry_sweep_secs);
    let mut sweep_timer = tokio::time::interval(sweep);
    let mut stats_timer = tokio::time::interval(STATS_INTERVAL);
    let mut tick_timer = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick_timer.tick() => {
                let op = WriteOp { kind: OpKind::Tick, reply: None };
                if context.writer.send(op).await.is_err() {
                    return;
                }
            }
            _ = sweep_timer.tick() => {
                let op = WriteOp { kind: OpKind::Expire, reply: None };
                if context.writer.send(op).await.is_err() {
                    return;
                }
            }
            _ = stats_timer.tick() => {
                write_stats_file(&context, &data_dir);
                context.slots.flush_log(Instant::now());
            }
        }
    }
}

/// The live counters, for `boucle-relay stats` while the relay runs.
pub const STATS_FILE: &str = "stats";

fn write_stats_file(context: &Context, data_dir: &Path) {
    let (mailboxes, envelopes, bytes) = context.hub.counters();
    let file_bytes = std::fs::metadata(data_dir.join(STORE_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    let text = format!(
        "updated_unix_ms = {}\nmailboxes = {mailboxes}\nenvelopes = {envelopes}\nenvelope_bytes = {bytes}\nfile_bytes = {file_bytes}\nconnections = {}\npartial_input_bytes = {}\n",
        crate::store::writer::unix_ms(),
        context.connections.load(Ordering::Relaxed),
        context.slots.input_used(),
    );
    let path = data_dir.join(STATS_FILE);
    if let Err(error) = std::fs::write(&path, text) {
        tracing::warn!(%error, "cannot write the stats file");
    }
}

fn bind_socket(address: SocketAddr) -> Result<UdpSocket, RelayError> {
    let listen_error = |source| RelayError::Listen { address, source };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .map_err(listen_error)?;
    // The kernel may cap these; smaller buffers only cost throughput.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    if address.is_ipv6() {
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&address.into()).map_err(listen_error)?;
    Ok(socket.into())
}
