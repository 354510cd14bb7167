//! What an admin posts in a loop before the contacts it invited have joined (issue 11,
//! item 1): every kind of content — texts, replies, reactions, edits, a deletion, a
//! poll and a vote, an event and an answer, a file, a shared contact, policy, timer and
//! admin changes — is kept for them, durably (across a restart of the admin's engine),
//! says so in its delivery state and in what the engine counts as waiting, and reaches
//! each of them, in order, when they join, however late; what was deleted or
//! disappeared before they joined never reaches them.

use std::time::Duration;

use boucle_client_core::{
    AwaitingMembers, Clock, ConversationId, DeliveryState, Engine, EventDetails, Inviting, LoopId,
    LoopPolicy, MessageBody, MessageId, MessageView, Posting, RsvpAnswer, TransferState,
};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::clocked::{T0, clocked_user};
use crate::support::{PASSPHRASE, User, introduce, message, options, text};

const DAY: u64 = 24 * 3600 * 1000;

/// A user gone offline: the engine locked, the profile kept.
struct Offline {
    dir: tempfile::TempDir,
}

impl Offline {
    async fn from(user: User) -> Offline {
        let User { dir, engine, .. } = user;
        engine.lock().await;
        Offline { dir }
    }

    async fn online(self, options: boucle_client_core::EngineOptions) -> anyhow::Result<User> {
        let engine = Engine::unlock(&self.dir.path().join("profile"), PASSPHRASE, options).await?;
        let events = engine.events();
        Ok(User {
            dir: self.dir,
            engine,
            events,
        })
    }
}

/// Brings an invited user online until they have asked to join the loop, then offline.
async fn ask_to_join(user: Offline, id: LoopId) -> anyhow::Result<Offline> {
    let user = user.online(options()).await?;
    anyhow::ensure!(user.engine.sync(Duration::from_secs(20)).await);
    let joining = user
        .engine
        .loops()?
        .into_iter()
        .any(|l| l.id == id && !l.member);
    anyhow::ensure!(joining, "the invitation was answered, not yet accepted");
    Ok(Offline::from(user).await)
}

/// Alice's texts in a loop, as a member sees them, in the order shown.
fn texts_from(engine: &Engine, id: LoopId, who: &str) -> Vec<String> {
    engine
        .history(ConversationId::Loop(id), None, 1_000)
        .unwrap_or_default()
        .iter()
        .filter(|v| v.sender.as_deref() == Some(who))
        .filter(|v| matches!(v.body, MessageBody::Text(_)))
        .map(text)
        .collect()
}

fn delivery(engine: &Engine, conversation: ConversationId, id: MessageId) -> Option<DeliveryState> {
    message(engine, conversation, id)?.delivery
}

/// Waits until `user` is a member of the loop with `members` members.
async fn until_member(user: &mut User, id: LoopId, members: usize) -> anyhow::Result<()> {
    user.until(|e| {
        e.loops()
            .ok()?
            .into_iter()
            .find(|l| l.id == id && l.member && l.members == members)
            .map(|_| ())
    })
    .await
}

/// Everything Alice posted before `user` joined, as `user` sees it once joined.
async fn check_backlog(
    user: &mut User,
    id: LoopId,
    posted: &Posted,
    file: &[u8],
) -> anyhow::Result<()> {
    let conversation = ConversationId::Loop(id);
    // Texts (the edit applied, the deleted one absent), in the order Alice posted them.
    let texts = user
        .until(|e| {
            let texts = texts_from(e, id, "Alice");
            (texts.len() >= posted.texts.len()).then_some(texts)
        })
        .await?;
    assert_eq!(texts, posted.texts, "every text, once, in order");
    assert!(
        message(&user.engine, conversation, posted.deleted).is_none(),
        "what Alice deleted before they joined never reached them"
    );
    let first = message(&user.engine, conversation, posted.first).expect("the first text");
    assert_eq!(first.reactions.len(), 1, "Alice's reaction");
    assert_eq!(first.reactions[0].emoji, "✊");
    let edited = message(&user.engine, conversation, posted.edited).expect("the edited text");
    assert!(edited.edited);
    let reply = message(&user.engine, conversation, posted.reply).expect("the reply");
    assert_eq!(reply.reply_to, Some(posted.first));
    // The poll with Alice's vote, the event with her answer.
    let poll = user
        .until(|e| {
            e.poll(conversation, posted.poll)
                .ok()
                .filter(|p| !p.voters.is_empty())
        })
        .await?;
    assert_eq!(poll.question, "Which day?");
    assert_eq!(poll.options[1].voters.len(), 1, "Alice voted Sunday");
    let event = user
        .until(|e| {
            e.event(conversation, posted.event)
                .ok()
                .filter(|v| !v.going.is_empty())
        })
        .await?;
    assert_eq!(event.details.title, "Assemblée");
    assert_eq!(event.going.len(), 1, "Alice is going");
    // The file, whole and checked.
    user.until(|e| {
        e.attachment(conversation, posted.file)
            .ok()
            .filter(|a| a.state == TransferState::Complete)
    })
    .await?;
    assert_eq!(
        user.engine.attachment_bytes(conversation, posted.file)?,
        file
    );
    // The shared contact.
    let shared = message(&user.engine, conversation, posted.shared).expect("the shared contact");
    assert!(matches!(shared.body, MessageBody::SharedContact { ref name, .. } if name == "Dave"));
    // Signed changes come with the loop's history: the policy and the timer.
    let view = user
        .engine
        .loops()?
        .into_iter()
        .find(|l| l.id == id)
        .expect("the loop");
    assert_eq!(view.policy.inviting, Inviting::Members);
    assert_eq!(view.timer, 86_400);
    Ok(())
}

/// What Alice posted before anyone joined.
struct Posted {
    texts: Vec<String>,
    first: MessageId,
    reply: MessageId,
    edited: MessageId,
    deleted: MessageId,
    poll: MessageId,
    event: MessageId,
    file: MessageId,
    shared: MessageId,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_posted_before_the_invited_join_reaches_each_of_them_in_order()
-> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new("Alice", &relay).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let mut carol = User::new("Carol", &relay).await?;
    let mut dave = User::new("Dave", &relay).await?;
    let (bob_id, _) = introduce(&mut alice, &mut bob).await?;
    let (carol_id, _) = introduce(&mut alice, &mut carol).await?;
    let (dave_id, _) = introduce(&mut alice, &mut dave).await?;
    // Bob and Carol are offline when Alice creates the loop and posts in it.
    let bob = Offline::from(bob).await;
    let carol = Offline::from(carol).await;

    let id = alice
        .engine
        .create_loop("North group", &[bob_id, carol_id])
        .await?;
    let conversation = ConversationId::Loop(id);
    let a = &alice.engine;
    let first = a.send_text(conversation, "first")?;
    assert_eq!(
        first.delivery,
        Some(DeliveryState::WaitingForMembers(2)),
        "kept for the two invited, not queued for ever"
    );
    let reply = a.reply(conversation, first.id, "a reply")?;
    a.react(conversation, first.id, "✊", false)?;
    let edited = a.send_text(conversation, "typo")?;
    a.edit(conversation, edited.id, "fixed")?;
    let deleted = a.send_text(conversation, "regret")?;
    a.delete(conversation, deleted.id)?;
    let poll = a.create_poll(
        conversation,
        "Which day?",
        &["Saturday".into(), "Sunday".into()],
        false,
        None,
    )?;
    assert_eq!(poll.delivery, Some(DeliveryState::WaitingForMembers(2)));
    a.vote(conversation, poll.id, &[1])?;
    let now = Clock::system().now_ms();
    let event = a.create_event(
        conversation,
        &EventDetails {
            title: "Assemblée".into(),
            starts_at: now + 2 * DAY,
            ends_at: None,
            time_zone: "Europe/Paris".into(),
            place: "Salle 2".into(),
            description: String::new(),
        },
    )?;
    a.rsvp(conversation, event.id, RsvpAnswer::Going)?;
    // A file of several chunks.
    let file: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sent_file = a
        .send_file(conversation, "tract.pdf", None, file.clone())
        .await?;
    assert_eq!(
        sent_file.delivery,
        Some(DeliveryState::WaitingForMembers(2))
    );
    let shared = a.share_contact(conversation, dave_id)?;
    a.set_loop_policy(
        id,
        LoopPolicy {
            posting: Posting::Everyone,
            inviting: Inviting::Members,
        },
    )?;
    a.set_timer(conversation, 86_400)?;
    let last = a.send_text(conversation, "last before anyone joined")?;
    let posted = Posted {
        texts: vec![
            "first".into(),
            "a reply".into(),
            "fixed".into(),
            "last before anyone joined".into(),
        ],
        first: first.id,
        reply: reply.id,
        edited: edited.id,
        deleted: deleted.id,
        poll: poll.id,
        event: event.id,
        file: sent_file.id,
        shared: shared.id,
    };

    // Nothing can leave yet, and the engine says what waits for whom.
    assert!(a.sync(Duration::from_secs(5)).await, "nothing is stuck");
    assert_eq!(a.outbox_len()?, 0);
    let waiting = a.awaiting_members()?;
    assert_eq!(
        waiting,
        AwaitingMembers {
            // first, reply, typo (with its edit), poll, event, file, shared card, last
            messages: 8,
            members: 2,
        }
    );
    // Kept durably: Alice's engine stops before anyone joins. Bob comes online, answers
    // the invitation and goes again, before Alice hears of it (as `boucle sync` does).
    let alice_offline = Offline::from(alice).await;
    let bob = ask_to_join(bob, id).await?;
    let mut alice = alice_offline.online(options()).await?;
    // Still kept after the restart (for Carol at least: Bob's answer may be in already).
    assert_eq!(alice.engine.awaiting_members()?.messages, waiting.messages);
    // Alice adds him and sends him what he missed, while he is away.
    until_member(&mut alice, id, 2).await?;
    assert!(alice.engine.sync(Duration::from_secs(20)).await);
    assert_eq!(
        delivery(&alice.engine, conversation, last.id),
        Some(DeliveryState::Sent)
    );

    // Bob comes back: his member mailbox and his mailbox for Alice are read in any
    // order; he gets all of it.
    let mut bob = bob.online(options()).await?;
    until_member(&mut bob, id, 2).await?;
    check_backlog(&mut bob, id, &posted, &file).await?;
    alice
        .until(|e| (delivery(e, conversation, first.id) == Some(DeliveryState::Sent)).then_some(()))
        .await?;
    assert_eq!(
        alice.engine.awaiting_members()?,
        AwaitingMembers {
            messages: 8,
            members: 1,
        },
        "still kept for Carol"
    );

    // With Bob in: Alice makes him an admin and writes again, Carol still to join.
    let bob_member = alice
        .engine
        .loop_members(id)?
        .into_iter()
        .find(|m| m.name.as_deref() == Some("Bob"))
        .expect("Bob is a member");
    alice.engine.promote_in_loop(id, &bob_member.id)?;
    let after_bob = alice.engine.send_text(conversation, "after Bob joined")?;
    assert_eq!(
        after_bob.delivery,
        Some(DeliveryState::Queued),
        "Bob is a member: it is queued for him"
    );
    bob.until(|e| {
        texts_from(e, id, "Alice")
            .contains(&"after Bob joined".to_owned())
            .then_some(())
    })
    .await?;

    // Carol answers much later, and is away again when Alice adds her: everything, in
    // order, and Bob is an admin.
    let carol = ask_to_join(carol, id).await?;
    until_member(&mut alice, id, 3).await?;
    assert!(alice.engine.sync(Duration::from_secs(20)).await);
    let mut carol = carol.online(options()).await?;
    until_member(&mut carol, id, 3).await?;
    let mut carol_posted = posted;
    carol_posted.texts.push("after Bob joined".into());
    check_backlog(&mut carol, id, &carol_posted, &file).await?;
    let members = carol.engine.loop_members(id)?;
    assert_eq!(members.iter().filter(|m| m.admin).count(), 2, "Bob too");
    alice
        .until(|e| (e.awaiting_members().ok()? == AwaitingMembers::default()).then_some(()))
        .await?;

    // Afterwards everyone reads everyone (the key Carol was sent her backlog with is
    // not the one the others read).
    alice.engine.send_text(conversation, "all here")?;
    bob.engine.send_text(conversation, "from Bob")?;
    for user in [&mut bob, &mut carol] {
        user.until(|e| {
            texts_from(e, id, "Alice")
                .contains(&"all here".to_owned())
                .then_some(())
        })
        .await?;
    }
    for user in [&mut alice, &mut carol] {
        user.until(|e| {
            let history = e.history(conversation, None, 1_000).ok()?;
            history
                .iter()
                .any(|v| !v.from_me && text(v) == "from Bob")
                .then_some(())
        })
        .await?;
    }
    // Nothing arrived twice.
    let carol_texts = texts_from(&carol.engine, id, "Alice");
    let mut unique = carol_texts.clone();
    unique.dedup();
    assert_eq!(unique, carol_texts);
    Ok(())
}

/// A message set to disappear that runs out before the invited join is deleted from the
/// admin's store with what was kept of it, and never reaches them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_disappears_before_they_join_never_reaches_them() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let clock = Clock::manual(T0);
    let mut alice = clocked_user("Alice", &relay, &clock).await?;
    let mut bob = User::new("Bob", &relay).await?;
    let (bob_id, _) = introduce(&mut alice, &mut bob).await?;
    let bob = Offline::from(bob).await;

    let id = alice.engine.create_loop("Short-lived", &[bob_id]).await?;
    let conversation = ConversationId::Loop(id);
    alice.engine.set_timer(conversation, 3600)?;
    let gone = alice.engine.send_text(conversation, "gone in an hour")?;
    assert_eq!(alice.engine.awaiting_members()?.messages, 1);
    clock.advance(Duration::from_secs(2 * 3600));
    alice.engine.sweep_expired()?;
    assert!(message(&alice.engine, conversation, gone.id).is_none());
    assert_eq!(
        alice.engine.awaiting_members()?,
        AwaitingMembers::default(),
        "nothing is kept of it"
    );
    let stays = alice.engine.send_text(conversation, "still here")?;

    let mut bob = bob.online(options()).await?;
    until_member(&mut bob, id, 2).await?;
    let arrived: MessageView = bob.until(|e| message(e, conversation, stays.id)).await?;
    assert_eq!(text(&arrived), "still here");
    bob.engine.sync(Duration::from_secs(3)).await;
    assert!(message(&bob.engine, conversation, gone.id).is_none());
    assert_eq!(texts_from(&bob.engine, id, "Alice"), ["still here"]);
    Ok(())
}
