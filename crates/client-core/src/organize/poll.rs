//! The show-of-hands rules (`protocol-spec/organizing.md` §1): from a poll's messages,
//! received in any order, the one result every member computes.
//!
//! A vote is the voter's whole choice. For each voter, the vote that counts is the one
//! with the greatest [`Stamp`] among their valid votes sent before the poll's end; the
//! end is the earliest of the poll's own closing time and the `sent_at` of any valid
//! `ClosePoll` (from the poll's author, or from an admin). Messages about a poll that has
//! not arrived yet are kept and judged once it does.

use std::collections::BTreeMap;

use boucle_crypto::PollSpec;
use serde::{Deserialize, Serialize};

use super::{PersonKey, Stamp};

/// Most votes kept per voter and poll: the latest ones. A voter who changes their vote
/// more often than this around a close may be counted differently by different members;
/// nobody else is affected.
pub(crate) const MAX_VOTES_PER_VOTER: usize = 32;

/// Everything known about one poll. Kept in a canonical form (sorted, deduplicated), so
/// two members who received the same messages hold equal states.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PollState {
    created: Option<CreatedPoll>,
    /// Valid closes once the poll is known (only the earliest is kept); before that,
    /// every close received, the earliest per sender and role.
    closes: Vec<Close>,
    /// Votes per voter, oldest first.
    votes: BTreeMap<PersonKey, Vec<Vote>>,
}

/// The poll itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreatedPoll {
    pub author: PersonKey,
    pub at: Stamp,
    pub spec: PollSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Close {
    by: PersonKey,
    /// Whether the sender was an admin when this member applied the close.
    by_admin: bool,
    at: Stamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Vote {
    at: Stamp,
    /// Option indices, sorted, without duplicates; empty withdraws the vote.
    choices: Vec<u8>,
}

impl Close {
    fn valid(&self, poll: &CreatedPoll) -> bool {
        self.by_admin || self.by == poll.author
    }
}

impl Vote {
    fn valid(&self, poll: &CreatedPoll) -> bool {
        let options = poll.spec.options.len();
        self.choices.iter().all(|&c| usize::from(c) < options)
            && (poll.spec.multiple || self.choices.len() <= 1)
    }
}

impl PollState {
    /// The poll, once its own message arrived.
    pub(crate) fn created(&self) -> Option<&CreatedPoll> {
        self.created.as_ref()
    }

    /// Records the poll's own message. A second one with the same id changes nothing.
    pub(crate) fn create(&mut self, author: PersonKey, at: Stamp, spec: PollSpec) {
        if self.created.is_none() {
            self.created = Some(CreatedPoll { author, at, spec });
            self.normalize();
        }
    }

    /// Records a vote (`choices` as sent: any order, duplicates allowed).
    pub(crate) fn vote(&mut self, voter: PersonKey, at: Stamp, choices: &[u8]) {
        let mut choices = choices.to_vec();
        choices.sort_unstable();
        choices.dedup();
        self.votes
            .entry(voter)
            .or_default()
            .push(Vote { at, choices });
        self.normalize();
    }

    /// Records a close. `by_admin`: whether the sender is an admin of the conversation
    /// as the receiver applies it.
    pub(crate) fn close(&mut self, by: PersonKey, by_admin: bool, at: Stamp) {
        self.closes.push(Close { by, by_admin, at });
        self.normalize();
    }

    /// When voting ends (unix ms, the senders' clocks): the earliest of the poll's
    /// closing time and its valid closes. Votes sent at or after it do not count.
    pub(crate) fn end(&self) -> Option<u64> {
        let poll = self.created.as_ref()?;
        let closed = self
            .closes
            .iter()
            .filter(|c| c.valid(poll))
            .map(|c| c.at.sent_at)
            .min();
        [poll.spec.closes_at.map(|t| t.0), closed]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether voting is over at `now`: closed by its author or an admin, or past its
    /// closing time.
    pub(crate) fn is_closed(&self, now: u64) -> bool {
        let Some(poll) = &self.created else {
            return false;
        };
        self.closes.iter().any(|c| c.valid(poll)) || poll.spec.closes_at.is_some_and(|t| t.0 <= now)
    }

    /// Each voter's counted choice (never empty), by voter.
    pub(crate) fn ballots(&self) -> BTreeMap<PersonKey, Vec<u8>> {
        let Some(poll) = &self.created else {
            return BTreeMap::new();
        };
        let end = self.end();
        self.votes
            .iter()
            .filter_map(|(voter, votes)| {
                let counted = votes
                    .iter()
                    .filter(|v| v.valid(poll) && end.is_none_or(|e| v.at.sent_at < e))
                    .max_by_key(|v| v.at)?;
                (!counted.choices.is_empty()).then(|| (*voter, counted.choices.clone()))
            })
            .collect()
    }

    /// Sorts, deduplicates, and drops what can never count again.
    fn normalize(&mut self) {
        self.closes.sort_by_key(|c| (c.at, c.by, c.by_admin));
        self.closes.dedup();
        match &self.created {
            Some(poll) => {
                // Only the earliest valid close matters.
                self.closes.retain(|c| c.valid(poll));
                self.closes.truncate(1);
            }
            None => {
                // Validity is unknown yet; per sender and role, only the earliest matters.
                let mut seen = std::collections::BTreeSet::new();
                self.closes.retain(|c| seen.insert((c.by, c.by_admin)));
            }
        }
        let end = self.end();
        for votes in self.votes.values_mut() {
            // Two votes with one stamp can only be a voter's forgery: keep the least.
            votes.sort_by(|a, b| (a.at, &a.choices).cmp(&(b.at, &b.choices)));
            votes.dedup_by_key(|v| v.at);
            if let Some(poll) = &self.created {
                // Invalid votes never count, and the end only moves earlier.
                votes.retain(|v| v.valid(poll) && end.is_none_or(|e| v.at.sent_at < e));
            }
            let excess = votes.len().saturating_sub(MAX_VOTES_PER_VOTER);
            votes.drain(..excess);
        }
        self.votes.retain(|_, votes| !votes.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use boucle_crypto::Timestamp;

    use super::*;
    use crate::organize::testing::{permutations, person, stamp};

    fn spec(options: usize, multiple: bool, closes_at: Option<u64>) -> PollSpec {
        PollSpec {
            question: "Which day?".into(),
            options: (0..options).map(|i| format!("option {i}")).collect(),
            multiple,
            closes_at: closes_at.map(Timestamp),
        }
    }

    #[derive(Clone, Debug)]
    enum Input {
        Create(PersonKey, Stamp, PollSpec),
        Vote(PersonKey, Stamp, Vec<u8>),
        Close(PersonKey, bool, Stamp),
    }

    fn apply(state: &mut PollState, input: &Input) {
        match input.clone() {
            Input::Create(author, at, spec) => state.create(author, at, spec),
            Input::Vote(voter, at, choices) => state.vote(voter, at, &choices),
            Input::Close(by, admin, at) => state.close(by, admin, at),
        }
    }

    /// Applies `inputs` in every order and checks that all give the same state.
    fn same_in_every_order(inputs: &[Input]) -> PollState {
        let mut first: Option<PollState> = None;
        for order in permutations(inputs.len()) {
            let mut state = PollState::default();
            for &i in &order {
                apply(&mut state, &inputs[i]);
            }
            match &first {
                None => first = Some(state),
                Some(expected) => assert_eq!(&state, expected, "order {order:?}"),
            }
        }
        first.unwrap_or_default()
    }

    #[test]
    fn permutations_are_all_there() {
        let all = permutations(4);
        let distinct: std::collections::BTreeSet<_> = all.iter().cloned().collect();
        assert_eq!(all.len(), 24);
        assert_eq!(distinct.len(), 24);
    }

    #[test]
    fn the_latest_vote_of_each_voter_counts() {
        let alice = person(1);
        let bob = person(2);
        let state = same_in_every_order(&[
            Input::Create(alice, stamp(100, 1), spec(3, false, None)),
            Input::Vote(bob, stamp(200, 2), vec![0]),
            Input::Vote(bob, stamp(300, 3), vec![2]),
            Input::Vote(alice, stamp(250, 4), vec![1]),
            Input::Vote(alice, stamp(250, 5), vec![2]),
        ]);
        let ballots = state.ballots();
        assert_eq!(ballots.get(&bob), Some(&vec![2]));
        // Same sent_at: the greater id wins.
        assert_eq!(ballots.get(&alice), Some(&vec![2]));
    }

    #[test]
    fn a_vote_after_the_close_is_ignored_whatever_the_arrival_order() {
        let alice = person(1);
        let bob = person(2);
        let carol = person(3);
        let state = same_in_every_order(&[
            Input::Create(alice, stamp(100, 1), spec(2, false, None)),
            Input::Vote(bob, stamp(200, 2), vec![0]),
            Input::Close(alice, false, stamp(300, 3)),
            // Bob changes his mind too late; Carol votes too late.
            Input::Vote(bob, stamp(400, 4), vec![1]),
            Input::Vote(carol, stamp(300, 5), vec![1]),
        ]);
        let ballots = state.ballots();
        assert_eq!(ballots.get(&bob), Some(&vec![0]));
        assert_eq!(
            ballots.get(&carol),
            None,
            "a vote at the close does not count"
        );
        assert_eq!(state.end(), Some(300));
        assert!(state.is_closed(0));
    }

    #[test]
    fn a_close_from_a_plain_member_is_ignored_and_an_admin_close_counts() {
        let alice = person(1);
        let bob = person(2);
        let carol = person(3);
        let state = same_in_every_order(&[
            Input::Close(bob, false, stamp(150, 9)),
            Input::Create(alice, stamp(100, 1), spec(2, false, None)),
            Input::Vote(carol, stamp(200, 2), vec![1]),
        ]);
        assert!(!state.is_closed(1_000));
        assert_eq!(state.ballots().get(&carol), Some(&vec![1]));

        let state = same_in_every_order(&[
            Input::Close(bob, true, stamp(150, 9)),
            Input::Create(alice, stamp(100, 1), spec(2, false, None)),
            Input::Vote(carol, stamp(200, 2), vec![1]),
        ]);
        assert!(state.is_closed(0));
        assert!(state.ballots().is_empty());
    }

    #[test]
    fn the_earliest_valid_close_wins() {
        let alice = person(1);
        let bob = person(2);
        let state = same_in_every_order(&[
            Input::Create(alice, stamp(100, 1), spec(2, false, Some(1_000))),
            Input::Close(alice, false, stamp(500, 2)),
            Input::Close(bob, true, stamp(400, 3)),
            Input::Vote(bob, stamp(450, 4), vec![0]),
        ]);
        assert_eq!(state.end(), Some(400));
        assert!(state.ballots().is_empty());
    }

    #[test]
    fn the_closing_time_ends_voting_by_itself() {
        let alice = person(1);
        let bob = person(2);
        let state = same_in_every_order(&[
            Input::Create(alice, stamp(100, 1), spec(2, false, Some(1_000))),
            Input::Vote(bob, stamp(999, 2), vec![0]),
            Input::Vote(bob, stamp(1_000, 3), vec![1]),
        ]);
        assert!(!state.is_closed(999));
        assert!(state.is_closed(1_000));
        assert_eq!(state.ballots().get(&bob), Some(&vec![0]));
    }

    #[test]
    fn invalid_votes_are_ignored_and_the_earlier_vote_stands() {
        let alice = person(1);
        let bob = person(2);
        let carol = person(3);
        let state = same_in_every_order(&[
            Input::Vote(bob, stamp(200, 2), vec![1]),
            // Out of range, then two options on a single-choice poll.
            Input::Vote(bob, stamp(300, 3), vec![7]),
            Input::Vote(bob, stamp(400, 4), vec![0, 1]),
            Input::Create(alice, stamp(100, 1), spec(2, false, None)),
            // Duplicates collapse: a single choice.
            Input::Vote(carol, stamp(200, 5), vec![0, 0]),
        ]);
        let ballots = state.ballots();
        assert_eq!(ballots.get(&bob), Some(&vec![1]));
        assert_eq!(ballots.get(&carol), Some(&vec![0]));
    }

    #[test]
    fn multiple_choice_and_withdrawal() {
        let alice = person(1);
        let bob = person(2);
        let state = same_in_every_order(&[
            Input::Create(alice, stamp(100, 1), spec(4, true, None)),
            Input::Vote(bob, stamp(200, 2), vec![3, 0, 2]),
            Input::Vote(alice, stamp(200, 3), vec![1]),
            Input::Vote(alice, stamp(300, 4), vec![]),
        ]);
        let ballots = state.ballots();
        assert_eq!(ballots.get(&bob), Some(&vec![0, 2, 3]));
        assert_eq!(ballots.get(&alice), None, "an empty vote withdraws");
    }

    #[test]
    fn a_second_poll_with_the_same_id_changes_nothing() {
        let alice = person(1);
        let mut state = PollState::default();
        state.create(alice, stamp(100, 1), spec(2, false, None));
        let before = state.clone();
        state.create(person(9), stamp(50, 1), spec(3, true, None));
        assert_eq!(state, before);
    }

    #[test]
    fn a_duplicate_message_changes_nothing() {
        let alice = person(1);
        let mut state = PollState::default();
        state.create(alice, stamp(100, 1), spec(2, false, None));
        state.vote(alice, stamp(200, 2), &[1]);
        let before = state.clone();
        state.vote(alice, stamp(200, 2), &[1]);
        assert_eq!(state, before);
    }

    #[test]
    fn votes_kept_per_voter_are_bounded() {
        let alice = person(1);
        let mut state = PollState::default();
        for i in 0..100u8 {
            state.vote(alice, stamp(u64::from(i), i), &[i % 2]);
        }
        assert_eq!(state.votes[&alice].len(), MAX_VOTES_PER_VOTER);
        state.create(alice, stamp(0, 200), spec(2, false, None));
        assert_eq!(state.ballots().get(&alice), Some(&vec![1]));
    }

    mod arrival {
        use proptest::prelude::*;

        use super::*;

        fn input() -> impl Strategy<Value = Input> {
            let who = (0u8..4).prop_map(person);
            let at = (0u64..6, 0u8..6).prop_map(|(t, id)| stamp(t * 100, id));
            prop_oneof![
                (who.clone(), at.clone(), prop::collection::vec(0u8..5, 0..3))
                    .prop_map(|(w, a, c)| Input::Vote(w, a, c)),
                (who, any::<bool>(), at).prop_map(|(w, admin, a)| Input::Close(w, admin, a)),
            ]
        }

        fn create() -> impl Strategy<Value = Input> {
            (
                0u8..4,
                0u64..3,
                2usize..5,
                any::<bool>(),
                prop::option::of(0u64..7),
            )
                .prop_map(|(author, t, options, multiple, closes)| {
                    Input::Create(
                        person(author),
                        stamp(t * 100, 99),
                        spec(options, multiple, closes.map(|c| c * 100)),
                    )
                })
        }

        fn scenario() -> impl Strategy<Value = (Vec<Input>, Vec<usize>)> {
            (
                prop::option::of(create()),
                prop::collection::vec(input(), 0..10),
            )
                .prop_flat_map(|(create, mut inputs)| {
                    inputs.extend(create);
                    let order: Vec<usize> = (0..inputs.len()).collect();
                    (Just(inputs), Just(order).prop_shuffle())
                })
        }

        proptest! {
            /// Whatever the messages and their arrival order, the state is the same.
            #[test]
            fn arrival_order_never_matters((inputs, order) in scenario()) {
                let mut in_order = PollState::default();
                for input in &inputs {
                    apply(&mut in_order, input);
                }
                let mut shuffled = PollState::default();
                for &i in &order {
                    apply(&mut shuffled, &inputs[i]);
                }
                prop_assert_eq!(&in_order, &shuffled);
                prop_assert_eq!(in_order.ballots(), shuffled.ballots());
                prop_assert_eq!(in_order.end(), shuffled.end());
            }
        }
    }
}
