//! Polls and events in the conversation as a user sees them: voting, changing and
//! taking back a vote, the tally, closing; answering an event, editing and cancelling
//! it; and the buttons that open the forms.

use super::*;
use crate::screen::fixtures::{TENANTS, entry, event, poll};
use boucle_client_core::RsvpAnswer;
use iced_test::{Simulator, simulator};

const POLL: MessageId = MessageId([5; 16]);
const EVENT: MessageId = MessageId([6; 16]);

fn state() -> State {
    let mut state = State::new(
        TENANTS,
        Header {
            title: "Tenants".into(),
            contact: None,
            verified: false,
            identity_changed: false,
            blocked: false,
        },
    );
    state.set_history(vec![
        entry(
            5,
            MessageBody::Poll {
                question: "Which day for the assembly?".into(),
            },
            true,
        ),
        entry(
            6,
            MessageBody::Event {
                title: "Meeting with the landlord".into(),
                starts_at: 1_749_751_200_000,
                cancelled: false,
            },
            false,
        ),
    ]);
    state.update(Message::Tick(crate::format::now_ms()));
    state
}

fn with_votes(votes: &[(u8, &str)]) -> PollView {
    poll(
        5,
        "Which day for the assembly?",
        &["Thursday", "Friday", "Saturday"],
        votes,
        false,
    )
}

fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
    let mut ui = simulator(state.view(false));
    act(&mut ui);
    let messages: Vec<Message> = ui.into_messages().collect();
    messages
        .into_iter()
        .map(|m| state.update(m))
        .filter(|a| !matches!(a, Action::None))
        .collect()
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view(false)).find(text).is_ok()
}

#[test]
fn a_poll_shows_its_tally_and_voters() {
    let mut state = state();
    assert!(shows(&state, "Which day for the assembly?"));
    assert!(
        shows(&state, "Reading the votes…"),
        "before its state loads"
    );
    state.set_polls(vec![with_votes(&[
        (0, "Nadia"),
        (1, "Omar"),
        (1, "Léa"),
        (1, "Karim"),
    ])]);
    assert!(!shows(&state, "Reading the votes…"));
    assert!(shows(&state, "one choice"));
    assert!(shows(&state, "1 · 25%"), "Thursday");
    assert!(shows(&state, "3 · 75%"), "Friday");
    assert!(shows(&state, "0 · 0%"), "Saturday");
    assert!(shows(&state, "Omar, Léa, Karim"), "who voted Friday");
    assert!(shows(&state, "4 voters · you have not voted yet"));
    assert!(shows(&state, "Close poll"), "we asked it");
}

#[test]
fn voting_changing_and_taking_back() {
    let mut state = state();
    state.set_polls(vec![with_votes(&[(0, "Nadia")])]);
    let actions = user(&mut state, |ui| {
        ui.click("Friday").expect("an option");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::Vote {
            poll: POLL,
            choices: vec![1]
        })]
    );
    assert!(shows(&state, "Sending your vote…"));
    state.organized(
        &Organize::Vote {
            poll: POLL,
            choices: vec![1],
        },
        Ok(Organized::Poll(Box::new(with_votes(&[
            (0, "Nadia"),
            (1, "Alice"),
        ])))),
    );
    assert!(!shows(&state, "Sending your vote…"));
    assert!(shows(&state, "you"), "our name under Friday");
    assert!(shows(
        &state,
        "2 voters · click another option to change your vote"
    ));

    // Another option replaces our vote; our own option again takes it back.
    let actions = user(&mut state, |ui| {
        ui.click("Thursday").expect("another option");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::Vote {
            poll: POLL,
            choices: vec![0]
        })]
    );
    state.organized(
        &Organize::Vote {
            poll: POLL,
            choices: vec![0],
        },
        Ok(Organized::Poll(Box::new(with_votes(&[
            (0, "Nadia"),
            (0, "Alice"),
        ])))),
    );
    assert!(shows(&state, "2 · 100%"));
    assert!(shows(&state, "Nadia, you"));
    let actions = user(&mut state, |ui| {
        ui.click("Thursday").expect("our option");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::Vote {
            poll: POLL,
            choices: vec![]
        })]
    );
    assert!(shows(&state, "Taking your vote back…"));
    state.organized(
        &Organize::Vote {
            poll: POLL,
            choices: vec![],
        },
        Err("The profile is locked.".into()),
    );
    assert!(shows(
        &state,
        "Your vote was not sent. The profile is locked."
    ));
}

#[test]
fn several_choices_add_up() {
    let mut state = state();
    let mut multiple = with_votes(&[(0, "Alice")]);
    multiple.multiple = true;
    state.set_poll(multiple);
    assert!(shows(&state, "several choices"));
    let actions = user(&mut state, |ui| {
        ui.click("Saturday").expect("an option");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::Vote {
            poll: POLL,
            choices: vec![0, 2]
        })]
    );
}

#[test]
fn closing_asks_first_and_shows_the_final_tally() {
    let mut state = state();
    state.set_polls(vec![with_votes(&[(1, "Nadia"), (1, "Omar"), (0, "Alice")])]);
    let actions = user(&mut state, |ui| {
        ui.click("Close poll").expect("close");
    });
    assert!(actions.is_empty(), "nothing sent yet");
    assert!(shows(&state, "Close it for everyone? Votes stop counting."));
    let actions = user(&mut state, |ui| {
        ui.click("Keep it open").expect("keep");
    });
    assert!(actions.is_empty());
    assert!(!shows(
        &state,
        "Close it for everyone? Votes stop counting."
    ));
    state.update(Message::Organize(organize::Message::AskClosePoll(POLL)));
    let actions = user(&mut state, |ui| {
        ui.click("Close it").expect("confirm");
    });
    assert_eq!(actions, vec![Action::Organize(Organize::ClosePoll(POLL))]);
    assert!(shows(&state, "Closing the poll…"));
    let mut closed = with_votes(&[(1, "Nadia"), (1, "Omar"), (0, "Alice")]);
    closed.closed = true;
    closed.ended_at = Some(crate::format::now_ms());
    closed.can_close = false;
    state.organized(
        &Organize::ClosePoll(POLL),
        Ok(Organized::Poll(Box::new(closed.clone()))),
    );
    assert!(shows(&state, "Closed just now · final result"));
    assert!(shows(&state, "most votes"), "Friday leads");
    assert!(shows(&state, "3 voters"));
    assert!(!shows(&state, "Close poll"));
    // Clicking an option of a closed poll sends nothing.
    let actions = user(&mut state, |ui| {
        ui.click("Thursday").expect("an option");
    });
    assert!(actions.is_empty());
}

#[test]
fn a_poll_past_its_closing_time_shows_closed_and_a_timer_is_asked() {
    let mut state = state();
    let now = crate::format::now_ms();
    let mut soon = with_votes(&[(0, "Nadia")]);
    soon.closes_at = Some(now + 3 * 3_600_000 + 1_800_000);
    state.set_poll(soon.clone());
    assert!(shows(&state, "one choice · closes in 3 h"));
    assert_eq!(
        state.next_closing(now),
        Some((now + 3 * 3_600_000 + 1_800_000, POLL))
    );
    // The time came (the engine's view was read before it).
    soon.closes_at = Some(now - 1_000);
    state.set_poll(soon);
    state.update(Message::Tick(now));
    assert!(shows(&state, "Closed just now · final result"));
    assert_eq!(state.next_closing(now), None);
    let actions = user(&mut state, |ui| {
        ui.click("Friday").expect("an option");
    });
    assert!(
        actions.is_empty(),
        "a closed poll's options are not buttons any more"
    );
}

fn landlord() -> EventView {
    let mut event = event(
        6,
        "Meeting with the landlord",
        1_749_751_200_000,
        &[(RsvpAnswer::Going, "Nadia"), (RsvpAnswer::Maybe, "Omar")],
    );
    event.conversation_name = "Tenants".into();
    event
}

#[test]
fn an_event_shows_when_where_and_who_and_takes_our_answer() {
    let mut state = state();
    assert!(shows(&state, "Reading the answers…"));
    state.set_events(vec![landlord()]);
    assert!(shows(&state, "Meeting with the landlord"));
    assert!(shows(&state, "Thursday 12 June 2025, 18:00–20:00 (UTC)"));
    assert!(shows(&state, "12 rue Verte, hall B"));
    assert!(shows(&state, "Bring the letters."));
    assert!(shows(&state, "1 going · 1 maybe · 0 not going"));
    assert!(shows(&state, "Going: Nadia"));
    assert!(shows(&state, "Maybe: Omar"));
    assert!(shows(&state, "Are you coming?"));
    let actions = user(&mut state, |ui| {
        ui.click("Going").expect("going");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::Rsvp(EVENT, RsvpAnswer::Going))]
    );
    assert!(shows(&state, "Sending your answer…"));
    let answered = event(
        6,
        "Meeting with the landlord",
        1_749_751_200_000,
        &[
            (RsvpAnswer::Going, "Nadia"),
            (RsvpAnswer::Going, "Alice"),
            (RsvpAnswer::Maybe, "Omar"),
        ],
    );
    state.organized(
        &Organize::Rsvp(EVENT, RsvpAnswer::Going),
        Ok(Organized::Event(Box::new(answered))),
    );
    assert!(shows(&state, "2 going · 1 maybe · 0 not going"));
    assert!(shows(&state, "Going: Nadia, you"));
    assert!(shows(&state, "Your answer:"));
    // Our answer again sends nothing; another one replaces it.
    let actions = user(&mut state, |ui| {
        ui.click("Going").expect("going");
    });
    assert!(actions.is_empty());
    let actions = user(&mut state, |ui| {
        ui.click("No").expect("no");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::Rsvp(EVENT, RsvpAnswer::No))]
    );
}

#[test]
fn an_event_elsewhere_shows_the_time_here_too() {
    let mut state = state();
    state.set_zone(Zone::fixed("America/Montreal", -240));
    state.set_events(vec![landlord()]);
    assert!(shows(
        &state,
        "Thu 12 June, 14:00–16:00 your time (America/Montreal)"
    ));
}

#[test]
fn the_organizer_edits_and_cancels_after_a_confirmation() {
    let mut state = state();
    state.set_events(vec![landlord()]);
    let actions = user(&mut state, |ui| {
        ui.click("Edit").expect("edit");
    });
    assert!(matches!(
        actions.as_slice(),
        [Action::EditEvent(event)] if event.id == EVENT
    ));
    let actions = user(&mut state, |ui| {
        ui.click("Cancel the event").expect("cancel");
    });
    assert!(actions.is_empty());
    assert!(shows(
        &state,
        "Cancel it for everyone? This cannot be undone."
    ));
    let actions = user(&mut state, |ui| {
        ui.click("Cancel it").expect("confirm");
    });
    assert_eq!(
        actions,
        vec![Action::Organize(Organize::CancelEvent(EVENT))]
    );
    assert!(shows(&state, "Cancelling the event…"));
    let mut cancelled = landlord();
    cancelled.cancelled = true;
    state.organized(
        &Organize::CancelEvent(EVENT),
        Ok(Organized::Event(Box::new(cancelled))),
    );
    assert!(shows(&state, "Cancelled"));
    assert!(!shows(&state, "Are you coming?"), "no answers any more");
    assert!(!shows(&state, "Edit"));

    // Someone else's event, not an admin: no edit, no cancel.
    let mut theirs = landlord();
    theirs.can_edit = false;
    state.set_event(theirs);
    assert!(!shows(&state, "Edit"));
    assert!(!shows(&state, "Cancel the event"));
}

#[test]
fn the_buttons_open_the_forms_and_the_agenda() {
    let mut state = state();
    let actions = user(&mut state, |ui| {
        ui.click("New poll").expect("poll button");
    });
    assert_eq!(actions, vec![Action::NewPoll]);
    let actions = user(&mut state, |ui| {
        ui.click("New event").expect("event button");
    });
    assert_eq!(actions, vec![Action::NewEvent]);
    let actions = user(&mut state, |ui| {
        ui.click("Agenda").expect("agenda button");
    });
    assert_eq!(actions, vec![Action::Agenda]);
}
