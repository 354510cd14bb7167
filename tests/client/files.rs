//! Files and images over real relays: a 10 MiB file to a loop of three arrives
//! byte-identical (one member offline meanwhile), with progress on both sides, and
//! neither the relay's files nor the profiles' hold any of its plaintext; a file to a
//! contact, then deleted; the size limit.

use std::path::Path;
use std::time::{Duration, Instant};

use boucle_client_core::{
    ConversationId, Engine, EngineError, Event, MAX_FILE_SIZE, MessageBody, MessageId,
    TransferState,
};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{
    PASSPHRASE, User, eventually, introduce, options, relay_envelopes, until_members,
};

const MIB: usize = 1024 * 1024;

fn complete(engine: &Engine, conversation: ConversationId, id: MessageId) -> Option<()> {
    match engine.attachment(conversation, id).ok()?.state {
        TransferState::Complete => Some(()),
        TransferState::Failed(reason) => panic!("the file failed: {reason}"),
        _ => None,
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => todo.push(entry.path()),
                Ok(_) => out.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    out
}

/// Which of `needles` (each at least 15 bytes) occur in some file under `dir`. Any
/// occurrence covers an 8-byte block aligned in the file on a multiple of 8, equal to
/// one of the needle's first 8 windows: the files are read 8 bytes at a time (fast
/// enough in a debug build) and only candidates are compared in full.
fn found_in(dir: &Path, needles: &[&[u8]]) -> Vec<String> {
    let mut blocks: std::collections::HashMap<[u8; 8], Vec<(usize, usize)>> =
        std::collections::HashMap::new();
    for (i, needle) in needles.iter().enumerate() {
        assert!(needle.len() >= 15);
        for k in 0..8 {
            let block: [u8; 8] = needle[k..k + 8].try_into().expect("8 bytes");
            blocks.entry(block).or_default().push((i, k));
        }
    }
    let mut found = Vec::new();
    for file in files_under(dir) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for (n, block) in bytes.chunks_exact(8).enumerate() {
            let Some(candidates) = blocks.get(block) else {
                continue;
            };
            for (i, k) in candidates {
                let start = (n * 8).checked_sub(*k);
                let hit = start
                    .and_then(|s| bytes.get(s..s + needles[*i].len()))
                    .is_some_and(|window| window == needles[*i]);
                if hit {
                    found.push(format!("slice {i} in {}", file.display()));
                }
            }
        }
    }
    found
}

fn mib_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / MIB as f64 / elapsed.as_secs_f64().max(1e-6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mib_file_reaches_a_loop_of_three_byte_identical_and_no_relay_sees_it()
-> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let mut carol = User::new("Carol", &relay).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, _) = introduce(&mut alice, &mut carol).await?;
    let id = alice
        .engine
        .create_loop("Atelier affiches", &[bob_for_alice, carol_for_alice])
        .await?;
    until_members([&mut alice, &mut bob, &mut carol], id, 3).await?;
    let conversation = ConversationId::Loop(id);
    anyhow::ensure!(carol.engine.sync(Duration::from_secs(20)).await);

    // Carol goes offline: her copy waits at the relay.
    let User {
        dir: carol_dir,
        engine: carol_engine,
        ..
    } = carol;
    let carol_profile = carol_dir.path().join("profile");
    carol_engine.lock().await;

    let mut data = vec![0u8; 10 * MIB];
    rand::fill(&mut data[..]);
    let started = Instant::now();
    let sent = alice
        .engine
        .send_file(conversation, "field-notes.bin", None, data.clone())
        .await?;
    let queued = started.elapsed();
    assert_eq!(
        sent.body,
        MessageBody::Attachment {
            name: "field-notes.bin".into(),
            media_type: "application/octet-stream".into(),
            size: data.len() as u64,
        }
    );

    // Bob sees the message, then the file arrives; both sides report progress.
    let received = bob
        .wait_for(|e| match e {
            Event::MessageReceived(view) if view.id == sent.id => Some(view.clone()),
            _ => None,
        })
        .await?;
    assert_eq!(received.body, sent.body);
    let mut bob_progress = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while complete(&bob.engine, conversation, sent.id).is_none() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "Bob never got the whole file: {:?}",
            bob.engine.attachment(conversation, sent.id)?.state
        );
        if let Ok(Ok(Event::TransferProgress {
            message,
            done,
            total,
            upload,
            ..
        })) = tokio::time::timeout(Duration::from_millis(200), bob.events.recv()).await
            && message == sent.id
        {
            assert!(!upload && done <= total && total == data.len() as u64);
            bob_progress.push(done);
        }
    }
    let at_bob = started.elapsed();
    let mut alice_progress = Vec::new();
    while let Ok(event) = alice.events.try_recv() {
        if let Event::TransferProgress {
            message,
            done,
            upload,
            ..
        } = event
            && message == sent.id
        {
            assert!(upload);
            alice_progress.push(done);
        }
    }
    eventually(Duration::from_secs(30), "Alice's upload to end", || {
        complete(&alice.engine, conversation, sent.id)
    })
    .await?;
    println!(
        "10 MiB to a loop of 3: queued in {} ms, at Bob in {} ms ({:.1} MiB/s end to end); \
         progress events: Alice {} (upload), Bob {} (download)",
        queued.as_millis(),
        at_bob.as_millis(),
        mib_s(data.len(), at_bob),
        alice_progress.len(),
        bob_progress.len(),
    );
    assert!(
        bob_progress.len() >= 10 && bob_progress.len() <= 60,
        "download progress every few percent: {}",
        bob_progress.len()
    );
    assert!(bob_progress.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        alice_progress.len() >= 5,
        "upload progress: {alice_progress:?}"
    );
    let saved = bob.dir.path().join("saved-notes.bin");
    let size = bob
        .engine
        .save_attachment(conversation, sent.id, &saved)
        .await?;
    assert_eq!(size, data.len() as u64);
    assert!(
        std::fs::read(&saved)? == data,
        "Bob's copy is byte-identical"
    );
    std::fs::remove_file(&saved)?;

    // The relay holds Carol's copy now; neither it nor any profile holds plaintext.
    let stored = eventually(
        Duration::from_secs(20),
        "Carol's envelopes at the relay",
        || relay_envelopes(&relay).filter(|n| *n >= 160),
    )
    .await?;
    let needles: Vec<&[u8]> = (0..16)
        .map(|i| &data[i * 655_360 + 1000..i * 655_360 + 1064])
        .collect();
    // The scanner finds a needle at any offset.
    let probe = tempfile::tempdir()?;
    std::fs::write(
        probe.path().join("x"),
        [&[1u8; 13][..], needles[3], &[2; 5]].concat(),
    )?;
    assert_eq!(found_in(probe.path(), &needles).len(), 1);
    let at_relay = found_in(relay.data_dir(), &needles);
    assert!(
        at_relay.is_empty(),
        "the relay's files hold plaintext of the file: {at_relay:?}"
    );
    for (who, dir) in [("Alice", alice.dir.path()), ("Bob", bob.dir.path())] {
        let leaked = found_in(dir, &needles);
        assert!(
            leaked.is_empty(),
            "{who}'s profile holds plaintext: {leaked:?}"
        );
    }
    println!("the relay held {stored} envelopes for offline Carol, none readable");

    // Carol comes back and gets it too.
    let back = Instant::now();
    let carol = Engine::unlock(&carol_profile, PASSPHRASE, options()).await?;
    eventually(Duration::from_secs(120), "Carol's copy", || {
        complete(&carol, conversation, sent.id)
    })
    .await?;
    println!(
        "Carol, back online, had it in {} ms",
        back.elapsed().as_millis()
    );
    let saved = carol_dir.path().join("notes-for-carol.bin");
    carol.save_attachment(conversation, sent.id, &saved).await?;
    assert!(
        std::fs::read(&saved)? == data,
        "Carol's copy is byte-identical"
    );
    let view = carol.attachment(conversation, sent.id)?;
    assert_eq!(view.name, "field-notes.bin");
    assert!(!view.from_me && !view.is_image());
    carol.lock().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_to_a_contact_then_deleted_and_the_size_limit() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let from_alice = ConversationId::Contact(alice_id);

    let mut image = b"\x89PNG\r\n\x1a\n".to_vec();
    image.resize(300_000, 0);
    rand::fill(&mut image[8..]);
    let sent = alice
        .engine
        .send_file(to_bob, "../../poster.png", None, image.clone())
        .await?;
    // The sender can show what it sent at once, while it is being sent.
    assert_eq!(alice.engine.attachment_bytes(to_bob, sent.id)?, image);
    let view = bob.next_message().await?;
    assert_eq!(view.id, sent.id);
    eventually(Duration::from_secs(30), "the image", || {
        complete(&bob.engine, from_alice, sent.id)
    })
    .await?;
    let attachment = bob.engine.attachment(from_alice, sent.id)?;
    assert_eq!(attachment.name, "poster.png", "no directories");
    assert_eq!(attachment.media_type, "image/png");
    assert!(attachment.is_image());
    assert_eq!(bob.engine.attachment_bytes(from_alice, sent.id)?, image);
    // The wrong conversation has no such file.
    assert!(matches!(
        bob.engine.attachment(to_bob, sent.id),
        Err(EngineError::NoAttachment)
    ));
    eventually(Duration::from_secs(30), "Alice's upload to end", || {
        complete(&alice.engine, to_bob, sent.id)
    })
    .await?;

    // Alice deletes it: it is gone on both sides.
    alice.engine.delete(to_bob, sent.id)?;
    bob.until(|e| {
        matches!(
            e.attachment(from_alice, sent.id),
            Err(EngineError::NoAttachment)
        )
        .then_some(())
    })
    .await?;
    assert!(bob.engine.attachment_bytes(from_alice, sent.id).is_err());
    assert!(matches!(
        alice.engine.attachment(to_bob, sent.id),
        Err(EngineError::NoAttachment)
    ));

    // Too large: refused before anything is read or queued.
    let big = alice.dir.path().join("huge.iso");
    std::fs::File::create(&big)?.set_len(MAX_FILE_SIZE + 1)?;
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(20)).await);
    assert_eq!(alice.engine.outbox_len()?, 0);
    match alice.engine.send_file_from(to_bob, &big).await {
        Err(EngineError::FileTooLarge { size }) => assert_eq!(size, MAX_FILE_SIZE + 1),
        other => panic!("expected FileTooLarge, got {other:?}"),
    }
    assert_eq!(alice.engine.outbox_len()?, 0, "nothing was queued");
    // A file of exactly zero bytes is fine.
    let empty = alice
        .engine
        .send_file(to_bob, "empty.txt", None, Vec::new())
        .await?;
    eventually(Duration::from_secs(30), "the empty file", || {
        complete(&bob.engine, from_alice, empty.id)
    })
    .await?;
    assert!(
        bob.engine
            .attachment_bytes(from_alice, empty.id)?
            .is_empty()
    );
    Ok(())
}
