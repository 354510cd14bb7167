//! An outside attacker speaking QUIC by hand (issue 12, item 1): many connections that
//! hold partial 512 KiB frames, connections that only send QUIC PINGs after their hello,
//! and connections that never say hello, while a real client connects, sends and
//! receives. The relay's whole-process memory stays under the bound of relay-protocol
//! §13, the client is served, and the relay closes what proves nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use boucle_e2e::{connect, mailboxes, number_of, numbered, rss_bytes};
use boucle_relay_client::{ClientOptions, RawStream};
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::{ClientFrame, Command, RelayAddress, RequestId, encode_frame};
use tokio::task::JoinSet;

/// The bound relay-protocol §13 states for the default configuration.
const RSS_BOUND: u64 = 256 << 20;
const PARTIAL: usize = 600;
const PING_ONLY: usize = 200;
const NO_HELLO: usize = 200;
const WAIT: Duration = Duration::from_secs(20);

fn hello() -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_frame(
        &ClientFrame {
            request: RequestId(0),
            command: Command::Hello,
        },
        &mut bytes,
    )
    .expect("a hello encodes");
    bytes
}

fn attacker_options() -> ClientOptions {
    ClientOptions {
        // Only QUIC PINGs keep these connections alive.
        keep_alive: Duration::from_secs(1),
        socket_buffer: 256 << 10,
        ..ClientOptions::default()
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Hello, then a frame announcing 512 KiB, all sent but its last byte.
    Partial,
    /// Hello, then nothing but QUIC PINGs.
    PingOnly,
    /// One byte, never a complete hello.
    NoHello,
}

/// How one attacking connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    /// The relay refused or dropped it during the handshake.
    NotOpened,
    /// The relay closed it, with this QUIC application close code (`u64::MAX`: another
    /// kind of close).
    Closed(u64),
    /// Still open when the test stopped it.
    Open,
}

/// Opens one attacking connection, plays its part, and reports how it ended.
async fn attack(address: RelayAddress, kind: Kind, stop: Arc<AtomicBool>) -> Outcome {
    let deadline = tokio::time::Instant::now() + WAIT;
    let opened =
        tokio::time::timeout_at(deadline, RawStream::open(&address, &attacker_options())).await;
    let Ok(Ok(stream)) = opened else {
        return Outcome::NotOpened;
    };
    let RawStream {
        endpoint: _endpoint,
        connection,
        mut send,
        recv: _recv,
    } = stream;
    let bytes = match kind {
        Kind::Partial => {
            let mut bytes = hello();
            let len = 512 * 1024u32;
            bytes.extend(len.to_be_bytes());
            bytes.push(1);
            bytes.resize(bytes.len() + len as usize - 2, 0xee);
            bytes
        }
        Kind::PingOnly => hello(),
        Kind::NoHello => vec![0],
    };
    // Flow control may hold the write back for good: that is the relay defending itself.
    let writing = async {
        let _ = send.write_all(&bytes).await;
        std::future::pending::<()>().await;
    };
    let closed = async {
        let error = connection.closed().await;
        match error {
            quinn::ConnectionError::ApplicationClosed(close) => close.error_code.into_inner(),
            _ => u64::MAX,
        }
    };
    let watch_stop = async {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        () = writing => Outcome::Open,
        code = closed => Outcome::Closed(code),
        () = watch_stop => Outcome::Open,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_prove_nothing_cannot_hold_the_relay() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        // The per-address limits would stop this attack from one address at once (see
        // the next test): lift them, so the other defences are what is tested.
        limits: vec![
            ("max_connections_per_address", 100_000),
            ("handshakes_per_address_per_sec", 100_000),
            ("handshake_burst_per_address", 100_000),
            // Short, so the test sees each deadline close its connections.
            ("handshake_timeout_secs", 3),
            ("unsubscribed_idle_secs", 6),
        ],
        ..RelayOptions::default()
    })?;
    let pid = relay.pid().expect("running");
    let address = relay.address().clone();

    let peak = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            for _ in 0..1_200 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                peak.fetch_max(rss_bytes(pid).unwrap_or(0), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let started = Instant::now();
    let mut attackers = JoinSet::new();
    let kinds = std::iter::repeat_n(Kind::Partial, PARTIAL)
        .chain(std::iter::repeat_n(Kind::PingOnly, PING_ONLY))
        .chain(std::iter::repeat_n(Kind::NoHello, NO_HELLO));
    for (n, kind) in kinds.enumerate() {
        let (address, stop) = (address.clone(), stop.clone());
        attackers.spawn(async move { (kind, attack(address, kind, stop).await) });
        if n % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Meanwhile a real client connects, sends and receives.
    let client = tokio::time::timeout(WAIT, connect(&address)).await??;
    let boxes = tokio::time::timeout(WAIT, mailboxes(&client, 1)).await??;
    let mut subscription = client
        .subscribe(boxes[0].ids.receive_id, &boxes[0].owner)
        .await?;
    let mut worst = Duration::ZERO;
    for n in 0..20 {
        let sent = Instant::now();
        tokio::time::timeout(
            WAIT,
            client.send(boxes[0].ids.send_id, numbered(0, n, 60_000)),
        )
        .await??;
        let delivery = tokio::time::timeout(WAIT, subscription.next_envelope())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the subscription ended"))?;
        assert_eq!(number_of(&delivery.envelope), (0, n));
        subscription.ack(delivery.seq)?;
        worst = worst.max(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "real client during the attack: worst send-to-delivery {worst:?} (after {:?} of attack)",
        started.elapsed()
    );

    // Everything that proved nothing is closed by the relay within its deadlines.
    let mut closed = std::collections::HashMap::<(String, u64), usize>::new();
    let mut still_open = std::collections::HashMap::<String, usize>::new();
    let mut not_opened = 0;
    let settle = tokio::time::Instant::now() + Duration::from_secs(40);
    while let Ok(Some(done)) = tokio::time::timeout_at(settle, attackers.join_next()).await {
        let (kind, outcome) = done?;
        match outcome {
            Outcome::Closed(code) => *closed.entry((format!("{kind:?}"), code)).or_default() += 1,
            Outcome::Open => *still_open.entry(format!("{kind:?}")).or_default() += 1,
            Outcome::NotOpened => not_opened += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    attackers.shutdown().await;
    sampler.await?;
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "relay peak RSS {} MiB; closed by the relay (kind, code): {closed:?}; still open: \
         {still_open:?}; not opened: {not_opened}",
        peak >> 20
    );
    assert!(
        peak < RSS_BOUND,
        "relay RSS reached {} MiB (bound {} MiB)",
        peak >> 20,
        RSS_BOUND >> 20
    );
    assert!(
        still_open.is_empty(),
        "the relay kept connections that proved nothing"
    );
    let closed_total: usize = closed.values().sum();
    assert_eq!(closed_total + not_opened, PARTIAL + PING_ONLY + NO_HELLO);
    // The hello deadline (code 3) closes those that never said hello, the unsubscribed
    // idle rule (code 4) those that only PING, unless displaced first (code 6) by newer
    // connections, which it does to the oldest.
    let count = |kind: &str, code: u64| closed.get(&(kind.into(), code)).copied().unwrap_or(0);
    assert!(count("NoHello", 3) > 0, "{closed:?}");
    assert!(count("PingOnly", 4) > 0, "{closed:?}");

    // And the relay still serves.
    client
        .send(boxes[0].ids.send_id, numbered(0, 99, 64))
        .await?;
    let delivery = tokio::time::timeout(WAIT, subscription.next_envelope()).await?;
    assert!(delivery.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_a_bounded_share_and_refusals_are_summarized() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("max_connections_per_address", 8)],
        ..RelayOptions::default()
    })?;
    let address = relay.address().clone();
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut stream = RawStream::open(&address, &attacker_options()).await?;
        stream.send.write_all(&hello()).await?;
        held.push(stream);
    }
    let mut refused = 0;
    for _ in 0..40 {
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            RawStream::open(&address, &attacker_options()),
        )
        .await;
        if !matches!(attempt, Ok(Ok(_))) {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 40,
        "the ninth connection from one address is refused"
    );
    // One summary line, not a line per refusal (the relay writes it within ~15 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = relay.log();
        let summaries: Vec<_> = log
            .lines()
            .filter(|l| l.contains("refused") && l.contains("connection"))
            .collect();
        if let Some(line) = summaries.first() {
            assert_eq!(summaries.len(), 1, "{summaries:#?}");
            assert!(line.contains("refused 40 connections"), "{line}");
            assert!(line.contains("per-address limit: 40"), "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no summary line in the log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(held);
    Ok(())
}
