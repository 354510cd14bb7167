//! Shared contacts: Alice shares Bob with Carol (who is not Bob's contact), Carol adds
//! him in one action, and they talk and compare safety numbers.

use boucle_client_core::{ConversationId, EngineError, MessageBody, MessageView};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{User, introduce, text};

fn shared(view: &MessageView) -> Option<(String, String, bool)> {
    match &view.body {
        MessageBody::SharedContact {
            name,
            safety_number,
            already_contact,
            ..
        } => Some((name.clone(), safety_number.clone(), *already_contact)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_contact_is_added_in_one_action_and_messaged() -> anyhow::Result<()> {
    let north = RelayProcess::start(RelayOptions::default())?;
    let south = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &north).await?;
    let mut bob = User::new("Bob", &north).await?;
    let mut carol = User::new("Carol", &south).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, alice_for_carol) = introduce(&mut alice, &mut carol).await?;
    assert_eq!(carol.engine.contacts()?.len(), 1, "Carol knows only Alice");

    // Sharing Bob with Bob himself makes no sense and is refused.
    assert!(matches!(
        alice
            .engine
            .share_contact(ConversationId::Contact(bob_for_alice), bob_for_alice),
        Err(EngineError::SharedWithThemselves(_))
    ));
    let sent = alice
        .engine
        .share_contact(ConversationId::Contact(carol_for_alice), bob_for_alice)?;
    let (_, _, known) = shared(&sent).expect("a shared contact");
    assert!(known, "for Alice, Bob is a contact");

    let with_alice = ConversationId::Contact(alice_for_carol);
    let received = carol.next_message().await?;
    assert_eq!(received.conversation, with_alice);
    let (name, number, already) = shared(&received).expect("a shared contact");
    assert_eq!(name, "Bob");
    assert!(!already, "Carol does not know Bob yet");
    assert_eq!(number.len(), 60);

    // One action: Bob becomes Carol's contact, and Carol becomes Bob's.
    let bob_for_carol = carol
        .engine
        .add_shared_contact(with_alice, received.id)
        .await?;
    let bob_seen_by_carol = carol.engine.contact(bob_for_carol)?;
    assert_eq!(bob_seen_by_carol.name, "Bob");
    assert_eq!(bob_seen_by_carol.introduced_by.as_deref(), Some("Alice"));
    assert!(!bob_seen_by_carol.verified);
    let carol_seen_by_bob = bob.contact_named("Carol").await?;
    assert_eq!(
        carol_seen_by_bob.introduced_by.as_deref(),
        Some("Alice"),
        "Bob sees through whose card Carol came"
    );
    assert!(!carol_seen_by_bob.verified);
    let (shown, _, already) = carol
        .engine
        .history(with_alice, None, 10)?
        .iter()
        .find(|m| m.id == received.id)
        .and_then(shared)
        .expect("still there");
    assert_eq!(shown, "Bob");
    assert!(already, "the message now says Bob is a contact");

    // They talk both ways.
    let to_bob = ConversationId::Contact(bob_for_carol);
    let to_carol = ConversationId::Contact(carol_seen_by_bob.id);
    carol.engine.send_text(to_bob, "hello Bob, Alice sent me")?;
    let got = bob.next_message().await?;
    assert_eq!(got.conversation, to_carol);
    assert_eq!(text(&got), "hello Bob, Alice sent me");
    bob.engine.send_text(to_carol, "welcome Carol")?;
    let got = carol.next_message().await?;
    assert_eq!(got.conversation, to_bob);
    assert_eq!(text(&got), "welcome Carol");

    // Safety numbers: the same on both sides, and what the shared message showed.
    let at_carol = carol.engine.safety_number(bob_for_carol)?;
    let at_bob = bob.engine.safety_number(carol_seen_by_bob.id)?;
    assert_eq!(at_carol.digits(), at_bob.digits());
    assert_eq!(at_carol.digits(), number);
    assert_ne!(
        at_carol.digits(),
        carol.engine.safety_number(alice_for_carol)?.digits()
    );

    // The same person arriving twice is not a second contact: adding again, or from a
    // second share, gives the same contact and sends nothing.
    assert_eq!(
        carol
            .engine
            .add_shared_contact(with_alice, received.id)
            .await?,
        bob_for_carol
    );
    alice
        .engine
        .share_contact(ConversationId::Contact(carol_for_alice), bob_for_alice)?;
    let again = carol.next_message().await?;
    let (_, _, already) = shared(&again).expect("a shared contact");
    assert!(already, "already a contact when it arrives");
    assert_eq!(
        carol
            .engine
            .add_shared_contact(with_alice, again.id)
            .await?,
        bob_for_carol
    );
    assert_eq!(
        carol.engine.contacts()?.len(),
        2,
        "Alice and Bob, once each"
    );
    // Bob becomes shareable in turn: Carol holds his card for her own introductions.
    carol
        .until(|e| e.contact(bob_for_carol).ok().filter(|c| c.can_share))
        .await?;
    assert_eq!(
        bob.engine.contacts()?.len(),
        2,
        "Alice and Carol, once each"
    );

    // A plain text message is not something to add.
    let plain = alice
        .engine
        .send_text(ConversationId::Contact(carol_for_alice), "just text")?;
    carol.next_message().await?;
    assert!(matches!(
        carol.engine.add_shared_contact(with_alice, plain.id).await,
        Err(EngineError::NotASharedContact)
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_shared_into_a_loop_can_be_added_by_any_member() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let mut carol = User::new("Carol", &relay).await?;
    let mut dave = User::new("Dave", &relay).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, _) = introduce(&mut alice, &mut carol).await?;
    let (dave_for_alice, _) = introduce(&mut alice, &mut dave).await?;
    let id = alice
        .engine
        .create_loop("Soup kitchen", &[bob_for_alice, carol_for_alice])
        .await?;
    for user in [&mut alice, &mut bob, &mut carol] {
        user.until(|e| {
            e.loops()
                .ok()?
                .into_iter()
                .find(|l| l.id == id && l.members == 3)
        })
        .await?;
    }
    let conversation = ConversationId::Loop(id);
    let sent = alice.engine.share_contact(conversation, dave_for_alice)?;
    for user in [&mut bob, &mut carol] {
        let got = user
            .until(|e| {
                e.history(conversation, None, 50)
                    .ok()?
                    .into_iter()
                    .find(|m| m.id == sent.id)
            })
            .await?;
        assert_eq!(got.sender.as_deref(), Some("Alice"));
        let dave_here = user.engine.add_shared_contact(conversation, got.id).await?;
        assert_eq!(user.engine.contact(dave_here)?.name, "Dave");
    }
    let mut met: Vec<String> = dave
        .until(|e| {
            let contacts = e.contacts().ok()?;
            (contacts.len() == 3).then_some(contacts)
        })
        .await?
        .into_iter()
        .filter(|c| c.introduced_by.is_some())
        .map(|c| format!("{} via {}", c.name, c.introduced_by.unwrap_or_default()))
        .collect();
    met.sort();
    assert_eq!(met, ["Bob via Alice", "Carol via Alice"]);
    Ok(())
}
