use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boucle_e2e::{connect, drain, mailboxes, number_of, numbered};
use boucle_test_support::{RelayOptions, RelayProcess};
use tokio::task::JoinSet;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_envelopes_to_a_hundred_mailboxes_survive_a_graceful_restart()
-> anyhow::Result<()> {
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let client = connect(relay.address()).await?;
    let boxes = Arc::new(mailboxes(&client, 100).await?);

    // 100 envelopes per mailbox, sent concurrently (pipelined on one connection).
    let mut senders = JoinSet::new();
    for m in 0..100u32 {
        let client = client.clone();
        let boxes = boxes.clone();
        senders.spawn(async move {
            for n in 0..100u32 {
                client
                    .send(boxes[m as usize].ids.send_id, numbered(m, n, 256))
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = senders.join_next().await {
        result??;
    }
    client.close();

    let status = relay.terminate()?;
    assert!(
        status.success(),
        "SIGTERM must end the relay cleanly: {status:?}"
    );
    assert!(relay.log().contains("stopped"), "{}", relay.log());
    relay.restart()?;

    let client = connect(relay.address()).await?;
    let mut seen = HashSet::new();
    for (m, mailbox) in boxes.iter().enumerate() {
        let deliveries = drain(&client, mailbox, WAIT).await?;
        assert_eq!(deliveries.len(), 100, "mailbox {m}");
        for (i, delivery) in deliveries.iter().enumerate() {
            let (owner, n) = number_of(&delivery.envelope);
            assert_eq!(
                (owner, n),
                (m as u32, i as u32),
                "in order, to the right mailbox"
            );
            assert!(seen.insert((owner, n)), "delivered twice: {owner}/{n}");
        }
    }
    assert_eq!(seen.len(), 10_000);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_send_load_loses_no_acknowledged_envelope() -> anyhow::Result<()> {
    const MAILBOXES: usize = 20;
    const SENDERS: u32 = 4;
    const WINDOW: usize = 64;
    const MAX_PER_SENDER: u32 = 50_000;

    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let setup = connect(relay.address()).await?;
    let boxes = Arc::new(mailboxes(&setup, MAILBOXES).await?);
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));

    let mut senders = JoinSet::new();
    for s in 0..SENDERS {
        let client = connect(relay.address()).await?;
        let boxes = boxes.clone();
        let acknowledged = acknowledged.clone();
        senders.spawn(async move {
            // Each sender numbers its envelopes s*MAX.. and keeps WINDOW in flight.
            let mut in_flight = JoinSet::new();
            for i in 0..MAX_PER_SENDER {
                let n = s * MAX_PER_SENDER + i;
                let m = (n as usize) % MAILBOXES;
                if in_flight.len() >= WINDOW && in_flight.join_next().await.is_none() {
                    break;
                }
                let sender = client.clone();
                let boxes = boxes.clone();
                let acknowledged = acknowledged.clone();
                in_flight.spawn(async move {
                    let sent = sender
                        .send(boxes[m].ids.send_id, numbered(m as u32, n, 200))
                        .await;
                    if sent.is_ok() {
                        acknowledged.lock().unwrap().insert((m as u32, n));
                    }
                    sent.is_ok()
                });
                if !client.is_open() {
                    break;
                }
            }
            while in_flight.join_next().await.is_some() {}
        });
    }

    // Let the load run, then pull the plug mid-flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 3_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load never got going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay.kill9()?;
    let stopped = tokio::time::timeout(Duration::from_secs(60), async {
        while senders.join_next().await.is_some() {}
    })
    .await;
    assert!(stopped.is_ok(), "senders must notice the dead relay");
    let acknowledged = acknowledged.lock().unwrap().clone();

    relay.restart()?;
    let client = connect(relay.address()).await?;
    let mut delivered: HashMap<(u32, u32), usize> = HashMap::new();
    for mailbox in boxes.iter() {
        for delivery in drain(&client, mailbox, WAIT).await? {
            *delivered.entry(number_of(&delivery.envelope)).or_default() += 1;
        }
    }
    let twice: Vec<_> = delivered.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|k| !delivered.contains_key(k))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged envelopes lost (of {}), e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        lost.first()
    );
    // Envelopes stored but not yet acknowledged when the relay died may be delivered too.
    assert!(delivered.len() >= acknowledged.len());
    eprintln!(
        "acknowledged before kill: {}, delivered after restart: {}",
        acknowledged.len(),
        delivered.len()
    );
    Ok(())
}
