use std::time::Duration;

use boucle_e2e::{connect, drain, mailboxes, numbered, rss_bytes};
use boucle_relay_client::SubscriptionEvent;
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::ErrorCode;
use tokio::task::JoinSet;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn quotas_are_enforced_per_mailbox_and_freed_by_acks() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_envelopes", 5), ("mailbox_max_bytes", 2_000)],
        ..RelayOptions::default()
    })?;
    let client = connect(relay.address()).await?;
    let boxes = mailboxes(&client, 3).await?;

    // Count quota.
    for n in 0..5 {
        client
            .send(boxes[0].ids.send_id, numbered(0, n, 100))
            .await?;
    }
    let full = client.send(boxes[0].ids.send_id, numbered(0, 5, 100)).await;
    assert_eq!(full.unwrap_err().code(), Some(ErrorCode::QuotaExceeded));
    // Byte quota: 2 × 900 fit, a third does not.
    client
        .send(boxes[1].ids.send_id, numbered(1, 0, 900))
        .await?;
    client
        .send(boxes[1].ids.send_id, numbered(1, 1, 900))
        .await?;
    let full = client.send(boxes[1].ids.send_id, numbered(1, 2, 900)).await;
    assert_eq!(full.unwrap_err().code(), Some(ErrorCode::QuotaExceeded));
    // Other mailboxes are not affected.
    client
        .send(boxes[2].ids.send_id, numbered(2, 0, 100))
        .await?;

    // Draining frees room again.
    assert_eq!(drain(&client, &boxes[0], WAIT).await?.len(), 5);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match client.send(boxes[0].ids.send_id, numbered(0, 6, 100)).await {
            Ok(()) => break,
            Err(e) if e.code() == Some(ErrorCode::QuotaExceeded) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "acks never freed the quota"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[tokio::test]
async fn oversized_envelopes_are_refused() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("max_body_bytes", 1024)],
        ..RelayOptions::default()
    })?;
    let client = connect(relay.address()).await?;
    assert_eq!(client.limits().max_body, 1024);
    let boxes = mailboxes(&client, 1).await?;
    let refused = client
        .send(boxes[0].ids.send_id, numbered(0, 0, 1025))
        .await;
    assert_eq!(
        refused.unwrap_err().code(),
        Some(ErrorCode::EnvelopeTooLarge)
    );
    client
        .send(boxes[0].ids.send_id, numbered(0, 1, 1024))
        .await?;
    Ok(())
}

#[tokio::test]
async fn expired_envelopes_are_never_delivered_and_are_swept() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("envelope_expiry_secs", 1), ("expiry_sweep_secs", 1)],
        ..RelayOptions::default()
    })?;
    let client = connect(relay.address()).await?;
    let boxes = mailboxes(&client, 1).await?;
    for n in 0..3 {
        client
            .send(boxes[0].ids.send_id, numbered(0, n, 64))
            .await?;
    }
    // Wait past the expiry and at least one sweep.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut subscription = client
        .subscribe(boxes[0].ids.receive_id, &boxes[0].owner)
        .await?;
    assert_eq!(subscription.stored_at_start(), 0, "swept from the store");
    assert_eq!(
        tokio::time::timeout(WAIT, subscription.next()).await?,
        Some(SubscriptionEvent::Drained)
    );
    assert_eq!(client.status(boxes[0].ids.receive_id).await?.envelopes, 0);
    // A fresh envelope is still delivered.
    client
        .send(boxes[0].ids.send_id, numbered(0, 9, 64))
        .await?;
    assert!(
        tokio::time::timeout(WAIT, subscription.next_envelope())
            .await?
            .is_some()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_against_one_mailbox_hits_its_quota_and_memory_stays_bounded() -> anyhow::Result<()>
{
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_envelopes", 1_000)],
        ..RelayOptions::default()
    })?;
    let pid = relay.pid().expect("running");
    let victim_owner = connect(relay.address()).await?;
    let boxes = mailboxes(&victim_owner, 2).await?;

    let mut attackers = JoinSet::new();
    for _ in 0..4 {
        let client = connect(relay.address()).await?;
        let target = boxes[0].ids.send_id;
        attackers.spawn(async move {
            let (mut stored, mut refused) = (0u32, 0u32);
            let mut in_flight = JoinSet::new();
            for n in 0..2_000u32 {
                if in_flight.len() >= 128
                    && let Some(Ok(ok)) = in_flight.join_next().await
                {
                    if ok { stored += 1 } else { refused += 1 }
                }
                let client = client.clone();
                in_flight.spawn(async move {
                    match client.send(target, numbered(0, n, 8_000)).await {
                        Ok(()) => true,
                        Err(e) => {
                            assert_eq!(e.code(), Some(ErrorCode::QuotaExceeded), "{e}");
                            false
                        }
                    }
                });
            }
            while let Some(Ok(ok)) = in_flight.join_next().await {
                if ok { stored += 1 } else { refused += 1 }
            }
            (stored, refused)
        });
    }
    let (mut stored, mut refused) = (0, 0);
    while let Some(result) = attackers.join_next().await {
        let (s, r) = result?;
        stored += s;
        refused += r;
    }
    assert_eq!(stored, 1_000, "exactly the quota is stored");
    assert_eq!(refused, 7_000);
    let rss = rss_bytes(pid).unwrap_or(0);
    assert!(
        rss < 256 << 20,
        "relay RSS after a 64 MB flood: {} MiB",
        rss >> 20
    );

    // The relay still serves everyone else.
    victim_owner
        .send(boxes[1].ids.send_id, numbered(1, 0, 64))
        .await?;
    assert_eq!(drain(&victim_owner, &boxes[1], WAIT).await?.len(), 1);
    Ok(())
}

/// The owner of a mailbox subscribes and then stops reading, while others fill the mailbox
/// to its quota with large envelopes. The relay must not buffer them for that connection
/// (they are on disk already): its memory stays bounded, it drops the stuck connection
/// after the idle timeout, and a new subscription then gets every envelope exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_costs_bounded_memory_and_loses_nothing()
-> anyhow::Result<()> {
    const COUNT: u32 = 2_000;
    const SIZE: usize = 60_000;
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_envelopes", 2_000), ("idle_timeout_secs", 4)],
        ..RelayOptions::default()
    })?;
    let pid = relay.pid().expect("running");
    let owner = connect(relay.address()).await?;
    let boxes = mailboxes(&owner, 1).await?;
    let mailbox = &boxes[0];

    let mut stuck = StuckSubscriber::subscribe(&relay, mailbox).await?;
    let rss_before = rss_bytes(pid).unwrap_or(0);

    let mut senders = JoinSet::new();
    for s in 0..4u32 {
        let client = connect(relay.address()).await?;
        let target = mailbox.ids.send_id;
        senders.spawn(async move {
            let mut in_flight = JoinSet::new();
            for n in (s..COUNT).step_by(4) {
                if in_flight.len() >= 32 {
                    in_flight.join_next().await.expect("not empty")??;
                }
                let client = client.clone();
                in_flight.spawn(async move { client.send(target, numbered(0, n, SIZE)).await });
            }
            while let Some(sent) = in_flight.join_next().await {
                sent??;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = senders.join_next().await {
        done??;
    }
    let rss_after = rss_bytes(pid).unwrap_or(0);
    let grown = rss_after.saturating_sub(rss_before);
    let sent_mb = (u64::from(COUNT) * SIZE as u64) >> 20;
    eprintln!(
        "relay RSS grew by {} MiB for {sent_mb} MiB sent",
        grown >> 20
    );
    assert!(
        grown < 80 << 20,
        "relay RSS grew by {} MiB while {sent_mb} MiB went to a subscriber that reads nothing",
        grown >> 20
    );

    // The stuck connection is dropped once its writes have stalled for the idle timeout.
    stuck.wait_closed(Duration::from_secs(30)).await?;

    // A fresh subscription gets every envelope, once, in full.
    let owner = connect(relay.address()).await?;
    let delivered = drain(&owner, mailbox, WAIT).await?;
    let mut seen = vec![false; COUNT as usize];
    for delivery in &delivered {
        let body = delivery.envelope.body.as_bytes();
        assert_eq!(body.len(), SIZE);
        let n = u32::from_be_bytes(body[4..8].try_into()?) as usize;
        assert!(!seen[n], "envelope {n} delivered twice");
        seen[n] = true;
    }
    assert_eq!(delivered.len(), COUNT as usize, "every envelope arrives");
    Ok(())
}

/// A raw connection that subscribes to a mailbox and then never reads again.
struct StuckSubscriber {
    stream: boucle_relay_client::RawStream,
}

impl StuckSubscriber {
    async fn subscribe(
        relay: &RelayProcess,
        mailbox: &boucle_e2e::Mailbox,
    ) -> anyhow::Result<StuckSubscriber> {
        use boucle_proto::{ClientConnection, ClientEvent};
        let mut stream = boucle_relay_client::RawStream::open(
            relay.address(),
            &boucle_relay_client::ClientOptions::default(),
        )
        .await?;
        let mut protocol = ClientConnection::new();
        let mut subscribed = false;
        let deadline = tokio::time::Instant::now() + WAIT;
        while !subscribed {
            stream.send.write_all(&protocol.take_transmit()).await?;
            let chunk = tokio::time::timeout_at(deadline, stream.recv.read_chunk(65_536, true))
                .await??
                .ok_or_else(|| anyhow::anyhow!("the relay closed the stream"))?;
            protocol.handle_bytes(&chunk.bytes)?;
            while let Some(event) = protocol.poll_event() {
                match event {
                    ClientEvent::Ready { .. } => {
                        protocol.subscribe(mailbox.ids.receive_id, &mailbox.owner)?;
                    }
                    ClientEvent::Reply { result, .. } => {
                        result.map_err(|code| anyhow::anyhow!("subscribe refused: {code:?}"))?;
                        subscribed = true;
                    }
                    _ => {}
                }
            }
        }
        Ok(StuckSubscriber { stream })
    }

    /// Waits for the relay to close the connection.
    async fn wait_closed(&mut self, timeout: Duration) -> anyhow::Result<()> {
        tokio::time::timeout(timeout, self.stream.connection.closed())
            .await
            .map_err(|_| anyhow::anyhow!("the relay kept a connection that reads nothing"))?;
        Ok(())
    }
}
