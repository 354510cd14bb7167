//! A leaked send id: whoever holds an invitation (or a contact's mailbox address) sends
//! junk to it, as fast as the relay takes it. The profile must not grow with it: junk
//! is dropped, the mailbox keeps working, and what is kept to recognise redelivered
//! envelopes is bounded by the number of mailboxes, not by what arrived.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use boucle_client_core::{ConversationId, Engine};
use boucle_relay_client::{ClientOptions, RelayClient};
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::{Body, Envelope, Header, MailboxAddress, SendId};
use rand::RngExt;

use super::at_rest::records;
use crate::support::{PASSPHRASE, User, eventually, options, text};

/// Junk envelopes sent to each of the two mailboxes.
const JUNK: usize = 3_000;

/// Size of the profile file and number of records in it, with the engine locked.
fn measure(profile: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let size = std::fs::metadata(profile.join("profile.redb"))?.len();
    Ok((size, records(profile)?.values().sum()))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Whether the relay's statistics, written after `since` (unix ms), count no envelope.
fn relay_empty_since(relay: &RelayProcess, since: u64) -> Option<()> {
    let updated = crate::support::relay_stat(relay, "updated_unix_ms")?;
    (updated > since && crate::support::relay_envelopes(relay)? == 0).then_some(())
}

/// Sends `n` envelopes of random bytes to `send_id`, 256 in flight; returns how many the
/// relay stored (a relay may refuse them, e.g. once the mailbox requires a sender key).
async fn junk(client: &RelayClient, send_id: SendId, n: usize) -> anyhow::Result<usize> {
    let mut rng = rand::rng();
    let mut window = VecDeque::new();
    let mut stored = 0;
    let mut refused = 0;
    let mut settle = |result: Result<(), boucle_relay_client::ClientError>| match result {
        Ok(()) => stored += 1,
        Err(error) if error.code().is_some() => refused += 1,
        Err(error) => panic!("the relay connection failed: {error}"),
    };
    for _ in 0..n {
        let mut header = vec![0u8; rng.random_range(0..=64)];
        let mut body = vec![0u8; rng.random_range(100..=1_200)];
        rand::fill(&mut header[..]);
        rand::fill(&mut body[..]);
        let envelope = Envelope {
            header: Header::new(header)?,
            body: Body::new(body)?,
        };
        window.push_back(client.send_queued(send_id, envelope)?);
        if window.len() >= 256
            && let Some(pending) = window.pop_front()
        {
            settle(pending.stored().await);
        }
    }
    for pending in window {
        settle(pending.stored().await);
    }
    if refused > 0 {
        println!("the relay refused {refused} of {n} junk envelopes");
    }
    Ok(stored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn junk_to_a_leaked_send_id_does_not_grow_the_profile() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    // The first invitation is used (Bob is then moved to a locked mailbox of his own
    // and the invitation's is deleted: junk to it is refused); the second stays open,
    // waiting for whoever accepts it.
    let used = alice.engine.invite().await?;
    let alice_for_bob = bob.engine.accept(&used.to_link()).await?.id;
    let bob_for_alice = alice.contact_named("Bob").await?.id;
    let open = alice.engine.invite().await?;
    let to_alice = ConversationId::Contact(alice_for_bob);
    let to_bob = ConversationId::Contact(bob_for_alice);
    bob.engine.send_text(to_alice, "before the flood")?;
    alice.next_message().await?;
    alice
        .until(|e| e.contact(bob_for_alice).ok().filter(|c| c.can_share))
        .await?;
    bob.until(|e| e.contact(alice_for_bob).ok().filter(|c| c.can_share))
        .await?;
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(30)).await);
    anyhow::ensure!(bob.engine.sync(Duration::from_secs(30)).await);

    let profile = alice.profile();
    let User {
        dir: _alice_dir,
        engine,
        ..
    } = alice;
    engine.lock().await;
    let (size_before, records_before) = measure(&profile)?;
    let alice_engine = Engine::unlock(&profile, PASSPHRASE, options()).await?;
    anyhow::ensure!(alice_engine.sync(Duration::from_secs(30)).await);

    let attacker = RelayClient::connect(relay.address(), ClientOptions::default()).await?;
    let started = Instant::now();
    let mut stored = 0;
    for invitation in [&open, &used] {
        let address: MailboxAddress = postcard::from_bytes(&invitation.card.mailbox().0)?;
        let send_id = address.send_id;
        stored += junk(&attacker, send_id, JUNK).await?;
    }
    println!(
        "{stored} junk envelopes stored by the relay in {:?}",
        started.elapsed()
    );
    anyhow::ensure!(stored >= JUNK, "the open invitation refused junk");
    // Alice takes all of it off the relay.
    let sent_at = now_ms();
    eventually(
        Duration::from_secs(180),
        "the relay to hold nothing",
        || relay_empty_since(&relay, sent_at),
    )
    .await?;
    anyhow::ensure!(alice_engine.sync(Duration::from_secs(30)).await);
    println!(
        "drained by Alice {:?} after the flood began",
        started.elapsed()
    );

    // The contact's mailbox still works.
    bob.engine.send_text(to_alice, "after the flood")?;
    eventually(
        Duration::from_secs(30),
        "Bob's message after the flood",
        || {
            alice_engine
                .history(to_bob, None, 100)
                .ok()?
                .iter()
                .any(|m| text(m) == "after the flood")
                .then_some(())
        },
    )
    .await?;
    anyhow::ensure!(alice_engine.sync(Duration::from_secs(30)).await);
    alice_engine.lock().await;

    let (size_after, records_after) = measure(&profile)?;
    println!(
        "Alice's profile: {size_before} bytes and {records_before} records before {stored} \
         junk envelopes, {size_after} bytes and {records_after} records after"
    );
    // One message and what it brings (its index entry, the records of what was
    // processed) may be added; nothing per junk envelope.
    assert!(
        records_after <= records_before + 8,
        "{} records more after {stored} junk envelopes",
        records_after - records_before
    );
    assert!(
        size_after <= size_before + 256 * 1024,
        "the profile grew by {} bytes with {stored} junk envelopes",
        size_after - size_before
    );
    Ok(())
}
