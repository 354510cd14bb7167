use std::collections::BTreeMap;

use boucle_client_core::{ConversationId, Engine, LoopId};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{User, introduce, member_count, text, until_members};

/// Texts of a loop conversation, with their senders.
fn loop_texts(engine: &Engine, id: LoopId) -> Vec<(Option<String>, String)> {
    engine
        .history(ConversationId::Loop(id), None, 1_000)
        .unwrap_or_default()
        .iter()
        .map(|v| (v.sender.clone(), text(v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_users_on_two_relays_form_a_loop_and_a_removed_member_reads_nothing_after()
-> anyhow::Result<()> {
    let north = RelayProcess::start(RelayOptions::default())?;
    let south = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &north).await?;
    let mut bob = User::new("Bob", &north).await?;
    let mut carol = User::new("Carol", &south).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, _) = introduce(&mut alice, &mut carol).await?;
    // Bob and Carol are not contacts: the loop introduces them as members only.
    assert_eq!(bob.engine.contacts()?.len(), 1);
    assert_eq!(carol.engine.contacts()?.len(), 1);

    let id = alice
        .engine
        .create_loop("Assemblée du quartier", &[bob_for_alice, carol_for_alice])
        .await?;
    until_members([&mut alice, &mut bob, &mut carol], id, 3).await?;
    assert!(
        carol.engine.contacts()?.len() == 1,
        "no contact without consent"
    );
    let members = bob.engine.loop_members(id)?;
    assert_eq!(members.len(), 3);
    assert_eq!(members.iter().filter(|m| m.admin).count(), 1);

    let conversation = ConversationId::Loop(id);
    alice.engine.send_text(conversation, "from Alice")?;
    bob.engine.send_text(conversation, "from Bob")?;
    carol.engine.send_text(conversation, "from Carol")?;
    for (user, others) in [
        (&mut alice, ["from Bob", "from Carol"]),
        (&mut bob, ["from Alice", "from Carol"]),
        (&mut carol, ["from Alice", "from Bob"]),
    ] {
        let texts = user
            .until(|e| {
                let texts = loop_texts(e, id);
                let received = texts.iter().filter(|(sender, _)| sender.is_some()).count();
                (received >= 2).then_some(texts)
            })
            .await?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (sender, body) in texts.iter().filter(|(sender, _)| sender.is_some()) {
            assert!(sender.is_some());
            *counts.entry(body.clone()).or_default() += 1;
        }
        for expected in others {
            assert_eq!(counts.get(expected), Some(&1), "{expected} exactly once");
        }
        assert_eq!(counts.len(), 2);
    }
    // Bob knows Alice as a contact, and Carol only as a member.
    let bob_texts = loop_texts(&bob.engine, id);
    assert!(bob_texts.contains(&(Some("Alice".into()), "from Alice".into())));
    assert!(
        bob_texts
            .iter()
            .any(|(s, b)| b == "from Carol"
                && s.as_deref().is_some_and(|s| s.starts_with("member ")))
    );

    // Alice removes Carol.
    let carol_member = alice
        .engine
        .loop_members(id)?
        .into_iter()
        .find(|m| m.name.as_deref() == Some("Carol"))
        .expect("Carol is a member");
    alice.engine.remove_from_loop(id, &carol_member.id)?;
    bob.until(|e| (member_count(e, id) == Some(2)).then_some(()))
        .await?;
    carol
        .until(|e| {
            e.loops()
                .ok()?
                .into_iter()
                .find(|l| l.id == id && !l.member)
                .map(|_| ())
        })
        .await?;
    let carol_before = loop_texts(&carol.engine, id).len();

    alice
        .engine
        .send_text(conversation, "after Carol left: Alice")?;
    bob.engine
        .send_text(conversation, "after Carol left: Bob")?;
    bob.until(|e| {
        loop_texts(e, id)
            .iter()
            .any(|(_, b)| b == "after Carol left: Alice")
            .then_some(())
    })
    .await?;
    alice
        .until(|e| {
            loop_texts(e, id)
                .iter()
                .any(|(_, b)| b == "after Carol left: Bob")
                .then_some(())
        })
        .await?;
    // Give anything misdirected time to arrive, then check Carol got nothing readable.
    carol.engine.sync(std::time::Duration::from_secs(3)).await;
    let carol_after = loop_texts(&carol.engine, id);
    assert_eq!(
        carol_after.len(),
        carol_before,
        "a removed member reads nothing new"
    );
    assert!(carol.engine.send_text(conversation, "still here?").is_err());

    // Bob leaves on his own; Alice sees the loop shrink to herself.
    bob.engine.leave_loop(id)?;
    alice
        .until(|e| (member_count(e, id) == Some(1)).then_some(()))
        .await?;
    assert!(bob.engine.send_text(conversation, "gone").is_err());
    Ok(())
}

/// Bob and Carol meet in Alice's loop without being contacts: Bob sees Carol as a short
/// member id, and her edits apply (authorship is her key, not her label). Once they
/// become contacts, what she wrote before is shown under her name, and her later edits
/// of it still apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_becomes_a_contact_is_named_in_what_they_wrote_before() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let mut carol = User::new("Carol", &relay).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, _) = introduce(&mut alice, &mut carol).await?;
    let id = alice
        .engine
        .create_loop("Tenants' union", &[bob_for_alice, carol_for_alice])
        .await?;
    until_members([&mut alice, &mut bob, &mut carol], id, 3).await?;
    let conversation = ConversationId::Loop(id);
    let sent = carol.engine.send_text(conversation, "meeting at 7")?;
    carol.engine.edit(conversation, sent.id, "meeting at 8")?;
    let seen = |text_now: &'static str| {
        move |e: &Engine| {
            loop_texts(e, id)
                .into_iter()
                .find(|(_, t)| t == text_now)
                .map(|(sender, _)| sender.unwrap_or_default())
        }
    };
    let before = bob.until(seen("meeting at 8")).await?;
    assert!(before.starts_with("member "), "not a contact yet: {before}");

    introduce(&mut carol, &mut bob).await?;
    let named = bob.until(seen("meeting at 8")).await?;
    assert_eq!(named, "Carol", "named as a contact now");

    carol
        .engine
        .edit(conversation, sent.id, "meeting at 8, room 2")?;
    let after = bob.until(seen("meeting at 8, room 2")).await?;
    assert_eq!(after, "Carol");
    assert_eq!(
        loop_texts(&alice.engine, id)
            .into_iter()
            .filter(|(_, t)| t.starts_with("meeting"))
            .count(),
        1,
        "one message, edited in place"
    );
    Ok(())
}
