//! Locked mailboxes: once two people are contacts, each writes to a mailbox of the
//! other's made for them alone, which the relay opens only to envelopes signed with its
//! sender key; the one-time invitation they met on is deleted. Whoever learned a send
//! id (a leaked invitation link, a copied card) can no longer fill a mailbox.

use std::time::Duration;

use boucle_client_core::{ConversationId, MessageBody};
use boucle_relay_client::{ClientOptions, RelayClient};
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::{Body, Envelope, ErrorCode, Header, MailboxAddress, SendId};

use crate::support::{User, eventually, text};

/// Junk envelopes tried on each mailbox.
const JUNK: usize = 500;

/// Sends `n` junk envelopes, unsigned, to `send_id`: how many the relay stored, and the
/// refusals it gave.
async fn junk(
    client: &RelayClient,
    send_id: SendId,
    n: usize,
) -> anyhow::Result<(usize, Vec<ErrorCode>)> {
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let mut body = vec![0u8; 1_024];
        rand::fill(&mut body[..]);
        let envelope = Envelope {
            header: Header::new(vec![i as u8; 81])?,
            body: Body::new(body)?,
        };
        pending.push(client.send_queued(send_id, envelope)?);
    }
    let mut stored = 0;
    let mut refusals = Vec::new();
    for send in pending {
        match send.stored().await {
            Ok(()) => stored += 1,
            Err(error) => match error.code() {
                Some(code) => refusals.push(code),
                None => anyhow::bail!("the relay connection failed: {error}"),
            },
        }
    }
    Ok((stored, refusals))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_established_contact_s_mailbox_refuses_whoever_lacks_its_sender_key()
-> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let invitation = alice.engine.invite().await?;
    let leaked: MailboxAddress = postcard::from_bytes(&invitation.card.mailbox().0)?;
    let alice_for_bob = bob.engine.accept(&invitation.to_link()).await?.id;
    // At once, before Alice has read the introduction: this goes to the invitation's
    // mailbox, and must not be lost when it is deleted.
    let to_alice = ConversationId::Contact(alice_for_bob);
    bob.engine.send_text(to_alice, "first, on the invitation")?;
    let bob_for_alice = alice.contact_named("Bob").await?.id;
    let to_bob = ConversationId::Contact(bob_for_alice);
    alice.engine.send_text(to_bob, "hello Bob")?;
    bob.next_message().await?;
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(30)).await);
    anyhow::ensure!(bob.engine.sync(Duration::from_secs(30)).await);
    anyhow::ensure!(alice.engine.sync(Duration::from_secs(30)).await);

    // Each now writes to a mailbox that is not the invitation's (Bob learns Alice's
    // new one from her `Rehome`, which may still be on its way).
    let alices = eventually(
        Duration::from_secs(30),
        "Bob to learn Alice's new mailbox",
        || {
            bob.engine
                .contact_address(alice_for_bob)
                .ok()
                .filter(|a| a.send_id != leaked.send_id)
        },
    )
    .await?;
    let bobs = alice.engine.contact_address(bob_for_alice)?;
    anyhow::ensure!(bob.engine.sync(Duration::from_secs(30)).await);

    let attacker = RelayClient::connect(relay.address(), ClientOptions::default()).await?;
    // The invitation's mailbox is deleted from the relay once Bob's `Rehomed` is read.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        anyhow::ensure!(alice.engine.sync(Duration::from_secs(30)).await);
        let (stored, refusals) = junk(&attacker, leaked.send_id, 1).await?;
        if stored == 0 && refusals == [ErrorCode::UnknownMailbox] {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the used invitation's mailbox is still there: {stored} stored, {refusals:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both contact mailboxes refuse everything unsigned.
    for (whose, address) in [("Alice's", &alices), ("Bob's", &bobs)] {
        let (stored, refusals) = junk(&attacker, address.send_id, JUNK).await?;
        anyhow::ensure!(
            stored == 0,
            "{whose} mailbox stored {stored} of {JUNK} junk envelopes"
        );
        anyhow::ensure!(
            refusals.iter().all(|c| *c == ErrorCode::SenderNotAllowed),
            "{whose} mailbox refused junk for another reason: {:?}",
            refusals.first()
        );
    }

    // And they still talk, both ways, with nothing lost.
    bob.engine.send_text(to_alice, "after the junk")?;
    alice.engine.send_text(to_bob, "still here")?;
    for (user, conversation, expected) in [
        (
            &alice,
            to_bob,
            ["first, on the invitation", "after the junk"],
        ),
        (&bob, to_alice, ["hello Bob", "still here"]),
    ] {
        eventually(
            Duration::from_secs(30),
            "the messages after the junk",
            || {
                let got: Vec<String> = user
                    .engine
                    .history(conversation, None, 100)
                    .ok()?
                    .iter()
                    .filter(|m| !m.from_me && matches!(m.body, MessageBody::Text(_)))
                    .map(text)
                    .collect();
                (got == expected).then_some(())
            },
        )
        .await?;
    }
    Ok(())
}
