//! Client engine figures on loopback (a benchmark, not a test):
//!
//! - latency: time from `Engine::send_text` to the recipient's `Event::MessageReceived`,
//!   over messages sent one at a time (p50, p99);
//! - cold unlock: `Engine::unlock` of a profile holding 10,000 received messages, with
//!   the recommended passphrase hashing cost (`KdfParams::recommended`);
//! - store size per 1,000 messages (that profile's directory size / 10);
//! - file transfer: a random file (10 MiB) sent to a loop of three, from `send_file` until
//!   both other members hold it complete and checked, in MiB/s.
//!
//! ```text
//! export CARGO_TARGET_DIR=...   # if you use one
//! cargo build --release -p boucle-relay
//! cargo run --release -p boucle-e2e --bin client-bench [-- --latency 1000 --fill 10000 --file-mib 10]
//! ```
//!
//! It starts its own relay (`boucle-test-support`'s `RelayProcess`) from the
//! `boucle-relay` binary next to this executable (so build the relay with the same
//! profile and target directory first), or from `BOUCLE_RELAY_BIN` if set. The last line
//! printed holds all the figures.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use boucle_client_core::store::KdfParams;
use boucle_client_core::{ContactId, ConversationId, Engine, EngineOptions, Event};
use boucle_test_support::{RelayOptions, RelayProcess};
use clap::Parser;
use tokio::sync::broadcast::error::RecvError;

const PASSPHRASE: &str = "correct horse battery staple";

/// Client engine figures on loopback: send-to-receive latency, cold unlock, store size,
/// file transfer to a loop of three.
#[derive(Parser, Debug)]
#[command(name = "client-bench")]
struct Args {
    /// Messages sent one at a time for the latency figures.
    #[arg(long, default_value_t = 1_000)]
    latency: usize,
    /// Messages received before the cold-unlock and store-size figures.
    #[arg(long, default_value_t = 10_000)]
    fill: usize,
    /// Size in MiB of the file sent to a loop of three.
    #[arg(long, default_value_t = 10)]
    file_mib: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("BOUCLE_RELAY_BIN").is_none() {
        // RelayProcess looks next to test executables (target/<profile>/deps/..), not next
        // to binaries; setting the variable in this process would need `unsafe`, so run
        // again with it set.
        let exe = std::env::current_exe()?;
        let relay = exe.with_file_name("boucle-relay");
        anyhow::ensure!(
            relay.is_file(),
            "{} not found: run `cargo build --release -p boucle-relay` first, or set BOUCLE_RELAY_BIN",
            relay.display()
        );
        let status = Command::new(&exe)
            .args(std::env::args_os().skip(1))
            .env("BOUCLE_RELAY_BIN", relay)
            .status()?;
        std::process::exit(status.code().unwrap_or(1));
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?
        .block_on(run(args.latency, args.fill, args.file_mib))
}

fn options(kdf: KdfParams) -> EngineOptions {
    EngineOptions {
        kdf,
        ..EngineOptions::default()
    }
}

async fn create(
    dir: &Path,
    name: &str,
    relay: &RelayProcess,
    kdf: KdfParams,
) -> anyhow::Result<Engine> {
    Ok(Engine::create(
        &dir.join(name),
        PASSPHRASE,
        name,
        &relay.address().to_string(),
        None,
        options(kdf),
    )
    .await?)
}

/// `a` invites, `b` accepts; returns (b's id at a, a's id at b).
async fn introduce(a: &Engine, b: &Engine) -> anyhow::Result<(ContactId, ContactId)> {
    let invitation = a.invite().await?;
    let a_at_b = b.accept(&invitation.to_link()).await?;
    let b_name = b.name()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(c) = a.contacts()?.into_iter().find(|c| c.name == b_name) {
            return Ok((c.id, a_at_b.id));
        }
        anyhow::ensure!(Instant::now() < deadline, "the invitation was not answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn dir_size(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn run(latency_n: usize, fill_n: usize, file_mib: usize) -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_envelopes", 1_000_000)],
        ..RelayOptions::default()
    })?;
    println!("relay at {}", relay.address());
    let dir = tempfile::Builder::new().prefix("boucle-bench").tempdir()?;

    // 1. Latency, one message at a time.
    let alice = create(dir.path(), "alice", &relay, KdfParams::for_tests()).await?;
    let bob = create(dir.path(), "bob", &relay, KdfParams::for_tests()).await?;
    let (bob_id, _) = introduce(&alice, &bob).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let mut events = bob.events();
    let mut times = Vec::with_capacity(latency_n);
    for i in 0..latency_n {
        let start = Instant::now();
        let sent = alice.send_text(to_bob, &format!("latency {i}"))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match tokio::time::timeout_at(deadline, events.recv())
                .await
                .context("a message did not arrive within 30 s")?
            {
                Ok(Event::MessageReceived(view)) if view.id == sent.id => break,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => anyhow::bail!("the event stream closed"),
            }
        }
        times.push(start.elapsed());
    }
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "latency over {latency_n} messages: p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    bob.lock().await;

    // 2. A profile with `fill_n` messages, recommended passphrase hashing.
    let carol = create(dir.path(), "carol", &relay, KdfParams::recommended()).await?;
    let (carol_id, alice_at_carol) = introduce(&alice, &carol).await?;
    let to_carol = ConversationId::Contact(carol_id);
    let from_alice = ConversationId::Contact(alice_at_carol);
    let started = Instant::now();
    for i in 0..fill_n {
        alice.send_text(
            to_carol,
            &format!("message number {i} of the fill, a typical short text"),
        )?;
    }
    let queued = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let n = carol.history(from_alice, None, fill_n + 10)?.len();
        if n >= fill_n {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {n} of {fill_n} messages arrived"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let filled = started.elapsed();
    carol.sync(Duration::from_secs(120)).await;
    alice.sync(Duration::from_secs(120)).await;
    println!(
        "filled with {fill_n} messages: queued in {:.1} s, all received in {:.1} s",
        queued.as_secs_f64(),
        filled.as_secs_f64()
    );
    carol.lock().await;
    let profile = dir.path().join("carol");
    let size = dir_size(&profile)?;

    let start = Instant::now();
    let carol = Engine::unlock(&profile, PASSPHRASE, options(KdfParams::recommended())).await?;
    let unlock = start.elapsed();
    let start = Instant::now();
    let page = carol.history(from_alice, None, 50)?;
    let first_page = start.elapsed();
    anyhow::ensure!(page.len() == 50);
    carol.lock().await;
    alice.lock().await;

    // 3. A file to a loop of three.
    let file = file_to_loop(dir.path(), &relay, file_mib).await?;

    let per_1000 = size as f64 * 1000.0 / fill_n as f64;
    println!(
        "cold unlock ({fill_n} messages, recommended KDF): {:.0} ms; first history page {:.2} ms",
        unlock.as_secs_f64() * 1e3,
        first_page.as_secs_f64() * 1e3
    );
    println!(
        "store: {:.1} MiB for {fill_n} messages, {:.0} KiB per 1,000",
        size as f64 / 1048576.0,
        per_1000 / 1024.0
    );
    println!(
        "FIGURES: send->event p50 {p50:.2} ms p99 {p99:.2} ms (n={latency_n}); cold unlock {:.0} ms ({fill_n} msgs, recommended KDF); store {:.0} KiB per 1,000 messages; file {file_mib} MiB to a loop of 3: {:.1} MiB/s",
        unlock.as_secs_f64() * 1e3,
        per_1000 / 1024.0,
        file
    );
    Ok(())
}

/// Sends a random file of `mib` MiB to a loop of three; returns MiB/s from `send_file`
/// until both other members hold it complete (0 when `mib` is 0).
async fn file_to_loop(dir: &Path, relay: &RelayProcess, mib: usize) -> anyhow::Result<f64> {
    use boucle_client_core::TransferState;
    if mib == 0 {
        return Ok(0.0);
    }
    let kdf = KdfParams::for_tests;
    let xavier = create(dir, "xavier", relay, kdf()).await?;
    let yara = create(dir, "yara", relay, kdf()).await?;
    let zoe = create(dir, "zoe", relay, kdf()).await?;
    let (yara_id, _) = introduce(&xavier, &yara).await?;
    let (zoe_id, _) = introduce(&xavier, &zoe).await?;
    let id = xavier.create_loop("bench", &[yara_id, zoe_id]).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    for engine in [&xavier, &yara, &zoe] {
        while !engine
            .loops()?
            .iter()
            .any(|l| l.id == id && l.member && l.members == 3)
        {
            anyhow::ensure!(Instant::now() < deadline, "the loop did not form");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let conversation = ConversationId::Loop(id);
    let mut data = vec![0u8; mib << 20];
    rand::fill(&mut data[..]);
    let start = Instant::now();
    let sent = xavier
        .send_file(conversation, "bench.bin", None, data.clone())
        .await?;
    let queued = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    for engine in [&yara, &zoe] {
        loop {
            match engine.attachment(conversation, sent.id).map(|a| a.state) {
                Ok(TransferState::Complete) => break,
                Ok(TransferState::Failed(reason)) => anyhow::bail!("the file failed: {reason}"),
                _ => {}
            }
            anyhow::ensure!(Instant::now() < deadline, "the file did not arrive");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let elapsed = start.elapsed();
    anyhow::ensure!(zoe.attachment_bytes(conversation, sent.id)? == data);
    let rate = mib as f64 / elapsed.as_secs_f64();
    println!(
        "file of {mib} MiB to a loop of 3: queued in {:.2} s, at both members in {:.2} s: {rate:.1} MiB/s",
        queued.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    for engine in [xavier, yara, zoe] {
        engine.lock().await;
    }
    Ok(rate)
}
