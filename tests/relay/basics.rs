use std::time::Duration;

use boucle_e2e::{connect, mailboxes, numbered, owner_key};
use boucle_relay_client::{ClientError, SubscriptionEvent};
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::ErrorCode;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn send_subscribe_deliver_ack_gone() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let client = connect(relay.address()).await?;
    let mailbox = &mailboxes(&client, 1).await?[0];

    client
        .send(mailbox.ids.send_id, numbered(0, 1, 256))
        .await?;
    let mut subscription = client
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    assert_eq!(subscription.stored_at_start(), 1);
    let delivery = tokio::time::timeout(WAIT, subscription.next_envelope())
        .await?
        .expect("one envelope");
    assert_eq!(delivery.envelope, numbered(0, 1, 256));
    assert_eq!(
        tokio::time::timeout(WAIT, subscription.next()).await?,
        Some(SubscriptionEvent::Drained)
    );
    assert_eq!(client.status(mailbox.ids.receive_id).await?.envelopes, 1);
    subscription.ack(delivery.seq)?;

    // Acknowledged means gone: a new connection finds nothing, and the status says so.
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.status(mailbox.ids.receive_id).await?.envelopes != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ack never took effect"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let other = connect(relay.address()).await?;
    let mut again = other
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    assert_eq!(again.stored_at_start(), 0);
    assert_eq!(
        tokio::time::timeout(WAIT, again.next()).await?,
        Some(SubscriptionEvent::Drained)
    );
    Ok(())
}

#[tokio::test]
async fn online_delivery_is_pushed() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let owner_side = connect(relay.address()).await?;
    let sender = connect(relay.address()).await?;
    let mailbox = &mailboxes(&owner_side, 1).await?[0];
    let mut subscription = owner_side
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    for n in 0..20 {
        sender
            .send(mailbox.ids.send_id, numbered(0, n, 300))
            .await?;
    }
    for n in 0..20 {
        let delivery = tokio::time::timeout(WAIT, subscription.next_envelope())
            .await?
            .expect("delivery");
        assert_eq!(
            boucle_e2e::number_of(&delivery.envelope),
            (0, n),
            "in order"
        );
        subscription.ack(delivery.seq)?;
    }
    Ok(())
}

#[tokio::test]
async fn wrong_owner_key_and_unknown_mailbox_are_refused() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let client = connect(relay.address()).await?;
    let mailbox = &mailboxes(&client, 1).await?[0];
    client.send(mailbox.ids.send_id, numbered(0, 1, 64)).await?;

    let intruder = connect(relay.address()).await?;
    let refused = intruder
        .subscribe(mailbox.ids.receive_id, &owner_key())
        .await
        .expect_err("a stranger's key must not open the mailbox");
    assert_eq!(refused.code(), Some(ErrorCode::BadSignature));
    // Without proof the intruder can neither read the status nor delete the mailbox.
    let status = intruder.status(mailbox.ids.receive_id).await.unwrap_err();
    assert_eq!(status.code(), Some(ErrorCode::NotProven));
    let delete = intruder
        .delete_mailbox(mailbox.ids.receive_id)
        .await
        .unwrap_err();
    assert_eq!(delete.code(), Some(ErrorCode::NotProven));

    // Unknown ids: a made-up send id and receive id.
    let unknown_send = boucle_wire::SendId::from_bytes([7; 16]);
    let refused = client
        .send(unknown_send, numbered(0, 2, 64))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::UnknownMailbox));
    let unknown_receive = boucle_wire::ReceiveId::from_bytes([7; 16]);
    let refused = client
        .subscribe(unknown_receive, &owner_key())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::UnknownMailbox));
    // The send id is not a receive id: using it to subscribe fails too.
    let as_receive = boucle_wire::ReceiveId::from_bytes(*mailbox.ids.send_id.as_bytes());
    let refused = client
        .subscribe(as_receive, &mailbox.owner)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::UnknownMailbox));

    // The owner still gets its envelope.
    let mut subscription = client
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    assert!(
        tokio::time::timeout(WAIT, subscription.next_envelope())
            .await?
            .is_some()
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_fingerprint_is_refused_clearly() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let genuine = relay.address();
    let impostor = boucle_wire::RelayAddress::new(
        genuine.host(),
        genuine.port(),
        boucle_wire::CertFingerprint::from_bytes([0xee; 32]),
    )?;
    let error = connect(&impostor).await.unwrap_err();
    let error = error.downcast::<ClientError>()?;
    assert!(
        matches!(error, ClientError::FingerprintMismatch { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("does not match the fingerprint"));
    // The relay is fine and serves the genuine address.
    connect(genuine).await?.ping().await?;
    Ok(())
}

/// Envelopes from several connections commit out of seq order, and a caught-up
/// subscriber gets each one before its commit lands, so its ack can reach the relay's
/// writer before (or with) the envelope itself. Nothing may be skipped, and every ack
/// must still delete its envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_to_a_live_subscriber_skip_nothing_and_every_ack_deletes()
-> anyhow::Result<()> {
    const SENDERS: u32 = 4;
    const EACH: u32 = 2_000;
    let relay = RelayProcess::start(RelayOptions::default())?;
    let owner_side = connect(relay.address()).await?;
    let mailbox = mailboxes(&owner_side, 1).await?.remove(0);
    let mut subscription = owner_side
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let client = connect(relay.address()).await?;
        let send_id = mailbox.ids.send_id;
        // A window of sends in flight keeps the writer busy, so envelopes and the acks
        // that answer them share batches.
        senders.push(tokio::spawn(async move {
            let mut window = std::collections::VecDeque::new();
            for n in 0..EACH {
                window.push_back(client.send_queued(send_id, numbered(s, n, 200))?);
                if window.len() >= 64
                    && let Some(pending) = window.pop_front()
                {
                    pending.stored().await?;
                }
            }
            for pending in window {
                pending.stored().await?;
            }
            anyhow::Ok(())
        }));
    }
    let mut received = 0;
    let mut next = [0u32; SENDERS as usize];
    while received < SENDERS * EACH {
        let delivery = tokio::time::timeout(WAIT, subscription.next_envelope())
            .await
            .ok()
            .flatten();
        let Some(delivery) = delivery else {
            for sender in senders {
                sender.await??;
            }
            anyhow::bail!("only {received} envelopes were delivered");
        };
        // Each sender's envelopes arrive in its order, none skipped, none twice.
        let (sender, n) = boucle_e2e::number_of(&delivery.envelope);
        assert_eq!(n, next[sender as usize], "envelope of sender {sender}");
        next[sender as usize] += 1;
        subscription.ack(delivery.seq)?;
        received += 1;
    }
    for sender in senders {
        sender.await??;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = owner_side.status(mailbox.ids.receive_id).await?.envelopes;
        if left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{left} acknowledged envelopes were never deleted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
