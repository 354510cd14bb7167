//! Polls, events and the agenda through the main window: the forms open from the
//! conversation and close on success, the engine's changes reload what is shown, a poll
//! that closes by itself gets a timer, and the agenda opens from the list (Ctrl+G) and
//! leads back to conversations.

use super::*;
use crate::io::{Organize, Organized};
use crate::screen::fixtures::{entry, event, poll};
use boucle_client_core::RsvpAnswer;
use iced_test::selector::id;

const LOOP: ConversationId = ConversationId::Loop(TENANTS);

fn in_tenants() -> State {
    let mut state = loaded();
    state.handle(Message::Open(LOOP));
    state
}

#[test]
fn a_poll_is_made_from_the_conversation_and_lands_in_it() {
    let mut state = in_tenants();
    let commands = user(&mut state, |ui| {
        ui.click("New poll").expect("the composer's button");
    });
    assert!(matches!(
        commands.as_slice(),
        [Command::Focus(new_poll::QUESTION)]
    ));
    assert!(shows(
        &state,
        "In Tenants. Everyone sees who voted for what: it is a show of hands."
    ));
    let commands = user(&mut state, |ui| {
        ui.click(id(new_poll::QUESTION)).expect("question");
        ui.typewrite("Which day?");
        ui.click(id(new_poll::option_id(0))).expect("option");
        ui.typewrite("Thursday");
        ui.click(id(new_poll::option_id(1))).expect("option");
        ui.typewrite("Friday");
        ui.click("Create the poll").expect("create");
    });
    let what = Organize::CreatePoll {
        question: "Which day?".into(),
        options: vec!["Thursday".into(), "Friday".into()],
        multiple: false,
        closes_at: None,
    };
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Organize(LOOP, asked)] if *asked == what
    ));

    // Refused: the form stays and says why.
    state.handle(Message::Response(
        state.here(),
        Response::Organized(
            LOOP,
            Box::new(what.clone()),
            Err("Only admins may post in this loop.".into()),
        ),
    ));
    assert!(shows(
        &state,
        "The poll was not created. Only admins may post in this loop."
    ));

    // Accepted: back to the conversation, which reads its history, polls and events.
    let commands = state.handle(Message::Response(
        state.here(),
        Response::Organized(
            LOOP,
            Box::new(what),
            Ok(Organized::Message(Box::new(entry(
                5,
                MessageBody::Poll {
                    question: "Which day?".into(),
                },
                true,
            )))),
        ),
    ));
    let requests = requests(&commands);
    assert!(requests.iter().any(|r| matches!(r, Request::History(LOOP))));
    assert!(requests.iter().any(|r| matches!(r, Request::Polls(LOOP))));
    assert!(
        requests
            .iter()
            .any(|r| matches!(r, Request::Agenda(Some(LOOP))))
    );
    assert_eq!(state.open_id(), Some(LOOP));
}

#[test]
fn cancelling_a_form_goes_back_to_the_conversation() {
    let mut state = in_tenants();
    state.handle(Message::Conversation(conversation::Message::Composer(
        conversation::composer::Message::NewEvent,
    )));
    assert!(shows(&state, "New event"));
    user(&mut state, |ui| {
        ui.click("Cancel").expect("cancel");
    });
    assert_eq!(state.open_id(), Some(LOOP));
    state.handle(Message::Conversation(conversation::Message::Composer(
        conversation::composer::Message::NewPoll,
    )));
    state.handle(Message::Shortcut(Shortcut::Escape));
    assert_eq!(state.open_id(), Some(LOOP), "Escape too");
}

#[test]
fn an_event_is_planned_then_edited_from_its_card() {
    let mut state = in_tenants();
    let commands = state.handle(Message::Conversation(conversation::Message::Composer(
        conversation::composer::Message::NewEvent,
    )));
    assert!(matches!(
        commands.as_slice(),
        [Command::Focus(event_form::TITLE)]
    ));
    let commands = user(&mut state, |ui| {
        ui.click(id(event_form::TITLE)).expect("title");
        ui.typewrite("Meeting with the landlord");
        ui.click("Create the event").expect("create");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Organize(LOOP, Organize::CreateEvent(details))]
            if details.title == "Meeting with the landlord" && details.time_zone == "UTC"
    ));
    let card = entry(
        6,
        MessageBody::Event {
            title: "Meeting with the landlord".into(),
            starts_at: 1_749_751_200_000,
            cancelled: false,
        },
        true,
    );
    state.handle(Message::Response(
        state.here(),
        Response::Organized(
            LOOP,
            Box::new(Organize::CreateEvent(Default::default())),
            Ok(Organized::Message(Box::new(card.clone()))),
        ),
    ));
    state.handle(Message::Response(
        state.here(),
        Response::History(LOOP, Ok(vec![card])),
    ));
    assert_eq!(state.open_id(), Some(LOOP));

    // The conversation's events arrive; the card's Edit opens the form, filled in.
    let landlord = event(6, "Meeting with the landlord", 1_749_751_200_000, &[]);
    state.handle(Message::Response(
        state.here(),
        Response::Agenda(Some(LOOP), Ok(vec![landlord.clone()])),
    ));
    assert!(shows(&state, "Thursday 12 June 2025, 18:00–20:00 (UTC)"));
    let commands = user(&mut state, |ui| {
        ui.click("Edit").expect("edit");
    });
    assert!(matches!(
        commands.as_slice(),
        [Command::Focus(event_form::TITLE)]
    ));
    assert!(shows(&state, "Edit the event"));
    assert!(
        shows(&state, "Meeting with the landlord"),
        "the title, filled in"
    );
    assert!(shows(&state, "2025-06-12"));
    let commands = user(&mut state, |ui| {
        ui.click(id(event_form::TITLE)).expect("title");
        ui.typewrite(" (moved)");
        ui.click("Save the changes").expect("save");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Organize(LOOP, Organize::EditEvent(id, details))]
            if *id == landlord.id
                && details.title == "Meeting with the landlord (moved)"
                && details.starts_at == landlord.details.starts_at
                && details.ends_at == landlord.details.ends_at
    ));
}

#[test]
fn engine_changes_reload_what_is_shown() {
    let mut state = in_tenants();
    let poll_id = MessageId([5; 16]);
    let commands = state.handle(Message::Event(Some(Event::PollChanged {
        conversation: LOOP,
        poll: poll_id,
    })));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Poll(LOOP, id)] if *id == poll_id
    ));
    let elsewhere = ConversationId::Contact(NADIA);
    let commands = state.handle(Message::Event(Some(Event::PollChanged {
        conversation: elsewhere,
        poll: poll_id,
    })));
    assert!(commands.is_empty(), "not the open conversation");
    let commands = state.handle(Message::Event(Some(Event::AgendaChanged {
        conversation: LOOP,
        event: MessageId([6; 16]),
    })));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Event(LOOP, _)]
    ));

    // A vote from someone else shows in the open poll.
    state.handle(Message::Response(
        state.here(),
        Response::Poll(
            LOOP,
            Ok(Box::new(poll(
                5,
                "Which day?",
                &["Thu", "Fri"],
                &[(1, "Nadia")],
                false,
            ))),
        ),
    ));
    let pane = state.pane();
    let Pane::Conversation(open) = pane else {
        panic!("the conversation is open");
    };
    assert_eq!(open.poll(poll_id).map(|p| p.options[1].votes), Some(1));

    // The agenda reloads when any event changes.
    state.handle(Message::Agenda);
    let commands = state.handle(Message::Event(Some(Event::AgendaChanged {
        conversation: elsewhere,
        event: MessageId([6; 16]),
    })));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Agenda(None)]
    ));
}

#[test]
fn a_poll_that_closes_by_itself_is_read_again_when_it_does() {
    let mut state = in_tenants();
    let at = crate::format::now_ms() + 3_600_000;
    let mut closing = poll(5, "Which day?", &["Thu", "Fri"], &[], false);
    closing.closes_at = Some(at);
    let commands = state.handle(Message::Response(
        state.here(),
        Response::Polls(LOOP, Ok(vec![closing.clone()])),
    ));
    assert!(matches!(
        commands.as_slice(),
        [Command::After(when, _, Request::Poll(LOOP, id))] if *when == at && *id == closing.id
    ));
    // Once is enough.
    let commands = state.handle(Message::Response(
        state.here(),
        Response::Poll(LOOP, Ok(Box::new(closing))),
    ));
    assert!(commands.is_empty());
}

#[test]
fn the_agenda_opens_from_the_list_and_leads_to_conversations() {
    let mut state = loaded();
    let commands = user(&mut state, |ui| {
        ui.click("Agenda").expect("the list's button");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Agenda(None)]
    ));
    assert!(shows(&state, "Reading the agenda…"));
    let commands = state.handle(Message::Shortcut(Shortcut::Agenda));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Agenda(None)]
    ));
    let now = crate::format::now_ms();
    state.handle(Message::Response(
        state.here(),
        Response::Agenda(
            None,
            Ok(vec![event(
                6,
                "Meeting with the landlord",
                now + 86_400_000,
                &[(RsvpAnswer::Going, "Alice")],
            )]),
        ),
    ));
    assert!(shows(&state, "Upcoming (1)"));
    let commands = user(&mut state, |ui| {
        ui.click("Meeting with the landlord").expect("the event");
    });
    assert!(
        requests(&commands)
            .iter()
            .any(|r| matches!(r, Request::History(LOOP)))
    );
    assert_eq!(state.open_id(), Some(LOOP));

    // The loop's own agenda, from its header (its button is clicked in the
    // conversation's tests: here "Agenda" finds the list's first).
    let commands = state.handle(Message::Conversation(conversation::Message::Header(
        conversation::header::Message::Agenda,
    )));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Agenda(Some(LOOP))]
    ));
    assert!(shows(&state, "Agenda of Tenants"));
}
