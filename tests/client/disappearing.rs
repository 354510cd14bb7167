//! Disappearing messages: with a clock the test moves, a message sent under a 1-hour
//! timer is gone from every member's store once the hour has passed, and stays gone
//! after the profiles are locked and unlocked again.

use std::time::Duration;

use boucle_client_core::{
    Clock, ConversationId, Engine, EngineError, EngineOptions, Event, LoopId, MessageBody,
    MessageId,
};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{PASSPHRASE, User, introduce, options, text};

const HOUR: u32 = 3600;

fn has(engine: &Engine, conversation: ConversationId, id: MessageId) -> bool {
    engine
        .history(conversation, None, 1_000)
        .is_ok_and(|h| h.iter().any(|m| m.id == id))
}

fn timer_lines(engine: &Engine, conversation: ConversationId) -> Vec<(bool, u32)> {
    engine
        .history(conversation, None, 1_000)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::TimerChanged { seconds } => Some((m.from_me, seconds)),
            _ => None,
        })
        .collect()
}

fn loop_timer(engine: &Engine, id: LoopId) -> Option<u32> {
    engine
        .loops()
        .ok()?
        .into_iter()
        .find(|l| l.id == id && l.members == 3)
        .map(|l| l.timer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disappearing_message_is_gone_from_every_store_after_its_timer() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let clock = Clock::manual(1_750_000_000_000);
    let with_clock = || EngineOptions {
        clock: clock.clone(),
        ..options()
    };
    let mut alice = User::with_options("Alice", &relay, with_clock()).await?;
    let mut bob = User::with_options("Bob", &relay, with_clock()).await?;
    let mut carol = User::with_options("Carol", &relay, with_clock()).await?;
    let (bob_for_alice, alice_for_bob) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_alice, _) = introduce(&mut alice, &mut carol).await?;
    let id = alice
        .engine
        .create_loop("Short memory", &[bob_for_alice, carol_for_alice])
        .await?;
    for user in [&mut alice, &mut bob, &mut carol] {
        user.until(|e| loop_timer(e, id)).await?;
    }
    let in_loop = ConversationId::Loop(id);
    let kept = alice.engine.send_text(in_loop, "said before the timer")?;

    // The loop: only an admin sets its timer, and only to an offered value.
    assert!(matches!(
        bob.engine.set_timer(in_loop, HOUR),
        Err(EngineError::NotAdmin)
    ));
    assert!(matches!(
        alice.engine.set_timer(in_loop, 60),
        Err(EngineError::InvalidTimer(60))
    ));
    alice.engine.set_timer(in_loop, HOUR)?;
    for user in [&mut alice, &mut bob, &mut carol] {
        user.until(|e| (loop_timer(e, id) == Some(HOUR)).then_some(()))
            .await?;
        assert_eq!(user.engine.timer(in_loop)?, HOUR);
        assert_eq!(
            timer_lines(&user.engine, in_loop).len(),
            1,
            "one line says so"
        );
    }

    // 1:1: Bob sets a timer on his chat with Alice; both see the line and the timer.
    let bob_to_alice = ConversationId::Contact(alice_for_bob);
    let alice_to_bob = ConversationId::Contact(bob_for_alice);
    bob.engine.set_timer(bob_to_alice, HOUR)?;
    alice
        .until(|e| (e.timer(alice_to_bob).ok()? == HOUR).then_some(()))
        .await?;
    assert_eq!(timer_lines(&alice.engine, alice_to_bob), [(false, HOUR)]);
    assert_eq!(timer_lines(&bob.engine, bob_to_alice), [(true, HOUR)]);

    // Sent under the timers; everyone has them.
    let sent_at = clock.now_ms();
    let vanishing = alice.engine.send_text(in_loop, "burn after reading")?;
    let private = alice.engine.send_text(alice_to_bob, "just between us")?;
    let poll = alice.engine.create_poll(
        in_loop,
        "Where do we meet?",
        &["the square".into(), "the hall".into()],
        false,
        None,
    )?;
    let minutes: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let file = alice
        .engine
        .send_file(in_loop, "minutes.txt", Some("text/plain"), minutes.clone())
        .await?;
    for user in [&mut bob, &mut carol] {
        user.until(|e| has(e, in_loop, vanishing.id).then_some(()))
            .await?;
        user.until(|e| e.poll(in_loop, poll.id).ok()).await?;
        user.until(|e| e.attachment_bytes(in_loop, file.id).ok())
            .await?;
        assert_eq!(
            user.engine.expires_at(vanishing.id)?,
            Some(sent_at + u64::from(HOUR) * 1000)
        );
        assert_eq!(user.engine.expires_at(kept.id)?, None);
    }
    bob.until(|e| has(e, bob_to_alice, private.id).then_some(()))
        .await?;
    bob.engine.react(in_loop, vanishing.id, "🔥", false)?;
    alice
        .until(|e| {
            let history = e.history(in_loop, None, 100).ok()?;
            let view = history.into_iter().find(|m| m.id == vanishing.id)?;
            (!view.reactions.is_empty()).then_some(())
        })
        .await?;

    // Not yet: a sweep before the hour deletes nothing.
    clock.advance(Duration::from_secs(u64::from(HOUR) - 60));
    for user in [&alice, &bob, &carol] {
        assert_eq!(user.engine.sweep_expired()?, 0);
        assert!(has(&user.engine, in_loop, vanishing.id));
    }

    // The hour has passed: gone from every store, the older message and the timer
    // lines stay.
    clock.advance(Duration::from_secs(61));
    for user in [&mut alice, &mut bob, &mut carol] {
        user.engine.sweep_expired()?;
        // Said by this sweep or by the engine's own, if it ran first.
        let ids = user
            .wait_for(|e| match e {
                Event::MessagesExpired { conversation, ids } if *conversation == in_loop => {
                    Some(ids.clone())
                }
                _ => None,
            })
            .await?;
        assert!(ids.contains(&vanishing.id));
        assert!(!has(&user.engine, in_loop, vanishing.id), "gone");
        assert!(!has(&user.engine, in_loop, poll.id), "the poll is gone");
        assert!(
            matches!(
                user.engine.poll(in_loop, poll.id),
                Err(EngineError::UnknownPoll)
            ),
            "with its votes"
        );
        assert!(
            user.engine.attachment_bytes(in_loop, file.id).is_err(),
            "the file is gone too"
        );
        assert!(has(&user.engine, in_loop, kept.id), "said before the timer");
        assert_eq!(user.engine.expires_at(vanishing.id)?, None);
        assert_eq!(timer_lines(&user.engine, in_loop).len(), 1);
    }
    for (engine, conversation) in [(&alice.engine, alice_to_bob), (&bob.engine, bob_to_alice)] {
        assert!(
            !has(engine, conversation, private.id),
            "gone from the 1:1 too"
        );
        assert_eq!(timer_lines(engine, conversation).len(), 1);
    }
    // A reaction to a message that is gone finds nothing to change.
    assert!(matches!(
        bob.engine.react(in_loop, vanishing.id, "👀", false),
        Err(EngineError::UnknownMessage)
    ));

    // Locked and unlocked again: still gone (deleted from the store, not hidden).
    for user in [alice, bob, carol] {
        let User { dir, engine, .. } = user;
        let profile = dir.path().join("profile");
        engine.lock().await;
        let engine = Engine::unlock(&profile, PASSPHRASE, with_clock()).await?;
        let history = engine.history(in_loop, None, 1_000)?;
        assert!(
            history
                .iter()
                .all(|m| m.id != vanishing.id && m.id != private.id)
        );
        assert!(
            history
                .iter()
                .any(|m| m.id == kept.id && text(m) == "said before the timer")
        );
        engine.lock().await;
    }
    Ok(())
}

/// A message written under a timer while the relay is down, and whose time runs out
/// before the relay is back, disappears from the outbox too: it never leaves the device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_expires_in_the_outbox_is_never_sent() -> anyhow::Result<()> {
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let clock = Clock::manual(1_750_000_000_000);
    let with_clock = || EngineOptions {
        clock: clock.clone(),
        ..options()
    };
    let mut alice = User::with_options("Alice", &relay, with_clock()).await?;
    let mut bob = User::with_options("Bob", &relay, with_clock()).await?;
    let (bob_for_alice, alice_for_bob) = introduce(&mut alice, &mut bob).await?;
    let to_bob = ConversationId::Contact(bob_for_alice);
    let from_alice = ConversationId::Contact(alice_for_bob);
    alice.engine.set_timer(to_bob, HOUR)?;
    bob.until(|e| (e.timer(from_alice).ok()? == HOUR).then_some(()))
        .await?;

    relay.terminate()?;
    let stranded = alice
        .engine
        .send_text(to_bob, "the address of the safe house")?;
    assert_eq!(alice.engine.outbox_len()?, 1);
    clock.advance(Duration::from_secs(u64::from(HOUR) + 1));
    alice.engine.sweep_expired()?;
    assert!(!has(&alice.engine, to_bob, stranded.id), "gone here");

    relay.restart()?;
    let later = alice.engine.send_text(to_bob, "see you tomorrow")?;
    bob.until(|e| has(e, from_alice, later.id).then_some(()))
        .await?;
    alice
        .until(|e| (e.outbox_len().ok()? == 0).then_some(()))
        .await?;
    let shown: Vec<String> = bob
        .engine
        .history(from_alice, None, 100)?
        .iter()
        .filter(|m| matches!(m.body, MessageBody::Text(_)))
        .map(text)
        .collect();
    assert_eq!(shown, ["see you tomorrow"], "the expired one never arrived");
    Ok(())
}
