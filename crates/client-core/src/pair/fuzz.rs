//! The engine interaction fuzzer: a loop of 3 to 5 members on the in-memory net, and a
//! random schedule of what people do (post, vote, answer an event, remove a member)
//! and of what the network and the machines do (an outbox round, one delivery, a
//! delivery whose acknowledgement is lost so it comes again, a restart from the store).
//! Once everything has been delivered, every member must agree: the same members, the
//! same tallies and answers, and the same messages in the loop's history.
//!
//! Seeded (`FUZZ_SEED`): a CI run tries the same [`CASES`] schedules each time;
//! `PROPTEST_CASES` runs more.

use std::collections::BTreeSet;

use boucle_crypto::{LoopId, MessageId, RsvpAnswer};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::Net;
use crate::{ConversationId, EventDetails};

/// Schedules per run.
const CASES: u32 = 24;
const FUZZ_SEED: u64 = 0x0b0c_1e5e_ed00_0001;

#[derive(Debug, Clone)]
enum Step {
    Post {
        user: usize,
    },
    Vote {
        user: usize,
        choice: u8,
    },
    Rsvp {
        user: usize,
        answer: u8,
    },
    /// The admin (user 0) removes a member, once everything in flight is delivered.
    Remove {
        member: usize,
    },
    Flush {
        user: usize,
    },
    Deliver {
        user: usize,
        pick: usize,
        ack: bool,
    },
    Restart {
        user: usize,
    },
}

fn step(members: usize) -> impl Strategy<Value = Step> {
    let user = 0..members;
    prop_oneof![
        3 => user.clone().prop_map(|user| Step::Post { user }),
        3 => (user.clone(), 0..3u8).prop_map(|(user, choice)| Step::Vote { user, choice }),
        2 => (user.clone(), 0..3u8).prop_map(|(user, answer)| Step::Rsvp { user, answer }),
        1 => (1..members).prop_map(|member| Step::Remove { member }),
        6 => user.clone().prop_map(|user| Step::Flush { user }),
        10 => (user.clone(), 0..8usize, prop::bool::weighted(0.8))
            .prop_map(|(user, pick, ack)| Step::Deliver { user, pick, ack }),
        1 => user.prop_map(|user| Step::Restart { user }),
    ]
}

fn schedule() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (3..=5usize)
        .prop_flat_map(|members| (Just(members), prop::collection::vec(step(members), 0..60)))
}

/// A loop of `members`, everyone joined, with a poll and an event made by its admin.
fn setup(members: usize, seed: u64) -> (Net, LoopId, MessageId, MessageId) {
    let names = ["Alice", "Bob", "Carol", "Dan", "Eve"];
    let mut net = Net::new(seed, &names[..members]);
    let contacts: Vec<_> = (1..members).map(|b| net.introduce(0, b).0).collect();
    let id = net.create_loop(0, "Assembly", &contacts);
    net.settle();
    let in_loop = ConversationId::Loop(id);
    let poll = net.users[0]
        .engine
        .create_poll(
            in_loop,
            "Which day?",
            &["Friday".into(), "Saturday".into(), "Sunday".into()],
            false,
            None,
        )
        .expect("a poll")
        .id;
    let event = net.users[0]
        .engine
        .create_event(
            in_loop,
            &EventDetails {
                title: "Assembly".into(),
                starts_at: super::T0 + 7 * 86_400_000,
                ends_at: None,
                time_zone: "Europe/Paris".into(),
                place: "Bourse du travail".into(),
                description: String::new(),
            },
        )
        .expect("an event")
        .id;
    net.settle();
    (net, id, poll, event)
}

fn run(
    net: &mut Net,
    id: LoopId,
    poll: MessageId,
    event: MessageId,
    steps: &[Step],
) -> BTreeSet<usize> {
    let in_loop = ConversationId::Loop(id);
    let mut removed = BTreeSet::new();
    for (n, step) in steps.iter().enumerate() {
        match *step {
            // What people try may be refused (a removed member posting, say): the
            // refusal itself is checked elsewhere, here only that everyone agrees.
            Step::Post { user } => {
                let _ = net.users[user]
                    .engine
                    .send_text(in_loop, &format!("post {n}"));
            }
            Step::Vote { user, choice } => {
                let _ = net.users[user].engine.vote(in_loop, poll, &[choice]);
            }
            Step::Rsvp { user, answer } => {
                let answer =
                    [RsvpAnswer::Going, RsvpAnswer::Maybe, RsvpAnswer::No][answer as usize];
                let _ = net.users[user].engine.rsvp(in_loop, event, answer);
            }
            // At a quiet moment: a post racing its author's removal is not yet decided
            // the same way by every member (`a_post_racing_its_authors_removal…`).
            Step::Remove { member } => {
                net.settle();
                let key = net.users[member]
                    .engine
                    .identity_keys()
                    .expect("keys")
                    .ed25519;
                let short = hex::encode(&key[..4]);
                if net.users[0].engine.remove_from_loop(id, &short).is_ok() {
                    removed.insert(member);
                }
                net.settle();
            }
            Step::Flush { user } => {
                net.flush(user);
            }
            Step::Deliver { user, pick, ack } => {
                let ready = net.deliverable(user);
                if !ready.is_empty() {
                    net.deliver_next(ready[pick % ready.len()], ack);
                }
            }
            Step::Restart { user } => net.restart(user),
        }
    }
    net.settle();
    removed
}

/// What a member's engine says about the loop, to compare.
#[derive(Debug, PartialEq)]
struct Seen {
    members: usize,
    votes: Vec<usize>,
    answers: (usize, usize, usize),
    messages: BTreeSet<MessageId>,
}

fn seen(net: &Net, user: usize, id: LoopId, poll: MessageId, event: MessageId) -> Seen {
    let engine = &net.users[user].engine;
    let in_loop = ConversationId::Loop(id);
    let members = engine
        .loops()
        .expect("loops")
        .into_iter()
        .find(|l| l.id == id)
        .map_or(0, |l| l.members);
    let votes = engine
        .poll(in_loop, poll)
        .expect("the poll")
        .options
        .iter()
        .map(|o| o.votes)
        .collect();
    let counts = engine.event(in_loop, event).expect("the event").counts;
    let messages = engine
        .history(in_loop, None, 10_000)
        .expect("the history")
        .into_iter()
        .map(|m| m.id)
        .collect();
    Seen {
        members,
        votes,
        answers: (counts.going, counts.maybe, counts.no),
        messages,
    }
}

proptest! {
    #![proptest_config(Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CASES),
        rng_seed: RngSeed::Fixed(FUZZ_SEED),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn every_member_converges_to_the_same_loop((members, steps) in schedule(), seed in 0..1_000u64) {
        let (mut net, id, poll, event) = setup(members, seed);
        let removed = run(&mut net, id, poll, event, &steps);
        prop_assert_eq!(net.relay.in_flight(), 0, "everything was delivered");
        let stayed: Vec<usize> = (0..members).filter(|m| !removed.contains(m)).collect();
        let first = seen(&net, stayed[0], id, poll, event);
        prop_assert_eq!(first.members, stayed.len());
        for &user in &stayed[1..] {
            let other = seen(&net, user, id, poll, event);
            prop_assert_eq!(&other, &first, "member {} disagrees with member {}", user, stayed[0]);
        }
    }
}

/// Found by the fuzzer: Alice removes Carol while Carol posts. Bob reads Carol's post
/// before the removal and keeps it; Alice, who removed her first, refuses it. Members
/// disagree on the loop's history until the rule for messages racing a removal is
/// decided (client-protocol §5, open question); ignored until then.
#[test]
#[ignore = "known divergence: a post racing its author's removal (client-protocol §5)"]
fn a_post_racing_its_authors_removal_is_kept_by_every_member_or_none() {
    let (mut net, id, poll, event) = setup(3, 0);
    let in_loop = ConversationId::Loop(id);
    let carol = net.users[2].engine.identity_keys().expect("keys").ed25519;
    net.users[0]
        .engine
        .remove_from_loop(id, &hex::encode(&carol[..4]))
        .expect("removed");
    net.users[2]
        .engine
        .send_text(in_loop, "still here")
        .expect("posted");
    net.flush(2);
    net.settle();
    let alice = seen(&net, 0, id, poll, event);
    let bob = seen(&net, 1, id, poll, event);
    assert_eq!(alice.messages, bob.messages);
}
