use std::time::Duration;

use boucle_client_core::store::StoreError;
use boucle_client_core::{ConversationId, DeliveryState, Engine, EngineError, InvitationError};
use boucle_relay_client::ClientError;
use boucle_test_support::{RelayOptions, RelayProcess, SmallDisk};

use crate::support::{
    PASSPHRASE, User, assert_exactly_once_in_order, eventually, introduce, message, options,
    received_count, relay_envelopes, text,
};

fn hash_dir(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_passphrase_says_so_and_changes_nothing() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (_, alice_id) = introduce(&mut alice, &mut bob).await?;
    bob.engine
        .send_text(ConversationId::Contact(alice_id), "kept safe")?;
    bob.engine.sync(Duration::from_secs(20)).await;
    let profile = bob.profile();
    bob.engine.lock().await;

    let before = hash_dir(&profile);
    let error = Engine::unlock(&profile, "not the passphrase", options())
        .await
        .unwrap_err();
    assert!(
        matches!(error, EngineError::Store(StoreError::WrongPassphrase)),
        "{error}"
    );
    assert!(error.to_string().contains("wrong passphrase"), "{error}");
    assert_eq!(
        hash_dir(&profile),
        before,
        "a wrong passphrase must not touch the profile"
    );

    let engine = Engine::unlock(&profile, PASSPHRASE, options()).await?;
    let history = engine.history(ConversationId::Contact(alice_id), None, 10)?;
    assert_eq!(text(&history[0]), "kept safe");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_fingerprint_or_a_dead_relay_creates_nothing() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let dir = tempfile::tempdir()?;
    let profile = dir.path().join("profile");
    let genuine = relay.address();
    let impostor = boucle_wire::RelayAddress::new(
        genuine.host(),
        genuine.port(),
        boucle_wire::CertFingerprint::from_bytes([0x42; 32]),
    )?;
    let error = Engine::create(
        &profile,
        PASSPHRASE,
        "Eve",
        &impostor.to_string(),
        None,
        options(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            EngineError::Relay {
                reason: ClientError::FingerprintMismatch { .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("certificate does not match"),
        "{error}"
    );
    assert!(!profile.exists(), "nothing is created");

    let mut dead = RelayProcess::start(RelayOptions::default())?;
    let dead_address = dead.address().to_string();
    dead.kill9()?;
    let mut quick = options();
    quick.client.connect_timeout = Duration::from_secs(2);
    let error = Engine::create(&profile, PASSPHRASE, "Eve", &dead_address, None, quick)
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::Relay { .. }), "{error}");
    assert!(!profile.exists());

    let error = Engine::create(
        &profile,
        PASSPHRASE,
        "Eve",
        "not an address",
        None,
        options(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, EngineError::RelayAddress(_)), "{error}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_or_own_invitation_is_refused_clearly() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let alice = User::new("Alice", &relay).await?;
    for (garbage, expected) in [
        ("https://example.org", InvitationError::NotAnInvitation),
        ("boucle:invite/1/AAAA", InvitationError::Damaged),
        ("boucle:invite/7/AAAA", InvitationError::UnsupportedVersion),
    ] {
        let error = alice.engine.accept(garbage).await.unwrap_err();
        assert!(
            matches!(&error, EngineError::Invitation(e) if *e == expected),
            "{garbage}: {error}"
        );
    }
    let own = alice.engine.invite().await?.to_link();
    assert!(matches!(
        alice.engine.accept(&own).await.unwrap_err(),
        EngineError::OwnInvitation
    ));
    assert!(alice.engine.contacts()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_while_the_relay_is_down_are_queued_then_sent() -> anyhow::Result<()> {
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_alice = ConversationId::Contact(alice_id);

    relay.terminate()?;
    let queued: Vec<_> = (0..5)
        .map(|n| bob.engine.send_text(to_alice, &format!("while down {n}")))
        .collect::<Result<_, _>>()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for view in &queued {
        let now = message(&bob.engine, to_alice, view.id).expect("stored");
        assert_eq!(
            now.delivery,
            Some(DeliveryState::Queued),
            "visible as queued"
        );
    }
    assert_eq!(bob.engine.outbox_len()?, 5);

    relay.restart()?;
    let last = queued.last().map(|v| v.id).expect("five");
    bob.until(|e| message(e, to_alice, last).filter(|v| v.delivery != Some(DeliveryState::Queued)))
        .await?;
    let got: Vec<String> = alice
        .until(|e| {
            let history = e.history(ConversationId::Contact(bob_id), None, 100).ok()?;
            (history.len() == 5).then(|| history.iter().map(text).collect())
        })
        .await?;
    let expected: Vec<String> = (0..5).map(|n| format!("while down {n}")).collect();
    assert_eq!(got, expected, "all of them, in order");
    Ok(())
}

/// Someone else than Bob writes on the channel Alice keeps for Bob (here: Mallory, who
/// got hold of the one-time link Alice gave Bob, and accepts it after him, while Alice
/// is offline and the invitation's mailbox is still Bob's way to her). Alice's client
/// flags Bob loudly (identity changed, no longer verified), shows nothing of Mallory's,
/// keeps that state across a restart, and still reads the real Bob; comparing safety
/// numbers again clears the flag. Once Bob has moved to his own locked mailbox, the
/// invitation's is deleted: whoever uses the link later reaches nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_identity_on_a_contacts_channel_is_flagged_loudly() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let alice = User::new("Alice", &relay).await?;
    let bob = User::new("Bob", &relay).await?;
    let mallory = User::new("Mallory", &relay).await?;

    let invitation = alice.engine.invite().await?;
    let link = invitation.to_link();
    let User {
        dir: alice_dir,
        engine,
        ..
    } = alice;
    engine.lock().await;

    // Alice is offline: Bob accepts and writes, then Mallory uses the same link.
    let alice_for_bob = bob.engine.accept(&link).await?;
    bob.engine
        .send_text(ConversationId::Contact(alice_for_bob.id), "it's really me")?;
    anyhow::ensure!(bob.engine.sync(Duration::from_secs(20)).await);
    let alice_for_mallory = mallory.engine.accept(&link).await?;
    mallory.engine.send_text(
        ConversationId::Contact(alice_for_mallory.id),
        "this is Bob, new phone, send me the list",
    )?;
    anyhow::ensure!(mallory.engine.sync(Duration::from_secs(20)).await);

    let mut alice = User::reopen(alice_dir).await?;
    let bob_contact = alice.contact_named("Bob").await?;
    let bob_id = bob_contact.id;
    let chat = ConversationId::Contact(bob_id);
    let flagged = alice
        .until(|e| e.contact(bob_id).ok().filter(|c| c.identity_changed))
        .await?;
    assert!(
        !flagged.verified,
        "a changed identity is no longer verified"
    );
    let safety = alice.engine.safety_number(bob_id)?;
    assert_eq!(
        safety.digits(),
        bob.engine.safety_number(alice_for_bob.id)?.digits()
    );
    assert!(
        alice.engine.contacts()?.iter().all(|c| c.name != "Mallory"),
        "the impostor does not become a contact"
    );

    // The real Bob still gets through; nothing of Mallory's is ever shown.
    bob.engine
        .send_text(ConversationId::Contact(alice_for_bob.id), "still me")?;
    alice
        .until(|e| {
            let history = e.history(chat, None, 50).ok()?;
            history.iter().any(|m| text(m) == "still me").then_some(())
        })
        .await?;
    let shown: Vec<String> = alice
        .engine
        .history(chat, None, 50)?
        .iter()
        .map(text)
        .collect();
    assert!(shown.iter().any(|t| t == "it's really me"), "{shown:?}");
    assert!(
        shown.iter().all(|t| !t.contains("new phone")),
        "an impostor's message is shown: {shown:?}"
    );

    // The flag survives a restart, and only a new verification clears it.
    let User {
        dir: alice_dir,
        engine,
        ..
    } = alice;
    engine.lock().await;
    let alice = User::reopen(alice_dir).await?;
    assert!(alice.engine.contact(bob_id)?.identity_changed);
    let cleared = alice.engine.mark_verified(bob_id)?;
    assert!(cleared.verified && !cleared.identity_changed);
    assert_eq!(
        alice.engine.safety_number(bob_id)?.digits(),
        safety.digits()
    );

    // Bob moves to a locked mailbox of his own, and the invitation's is deleted.
    let used: boucle_wire::MailboxAddress = postcard::from_bytes(&invitation.card.mailbox().0)?;
    let probe =
        boucle_relay_client::RelayClient::connect(relay.address(), Default::default()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let envelope = boucle_wire::Envelope {
            header: boucle_wire::Header::new(vec![0; 81])?,
            body: boucle_wire::Body::new(vec![0; 256])?,
        };
        match probe.send(used.send_id, envelope).await {
            Err(e) if e.code() == Some(boucle_wire::ErrorCode::UnknownMailbox) => break,
            _ => {}
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the used invitation's mailbox was not deleted"
        );
        alice.engine.sync(Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Whoever uses the link now reaches nothing: no flag, no contact.
    let eve = User::new("Eve", &relay).await?;
    let alice_for_eve = eve.engine.accept(&link).await?;
    eve.engine
        .send_text(ConversationId::Contact(alice_for_eve.id), "it's Bob again")?;
    eve.engine.sync(Duration::from_secs(10)).await;
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(10)).await);
    let bob_now = alice.engine.contact(bob_id)?;
    assert!(bob_now.verified && !bob_now.identity_changed);
    assert!(alice.engine.contacts()?.iter().all(|c| c.name != "Eve"));
    Ok(())
}

/// Bob's disk fills up while Alice writes to him: what he cannot store is not
/// acknowledged, nothing he had is lost or reported as damage, and once he frees space
/// every message arrives, in order, once, without restarting anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_delays_incoming_messages_and_loses_none() -> anyhow::Result<()> {
    let Some(disk) = SmallDisk::mount(6 << 20) else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root): the full-disk test did not run"
        );
        return Ok(());
    };
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::with_profile_in("Bob", &relay, disk.path()).await?;
    let (bob_for_alice, alice_for_bob) = introduce(&mut alice, &mut bob).await?;
    disk.fill_leaving(96 << 10, 32 << 10)?;

    const N: usize = 60;
    let prefix = format!("{}-", "x".repeat(3_000));
    for i in 0..N {
        alice.engine.send_text(
            ConversationId::Contact(bob_for_alice),
            &format!("{prefix}{i:05}"),
        )?;
    }
    alice.engine.sync(Duration::from_secs(30)).await;
    let from_alice = ConversationId::Contact(alice_for_bob);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = received_count(&bob.engine, from_alice);
    assert!(
        before < N,
        "the disk never filled: {before} messages stored"
    );

    disk.free_ballast()?;
    bob.until(|e| (received_count(e, from_alice) == N).then_some(()))
        .await?;
    assert_exactly_once_in_order(&bob.engine, from_alice, &prefix, N)?;
    drop(bob);
    drop(disk);
    Ok(())
}

/// Alice blocks Bob: what he sends while blocked is never shown or kept, she cannot write
/// to him, and he is not told. Once she unblocks him, his next messages arrive again,
/// over the same session (no new invitation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_contact_is_not_heard_until_unblocked() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_for_alice, alice_for_bob) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_for_alice);
    let to_alice = ConversationId::Contact(alice_for_bob);
    bob.engine.send_text(to_alice, "before")?;
    alice
        .until(|e| (received_count(e, to_bob) == 1).then_some(()))
        .await?;

    assert!(alice.engine.block(bob_for_alice)?.blocked);
    let refused = alice
        .engine
        .send_text(to_bob, "you are blocked")
        .unwrap_err();
    assert!(matches!(refused, EngineError::Blocked), "{refused}");
    assert!(refused.to_string().contains("unblock"), "{refused}");
    for n in 0..5 {
        bob.engine
            .send_text(to_alice, &format!("while blocked {n}"))?;
    }
    bob.engine.sync(Duration::from_secs(20)).await;
    // Alice has read (and dropped) all five once the relay holds nothing more for her.
    eventually(
        Duration::from_secs(30),
        "Alice to take Bob's messages off the relay",
        || (relay_envelopes(&relay)? == 0).then_some(()),
    )
    .await?;
    assert_eq!(
        received_count(&alice.engine, to_bob),
        1,
        "nothing while blocked"
    );

    assert!(!alice.engine.unblock(bob_for_alice)?.blocked);
    bob.engine.send_text(to_alice, "after")?;
    let texts: Vec<String> = alice
        .until(|e| {
            let history = e.history(to_bob, None, 100).ok()?;
            (history.len() == 2).then(|| history.iter().map(text).collect())
        })
        .await?;
    assert_eq!(texts, ["before", "after"]);
    alice.engine.send_text(to_bob, "welcome back")?;
    bob.until(|e| {
        e.history(to_alice, None, 100)
            .ok()?
            .iter()
            .any(|m| text(m) == "welcome back")
            .then_some(())
    })
    .await?;
    Ok(())
}

/// A full mailbox is not an outage (issue 12): the sender's messages say the recipient's
/// mailbox is full and on which relay, messages to others still leave, and once the
/// recipient reads, every waiting message arrives in order, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_is_reported_as_full_and_its_messages_wait_in_order() -> anyhow::Result<()> {
    const QUOTA: usize = 4;
    const N: usize = 9;
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_envelopes", QUOTA as i64)],
        ..RelayOptions::default()
    })?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let mut carol = User::new("Carol", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let (carol_id, alice_for_carol) = introduce(&mut alice, &mut carol).await?;
    let to_bob = ConversationId::Contact(bob_id);
    let User {
        dir: bob_dir,
        engine: bob_engine,
        ..
    } = bob;
    bob_engine.sync(Duration::from_secs(10)).await;
    bob_engine.lock().await;

    let sent: Vec<_> = (0..N)
        .map(|i| alice.engine.send_text(to_bob, &format!("full-{i:05}")))
        .collect::<Result<_, _>>()?;
    let relay_name = format!("127.0.0.1:{}", relay.address().port());
    let waiting = DeliveryState::MailboxFull { relay: relay_name };
    let last = sent.last().expect("sent").id;
    alice
        .until(|e| message(e, to_bob, last).filter(|v| v.delivery.as_ref() == Some(&waiting)))
        .await?;
    let states: Vec<_> = sent
        .iter()
        .map(|v| message(&alice.engine, to_bob, v.id).and_then(|v| v.delivery))
        .collect();
    let stored = states
        .iter()
        .filter(|s| **s == Some(DeliveryState::Sent))
        .count();
    assert!(stored <= QUOTA, "{states:?}");
    assert!(
        states[..stored]
            .iter()
            .all(|s| *s == Some(DeliveryState::Sent))
            && states[stored..]
                .iter()
                .all(|s| s.as_ref() == Some(&waiting)),
        "the first ones are stored, the rest wait, in order: {states:?}"
    );

    // Bob's full mailbox holds back nothing else on the same relay.
    let to_carol = alice
        .engine
        .send_text(ConversationId::Contact(carol_id), "meanwhile")?;
    carol
        .until(|e| {
            let history = e
                .history(ConversationId::Contact(alice_for_carol), None, 10)
                .ok()?;
            history.iter().any(|m| text(m) == "meanwhile").then_some(())
        })
        .await?;
    assert!(
        message(
            &alice.engine,
            ConversationId::Contact(carol_id),
            to_carol.id
        )
        .is_some()
    );

    // Bob comes back and reads: the rest goes out.
    let bob = Engine::unlock(&bob_dir.path().join("profile"), PASSPHRASE, options()).await?;
    eventually(Duration::from_secs(60), "Bob to have every message", || {
        (received_count(&bob, ConversationId::Contact(alice_id)) >= N).then_some(())
    })
    .await?;
    assert_exactly_once_in_order(&bob, ConversationId::Contact(alice_id), "full-", N)?;
    anyhow::ensure!(
        alice.engine.sync(Duration::from_secs(30)).await,
        "Alice's outbox emptied"
    );
    Ok(())
}
