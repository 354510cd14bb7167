//! `relay-bench`: throughput and latency of a relay, printed as one line of figures.
//!
//! With no `--relay`, it starts its own relay (this same program, re-executed as a
//! separate process so its memory can be measured) on a temporary data directory at
//! 127.0.0.1 port 0, and stops it after. Two phases:
//! (a) offline: S sender connections send M envelopes of SIZE bytes round-robin to R
//!     mailboxes, at most WINDOW unacknowledged per sender; then the owners subscribe
//!     and drain everything with acks;
//! (b) online: every mailbox subscribed, senders at RATE msg/s in all for DURATION s;
//!     latency = delivery time − send time.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use boucle_relay_client::{ClientOptions, MailboxIds, RelayClient, SubscriptionEvent};
use boucle_wire::{AccessToken, Body, Envelope, Header, RelayAddress};
use clap::Parser;
use ed25519_dalek::SigningKey;
use tokio::task::JoinSet;

/// Environment variable under which the re-executed bench acts as the relay.
const SERVE_ENV: &str = "RELAY_BENCH_SERVE_DIR";

#[derive(Parser, Debug, Clone)]
#[command(
    name = "relay-bench",
    about = "Measure a Boucle relay's throughput and latency"
)]
struct Args {
    /// Target a running relay instead of starting one.
    #[arg(long)]
    relay: Option<RelayAddress>,
    /// Access token for creating mailboxes on --relay (base64url).
    #[arg(long)]
    token: Option<String>,
    /// R: mailboxes.
    #[arg(long, default_value_t = 100)]
    mailboxes: usize,
    /// S: sender connections (also the number of owner connections).
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// M: envelopes in the offline phase.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// SIZE: body bytes per envelope.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// WINDOW: unacknowledged sends per sender.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// RATE: messages per second, all senders together, in the online phase.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
    /// DURATION: seconds of the online phase.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Durability of the relay this bench starts: fsync (default) or os-buffered.
    #[arg(long, default_value = "fsync")]
    durability: String,
}

fn main() -> anyhow::Result<()> {
    if let Some(dir) = std::env::var_os(SERVE_ENV) {
        return serve_internal(PathBuf::from(dir));
    }
    let args = Args::parse();
    if args.size < 16 || args.mailboxes == 0 || args.senders == 0 || args.window == 0 {
        bail!("--size must be at least 16, and --mailboxes, --senders, --window at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

/// The relay half: a real relay (the library the `boucle-relay` binary runs).
fn serve_internal(dir: PathBuf) -> anyhow::Result<()> {
    let durability = std::env::var("RELAY_BENCH_DURABILITY").unwrap_or_else(|_| "fsync".into());
    let mut config = boucle_relay::Config {
        listen: "127.0.0.1:0".parse()?,
        require_access_token: false,
        ..boucle_relay::Config::default()
    };
    config.durability = match durability.as_str() {
        "os-buffered" => boucle_relay::Durability::OsBuffered,
        _ => boucle_relay::Durability::Fsync,
    };
    config.limits.mailbox_max_envelopes = 1_000_000;
    config.limits.mailbox_max_bytes = 1 << 40;
    boucle_relay::datadir::init(&dir, &config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let relay = boucle_relay::Relay::bind(config, &dir)?;
        println!("relay address: {}", relay.address());
        relay.serve(boucle_relay::shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

struct OwnRelay {
    child: Child,
    dir: tempfile::TempDir,
    address: RelayAddress,
}

impl OwnRelay {
    fn start(durability: &str) -> anyhow::Result<OwnRelay> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(std::env::current_exe()?)
            .env(SERVE_ENV, dir.path().join("relay"))
            .env("RELAY_BENCH_DURABILITY", durability)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let Some(line) = lines.next() else {
                bail!("the relay exited before printing its address");
            };
            if let Some(address) = line?.strip_prefix("relay address: ") {
                break address.parse()?;
            }
        };
        Ok(OwnRelay {
            child,
            dir,
            address,
        })
    }

    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(f64::NAN)
    }

    fn disk_mb(&self) -> f64 {
        let file = self.dir.path().join("relay").join(boucle_relay::STORE_FILE);
        std::fs::metadata(file)
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or(f64::NAN)
    }

    fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the relay exited with {status}");
        }
        Ok(())
    }
}

struct Box_ {
    owner: SigningKey,
    ids: MailboxIds,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let own = match &args.relay {
        Some(_) => None,
        None => Some(OwnRelay::start(&args.durability)?),
    };
    let address = match (&args.relay, &own) {
        (Some(address), _) => address.clone(),
        (None, Some(own)) => own.address.clone(),
        (None, None) => unreachable!("one of them is set"),
    };
    let token = match &args.token {
        Some(text) => Some(
            boucle_relay::tokens::token_from_text(text).context("--token is not a valid token")?,
        ),
        None => None,
    };
    let options = ClientOptions::default();
    let mut senders = Vec::new();
    let mut owners = Vec::new();
    for _ in 0..args.senders {
        senders.push(RelayClient::connect(&address, options.clone()).await?);
        owners.push(RelayClient::connect(&address, options.clone()).await?);
    }
    let boxes = Arc::new(create_mailboxes(&owners, args.mailboxes, token).await?);
    eprintln!(
        "relay {address}: {} mailboxes, {} senders, {} envelopes of {} bytes, window {}",
        args.mailboxes, args.senders, args.messages, args.size, args.window
    );

    // (a) offline: send everything, then drain.
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (s, client) in senders.iter().enumerate() {
        let client = client.clone();
        let boxes = boxes.clone();
        let args = args.clone();
        tasks.spawn(async move {
            let mut window = std::collections::VecDeque::with_capacity(args.window);
            let mut n = s;
            while n < args.messages {
                if window.len() >= args.window
                    && let Some(pending) = window.pop_front()
                {
                    boucle_relay_client::PendingSend::stored(pending).await?;
                }
                let mailbox = &boxes[n % boxes.len()];
                window.push_back(
                    client.send_queued(mailbox.ids.send_id, numbered(n as u64, 0, args.size))?,
                );
                n += args.senders;
            }
            for pending in window {
                pending.stored().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let send_secs = started.elapsed().as_secs_f64();
    let (rss_mb, disk_mb) = own
        .as_ref()
        .map(|o| (o.rss_mb(), o.disk_mb()))
        .unwrap_or((f64::NAN, f64::NAN));

    // Each subscription collects what it received on its own; merged once at the end.
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (i, mailbox) in boxes.iter().enumerate() {
        let client = owners[i % owners.len()].clone();
        let owner = mailbox.owner.clone();
        let receive_id = mailbox.ids.receive_id;
        tasks.spawn(async move {
            let mut subscription = client.subscribe(receive_id, &owner).await?;
            let mut received = Vec::new();
            loop {
                match subscription.next().await {
                    Some(SubscriptionEvent::Envelope(delivery)) => {
                        subscription.ack(delivery.seq)?;
                        received.push(number_of(&delivery.envelope).0);
                    }
                    Some(SubscriptionEvent::Drained) => {
                        return anyhow::Ok((subscription, received));
                    }
                    _ => bail!("subscription ended while draining"),
                }
            }
        });
    }
    let mut subscriptions = Vec::new();
    let mut received = Vec::with_capacity(args.messages);
    let all_drained = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(result) = tasks.join_next().await {
            let (subscription, numbers) = result??;
            subscriptions.push(subscription);
            received.extend(numbers);
        }
        anyhow::Ok(())
    });
    all_drained
        .await
        .context("the drain did not finish within 120 s")??;
    let drain_secs = started.elapsed().as_secs_f64();
    if let Some(own) = &own {
        eprintln!(
            "relay rss after the drain (nothing stored): {:.1} MB",
            own.rss_mb()
        );
    }
    let mut seen = HashSet::with_capacity(received.len());
    let mut duplicates = received.iter().filter(|n| !seen.insert(**n)).count() as u64;
    let offline_seen = seen.len();
    let mut lost = args.messages.saturating_sub(offline_seen) as u64;
    wait_until_empty(&owners, &boxes).await?;

    // (b) online: everything subscribed, paced senders, latency per envelope.
    let (online_lost, online_dup, mut latencies) =
        online(&args, &senders, &boxes, subscriptions).await?;
    lost += online_lost;
    duplicates += online_dup;
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1e6
    };

    println!(
        "send_msgs_s={:.0} drain_msgs_s={:.0} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} rss_mb={:.1} disk_mb={:.1} lost={} dup={}",
        args.messages as f64 / send_secs,
        offline_seen as f64 / drain_secs,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        rss_mb,
        disk_mb,
        lost,
        duplicates
    );
    for client in senders.iter().chain(owners.iter()) {
        client.close();
    }
    if let Some(own) = own {
        own.stop()?;
    }
    Ok(())
}

/// Waits (bounded) until the relay has applied every acknowledgement, so the online
/// phase does not queue behind the offline phase's deletions.
async fn wait_until_empty(owners: &[RelayClient], boxes: &[Box_]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, mailbox) in boxes.iter().enumerate() {
        let client = &owners[i % owners.len()];
        while client.status(mailbox.ids.receive_id).await?.envelopes > 0 {
            if Instant::now() > deadline {
                bail!("the relay did not apply the acknowledgements within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

async fn create_mailboxes(
    owners: &[RelayClient],
    count: usize,
    token: Option<AccessToken>,
) -> anyhow::Result<Vec<Box_>> {
    let mut boxes = Vec::with_capacity(count);
    for i in 0..count {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let owner = SigningKey::from_bytes(&seed);
        let ids = owners[i % owners.len()]
            .create_mailbox(&owner, token)
            .await?;
        boxes.push(Box_ { owner, ids });
    }
    Ok(boxes)
}

type Online = (u64, u64, Vec<u64>);

async fn online(
    args: &Args,
    senders: &[RelayClient],
    boxes: &Arc<Vec<Box_>>,
    subscriptions: Vec<boucle_relay_client::Subscription>,
) -> anyhow::Result<Online> {
    let epoch = Instant::now();
    let total = args.rate * args.duration;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let seen = Arc::new(Mutex::new(HashSet::with_capacity(total as usize)));
    let dup = Arc::new(Mutex::new(0u64));
    let mut receivers = JoinSet::new();
    for mut subscription in subscriptions {
        let (latencies, seen, dup) = (latencies.clone(), seen.clone(), dup.clone());
        receivers.spawn(async move {
            while let Some(event) = subscription.next().await {
                if let SubscriptionEvent::Envelope(delivery) = event {
                    let now = epoch.elapsed().as_nanos() as u64;
                    let _ = subscription.ack(delivery.seq);
                    let (n, sent_at) = number_of(&delivery.envelope);
                    if let Ok(mut l) = latencies.lock() {
                        l.push(now.saturating_sub(sent_at));
                    }
                    if let (Ok(mut s), Ok(mut d)) = (seen.lock(), dup.lock())
                        && !s.insert(n)
                    {
                        *d += 1;
                    }
                }
            }
        });
    }

    let per_sender = total / senders.len() as u64;
    let interval = Duration::from_secs_f64(senders.len() as f64 / args.rate as f64);
    let mut tasks = JoinSet::new();
    for (s, client) in senders.iter().enumerate() {
        let client = client.clone();
        let boxes = boxes.clone();
        let size = args.size;
        let count = senders.len() as u64;
        tasks.spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut pending = Vec::new();
            for i in 0..per_sender {
                ticker.tick().await;
                let n = 1_000_000_000 + i * count + s as u64;
                let mailbox = &boxes[(n as usize) % boxes.len()];
                let sent_at = epoch.elapsed().as_nanos() as u64;
                pending.push(client.send_queued(mailbox.ids.send_id, numbered(n, sent_at, size))?);
                if pending.len() >= 64 {
                    for p in pending.drain(..) {
                        p.stored().await?;
                    }
                }
            }
            for p in pending {
                p.stored().await?;
            }
            anyhow::Ok(per_sender)
        });
    }
    let mut sent = 0;
    while let Some(result) = tasks.join_next().await {
        sent += result??;
    }
    // Give the last deliveries a moment (bounded), then stop the receivers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().map(|s| s.len() as u64).unwrap_or(0) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    receivers.abort_all();
    let received = seen.lock().map(|s| s.len() as u64).unwrap_or(0);
    let dup = *dup.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let latencies =
        std::mem::take(&mut *latencies.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok((sent.saturating_sub(received), dup, latencies))
}

/// A body carrying a message number and a send time (nanoseconds since the bench epoch).
fn numbered(n: u64, sent_at: u64, size: usize) -> Envelope {
    let mut body = vec![0u8; size];
    body[..8].copy_from_slice(&n.to_be_bytes());
    body[8..16].copy_from_slice(&sent_at.to_be_bytes());
    Envelope {
        header: Header::default(),
        body: Body::new(body).unwrap_or_default(),
    }
}

fn number_of(envelope: &Envelope) -> (u64, u64) {
    let b = envelope.body.as_bytes();
    let mut n = [0u8; 8];
    let mut t = [0u8; 8];
    if b.len() >= 16 {
        n.copy_from_slice(&b[..8]);
        t.copy_from_slice(&b[8..16]);
    }
    (u64::from_be_bytes(n), u64::from_be_bytes(t))
}
