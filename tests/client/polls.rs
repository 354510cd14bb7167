//! Show-of-hands polls over a real relay: five members who change their votes, one who
//! votes offline (delivered after the close, cast before it: counted), one who votes
//! after the close without having heard of it (ignored), and everyone ends with the same
//! tally. And a poll in a 1:1 conversation that closes by its own deadline.

use std::collections::BTreeSet;
use std::time::Duration;

use boucle_client_core::{
    Clock, ContactId, ConversationId, Engine, EngineError, EngineOptions, LoopId, MessageBody,
    MessageId, PollView,
};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::support::{PASSPHRASE, User, WAIT, introduce, options};

/// A fixed starting time for the users' manual clocks: 2030-03-17.
pub const T0: u64 = 1_900_000_000_000;
const SECOND: Duration = Duration::from_secs(1);

/// A user whose engine runs on `clock`.
pub async fn clocked_user(name: &str, relay: &RelayProcess, clock: &Clock) -> anyhow::Result<User> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("boucle-{name}"))
        .tempdir()?;
    let engine = Engine::create(
        &dir.path().join("profile"),
        PASSPHRASE,
        name,
        &relay.address().to_string(),
        None,
        clocked(clock),
    )
    .await?;
    let events = engine.events();
    Ok(User {
        dir,
        engine,
        events,
    })
}

fn clocked(clock: &Clock) -> EngineOptions {
    EngineOptions {
        clock: clock.clone(),
        ..options()
    }
}

/// Users on one relay, each with a manual clock at [`T0`], all in one loop the first one
/// created (and administers). Returns the users, their clocks, the loop and, for the
/// first user, the other users' contact ids.
pub async fn users_in_a_loop(
    names: &[&str],
    relay: &RelayProcess,
) -> anyhow::Result<(Vec<User>, Vec<Clock>, LoopId, Vec<ContactId>)> {
    let clocks: Vec<Clock> = names.iter().map(|_| Clock::manual(T0)).collect();
    let mut users = Vec::new();
    for (name, clock) in names.iter().zip(&clocks) {
        users.push(clocked_user(name, relay, clock).await?);
    }
    let (first, others) = users.split_first_mut().expect("at least one user");
    let mut contacts = Vec::new();
    for other in others.iter_mut() {
        let (for_first, _) = introduce(first, other).await?;
        contacts.push(for_first);
    }
    let id = first.engine.create_loop("Assemblée", &contacts).await?;
    for user in users.iter_mut() {
        user.until(|e| {
            e.loops()
                .ok()?
                .into_iter()
                .find(|l| l.id == id && l.member && l.members == names.len())
                .map(|_| ())
        })
        .await?;
    }
    Ok((users, clocks, id, contacts))
}

/// The tally as every member should see it: per option, the voters' ids.
fn tally(view: &PollView) -> Vec<Vec<String>> {
    view.options
        .iter()
        .map(|o| o.voters.iter().map(|p| p.id.clone()).collect())
        .collect()
}

/// Per option, the voters' names.
fn names_per_option(view: &PollView) -> Vec<BTreeSet<String>> {
    view.options
        .iter()
        .map(|o| o.voters.iter().map(|p| p.name.clone()).collect())
        .collect()
}

fn poll_of(engine: &Engine, conversation: ConversationId, id: MessageId) -> Option<PollView> {
    engine.poll(conversation, id).ok()
}

/// Waits until `user` sees the poll satisfy `check`.
async fn until_poll(
    user: &mut User,
    conversation: ConversationId,
    id: MessageId,
    check: impl Fn(&PollView) -> bool,
) -> anyhow::Result<PollView> {
    user.until(|e| poll_of(e, conversation, id).filter(|p| check(p)))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_voters_change_votes_and_all_compute_the_same_tally() -> anyhow::Result<()> {
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let names = ["Alice", "Bob", "Carol", "Dave", "Erin"];
    let (mut users, clocks, loop_id, _) = users_in_a_loop(&names, &relay).await?;
    let conversation = ConversationId::Loop(loop_id);
    let options: Vec<String> = ["Monday", "Tuesday", "Wednesday", "Thursday"]
        .map(String::from)
        .to_vec();

    // Alice asks; everyone sees the poll in the history and in the poll list.
    clocks[0].advance(SECOND);
    let created = users[0].engine.create_poll(
        conversation,
        "Which evening for the assembly?",
        &options,
        false,
        Some(T0 + 24 * 3600 * 1000),
    )?;
    let poll = created.id;
    for user in users.iter_mut() {
        until_poll(user, conversation, poll, |_| true).await?;
        let entry = user
            .engine
            .history(conversation, None, 100)?
            .into_iter()
            .find(|m| m.id == poll)
            .expect("the poll is in the history");
        assert_eq!(
            entry.body,
            MessageBody::Poll {
                question: "Which evening for the assembly?".into()
            }
        );
    }
    // Refused: a choice that does not exist, two choices on a one-choice poll, a close
    // by a plain member.
    assert!(matches!(
        users[1].engine.vote(conversation, poll, &[4]),
        Err(EngineError::InvalidVote(_))
    ));
    assert!(matches!(
        users[1].engine.vote(conversation, poll, &[0, 1]),
        Err(EngineError::InvalidVote(_))
    ));
    assert!(matches!(
        users[1].engine.close_poll(conversation, poll),
        Err(EngineError::NotOrganizer)
    ));

    // Round 1: Alice Monday, Bob and Carol Tuesday, Dave Wednesday, Erin Thursday.
    for (i, choice) in [0u8, 1, 1, 2, 3].into_iter().enumerate() {
        clocks[i].advance(10 * SECOND);
        users[i].engine.vote(conversation, poll, &[choice])?;
    }
    for user in users.iter_mut() {
        until_poll(user, conversation, poll, |p| p.voters.len() == 5).await?;
    }
    let ids: Vec<String> = users
        .iter()
        .map(|u| poll_of(&u.engine, conversation, poll).map(|p| p.author.id.clone()))
        .collect::<Option<Vec<_>>>()
        .expect("everyone has the poll");
    assert!(ids.iter().all(|id| *id == ids[0]), "one author for all");

    // Erin votes offline: the relay is down, her new vote stays in her outbox, and she
    // closes her profile before it could leave.
    for user in &users {
        user.engine.sync(WAIT).await;
    }
    relay.terminate()?;
    clocks[4].advance(20 * SECOND); // T0 + 31 s
    let erin_offline = users[4].engine.vote(conversation, poll, &[1])?;
    assert_eq!(erin_offline.my_choices, vec![1]);
    let erin = users.pop().expect("Erin");
    let erin_dir = erin.dir;
    erin.engine.lock().await;
    relay.restart()?;

    // Round 2 while Erin is away: Bob moves to Wednesday, Carol changes twice, Dave
    // moves to Tuesday.
    clocks[1].advance(30 * SECOND);
    users[1].engine.vote(conversation, poll, &[2])?;
    clocks[2].advance(30 * SECOND);
    users[2].engine.vote(conversation, poll, &[0])?;
    clocks[2].advance(SECOND);
    users[2].engine.vote(conversation, poll, &[2])?;
    clocks[3].advance(30 * SECOND);
    users[3].engine.vote(conversation, poll, &[1])?;
    // Alice knows everyone by name. Erin's offline vote is not out yet: Thursday still
    // holds her first one.
    let expected: Vec<BTreeSet<String>> = [&["Alice"][..], &["Dave"], &["Bob", "Carol"], &["Erin"]]
        .iter()
        .map(|names| names.iter().map(|n| n.to_string()).collect())
        .collect();
    until_poll(&mut users[0], conversation, poll, |p| {
        names_per_option(p) == expected
    })
    .await?;
    users[3].engine.sync(WAIT).await;

    // Dave goes offline too, before Alice closes the poll.
    let dave = users.pop().expect("Dave");
    let dave_dir = dave.dir;
    dave.engine.lock().await;

    clocks[0].advance(60 * SECOND); // Alice's clock: T0 + 71 s
    let closed = users[0].engine.close_poll(conversation, poll)?;
    assert!(closed.closed);
    assert_eq!(closed.ended_at, Some(T0 + 71_000));
    assert!(!closed.can_close);
    for user in users.iter_mut() {
        until_poll(user, conversation, poll, |p| p.closed).await?;
        assert!(matches!(
            user.engine.vote(conversation, poll, &[0]),
            Err(EngineError::PollClosed)
        ));
    }
    for user in &users {
        user.engine.sync(WAIT).await;
    }

    // Dave comes back while the relay is down: he has not heard of the close, so he
    // votes Thursday, after the close by his clock. Everyone (Dave included, once the
    // close reaches him) ignores it.
    relay.terminate()?;
    clocks[3].advance(120 * SECOND); // T0 + 161 s
    let dave_engine = Engine::unlock(
        &dave_dir.path().join("profile"),
        PASSPHRASE,
        clocked(&clocks[3]),
    )
    .await?;
    let late = dave_engine.vote(conversation, poll, &[3])?;
    assert!(!late.closed, "Dave has not heard of the close yet");
    relay.restart()?;
    let dave = User {
        events: dave_engine.events(),
        engine: dave_engine,
        dir: dave_dir,
    };
    users.push(dave);

    // Erin comes back: her vote, cast before the close, is delivered after it: it counts.
    let erin_engine = Engine::unlock(
        &erin_dir.path().join("profile"),
        PASSPHRASE,
        clocked(&clocks[4]),
    )
    .await?;
    users.push(User {
        events: erin_engine.events(),
        engine: erin_engine,
        dir: erin_dir,
    });

    // Alice Monday; Dave and Erin Tuesday; Bob and Carol Wednesday; Dave's late
    // Thursday ignored.
    let final_tally = |p: &PollView| {
        p.closed && p.options.iter().map(|o| o.votes).collect::<Vec<_>>() == vec![1, 2, 2, 0]
    };
    let mut views = Vec::new();
    for user in users.iter_mut() {
        user.engine.sync(WAIT).await;
        views.push(until_poll(user, conversation, poll, final_tally).await?);
    }
    // Let anything still in flight land, then compare everyone's result.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let views: Vec<PollView> = users
        .iter()
        .map(|u| poll_of(&u.engine, conversation, poll).expect("the poll"))
        .collect();
    let reference = tally(&views[0]);
    for (user, view) in users.iter().zip(&views) {
        let name = user.engine.name()?;
        assert_eq!(tally(view), reference, "{name} computes the same tally");
        assert_eq!(view.ended_at, Some(T0 + 71_000), "{name}: same end");
        assert_eq!(view.voters.len(), 5, "{name}: five voters");
        let voters: Vec<&String> = view.voters.iter().map(|p| &p.id).collect();
        let first: Vec<&String> = views[0].voters.iter().map(|p| &p.id).collect();
        assert_eq!(voters, first, "{name}: same voters in the same order");
    }
    // Each one's own choice, as they see it (users are Alice, Bob, Carol, Dave, Erin).
    let mine: Vec<Vec<u8>> = views.iter().map(|v| v.my_choices.clone()).collect();
    assert_eq!(mine, vec![vec![0], vec![2], vec![2], vec![1], vec![1]]);
    // Votes are not chat messages: the loop's history holds the poll and nothing else.
    for user in &users {
        let history = user.engine.history(conversation, None, 100)?;
        assert_eq!(history.len(), 1, "only the poll is in the history");
    }
    Ok(())
}
