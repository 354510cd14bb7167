//! Helpers shared by the full-stack scenarios in this package.

use boucle_relay_client::{ClientOptions, MailboxIds, RelayClient};
use boucle_wire::{Body, Envelope, Header, RelayAddress};
use ed25519_dalek::SigningKey;

/// A fresh random owner key.
pub fn owner_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    SigningKey::from_bytes(&seed)
}

/// An envelope whose body encodes `(mailbox, n)`, so tests can check exactly-once delivery.
pub fn numbered(mailbox: u32, n: u32, size: usize) -> Envelope {
    let mut body = vec![0u8; size.max(8)];
    body[..4].copy_from_slice(&mailbox.to_be_bytes());
    body[4..8].copy_from_slice(&n.to_be_bytes());
    Envelope {
        header: Header::default(),
        body: Body::new(body).expect("test bodies are small"),
    }
}

/// Reads back what [`numbered`] wrote.
pub fn number_of(envelope: &Envelope) -> (u32, u32) {
    let b = envelope.body.as_bytes();
    (
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    )
}

/// Connects with default options.
pub async fn connect(address: &RelayAddress) -> anyhow::Result<RelayClient> {
    Ok(RelayClient::connect(address, ClientOptions::default()).await?)
}

/// A mailbox and the key that owns it.
pub struct Mailbox {
    /// Owner key.
    pub owner: SigningKey,
    /// Ids.
    pub ids: MailboxIds,
}

/// Creates `n` mailboxes.
pub async fn mailboxes(client: &RelayClient, n: usize) -> anyhow::Result<Vec<Mailbox>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let owner = owner_key();
        let ids = client.create_mailbox(&owner, None).await?;
        out.push(Mailbox { owner, ids });
    }
    Ok(out)
}

/// Subscribes and collects everything stored until the relay says the backlog is
/// drained, acknowledging each envelope. Bounded by `timeout`.
pub async fn drain(
    client: &RelayClient,
    mailbox: &Mailbox,
    timeout: std::time::Duration,
) -> anyhow::Result<Vec<boucle_relay_client::Delivery>> {
    use boucle_relay_client::SubscriptionEvent;
    let mut subscription = client
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(timeout, subscription.next()).await? {
            Some(SubscriptionEvent::Envelope(delivery)) => {
                subscription.ack(delivery.seq)?;
                out.push(delivery);
            }
            Some(SubscriptionEvent::Drained) => return Ok(out),
            other => anyhow::bail!("subscription ended before draining: {other:?}"),
        }
    }
}

/// Resident memory of a process, in bytes (Linux).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
