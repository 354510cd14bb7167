//! The relay's disk fills up, on a small file system of its own (a tmpfs, which needs
//! root; the test says it is skipped where it cannot mount one).

use std::collections::BTreeSet;
use std::time::Duration;

use boucle_e2e::{connect, drain, mailboxes, numbered};
use boucle_test_support::{RelayOptions, RelayProcess, SmallDisk};
use boucle_wire::ErrorCode;
use tokio::task::JoinSet;

const WAIT: Duration = Duration::from_secs(20);

/// Fills the relay's disk with envelopes to one mailbox while another holds one stored
/// before. Sends that do not fit get `StorageFailure` (a sentence, not a hang or a
/// crash); the relay keeps delivering what it holds; once the operator frees space it
/// stores again without a restart; and exactly the envelopes it acknowledged are
/// delivered, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_clearly_keeps_delivering_and_recovers() -> anyhow::Result<()> {
    let Some(disk) = SmallDisk::mount(8 << 20) else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root): the full-disk test did not run"
        );
        return Ok(());
    };
    // Room the operator can give back later.
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 2 << 20])?;
    let mut relay = RelayProcess::start(RelayOptions {
        data_dir_in: Some(disk.path().to_owned()),
        ..RelayOptions::default()
    })?;
    let client = connect(relay.address()).await?;
    let boxes = mailboxes(&client, 2).await?;
    let (full, other) = (&boxes[0], &boxes[1]);
    client
        .send(other.ids.send_id, numbered(1, 0, 1_000))
        .await?;

    // Flood until the disk is full: about 8 MiB of room, 13 MiB sent.
    let mut stored = BTreeSet::new();
    let mut refused = 0u32;
    let mut in_flight = JoinSet::new();
    for n in 0..400u32 {
        if in_flight.len() >= 8
            && let Some(done) = in_flight.join_next().await
        {
            let (n, result): (u32, Result<(), boucle_relay_client::ClientError>) = done?;
            match result {
                Ok(()) => {
                    stored.insert(n);
                }
                Err(error) => {
                    assert_eq!(error.code(), Some(ErrorCode::StorageFailure), "{error}");
                    assert!(error.to_string().contains("could not store"), "{error}");
                    refused += 1;
                }
            }
        }
        let sender = client.clone();
        let send_id = full.ids.send_id;
        in_flight.spawn(async move { (n, sender.send(send_id, numbered(0, n, 32_000)).await) });
    }
    while let Some(done) = in_flight.join_next().await {
        let (n, result) = done?;
        match result {
            Ok(()) => {
                stored.insert(n);
            }
            Err(error) => {
                assert_eq!(error.code(), Some(ErrorCode::StorageFailure), "{error}");
                refused += 1;
            }
        }
    }
    assert!(
        refused > 0,
        "the disk never filled ({} stored)",
        stored.len()
    );
    assert!(
        !stored.is_empty(),
        "nothing was stored before the disk filled"
    );
    assert!(relay.pid().is_some(), "the relay is still running");

    // What the relay holds is still delivered while the disk is full.
    let reader = connect(relay.address()).await?;
    let waiting = drain(&reader, other, WAIT).await?;
    assert_eq!(
        waiting.len(),
        1,
        "the envelope stored before the disk filled"
    );

    // The operator frees space: sends are stored again, without a restart.
    std::fs::remove_file(&ballast)?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match client.send(other.ids.send_id, numbered(1, 1, 1_000)).await {
            Ok(()) => break,
            Err(error) => {
                assert_eq!(error.code(), Some(ErrorCode::StorageFailure), "{error}");
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "the relay never stored again after space was freed"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // Exactly the acknowledged envelopes arrive, once each, intact.
    let delivered = drain(&reader, full, WAIT).await?;
    let mut got = BTreeSet::new();
    for delivery in &delivered {
        let body = delivery.envelope.body.as_bytes();
        assert_eq!(body.len(), 32_000);
        let n = u32::from_be_bytes(body[4..8].try_into()?);
        assert!(got.insert(n), "envelope {n} delivered twice");
    }
    assert_eq!(got, stored, "delivered = acknowledged");

    // And after a graceful restart, nothing acknowledged is lost.
    let status = relay.terminate()?;
    assert!(status.success(), "the relay stopped cleanly: {status}");
    relay.restart()?;
    let reader = connect(relay.address()).await?;
    let after = drain(&reader, other, WAIT).await?;
    assert_eq!(after.len(), 1, "the envelope stored after space was freed");
    drop(relay);
    drop(disk);
    Ok(())
}

/// How much disk a mailbox filled to its byte quota takes (relay-protocol §8.2 states the
/// factor operators size disks with). A 64 KiB envelope used to take a 128 KiB page run
/// (redb allocates pages in powers of two): twice the quota (measured: 2.00×; now 1.08×).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_full_to_its_byte_quota_takes_about_its_quota_on_disk() -> anyhow::Result<()> {
    /// The factor relay-protocol §8.2 promises, and the fixed part (an empty store).
    const FACTOR: f64 = 1.15;
    const FIXED: u64 = 2 << 20;
    const QUOTA: u64 = 32 << 20;
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_bytes", QUOTA as i64)],
        ..RelayOptions::default()
    })?;
    let client = connect(relay.address()).await?;
    let mailbox = mailboxes(&client, 1).await?.remove(0);
    let mut stored = 0u64;
    let mut sends = JoinSet::new();
    let mut n = 0u32;
    let mut full = false;
    while !full && n < 2_000 {
        while sends.len() < 32 && n < 2_000 {
            let client = client.clone();
            let target = mailbox.ids.send_id;
            let size = 65_536;
            sends.spawn(async move { (size, client.send(target, numbered(0, n, size)).await) });
            n += 1;
        }
        let Some(done) = sends.join_next().await else {
            break;
        };
        match done? {
            (size, Ok(())) => stored += size as u64,
            (_, Err(e)) if e.code() == Some(ErrorCode::QuotaExceeded) => full = true,
            (_, Err(e)) => return Err(e.into()),
        }
    }
    while let Some(done) = sends.join_next().await {
        if let (size, Ok(())) = done? {
            stored += size as u64;
        }
    }
    assert!(full, "the quota was reached");
    assert!(
        stored > QUOTA - (1 << 20),
        "stored {stored} of a {QUOTA} quota"
    );
    let metadata = std::fs::metadata(relay.data_dir().join("relay.redb"))?;
    let file = metadata.len();
    let used = std::os::unix::fs::MetadataExt::blocks(&metadata) * 512;
    eprintln!(
        "{stored} bytes stored: store file {file} bytes long ({:.3}× the quota), {used} bytes \
         of disk used ({:.3}×)",
        file as f64 / QUOTA as f64,
        used as f64 / QUOTA as f64
    );
    // What the disk holds: redb extends the file ahead of use (by doubling, up to its
    // region size) without writing it, so the file's length runs ahead of its blocks.
    assert!(
        used as f64 <= FACTOR * QUOTA as f64 + FIXED as f64,
        "the store uses {used} bytes of disk for a {QUOTA}-byte quota ({:.2}×)",
        used as f64 / QUOTA as f64
    );
    Ok(())
}
