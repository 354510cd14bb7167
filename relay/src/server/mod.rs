//! The QUIC server: accepts connections within limits, runs one task per connection,
//! sweeps expired envelopes, and shuts down gracefully.

mod connection;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use boucle_wire::RelayAddress;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::error::RelayError;
use crate::hub::Hub;
use crate::store::writer::{OpKind, WriteOp, Writer};
use crate::store::{STORE_FILE, Store};
use crate::tls::Identity;
use crate::tokens::TokenFile;

/// UDP socket buffer size asked of the kernel (the default drops packets under load).
const SOCKET_BUFFER: usize = 4 << 20;
/// How long in-flight requests may take to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the live counters are written to the `stats` file.
const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// What connection tasks share.
pub(crate) struct Context {
    pub config: Config,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub writer: mpsc::Sender<WriteOp>,
    pub tokens: TokenFile,
    pub connections: AtomicUsize,
    pub next_connection: AtomicU64,
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
        )?;
        let mut server_config = identity.server_config()?;
        let mut transport = quinn::TransportConfig::default();
        let idle = Duration::from_secs(config.limits.idle_timeout_secs.max(1));
        transport
            .max_idle_timeout(quinn::IdleTimeout::try_from(idle).ok())
            .max_concurrent_bidi_streams(1u32.into())
            .max_concurrent_uni_streams(0u32.into());
        server_config.transport_config(Arc::new(transport));
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
            next_connection: AtomicU64::new(0),
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
                    let max = context.config.limits.max_connections as usize;
                    if context.connections.load(Ordering::Relaxed) >= max {
                        tracing::warn!("connection refused: the connection limit is reached");
                        incoming.refuse();
                        continue;
                    }
                    context.connections.fetch_add(1, Ordering::Relaxed);
                    let id = context.next_connection.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(connection::run(context.clone(), incoming, id, stop_rx.clone()));
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
            _ = stats_timer.tick() => write_stats_file(&context, &data_dir),
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
        "updated_unix_ms = {}\nmailboxes = {mailboxes}\nenvelopes = {envelopes}\nenvelope_bytes = {bytes}\nfile_bytes = {file_bytes}\nconnections = {}\n",
        crate::store::writer::unix_ms(),
        context.connections.load(Ordering::Relaxed),
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
