//! Durability: a long time offline, a relay killed with messages in flight, a client
//! killed mid-send. Nothing is lost, nothing is shown twice, order is kept.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use boucle_client_core::{ConversationId, DeliveryState, Engine};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{
    PASSPHRASE, User, assert_exactly_once_in_order, eventually, introduce, options, received_count,
    relay_envelopes,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_for_1000_messages_then_all_arrive_in_order_once() -> anyhow::Result<()> {
    const N: usize = 1_000;
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let to_alice = ConversationId::Contact(alice_id);

    let User {
        dir: bob_dir,
        engine: bob_engine,
        ..
    } = bob;
    let profile = bob_dir.path().join("profile");
    bob_engine.lock().await;

    let started = Instant::now();
    for i in 0..N {
        alice.engine.send_text(to_bob, &format!("offline-{i:05}"))?;
    }
    println!("queued {N} in {:?}", started.elapsed());
    anyhow::ensure!(
        alice.engine.sync(Duration::from_secs(120)).await,
        "Alice's outbox did not empty: {} left",
        alice.engine.outbox_len()?
    );
    println!("sent {N} in {:?}", started.elapsed());
    let mine = alice.engine.history(to_bob, None, 10_000)?;
    assert_eq!(mine.len(), N);
    assert!(
        mine.iter().all(|m| m.delivery == Some(DeliveryState::Sent)),
        "with Bob offline, every message is stored by the relay and not yet delivered"
    );

    let started = Instant::now();
    let bob = Engine::unlock(&profile, PASSPHRASE, options()).await?;
    anyhow::ensure!(
        bob.sync(Duration::from_secs(120)).await,
        "Bob did not catch up"
    );
    eventually(Duration::from_secs(60), "Bob to have all messages", || {
        (received_count(&bob, to_alice) >= N).then_some(())
    })
    .await?;
    assert_exactly_once_in_order(&bob, to_alice, "offline-", N)?;
    println!("received {N} in {:?} after unlock", started.elapsed());

    // Alice learns that each one was delivered.
    eventually(Duration::from_secs(60), "all delivery receipts", || {
        let mine = alice.engine.history(to_bob, None, 10_000).ok()?;
        mine.iter()
            .all(|m| m.delivery == Some(DeliveryState::Delivered))
            .then_some(())
    })
    .await?;
    // The relay dropped every acknowledged envelope.
    eventually(
        Duration::from_secs(30),
        "the relay's mailboxes to empty",
        || (relay_envelopes(&relay)? == 0).then_some(()),
    )
    .await?;
    // And nothing comes back later.
    bob.sync(Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once_in_order(&bob, to_alice, "offline-", N)?;
    bob.lock().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relay_killed_with_messages_in_flight_loses_and_repeats_nothing() -> anyhow::Result<()> {
    const N: usize = 300;
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let to_alice = ConversationId::Contact(alice_id);

    for i in 0..N {
        alice
            .engine
            .send_text(to_bob, &format!("inflight-{i:05}"))?;
    }
    // Poll tightly: the burst goes fast.
    let deadline = Instant::now() + Duration::from_secs(60);
    let left = loop {
        let left = alice.engine.outbox_len()?;
        if left <= (N - 100) as u64 {
            break left;
        }
        anyhow::ensure!(Instant::now() < deadline, "the burst never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    relay.kill9()?;
    let at_kill = received_count(&bob.engine, to_alice);
    println!("relay killed with {left} messages queued, {at_kill} received by Bob");
    anyhow::ensure!(left > 0, "the burst was over before the kill");
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.restart()?;

    eventually(Duration::from_secs(120), "Bob to have all messages", || {
        (received_count(&bob.engine, to_alice) >= N).then_some(())
    })
    .await?;
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(60)).await);
    bob.engine.sync(Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once_in_order(&bob.engine, to_alice, "inflight-", N)?;
    Ok(())
}

/// Runs the test client binary, its stdout lines sent to the returned channel.
fn client(args: &[&str]) -> anyhow::Result<(std::process::Child, mpsc::Receiver<String>)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_boucle-e2e-client"))
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok((child, rx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_killed_mid_send_resumes_its_outbox() -> anyhow::Result<()> {
    const N: usize = 500;
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let User {
        dir: bob_dir,
        engine: bob_engine,
        ..
    } = bob;
    let profile = bob_dir.path().join("profile");
    let profile_arg = profile.to_str().expect("utf-8 temp path").to_owned();
    bob_engine.lock().await;

    let count = N.to_string();
    let alice_hex = alice_id.to_hex();
    let (mut child, lines) = client(&[
        "--profile",
        &profile_arg,
        "--passphrase",
        PASSPHRASE,
        "send",
        "--to",
        &alice_hex,
        "--count",
        &count,
        "--prefix",
        "from-bob-",
    ])?;
    let queued = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.starts_with("queued ") {
                return Some(line);
            }
        }
        None
    })
    .await?;
    if queued.is_none() {
        let _ = child.kill();
        anyhow::bail!("the client never said it queued its messages");
    }
    let reached = eventually(Duration::from_secs(60), "~50 messages at Alice", || {
        let n = received_count(&alice.engine, to_bob);
        (n >= 50).then_some(n)
    })
    .await;
    child.kill()?; // SIGKILL
    child.wait()?;
    let reached = reached?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = received_count(&alice.engine, to_bob);
    println!("client killed when {reached} had reached Alice ({after} half a second later)");
    anyhow::ensure!(after < N, "the client finished before it was killed");

    let (mut child, _lines) = client(&[
        "--profile",
        &profile_arg,
        "--passphrase",
        PASSPHRASE,
        "sync",
        "--wait",
        "60",
    ])?;
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = child.try_wait()? {
                return anyhow::Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                anyhow::bail!("the client's sync did not finish in 90 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await??;
    anyhow::ensure!(status.success(), "the client's sync failed: {status}");

    eventually(
        Duration::from_secs(60),
        "Alice to have all messages",
        || (received_count(&alice.engine, to_bob) >= N).then_some(()),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once_in_order(&alice.engine, to_bob, "from-bob-", N)?;
    drop(bob_dir);
    Ok(())
}
