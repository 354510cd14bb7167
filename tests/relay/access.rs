use std::time::Duration;

use boucle_e2e::{Mailbox, connect, drain, mailboxes, number_of, numbered, owner_key};
use boucle_relay_client::SubscriptionEvent;
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::{AccessToken, BatchRecipient, Body, ErrorCode, Header, PublicKey};

const WAIT: Duration = Duration::from_secs(20);

fn token_from(stdout: &str) -> AccessToken {
    let text = stdout
        .lines()
        .find_map(|l| l.strip_prefix("access token: "))
        .expect("a token line");
    boucle_test_support::parse_token(text).expect("a valid token")
}

#[tokio::test]
async fn creating_needs_a_valid_token_and_revocation_is_immediate() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions {
        open: false,
        ..RelayOptions::default()
    })?;
    let first = relay.token.expect("init prints a token");
    let client = connect(relay.address()).await?;
    assert!(client.limits().token_required);

    let none = client.create_mailbox(&owner_key(), None).await.unwrap_err();
    assert_eq!(none.code(), Some(ErrorCode::AccessTokenRequired));
    let forged = AccessToken::from_bytes([1; 32]);
    let bad = client
        .create_mailbox(&owner_key(), Some(forged))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(ErrorCode::AccessTokenInvalid));
    let owner = owner_key();
    let ids = client.create_mailbox(&owner, Some(first)).await?;

    // Sending never needs a token.
    client.send(ids.send_id, numbered(0, 0, 64)).await?;

    // Tokens made and revoked while the relay runs take effect at once.
    let created = relay.admin(&["token", "create", "--label", "second"])?;
    let second = token_from(&created);
    client.create_mailbox(&owner_key(), Some(second)).await?;
    let id = created
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("an id");
    relay.admin(&["token", "revoke", id])?;
    let revoked = client
        .create_mailbox(&owner_key(), Some(second))
        .await
        .unwrap_err();
    assert_eq!(revoked.code(), Some(ErrorCode::AccessTokenInvalid));
    // The first token still works.
    client.create_mailbox(&owner_key(), Some(first)).await?;
    Ok(())
}

#[tokio::test]
async fn a_sender_key_restricts_who_may_send() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let client = connect(relay.address()).await?;
    let mailbox = &mailboxes(&client, 1).await?[0];
    let sender = owner_key();
    let mut subscription = client
        .subscribe(mailbox.ids.receive_id, &mailbox.owner)
        .await?;
    client
        .set_sender_key(
            mailbox.ids.receive_id,
            Some(PublicKey::from_bytes(sender.verifying_key().to_bytes())),
        )
        .await?;
    assert!(
        client
            .status(mailbox.ids.receive_id)
            .await?
            .sender_key_required
    );

    let unsigned = client.send(mailbox.ids.send_id, numbered(0, 0, 64)).await;
    assert_eq!(
        unsigned.unwrap_err().code(),
        Some(ErrorCode::SenderNotAllowed)
    );
    let wrong = client
        .send_signed(mailbox.ids.send_id, numbered(0, 1, 64), &owner_key())
        .await;
    assert_eq!(wrong.unwrap_err().code(), Some(ErrorCode::SenderNotAllowed));
    client
        .send_signed(mailbox.ids.send_id, numbered(0, 2, 64), &sender)
        .await?;
    client.set_sender_key(mailbox.ids.receive_id, None).await?;
    client.send(mailbox.ids.send_id, numbered(0, 3, 64)).await?;

    let mut got = Vec::new();
    while got.len() < 2 {
        match tokio::time::timeout(WAIT, subscription.next()).await? {
            Some(SubscriptionEvent::Envelope(d)) => got.push(number_of(&d.envelope).1),
            Some(SubscriptionEvent::Drained) => {}
            other => anyhow::bail!("{other:?}"),
        }
    }
    assert_eq!(got, vec![2, 3]);
    Ok(())
}

#[tokio::test]
async fn a_batch_stores_one_body_for_many_mailboxes() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let client = connect(relay.address()).await?;
    let boxes = mailboxes(&client, 50).await?;
    let file = relay.data_dir().join("relay.redb");
    let before = std::fs::metadata(&file)?.len();

    let body = Body::new(vec![0x5a; 60_000])?;
    let mut recipients: Vec<BatchRecipient> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| BatchRecipient {
            send_id: b.ids.send_id,
            header: Header::new(vec![i as u8; 80]).unwrap(),
            sender_signature: None,
        })
        .collect();
    recipients.push(BatchRecipient {
        send_id: boucle_wire::SendId::from_bytes([9; 16]),
        header: Header::default(),
        sender_signature: None,
    });
    let outcomes = client.send_batch(body.clone(), recipients).await?;
    assert_eq!(outcomes.len(), 51);
    assert!(outcomes[..50].iter().all(Result::is_ok));
    assert_eq!(outcomes[50], Err(ErrorCode::UnknownMailbox));
    let grown = std::fs::metadata(&file)?.len().saturating_sub(before);
    assert!(
        grown < 20 * 60_000,
        "50 recipients of a 60 kB body grew the store by {grown} bytes: the body must be stored once"
    );

    for (i, mailbox) in boxes.iter().enumerate() {
        let got = drain(&client, mailbox, WAIT).await?;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].envelope.header.as_bytes(), &vec![i as u8; 80][..]);
        assert_eq!(got[0].envelope.body, body);
    }
    Ok(())
}

#[tokio::test]
async fn a_newer_subscription_takes_over_and_deletion_ends_it() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let first = connect(relay.address()).await?;
    let second = connect(relay.address()).await?;
    let Mailbox { owner, ids } = mailboxes(&first, 1).await?.remove(0);
    let mut old = first.subscribe(ids.receive_id, &owner).await?;
    assert_eq!(
        tokio::time::timeout(WAIT, old.next()).await?,
        Some(SubscriptionEvent::Drained)
    );
    let mut new = second.subscribe(ids.receive_id, &owner).await?;
    assert_eq!(
        tokio::time::timeout(WAIT, old.next()).await?,
        Some(SubscriptionEvent::Ended)
    );
    first.send(ids.send_id, numbered(0, 1, 64)).await?;
    assert!(
        tokio::time::timeout(WAIT, new.next_envelope())
            .await?
            .is_some()
    );

    second.delete_mailbox(ids.receive_id).await?;
    let gone = first
        .send(ids.send_id, numbered(0, 2, 64))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some(ErrorCode::UnknownMailbox));
    Ok(())
}
