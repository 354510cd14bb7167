use boucle_client_core::{ConversationId, DeliveryState};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{User, introduce, message, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_on_one_relay_talk_both_ways() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, alice_id) = introduce(&mut alice, &mut bob).await?;
    let to_alice = ConversationId::Contact(alice_id);
    let to_bob = ConversationId::Contact(bob_id);

    let sent = bob.engine.send_text(to_alice, "hello Alice")?;
    let got = alice.next_message().await?;
    assert_eq!(text(&got), "hello Alice");
    assert!(!got.from_me);
    assert_eq!(got.id, sent.id);

    let reply = alice.engine.reply(to_bob, got.id, "hi Bob!")?;
    let got = bob.next_message().await?;
    assert_eq!(text(&got), "hi Bob!");
    assert_eq!(got.reply_to, Some(sent.id));

    // Each side's message reached the other's device: delivery states say so.
    let delivered = |view: Option<boucle_client_core::MessageView>| {
        view.filter(|v| v.delivery == Some(DeliveryState::Delivered))
    };
    bob.until(|e| delivered(message(e, to_alice, sent.id)))
        .await?;
    alice
        .until(|e| delivered(message(e, to_bob, reply.id)))
        .await?;

    // Reactions, edits and deletes travel too.
    alice.engine.react(to_bob, sent.id, "👍", false)?;
    let reacted = bob
        .until(|e| {
            e.history(to_alice, None, 100)
                .ok()?
                .into_iter()
                .find(|v| v.id == sent.id && !v.reactions.is_empty())
        })
        .await?;
    assert_eq!(reacted.reactions[0].emoji, "👍");
    assert!(!reacted.reactions[0].mine);
    bob.engine.edit(to_alice, sent.id, "hello Alice (edited)")?;
    let edited = alice
        .until(|e| {
            e.history(to_bob, None, 100)
                .ok()?
                .into_iter()
                .find(|v| v.id == sent.id && v.edited)
        })
        .await?;
    assert_eq!(text(&edited), "hello Alice (edited)");
    alice.engine.delete(to_bob, reply.id)?;
    bob.until(|e| {
        e.history(to_alice, None, 100)
            .ok()?
            .into_iter()
            .find(|v| v.id == reply.id && v.deleted)
    })
    .await?;
    // Only the author may edit.
    assert!(alice.engine.edit(to_bob, sent.id, "forged").is_err());

    // History, in order, with paging.
    let history = alice.engine.history(to_bob, None, 10)?;
    assert_eq!(history.len(), 2);
    assert_eq!(text(&history[0]), "hello Alice (edited)");
    assert!(history[1].deleted);
    let older = alice
        .engine
        .history(to_bob, Some(history[1].position), 10)?;
    assert_eq!(older.len(), 1);
    assert_eq!(alice.engine.contact(bob_id)?.unread, 1);
    alice.engine.mark_read(to_bob)?;
    assert_eq!(alice.engine.contact(bob_id)?.unread, 0);

    // Both see the same safety number.
    let a = alice.engine.safety_number(bob_id)?;
    let b = bob.engine.safety_number(alice_id)?;
    assert_eq!(a.digits(), b.digits());
    assert!(alice.engine.mark_verified(bob_id)?.verified);
    Ok(())
}
