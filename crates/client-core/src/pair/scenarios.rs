//! Behaviour scenarios on the in-memory net: conversations, loops, polls, the agenda,
//! roles, blocking and disappearing messages, each deterministic and without a relay
//! process (the longer agenda and sharing scenarios have files of their own). (Durability, kill -9, full disks, privacy scans and network failures stay
//! real-process tests in `tests/client/`.)

use std::time::Duration;

use boucle_crypto::{Inviting, LoopPolicy, MessageId, Posting, RsvpAnswer};

use super::Net;
use crate::model::{DeliveryState, MailboxPurpose, MessageBody};
use crate::{ConversationId, EngineError, EventDetails, MessageView};

fn texts(history: &[MessageView]) -> Vec<String> {
    history
        .iter()
        .filter_map(|m| match &m.body {
            MessageBody::Text(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn history(net: &Net, user: usize, conversation: ConversationId) -> Vec<MessageView> {
    net.users[user]
        .engine
        .history(conversation, None, 1_000)
        .expect("a history")
}

#[test]
fn two_people_meet_move_to_locked_mailboxes_and_talk() {
    let mut net = Net::new(1, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    // The invitation's mailbox is gone: Alice moved Bob to a locked mailbox of his own.
    let purposes: Vec<MailboxPurpose> = net.users[0]
        .core()
        .mailboxes
        .values()
        .map(|m| m.record.purpose)
        .collect();
    assert!(
        !purposes.contains(&MailboxPurpose::Invitation),
        "the used invitation mailbox is retired: {purposes:?}"
    );
    // Every mailbox a contact writes to is locked with a sender key; only the mailboxes
    // for people introduced through a contact (one per contact, for its card offer) are
    // open, as a card shared on must be usable by someone not known yet.
    let introductions = (0..2)
        .flat_map(|user| {
            let core = net.users[user].core();
            core.mailboxes
                .values()
                .filter(|m| matches!(m.record.purpose, MailboxPurpose::Introductions(_)))
                .map(|m| m.record.receive())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    assert_eq!(introductions.len(), 2, "one card offer each way");
    for (receive_id, mailbox) in &net.relay.boxes {
        assert_eq!(
            mailbox.sender_key.is_some(),
            !introductions.contains(receive_id),
            "locked unless for introductions"
        );
    }
    let sent = net.users[0]
        .engine
        .send_text(ConversationId::Contact(bob), "hello Bob")
        .expect("sent");
    net.users[1]
        .engine
        .send_text(ConversationId::Contact(alice), "hi Alice")
        .expect("sent");
    net.settle();
    // Each history is in the order messages were written or arrived here.
    assert_eq!(
        texts(&history(&net, 1, ConversationId::Contact(alice))),
        ["hi Alice", "hello Bob"]
    );
    assert_eq!(
        texts(&history(&net, 0, ConversationId::Contact(bob))),
        ["hello Bob", "hi Alice"]
    );
    // Front ends are told, once.
    let told = net.users[1]
        .events()
        .into_iter()
        .filter(|e| {
            matches!(e, crate::Event::MessageReceived(m)
                if m.body == MessageBody::Text("hello Bob".into()))
        })
        .count();
    assert_eq!(told, 1);
    let mine = history(&net, 0, ConversationId::Contact(bob))
        .into_iter()
        .find(|m| m.id == sent.id)
        .expect("still there");
    assert_eq!(mine.delivery, Some(DeliveryState::Delivered));
    assert_eq!(net.relay.in_flight(), 0);
}

#[test]
fn an_envelope_delivered_twice_is_applied_once() {
    let mut net = Net::new(2, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    net.users[0]
        .engine
        .send_text(ConversationId::Contact(bob), "once")
        .expect("sent");
    net.flush(0);
    let mailbox = net.deliverable(1)[0];
    // The connection drops before the acknowledgement: it comes again.
    assert!(net.deliver_next(mailbox, false));
    assert!(net.deliver_next(mailbox, true));
    net.settle();
    assert_eq!(
        texts(&history(&net, 1, ConversationId::Contact(alice))),
        ["once"]
    );
}

#[test]
fn a_loop_of_three_counts_the_same_votes_everywhere() {
    let mut net = Net::new(3, &["Alice", "Bob", "Carol"]);
    let (bob, _) = net.introduce(0, 1);
    let (carol, _) = net.introduce(0, 2);
    let id = net.create_loop(0, "North group", &[bob, carol]);
    net.settle();
    for user in 0..3 {
        let loops = net.users[user].engine.loops().expect("loops");
        let north = loops.iter().find(|l| l.id == id).expect("in the loop");
        assert_eq!(north.members, 3, "user {user} sees three members");
    }
    let in_loop = ConversationId::Loop(id);
    let poll = net.users[0]
        .engine
        .create_poll(
            in_loop,
            "Strike on Friday?",
            &["Yes".into(), "No".into()],
            false,
            None,
        )
        .expect("a poll");
    net.settle();
    net.users[1]
        .engine
        .vote(in_loop, poll.id, &[0])
        .expect("voted");
    net.users[2]
        .engine
        .vote(in_loop, poll.id, &[1])
        .expect("voted");
    net.users[0]
        .engine
        .vote(in_loop, poll.id, &[0])
        .expect("voted");
    net.settle();
    for user in 0..3 {
        let view = net.users[user]
            .engine
            .poll(in_loop, poll.id)
            .expect("the poll");
        let votes: Vec<usize> = view.options.iter().map(|o| o.votes).collect();
        assert_eq!(votes, [2, 1], "user {user}");
    }
    // Everyone's history of the loop holds the same messages in the same order.
    let ids = |user| -> Vec<_> { history(&net, user, in_loop).iter().map(|m| m.id).collect() };
    assert_eq!(ids(0), ids(1));
    assert_eq!(ids(1), ids(2));
}

#[test]
fn an_event_collects_answers_from_every_member() {
    let mut net = Net::new(4, &["Alice", "Bob", "Carol"]);
    let (bob, _) = net.introduce(0, 1);
    let (carol, _) = net.introduce(0, 2);
    let id = net.create_loop(0, "Assembly", &[bob, carol]);
    net.settle();
    let in_loop = ConversationId::Loop(id);
    let event = net.users[0]
        .engine
        .create_event(
            in_loop,
            &EventDetails {
                title: "General assembly".into(),
                starts_at: super::T0 + 86_400_000,
                ends_at: None,
                time_zone: "Europe/Paris".into(),
                place: "Salle des fêtes".into(),
                description: String::new(),
            },
        )
        .expect("an event");
    net.settle();
    net.users[1]
        .engine
        .rsvp(in_loop, event.id, RsvpAnswer::Going)
        .expect("answered");
    net.users[2]
        .engine
        .rsvp(in_loop, event.id, RsvpAnswer::Maybe)
        .expect("answered");
    net.settle();
    for user in 0..3 {
        let view = net.users[user]
            .engine
            .event(in_loop, event.id)
            .expect("the event");
        assert_eq!(
            (view.counts.going, view.counts.maybe),
            (1, 1),
            "user {user}"
        );
    }
}

fn loop_view(net: &Net, user: usize, id: boucle_crypto::LoopId) -> Option<crate::LoopView> {
    net.users[user]
        .engine
        .loops()
        .ok()?
        .into_iter()
        .find(|l| l.id == id)
}

fn has_reaction(
    net: &Net,
    user: usize,
    in_loop: ConversationId,
    to: MessageId,
    emoji: &str,
) -> bool {
    history(net, user, in_loop)
        .into_iter()
        .find(|m| m.id == to)
        .is_some_and(|m| m.reactions.iter().any(|r| r.emoji == emoji))
}

/// Moved from `tests/client/roles.rs`.
#[test]
fn in_an_announcement_loop_only_admins_post_and_a_members_post_is_refused_everywhere() {
    let mut net = Net::new(5, &["Alice", "Bob", "Carol"]);
    let (bob, _) = net.introduce(0, 1);
    let (carol, _) = net.introduce(0, 2);
    let id = net.create_loop(0, "Announcements", &[bob, carol]);
    net.settle();
    let in_loop = ConversationId::Loop(id);
    let welcome = net.users[0]
        .engine
        .send_text(in_loop, "welcome")
        .expect("sent");
    net.settle();
    for user in [1, 2] {
        assert_eq!(texts(&history(&net, user, in_loop)), ["welcome"]);
    }
    // Carol is cut off: she will not hear of the new policy for a while.
    net.set_online(2, false);
    let announcement = LoopPolicy {
        posting: Posting::Admins,
        inviting: Inviting::Admins,
    };
    assert!(matches!(
        net.users[1].engine.set_loop_policy(id, announcement),
        Err(EngineError::NotAdmin)
    ));
    net.users[0]
        .engine
        .set_loop_policy(id, announcement)
        .expect("set");
    net.settle();
    let at_bob = loop_view(&net, 1, id).expect("Bob's loop");
    assert_eq!(at_bob.policy, announcement);
    assert!(!at_bob.may_post && !at_bob.admin);
    assert!(loop_view(&net, 0, id).is_some_and(|l| l.may_post));
    // Bob knows the policy: his client refuses to post, but he may still react and vote.
    let bob_engine = &net.users[1].engine;
    assert!(matches!(
        bob_engine.send_text(in_loop, "can I say something?"),
        Err(EngineError::NotAllowedToPost)
    ));
    assert!(matches!(
        bob_engine.reply(in_loop, welcome.id, "me too"),
        Err(EngineError::NotAllowedToPost)
    ));
    assert!(matches!(
        bob_engine.create_poll(
            in_loop,
            "Who comes?",
            &["me".into(), "not me".into()],
            false,
            None
        ),
        Err(EngineError::NotAllowedToPost)
    ));
    bob_engine
        .react(in_loop, welcome.id, "👍", false)
        .expect("reacted");
    net.users[0]
        .engine
        .send_text(in_loop, "meeting at 7")
        .expect("sent");
    let poll = net.users[0]
        .engine
        .create_poll(
            in_loop,
            "Which evening?",
            &["Tuesday".into(), "Thursday".into()],
            false,
            None,
        )
        .expect("an admin's poll");
    net.settle();
    net.users[1]
        .engine
        .vote(in_loop, poll.id, &[1])
        .expect("voting is not posting");
    net.settle();
    let tally = net.users[0]
        .engine
        .poll(in_loop, poll.id)
        .expect("the poll");
    assert_eq!(tally.options[1].votes, 1);
    assert!(has_reaction(&net, 0, in_loop, welcome.id, "👍"));
    // Carol's client does not know yet (stale state): it sends a post, as a modified
    // client could, and a reaction after it. Alice and Bob drop the post, count the
    // reaction.
    let forged = net.users[2]
        .engine
        .send_text(in_loop, "carol was here")
        .expect("sent");
    net.users[2]
        .engine
        .react(in_loop, welcome.id, "🎉", false)
        .expect("reacted");
    net.flush(2);
    net.settle();
    for user in [0, 1] {
        assert!(has_reaction(&net, user, in_loop, welcome.id, "🎉"));
        assert!(
            history(&net, user, in_loop)
                .iter()
                .all(|m| m.id != forged.id)
        );
    }
    // Carol comes back: she learns the policy, refuses too, and gets the announcement.
    net.set_online(2, true);
    net.settle();
    assert_eq!(loop_view(&net, 2, id).map(|l| l.policy), Some(announcement));
    assert!(texts(&history(&net, 2, in_loop)).contains(&"meeting at 7".to_owned()));
    assert!(matches!(
        net.users[2].engine.send_text(in_loop, "again"),
        Err(EngineError::NotAllowedToPost)
    ));
}

/// Moved from `tests/client/roles.rs`.
#[test]
fn members_invite_only_when_the_loop_lets_them() {
    let mut net = Net::new(9, &["Alice", "Bob", "Dave"]);
    let (bob, _) = net.introduce(0, 1);
    let (dave_for_bob, _) = net.introduce(1, 2);
    let id = net.create_loop(0, "Open door", &[bob]);
    net.settle();
    assert!(matches!(
        net.users[1].engine.invite_to_loop(id, dave_for_bob),
        Err(EngineError::NotAdmin)
    ));
    let open = LoopPolicy {
        posting: Posting::Everyone,
        inviting: Inviting::Members,
    };
    net.users[0].engine.set_loop_policy(id, open).expect("set");
    net.settle();
    assert!(loop_view(&net, 1, id).is_some_and(|l| l.may_invite));
    net.users[1]
        .engine
        .invite_to_loop(id, dave_for_bob)
        .expect("invited");
    net.settle();
    for user in 0..3 {
        let view = loop_view(&net, user, id).expect("in the loop");
        assert!(view.member && view.members == 3, "user {user}");
    }
    net.users[2]
        .engine
        .send_text(ConversationId::Loop(id), "thanks for having me")
        .expect("sent");
    net.settle();
    assert!(
        texts(&history(&net, 0, ConversationId::Loop(id)))
            .contains(&"thanks for having me".to_owned())
    );
}

#[test]
fn nothing_from_a_blocked_contact_is_shown() {
    let mut net = Net::new(6, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    net.users[1].engine.block(alice).expect("blocked");
    net.users[0]
        .engine
        .send_text(ConversationId::Contact(bob), "are you there?")
        .expect("sent");
    net.settle();
    assert!(texts(&history(&net, 1, ConversationId::Contact(alice))).is_empty());
    assert!(
        net.users[1]
            .engine
            .send_text(ConversationId::Contact(alice), "no")
            .is_err()
    );
}

/// Moved from `tests/client/loops.rs`. Alice blocked Bob; they are both in Carol's
/// loop. Bob stays a member, but what he posts there is not kept on Alice's side; Carol
/// still sees it, and Alice still reads Carol.
#[test]
fn a_blocked_contact_is_not_heard_in_a_shared_loop_either() {
    let mut net = Net::new(10, &["Alice", "Bob", "Carol"]);
    let (bob_for_alice, _) = net.introduce(0, 1);
    let (alice_for_carol, _) = net.introduce(2, 0);
    let (bob_for_carol, _) = net.introduce(2, 1);
    let id = net.create_loop(2, "Street medics", &[alice_for_carol, bob_for_carol]);
    net.settle();
    net.users[0].engine.block(bob_for_alice).expect("blocked");
    let in_loop = ConversationId::Loop(id);
    net.users[1]
        .engine
        .send_text(in_loop, "from Bob")
        .expect("sent");
    net.settle();
    assert!(texts(&history(&net, 2, in_loop)).contains(&"from Bob".to_owned()));
    net.users[2]
        .engine
        .send_text(in_loop, "from Carol")
        .expect("sent");
    net.settle();
    let at_alice: Vec<String> = texts(&history(&net, 0, in_loop))
        .into_iter()
        .filter(|t| t.starts_with("from "))
        .collect();
    assert_eq!(
        at_alice,
        ["from Carol"],
        "Bob's post is not kept on Alice's side"
    );
    assert_eq!(
        loop_view(&net, 0, id).map(|l| l.members),
        Some(3),
        "Bob is still a member"
    );
}

/// The timer-change lines of a conversation's history: (from me, seconds).
fn timer_lines(net: &Net, user: usize, conversation: ConversationId) -> Vec<(bool, u32)> {
    history(net, user, conversation)
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::TimerChanged { seconds } => Some((m.from_me, seconds)),
            _ => None,
        })
        .collect()
}

#[test]
fn in_a_chat_the_latest_timer_change_wins_on_both_sides() {
    let mut net = Net::new(8, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    let (to_bob, to_alice) = (ConversationId::Contact(bob), ConversationId::Contact(alice));
    // Both change it at the same moment, before hearing of the other's change: the two
    // changes cross on the net.
    net.users[0].engine.set_timer(to_bob, 86_400).expect("set");
    net.users[1]
        .engine
        .set_timer(to_alice, 604_800)
        .expect("set");
    net.settle();
    let agreed = net.users[0].engine.timer(to_bob).expect("a timer");
    assert_eq!(
        net.users[1].engine.timer(to_alice).expect("a timer"),
        agreed
    );
    assert!([86_400, 604_800].contains(&agreed));
    // Each side shows its own change, and the other's if it won.
    let lines = timer_lines(&net, 0, to_bob).len() + timer_lines(&net, 1, to_alice).len();
    assert_eq!(
        lines, 3,
        "both changes, and the winner's on the loser's side"
    );
    // Turning it off later wins over both.
    net.advance(Duration::from_secs(1));
    net.users[0].engine.set_timer(to_bob, 0).expect("set");
    net.settle();
    assert_eq!(net.users[1].engine.timer(to_alice).expect("a timer"), 0);
    assert_eq!(net.users[0].engine.timer(to_bob).expect("a timer"), 0);
    let after = net.users[1]
        .engine
        .send_text(to_alice, "no timer now")
        .expect("sent");
    assert_eq!(
        net.users[1].engine.expires_at(after.id).expect("read"),
        None
    );
}

#[test]
fn a_disappearing_message_goes_on_both_sides_when_its_time_is_up() {
    let mut net = Net::new(7, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    let hour = 3_600;
    net.users[0]
        .engine
        .set_timer(ConversationId::Contact(bob), hour)
        .expect("a timer");
    net.settle();
    assert_eq!(
        net.users[1]
            .engine
            .timer(ConversationId::Contact(alice))
            .expect("a timer"),
        hour
    );
    net.users[0]
        .engine
        .send_text(ConversationId::Contact(bob), "burn after reading")
        .expect("sent");
    net.settle();
    assert_eq!(
        texts(&history(&net, 1, ConversationId::Contact(alice))),
        ["burn after reading"]
    );
    net.advance(Duration::from_secs(u64::from(hour) - 1));
    assert_eq!(net.users[1].engine.sweep_expired().expect("swept"), 0);
    net.advance(Duration::from_secs(2));
    for user in [0, 1] {
        net.users[user].engine.sweep_expired().expect("swept");
    }
    assert!(texts(&history(&net, 1, ConversationId::Contact(alice))).is_empty());
    assert!(texts(&history(&net, 0, ConversationId::Contact(bob))).is_empty());
}

#[test]
fn a_profile_reopened_from_its_store_goes_on_where_it_was() {
    let mut net = Net::new(8, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    net.users[0]
        .engine
        .send_text(ConversationId::Contact(bob), "before")
        .expect("sent");
    net.restart(0);
    net.settle();
    net.restart(1);
    net.users[0]
        .engine
        .send_text(ConversationId::Contact(bob), "after")
        .expect("sent");
    net.settle();
    assert_eq!(
        texts(&history(&net, 1, ConversationId::Contact(alice))),
        ["before", "after"]
    );
}

/// Moved from `tests/client/polls.rs`: each side's own clock decides when voting ends.
#[test]
fn a_poll_between_two_closes_by_its_deadline() {
    const SECOND: Duration = Duration::from_secs(1);
    let mut net = Net::new(11, &["Alice", "Bob"]);
    let (bob, alice) = net.introduce(0, 1);
    let t0 = net.users[0].clock.now_ms();
    let (at_alice, at_bob) = (ConversationId::Contact(bob), ConversationId::Contact(alice));
    // Refused before anything is sent.
    let engine = &net.users[0].engine;
    let one = vec!["Only".to_owned()];
    assert!(matches!(
        engine.create_poll(at_alice, "?", &one, false, None),
        Err(EngineError::InvalidPoll(_))
    ));
    let twice = vec!["Yes".to_owned(), "yes".to_owned()];
    assert!(matches!(
        engine.create_poll(at_alice, "Really?", &twice, false, None),
        Err(EngineError::InvalidPoll(_))
    ));
    assert!(matches!(
        engine.create_poll(
            at_alice,
            "Past?",
            &["Yes".into(), "No".into()],
            false,
            Some(t0 - 1)
        ),
        Err(EngineError::InvalidPoll(_))
    ));
    let options: Vec<String> = ["Bread", "Cheese", "Fruit"].map(String::from).to_vec();
    let deadline = t0 + 60_000;
    let poll = engine
        .create_poll(
            at_alice,
            "What do we bring?",
            &options,
            true,
            Some(deadline),
        )
        .expect("a poll")
        .id;
    net.settle();
    let seen = net.users[1].engine.poll(at_bob, poll).expect("Bob has it");
    assert!(seen.multiple && !seen.closed && seen.closes_at == Some(deadline));
    assert!(!seen.author.me);
    assert_eq!(seen.author.name, "Alice");
    assert!(seen.can_close, "in a 1:1 conversation, both may close");

    net.advance_user(1, 10 * SECOND);
    let mine = net.users[1]
        .engine
        .vote(at_bob, poll, &[2, 0, 2])
        .expect("voted");
    assert_eq!(mine.my_choices, vec![0, 2]);
    net.settle();
    assert_eq!(
        net.users[0]
            .engine
            .poll(at_alice, poll)
            .expect("poll")
            .voters
            .len(),
        1
    );
    // Alice's clock passes the deadline: for her, voting is over.
    net.advance_user(0, 120 * SECOND);
    let over = net.users[0].engine.poll(at_alice, poll).expect("poll");
    assert!(over.closed);
    assert_eq!(over.ended_at, Some(deadline));
    assert!(matches!(
        net.users[0].engine.vote(at_alice, poll, &[1]),
        Err(EngineError::PollClosed)
    ));
    // Bob's clock has not: he changes his vote, and it counts for both.
    net.advance_user(1, 10 * SECOND);
    net.users[1].engine.vote(at_bob, poll, &[1]).expect("voted");
    net.settle();
    let alice_view = net.users[0].engine.poll(at_alice, poll).expect("poll");
    assert_eq!(
        alice_view
            .options
            .iter()
            .map(|o| o.votes)
            .collect::<Vec<_>>(),
        [0, 1, 0]
    );
    assert_eq!(alice_view.options[1].voters[0].name, "Bob");
    // Past the deadline for Bob too.
    net.advance_user(1, 60 * SECOND);
    assert!(matches!(
        net.users[1].engine.vote(at_bob, poll, &[0]),
        Err(EngineError::PollClosed)
    ));
    let bob_view = net.users[1].engine.poll(at_bob, poll).expect("poll");
    assert_eq!(
        bob_view.options.iter().map(|o| o.votes).collect::<Vec<_>>(),
        [0, 1, 0]
    );
    assert_eq!(net.users[0].engine.polls(at_alice).expect("polls").len(), 1);
    // The poll is a message Bob received, and acknowledged as delivered.
    let entry = history(&net, 0, at_alice)
        .into_iter()
        .find(|m| m.id == poll)
        .expect("in the history");
    assert_eq!(entry.delivery, Some(DeliveryState::Delivered));
}

/// Per option, the voters' names.
fn names_per_option(view: &crate::PollView) -> Vec<std::collections::BTreeSet<String>> {
    view.options
        .iter()
        .map(|o| o.voters.iter().map(|p| p.name.clone()).collect())
        .collect()
}

/// Moved from `tests/client/polls.rs`: votes changed, some cast offline or after the
/// close by a stale clock, and everyone computes the same tally.
#[test]
fn five_voters_change_votes_and_all_compute_the_same_tally() {
    const SECOND: Duration = Duration::from_secs(1);
    let mut net = Net::new(12, &["Alice", "Bob", "Carol", "Dave", "Erin"]);
    let contacts: Vec<_> = (1..5).map(|b| net.introduce(0, b).0).collect();
    let id = net.create_loop(0, "Assemblée", &contacts);
    net.settle();
    let t0 = net.users[0].clock.now_ms();
    let in_loop = ConversationId::Loop(id);
    let options: Vec<String> = ["Monday", "Tuesday", "Wednesday", "Thursday"]
        .map(String::from)
        .to_vec();
    net.advance_user(0, SECOND);
    let poll = net.users[0]
        .engine
        .create_poll(
            in_loop,
            "Which evening for the assembly?",
            &options,
            false,
            Some(t0 + 86_400_000),
        )
        .expect("a poll")
        .id;
    net.settle();
    for user in 0..5 {
        let entry = history(&net, user, in_loop)
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
    // Refused: a choice that does not exist, two on a one-choice poll, a member's close.
    let bob = &net.users[1].engine;
    assert!(matches!(
        bob.vote(in_loop, poll, &[4]),
        Err(EngineError::InvalidVote(_))
    ));
    assert!(matches!(
        bob.vote(in_loop, poll, &[0, 1]),
        Err(EngineError::InvalidVote(_))
    ));
    assert!(matches!(
        bob.close_poll(in_loop, poll),
        Err(EngineError::NotOrganizer)
    ));

    // Round 1: Alice Monday, Bob and Carol Tuesday, Dave Wednesday, Erin Thursday.
    for (user, choice) in [0u8, 1, 1, 2, 3].into_iter().enumerate() {
        net.advance_user(user, 10 * SECOND);
        net.users[user]
            .engine
            .vote(in_loop, poll, &[choice])
            .expect("voted");
    }
    net.settle();
    for user in 0..5 {
        let view = net.users[user].engine.poll(in_loop, poll).expect("poll");
        assert_eq!(view.voters.len(), 5, "user {user}");
    }
    // Erin votes offline, and closes her profile before it could leave.
    net.set_online(4, false);
    net.advance_user(4, 20 * SECOND);
    let erin_offline = net.users[4]
        .engine
        .vote(in_loop, poll, &[1])
        .expect("voted");
    assert_eq!(erin_offline.my_choices, vec![1]);
    net.restart(4);
    // Round 2 while Erin is away: Bob to Wednesday, Carol twice, Dave to Tuesday.
    net.advance_user(1, 30 * SECOND);
    net.users[1]
        .engine
        .vote(in_loop, poll, &[2])
        .expect("voted");
    net.advance_user(2, 30 * SECOND);
    net.users[2]
        .engine
        .vote(in_loop, poll, &[0])
        .expect("voted");
    net.advance_user(2, SECOND);
    net.users[2]
        .engine
        .vote(in_loop, poll, &[2])
        .expect("voted");
    net.advance_user(3, 30 * SECOND);
    net.users[3]
        .engine
        .vote(in_loop, poll, &[1])
        .expect("voted");
    net.settle();
    let expected: Vec<std::collections::BTreeSet<String>> =
        [&["Alice"][..], &["Dave"], &["Bob", "Carol"], &["Erin"]]
            .iter()
            .map(|names| names.iter().map(|n| n.to_string()).collect())
            .collect();
    let at_alice = net.users[0].engine.poll(in_loop, poll).expect("poll");
    assert_eq!(
        names_per_option(&at_alice),
        expected,
        "Erin's offline vote is not out yet"
    );
    // Dave goes offline too, before Alice closes the poll.
    net.set_online(3, false);
    net.advance_user(0, 60 * SECOND);
    let closed = net.users[0]
        .engine
        .close_poll(in_loop, poll)
        .expect("closed");
    assert!(closed.closed && !closed.can_close);
    let ended = closed.ended_at.expect("an end");
    net.settle();
    for user in [0, 1, 2] {
        assert!(matches!(
            net.users[user].engine.vote(in_loop, poll, &[0]),
            Err(EngineError::PollClosed)
        ));
    }
    // Dave, who has not heard of the close, votes Thursday after it by his clock; his
    // profile restarts before he is back. Everyone ignores the late vote.
    net.advance_user(3, 120 * SECOND);
    let late = net.users[3]
        .engine
        .vote(in_loop, poll, &[3])
        .expect("voted");
    assert!(!late.closed, "Dave has not heard of the close yet");
    net.restart(3);
    net.set_online(3, true);
    // Erin comes back: her vote, cast before the close, is delivered after it: it counts.
    net.set_online(4, true);
    net.settle();
    let views: Vec<crate::PollView> = (0..5)
        .map(|u| net.users[u].engine.poll(in_loop, poll).expect("the poll"))
        .collect();
    for (user, view) in views.iter().enumerate() {
        assert!(view.closed, "user {user}");
        assert_eq!(
            view.options.iter().map(|o| o.votes).collect::<Vec<_>>(),
            [1, 2, 2, 0],
            "user {user}"
        );
        assert_eq!(view.ended_at, Some(ended), "user {user}: same end");
        let voters: Vec<&String> = view.voters.iter().map(|p| &p.id).collect();
        let first: Vec<&String> = views[0].voters.iter().map(|p| &p.id).collect();
        assert_eq!(voters, first, "user {user}: same voters in the same order");
        assert_eq!(names_per_option(view).len(), 4);
    }
    let mine: Vec<Vec<u8>> = views.iter().map(|v| v.my_choices.clone()).collect();
    assert_eq!(mine, vec![vec![0], vec![2], vec![2], vec![1], vec![1]]);
    // Votes are not chat messages: the loop's history holds the poll and nothing else.
    for user in 0..5 {
        assert_eq!(
            history(&net, user, in_loop).len(),
            1,
            "only the poll, for user {user}"
        );
    }
}
