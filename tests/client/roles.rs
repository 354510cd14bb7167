//! Roles: an announcement loop where only admins post (members react), and a loop
//! where members may invite.

use boucle_client_core::{
    ConversationId, Engine, EngineError, Inviting, LoopId, LoopPolicy, LoopView, Posting,
};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{User, WAIT, eventually, introduce, text};

fn view(engine: &Engine, id: LoopId) -> Option<LoopView> {
    engine.loops().ok()?.into_iter().find(|l| l.id == id)
}

fn texts(engine: &Engine, id: LoopId) -> Vec<String> {
    engine
        .history(ConversationId::Loop(id), None, 1_000)
        .unwrap_or_default()
        .iter()
        .map(text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_an_announcement_loop_only_admins_post_and_a_members_post_is_refused_everywhere()
-> anyhow::Result<()> {
    let north = RelayProcess::start(RelayOptions::default())?;
    let mut south = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &north).await?;
    let mut bob = User::new("Bob", &north).await?;
    let mut carol = User::new("Carol", &south).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, _) = introduce(&mut alice, &mut carol).await?;
    let id = alice
        .engine
        .create_loop("Announcements", &[bob_for_alice, carol_for_alice])
        .await?;
    for user in [&mut alice, &mut bob, &mut carol] {
        user.until(|e| view(e, id).filter(|l| l.members == 3))
            .await?;
    }
    let conversation = ConversationId::Loop(id);
    let welcome = alice.engine.send_text(conversation, "welcome")?;
    for user in [&mut bob, &mut carol] {
        user.until(|e| texts(e, id).contains(&"welcome".to_owned()).then_some(()))
            .await?;
    }

    // Carol's relay goes down: she will not hear of the new policy for a while.
    south.terminate()?;
    let announcement = LoopPolicy {
        posting: Posting::Admins,
        inviting: Inviting::Admins,
    };
    assert!(matches!(
        bob.engine.set_loop_policy(id, announcement),
        Err(EngineError::NotAdmin)
    ));
    alice.engine.set_loop_policy(id, announcement)?;
    let at_bob = bob
        .until(|e| view(e, id).filter(|l| l.policy == announcement))
        .await?;
    assert!(!at_bob.may_post && !at_bob.admin);
    assert!(view(&alice.engine, id).is_some_and(|l| l.may_post));

    // Bob knows the policy: his client refuses to post, but he may still react.
    assert!(matches!(
        bob.engine.send_text(conversation, "can I say something?"),
        Err(EngineError::NotAllowedToPost)
    ));
    assert!(matches!(
        bob.engine.reply(conversation, welcome.id, "me too"),
        Err(EngineError::NotAllowedToPost)
    ));
    assert!(matches!(
        bob.engine.create_poll(
            conversation,
            "Who comes?",
            &["me".into(), "not me".into()],
            false,
            None
        ),
        Err(EngineError::NotAllowedToPost)
    ));
    assert!(matches!(
        bob.engine
            .send_file(conversation, "flyer.txt", None, b"not from Bob".to_vec())
            .await,
        Err(EngineError::NotAllowedToPost)
    ));
    bob.engine.react(conversation, welcome.id, "👍", false)?;
    alice.engine.send_text(conversation, "meeting at 7")?;
    // An admin's poll is answered by members: voting is not posting.
    let poll = alice.engine.create_poll(
        conversation,
        "Which evening?",
        &["Tuesday".into(), "Thursday".into()],
        false,
        None,
    )?;
    eventually(WAIT, "Bob to see the admin's poll", || {
        bob.engine.poll(conversation, poll.id).ok()
    })
    .await?;
    bob.engine.vote(conversation, poll.id, &[1])?;
    eventually(WAIT, "Alice to count Bob's vote", || {
        let view = alice.engine.poll(conversation, poll.id).ok()?;
        (view.options[1].votes == 1).then_some(())
    })
    .await?;

    // Carol's client does not know yet (stale state): it sends a post, as a modified
    // client could. Alice and Bob drop it. Her reaction, sent after it on the same
    // session and to the same mailboxes, shows they have processed it.
    let forged = carol.engine.send_text(conversation, "carol was here")?;
    carol.engine.react(conversation, welcome.id, "🎉", false)?;
    for user in [&mut alice, &mut bob] {
        user.until(|e| {
            let welcome = e
                .history(conversation, None, 100)
                .ok()?
                .into_iter()
                .find(|m| m.id == welcome.id)?;
            welcome
                .reactions
                .iter()
                .any(|r| r.emoji == "🎉")
                .then_some(())
        })
        .await?;
        let history = user.engine.history(conversation, None, 100)?;
        assert!(
            history.iter().all(|m| m.id != forged.id),
            "a member's post is not stored in an announcement loop"
        );
        assert!(!texts(&user.engine, id).contains(&"carol was here".to_owned()));
    }
    // Bob's reaction counts.
    alice
        .until(|e| {
            let welcome = e
                .history(conversation, None, 100)
                .ok()?
                .into_iter()
                .find(|m| m.id == welcome.id)?;
            welcome
                .reactions
                .iter()
                .any(|r| r.emoji == "👍")
                .then_some(())
        })
        .await?;

    // Carol's relay comes back: she learns the policy, and her client refuses too; the
    // admin's announcement reaches her.
    south.restart()?;
    carol
        .until(|e| view(e, id).filter(|l| l.policy == announcement))
        .await?;
    carol
        .until(|e| {
            texts(e, id)
                .contains(&"meeting at 7".to_owned())
                .then_some(())
        })
        .await?;
    assert!(matches!(
        carol.engine.send_text(conversation, "again"),
        Err(EngineError::NotAllowedToPost)
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_invite_only_when_the_loop_lets_them() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let mut dave = User::new("Dave", &relay).await?;
    let (bob_for_alice, _) = introduce(&mut alice, &mut bob).await?;
    let (dave_for_bob, _) = introduce(&mut bob, &mut dave).await?;
    let id = alice
        .engine
        .create_loop("Open door", &[bob_for_alice])
        .await?;
    for user in [&mut alice, &mut bob] {
        user.until(|e| view(e, id).filter(|l| l.members == 2))
            .await?;
    }
    assert!(matches!(
        bob.engine.invite_to_loop(id, dave_for_bob),
        Err(EngineError::NotAdmin)
    ));
    let open = LoopPolicy {
        posting: Posting::Everyone,
        inviting: Inviting::Members,
    };
    alice.engine.set_loop_policy(id, open)?;
    bob.until(|e| view(e, id).filter(|l| l.may_invite)).await?;
    bob.engine.invite_to_loop(id, dave_for_bob)?;
    for user in [&mut alice, &mut bob, &mut dave] {
        user.until(|e| view(e, id).filter(|l| l.members == 3 && l.member))
            .await?;
    }
    let conversation = ConversationId::Loop(id);
    dave.engine
        .send_text(conversation, "thanks for having me")?;
    alice
        .until(|e| {
            texts(e, id)
                .contains(&"thanks for having me".to_owned())
                .then_some(())
        })
        .await?;
    Ok(())
}
