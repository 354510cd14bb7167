//! The agenda rules (`protocol-spec/organizing.md` §2): from an event's messages,
//! received in any order, the one state every member computes.
//!
//! The details shown are those of the valid edit (from the event's author, or from an
//! admin) with the greatest [`Stamp`], else the event's own; a valid cancellation is
//! final; each member's answer is their answer with the greatest stamp. Messages about an
//! event that has not arrived yet are kept and judged once it does.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use boucle_crypto::{EventSpec, RsvpAnswer};
use serde::{Deserialize, Serialize};

use super::{PersonKey, Stamp};

/// Everything known about one event, in a canonical form (two members who received the
/// same messages hold equal states).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventState {
    created: Option<CreatedEvent>,
    /// Once the event is known: the winning valid edit only. Before: the latest edit per
    /// sender and role.
    edits: Vec<Edit>,
    /// Once the event is known: the earliest valid cancellation only. Before: the
    /// earliest per sender and role.
    cancels: Vec<Cancel>,
    /// Each member's latest answer.
    answers: BTreeMap<PersonKey, Answer>,
}

/// The event's own message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreatedEvent {
    pub author: PersonKey,
    pub at: Stamp,
    pub spec: EventSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Edit {
    by: PersonKey,
    by_admin: bool,
    at: Stamp,
    spec: EventSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Cancel {
    by: PersonKey,
    by_admin: bool,
    at: Stamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Answer {
    at: Stamp,
    answer: RsvpAnswer,
}

fn authorized(by: PersonKey, by_admin: bool, event: &CreatedEvent) -> bool {
    by_admin || by == event.author
}

/// A total order on details, only to make forged duplicates (one stamp, two contents)
/// resolve the same way everywhere.
fn spec_order(a: &EventSpec, b: &EventSpec) -> Ordering {
    (
        &a.title,
        a.starts_at,
        a.ends_at,
        &a.time_zone,
        &a.place,
        &a.description,
    )
        .cmp(&(
            &b.title,
            b.starts_at,
            b.ends_at,
            &b.time_zone,
            &b.place,
            &b.description,
        ))
}

/// Which of two valid edits wins: the greater stamp; on the same stamp (only a forging
/// sender produces that), the smaller details.
fn winning_order(a: &Edit, b: &Edit) -> Ordering {
    a.at.cmp(&b.at).then_with(|| spec_order(&b.spec, &a.spec))
}

impl EventState {
    /// The event, once its own message arrived.
    pub(crate) fn created(&self) -> Option<&CreatedEvent> {
        self.created.as_ref()
    }

    /// Records the event's own message. A second one with the same id changes nothing.
    pub(crate) fn create(&mut self, author: PersonKey, at: Stamp, spec: EventSpec) {
        if self.created.is_none() {
            self.created = Some(CreatedEvent { author, at, spec });
            self.normalize();
        }
    }

    /// Records new details. `by_admin`: whether the sender is an admin of the
    /// conversation as the receiver applies it.
    pub(crate) fn edit(&mut self, by: PersonKey, by_admin: bool, at: Stamp, spec: EventSpec) {
        self.edits.push(Edit {
            by,
            by_admin,
            at,
            spec,
        });
        self.normalize();
    }

    /// Records a cancellation.
    pub(crate) fn cancel(&mut self, by: PersonKey, by_admin: bool, at: Stamp) {
        self.cancels.push(Cancel { by, by_admin, at });
        self.normalize();
    }

    /// Records a member's answer.
    pub(crate) fn answer(&mut self, by: PersonKey, at: Stamp, answer: RsvpAnswer) {
        let new = Answer { at, answer };
        let keep = match self.answers.get(&by) {
            None => true,
            // Later stamp wins; one stamp twice (a forgery) resolves to the greater answer.
            Some(old) => (new.at, new.answer) > (old.at, old.answer),
        };
        if keep {
            self.answers.insert(by, new);
        }
    }

    /// The details to show: the winning edit's, else the event's own.
    pub(crate) fn details(&self) -> Option<&EventSpec> {
        let event = self.created.as_ref()?;
        Some(self.winning_edit().map_or(&event.spec, |e| &e.spec))
    }

    /// Whether valid new details replaced the event's own.
    pub(crate) fn edited(&self) -> bool {
        self.winning_edit().is_some()
    }

    /// Whether the event is cancelled (for good).
    pub(crate) fn cancelled(&self) -> bool {
        self.created.as_ref().is_some_and(|event| {
            self.cancels
                .iter()
                .any(|c| authorized(c.by, c.by_admin, event))
        })
    }

    /// Each member's answer, by member.
    pub(crate) fn answers(&self) -> impl Iterator<Item = (PersonKey, RsvpAnswer)> + '_ {
        self.answers.iter().map(|(by, a)| (*by, a.answer))
    }

    fn winning_edit(&self) -> Option<&Edit> {
        let event = self.created.as_ref()?;
        self.edits
            .iter()
            .filter(|e| authorized(e.by, e.by_admin, event))
            .max_by(|a, b| winning_order(a, b))
    }

    fn normalize(&mut self) {
        self.edits.sort_by(|a, b| {
            (a.at, a.by, a.by_admin)
                .cmp(&(b.at, b.by, b.by_admin))
                .then_with(|| spec_order(&a.spec, &b.spec))
        });
        // One message judged twice alike is one edit (a forged twin: the smaller details).
        self.edits.dedup_by(|later, earlier| {
            (later.at, later.by, later.by_admin) == (earlier.at, earlier.by, earlier.by_admin)
        });
        self.cancels.sort_by_key(|c| (c.at, c.by, c.by_admin));
        self.cancels.dedup();
        match &self.created {
            Some(event) => {
                let winner = self
                    .edits
                    .iter()
                    .filter(|e| authorized(e.by, e.by_admin, event))
                    .max_by(|a, b| winning_order(a, b))
                    .cloned();
                self.edits = winner.into_iter().collect();
                self.cancels.retain(|c| authorized(c.by, c.by_admin, event));
                self.cancels.truncate(1);
            }
            None => {
                // Latest edit and earliest cancellation per sender and role.
                let mut seen = BTreeSet::new();
                let mut edits: Vec<Edit> = self
                    .edits
                    .drain(..)
                    .rev()
                    .filter(|e| seen.insert((e.by, e.by_admin)))
                    .collect();
                edits.reverse();
                self.edits = edits;
                let mut seen = BTreeSet::new();
                self.cancels.retain(|c| seen.insert((c.by, c.by_admin)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use boucle_crypto::Timestamp;

    use super::*;
    use crate::organize::testing::{permutations, person, stamp};

    fn spec(title: &str, starts_at: u64) -> EventSpec {
        EventSpec {
            title: title.into(),
            starts_at: Timestamp(starts_at),
            ends_at: None,
            time_zone: "Europe/Paris".into(),
            place: "Salle des fêtes".into(),
            description: String::new(),
        }
    }

    #[derive(Clone, Debug)]
    enum Input {
        Create(PersonKey, Stamp, EventSpec),
        Edit(PersonKey, bool, Stamp, EventSpec),
        Cancel(PersonKey, bool, Stamp),
        Answer(PersonKey, Stamp, RsvpAnswer),
    }

    fn same_in_every_order(inputs: &[Input]) -> EventState {
        let mut first: Option<EventState> = None;
        for order in permutations(inputs.len()) {
            let mut state = EventState::default();
            for &i in &order {
                match inputs[i].clone() {
                    Input::Create(a, at, s) => state.create(a, at, s),
                    Input::Edit(by, admin, at, s) => state.edit(by, admin, at, s),
                    Input::Cancel(by, admin, at) => state.cancel(by, admin, at),
                    Input::Answer(by, at, answer) => state.answer(by, at, answer),
                }
            }
            match &first {
                None => first = Some(state),
                Some(expected) => assert_eq!(&state, expected, "order {order:?}"),
            }
        }
        first.unwrap_or_default()
    }

    #[test]
    fn the_latest_valid_edit_wins_and_a_plain_member_cannot_edit() {
        let alice = person(1);
        let bob = person(2);
        let carol = person(3);
        let state = same_in_every_order(&[
            Input::Edit(
                alice,
                false,
                stamp(300, 3),
                spec("Assemblée (moved)", 2_000),
            ),
            Input::Create(alice, stamp(100, 1), spec("Assemblée", 1_000)),
            Input::Edit(bob, true, stamp(200, 2), spec("Assemblée (admin)", 1_500)),
            Input::Edit(carol, false, stamp(400, 4), spec("Hijacked", 9_000)),
        ]);
        let details = state.details().map(|d| (d.title.clone(), d.starts_at.0));
        assert_eq!(details, Some(("Assemblée (moved)".into(), 2_000)));
        assert!(state.edited());
        assert!(!state.cancelled());
    }

    #[test]
    fn a_valid_cancel_is_final_and_others_are_ignored() {
        let alice = person(1);
        let carol = person(3);
        let state = same_in_every_order(&[
            Input::Cancel(carol, false, stamp(150, 5)),
            Input::Create(alice, stamp(100, 1), spec("Assemblée", 1_000)),
            Input::Answer(carol, stamp(120, 6), RsvpAnswer::Going),
        ]);
        assert!(!state.cancelled(), "only the author or an admin cancels");

        let state = same_in_every_order(&[
            Input::Cancel(alice, false, stamp(150, 5)),
            Input::Create(alice, stamp(100, 1), spec("Assemblée", 1_000)),
            Input::Edit(
                alice,
                false,
                stamp(300, 3),
                spec("Assemblée (moved)", 2_000),
            ),
        ]);
        assert!(
            state.cancelled(),
            "an edit after the cancellation does not revive it"
        );
        assert_eq!(
            state.details().map(|d| d.title.as_str()),
            Some("Assemblée (moved)")
        );
    }

    #[test]
    fn each_members_latest_answer_counts() {
        let alice = person(1);
        let bob = person(2);
        let state = same_in_every_order(&[
            Input::Answer(bob, stamp(200, 2), RsvpAnswer::Going),
            Input::Answer(bob, stamp(300, 3), RsvpAnswer::Maybe),
            Input::Answer(alice, stamp(250, 4), RsvpAnswer::No),
            Input::Create(alice, stamp(100, 1), spec("Assemblée", 1_000)),
            Input::Answer(alice, stamp(250, 4), RsvpAnswer::No),
        ]);
        let answers: BTreeMap<_, _> = state.answers().collect();
        assert_eq!(answers.get(&bob), Some(&RsvpAnswer::Maybe));
        assert_eq!(answers.get(&alice), Some(&RsvpAnswer::No));
    }

    #[test]
    fn forged_duplicates_resolve_the_same_everywhere() {
        let alice = person(1);
        let state = same_in_every_order(&[
            Input::Create(alice, stamp(100, 1), spec("A", 1_000)),
            Input::Edit(alice, false, stamp(200, 2), spec("B", 1_000)),
            Input::Edit(alice, false, stamp(200, 2), spec("C", 1_000)),
            Input::Answer(alice, stamp(300, 3), RsvpAnswer::Going),
            Input::Answer(alice, stamp(300, 3), RsvpAnswer::No),
        ]);
        assert_eq!(state.details().map(|d| d.title.as_str()), Some("B"));
        let answers: BTreeMap<_, _> = state.answers().collect();
        assert_eq!(answers.get(&alice), Some(&RsvpAnswer::No));
    }

    mod arrival {
        use proptest::prelude::*;

        use super::*;

        fn apply(state: &mut EventState, input: &Input) {
            match input.clone() {
                Input::Create(a, at, s) => state.create(a, at, s),
                Input::Edit(by, admin, at, s) => state.edit(by, admin, at, s),
                Input::Cancel(by, admin, at) => state.cancel(by, admin, at),
                Input::Answer(by, at, answer) => state.answer(by, at, answer),
            }
        }

        fn input() -> impl Strategy<Value = Input> {
            let who = (0u8..4).prop_map(person);
            let at = (0u64..6, 0u8..6).prop_map(|(t, id)| stamp(t * 100, id));
            let answer = prop_oneof![
                Just(RsvpAnswer::Going),
                Just(RsvpAnswer::Maybe),
                Just(RsvpAnswer::No)
            ];
            prop_oneof![
                (who.clone(), any::<bool>(), at.clone(), 0u64..4)
                    .prop_map(|(w, admin, a, s)| Input::Edit(w, admin, a, spec("edit", s))),
                (who.clone(), any::<bool>(), at.clone())
                    .prop_map(|(w, admin, a)| Input::Cancel(w, admin, a)),
                (who, at, answer).prop_map(|(w, a, r)| Input::Answer(w, a, r)),
            ]
        }

        fn scenario() -> impl Strategy<Value = (Vec<Input>, Vec<usize>)> {
            let create = (0u8..4, 0u64..3).prop_map(|(author, t)| {
                Input::Create(person(author), stamp(t * 100, 99), spec("event", 0))
            });
            (
                prop::option::of(create),
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
                let mut in_order = EventState::default();
                for input in &inputs {
                    apply(&mut in_order, input);
                }
                let mut shuffled = EventState::default();
                for &i in &order {
                    apply(&mut shuffled, &inputs[i]);
                }
                prop_assert_eq!(&in_order, &shuffled);
                prop_assert_eq!(in_order.details(), shuffled.details());
                prop_assert_eq!(in_order.cancelled(), shuffled.cancelled());
            }
        }
    }
}
