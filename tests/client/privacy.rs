//! What a relay sees: after two users talk (one of them offline for a while, so the
//! relay stores envelopes), neither the relay's data directory nor the client↔relay
//! traffic captured on the loopback interface contains any plaintext, display name or
//! identity public key. What a locked profile reveals is in [`at_rest`]; junk sent to a
//! leaked send id, in [`flood`].

mod at_rest;
mod flood;
mod locked;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use boucle_client_core::{ConversationId, Engine};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{
    PASSPHRASE, User, eventually, introduce, options, received_count, relay_envelopes, text,
};

const ALICE: &str = "Alice Wunderbaum-Quixote";
const BOB: &str = "Bob Feathersby-Tull";

/// A running `tcpdump` writing what goes through one UDP port on `lo` to a file.
struct Capture {
    child: Child,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    /// Starts capturing, or returns `None` (with a note) when tcpdump is not installed.
    fn start(port: u16) -> anyhow::Result<Option<Capture>> {
        if Command::new("tcpdump")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            println!("NOTE: tcpdump is not installed: the traffic capture part is skipped");
            return Ok(None);
        }
        let dir = tempfile::Builder::new().prefix("boucle-pcap").tempdir()?;
        let file = dir.path().join("lo.pcap");
        let mut child = Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-U", "-s", "0", "-w"])
            .arg(&file)
            .args(["udp", "port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut said = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(line) if line.contains("listening on") => break,
                Ok(line) => said.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    anyhow::bail!("tcpdump did not start capturing: {}", said.join("\n"));
                }
            }
        }
        Ok(Some(Capture {
            child,
            file,
            _dir: dir,
        }))
    }

    /// Stops tcpdump (SIGTERM, so it flushes) and returns the captured bytes.
    fn stop(mut self) -> anyhow::Result<Vec<u8>> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
        Ok(std::fs::read(&self.file)?)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                todo.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}

/// Unpadded base64 with the given two last symbols (`+/` or `-_`).
fn base64(bytes: &[u8], last: &[u8; 2]) -> String {
    let mut alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".to_vec();
    alphabet.extend_from_slice(last);
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            n |= u32::from(*b) << (16 - 8 * i);
        }
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// What must never be visible to a relay, with a label for each.
fn secrets(engines: &[&Engine], plaintexts: &[String]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = plaintexts
        .iter()
        .map(|p| (format!("plaintext {p:?}"), p.as_bytes().to_vec()))
        .collect();
    for engine in engines {
        let name = engine.name()?;
        out.push((format!("display name {name:?}"), name.as_bytes().to_vec()));
        let keys = engine.identity_keys()?;
        for (kind, key) in [("curve25519", keys.curve25519), ("ed25519", keys.ed25519)] {
            let label = format!("{name}'s {kind} identity key");
            out.push((format!("{label} (raw)"), key.to_vec()));
            out.push((format!("{label} (hex)"), hex::encode(key).into_bytes()));
            out.push((
                format!("{label} (base64)"),
                base64(&key, b"+/").into_bytes(),
            ));
            out.push((
                format!("{label} (base64url)"),
                base64(&key, b"-_").into_bytes(),
            ));
        }
    }
    Ok(out)
}

/// Lists every secret found in the relay's files and (if any) the captured traffic.
fn leaks(
    secrets: &[(String, Vec<u8>)],
    relay_dir: &Path,
    traffic: Option<&[u8]>,
) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut scanned = 0usize;
    for file in files_under(relay_dir)? {
        // The relay may be writing; a file that vanished in between is fine.
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        scanned += bytes.len();
        for (label, secret) in secrets {
            if contains(&bytes, secret) {
                found.push(format!("{label} in {}", file.display()));
            }
        }
    }
    anyhow::ensure!(scanned > 0, "the relay's data directory is empty");
    if let Some(traffic) = traffic {
        for (label, secret) in secrets {
            if contains(traffic, secret) {
                found.push(format!("{label} in the captured traffic"));
            }
        }
    }
    Ok(found)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_relay_sees_no_plaintext_names_or_identity_keys() -> anyhow::Result<()> {
    assert_eq!(base64(b"hello?>", b"+/"), "aGVsbG8/Pg");
    assert_eq!(base64(b"hello?>", b"-_"), "aGVsbG8_Pg");
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let capture = Capture::start(relay.address().port())?;

    let mut alice = User::new(ALICE, &relay).await?;
    let mut bob = User::new(BOB, &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let to_alice = ConversationId::Contact(alice_id);
    let mut plaintexts = Vec::new();

    // Both online, both ways.
    for i in 0..10 {
        let a = format!("secret-rendezvous-at-the-bakery-{i:02}-from-alice");
        alice.engine.send_text(to_bob, &a)?;
        assert_eq!(text(&bob.next_message().await?), a);
        let b = format!("password-is-blue-giraffe-{i:02}-from-bob");
        bob.engine.send_text(to_alice, &b)?;
        assert_eq!(text(&alice.next_message().await?), b);
        plaintexts.extend([a, b]);
    }
    let secrets = secrets(&[&alice.engine, &bob.engine], &plaintexts)?;
    bob.engine.sync(Duration::from_secs(20)).await;

    // Bob goes offline: what Alice writes now waits at the relay.
    let User {
        dir: bob_dir,
        engine: bob_engine,
        ..
    } = bob;
    let profile = bob_dir.path().join("profile");
    bob_engine.lock().await;
    for i in 0..10 {
        let a = format!("meet-me-under-the-old-clocktower-{i:02}-alice");
        alice.engine.send_text(to_bob, &a)?;
        plaintexts.push(a);
    }
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(30)).await);
    let stored = eventually(Duration::from_secs(20), "envelopes stored", || {
        relay_envelopes(&relay).filter(|n| *n >= 10)
    })
    .await?;
    println!("the relay holds {stored} envelopes for offline Bob");
    let secrets_now = {
        let mut s = secrets.clone();
        s.extend(
            plaintexts[20..]
                .iter()
                .map(|p| (format!("plaintext {p:?}"), p.as_bytes().to_vec())),
        );
        s
    };
    let found = leaks(&secrets_now, relay.data_dir(), None)?;
    assert!(found.is_empty(), "the relay's files hold: {found:#?}");

    // Bob comes back, gets them, answers.
    let bob = Engine::unlock(&profile, PASSPHRASE, options()).await?;
    anyhow::ensure!(bob.sync(Duration::from_secs(30)).await);
    eventually(Duration::from_secs(30), "Bob to catch up", || {
        (received_count(&bob, to_alice) >= 20).then_some(())
    })
    .await?;
    for i in 0..10 {
        let b = format!("the-eagle-lands-at-midnight-{i:02}-bob");
        bob.send_text(to_alice, &b)?;
        plaintexts.push(b);
    }
    anyhow::ensure!(bob.sync(Duration::from_secs(30)).await);
    eventually(
        Duration::from_secs(30),
        "Alice to get Bob's answers",
        || (received_count(&alice.engine, to_bob) >= 20).then_some(()),
    )
    .await?;
    alice.engine.sync(Duration::from_secs(20)).await;
    bob.sync(Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let traffic = match capture {
        Some(capture) => {
            let bytes = capture.stop()?;
            println!("captured {} bytes of loopback traffic", bytes.len());
            anyhow::ensure!(
                bytes.len() > 20_000,
                "the capture is too small to hold the exchange"
            );
            Some(bytes)
        }
        None => None,
    };
    bob.lock().await;
    alice.engine.clone().lock().await;
    // Stopped cleanly, so everything the relay keeps is on disk.
    relay.terminate()?;

    let mut all = secrets;
    all.extend(
        plaintexts[20..]
            .iter()
            .map(|p| (format!("plaintext {p:?}"), p.as_bytes().to_vec())),
    );
    assert_eq!(plaintexts.len(), 40);
    let found = leaks(&all, relay.data_dir(), traffic.as_deref())?;
    assert!(found.is_empty(), "visible to the relay: {found:#?}");
    Ok(())
}
