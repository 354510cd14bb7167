//! Where the engine's answers go: back to the screen that asked, or nowhere if it has
//! closed since (even when the same conversation shows again); the list's part of an
//! answer still happens. And the clock: what the window shows moves with the tick.

use super::*;

const NADIA_CHAT: ConversationId = ConversationId::Contact(NADIA);

/// The destination of the first request of this kind in `commands`.
fn asked(commands: &[Command], kind: impl Fn(&Request) -> bool) -> Destination {
    commands
        .iter()
        .find_map(|c| match c {
            Command::Engine(to, request) if kind(request) => Some(*to),
            _ => None,
        })
        .expect("the request was made")
}

fn history_of(text: &str) -> Response {
    Response::History(NADIA_CHAT, Ok(vec![message(NADIA_CHAT, false, text)]))
}

#[test]
fn a_history_for_a_conversation_closed_since_is_dropped() {
    let mut state = loaded();
    let commands = state.handle(Message::Open(NADIA_CHAT));
    let first = asked(&commands, |r| matches!(r, Request::History(_)));
    assert_eq!(first, state.here());
    // Omar, then Nadia again: a new screen for the same conversation.
    state.handle(Message::Open(ConversationId::Contact(OMAR)));
    let commands = state.handle(Message::Open(NADIA_CHAT));
    let second = asked(&commands, |r| matches!(r, Request::History(_)));
    assert_ne!(first, second);

    let commands = state.handle(Message::Response(first, history_of("the old page")));
    assert!(commands.is_empty());
    assert!(!shows(&state, "the old page"), "not for this opening");
    assert!(shows(&state, "No messages yet. Say hello!"));
    state.handle(Message::Response(second, history_of("the new page")));
    assert!(shows(&state, "the new page"));
}

#[test]
fn a_late_refusal_is_not_said_in_another_conversation_but_the_list_is_read_again() {
    let mut state = loaded();
    state.handle(Message::Open(NADIA_CHAT));
    let commands = user(&mut state, |ui| {
        ui.click(iced_test::selector::id(conversation::COMPOSER))
            .expect("composer");
        ui.typewrite("hello");
        ui.tap_key(iced::keyboard::Key::Named(
            iced::keyboard::key::Named::Enter,
        ));
    });
    let to = asked(&commands, |r| matches!(r, Request::Send { .. }));
    state.handle(Message::Open(ConversationId::Contact(OMAR)));
    let commands = state.handle(Message::Response(
        to,
        Response::Sent(NADIA_CHAT, Err("The profile is locked.".into())),
    ));
    assert!(matches!(
        commands.as_slice(),
        [Command::Engine(Destination::Window, Request::Refresh)]
    ));
    assert!(!shows(
        &state,
        "Your message was not sent. The profile is locked."
    ));
    // Back in Nadia's conversation (a new screen), nothing old is said either.
    state.handle(Message::Open(NADIA_CHAT));
    assert!(!shows(
        &state,
        "Your message was not sent. The profile is locked."
    ));
}

#[test]
fn a_loop_made_after_its_form_closed_does_not_take_the_window() {
    let mut state = loaded();
    state.handle(Message::NewLoop);
    let form = state.here();
    state.handle(Message::Open(NADIA_CHAT));
    let commands = state.handle(Message::Response(form, Response::LoopCreated(Ok(TENANTS))));
    assert!(matches!(requests(&commands).as_slice(), [Request::Refresh]));
    assert_eq!(
        state.open_id(),
        Some(NADIA_CHAT),
        "the user stays where they went"
    );

    // The form still showing: the new loop opens.
    state.handle(Message::NewLoop);
    let form = state.here();
    state.handle(Message::Response(form, Response::LoopCreated(Ok(TENANTS))));
    assert_eq!(state.open_id(), Some(ConversationId::Loop(TENANTS)));
}

#[test]
fn a_failure_for_a_form_closed_since_is_dropped() {
    let mut state = loaded();
    state.handle(Message::Open(ConversationId::Loop(TENANTS)));
    state.handle(Message::Conversation(conversation::Message::Composer(
        conversation::composer::Message::NewPoll,
    )));
    let form = state.here();
    state.handle(Message::Shortcut(Shortcut::Escape));
    state.handle(Message::Conversation(conversation::Message::Composer(
        conversation::composer::Message::NewPoll,
    )));
    let commands = state.handle(Message::Response(
        form,
        Response::Organized(
            ConversationId::Loop(TENANTS),
            Box::new(Organize::CreatePoll {
                question: "Which day?".into(),
                options: vec!["Thu".into(), "Fri".into()],
                multiple: false,
                closes_at: None,
            }),
            Err("Only admins may post in this loop.".into()),
        ),
    ));
    assert!(commands.is_empty());
    assert!(
        !shows(
            &state,
            "The poll was not created. Only admins may post in this loop."
        ),
        "the new form did not ask"
    );
}

#[test]
fn times_move_with_the_tick_and_an_opened_conversation_starts_at_it() {
    let mut state = loaded();
    assert!(shows(&state, "1 min ago"), "the loop's last message");
    assert!(!shows(&state, "4 h ago"));
    let later = format_now() + 3 * 3_600_000;
    state.handle(Message::Tick(later));
    assert!(shows(&state, "4 h ago"), "Omar's, an hour older");
    state.handle(Message::Open(NADIA_CHAT));
    let Pane::Conversation(open) = state.pane() else {
        panic!("the conversation is open");
    };
    assert_eq!(open.now(), later);
    state.handle(Message::Tick(later + 1));
    let Pane::Conversation(open) = state.pane() else {
        panic!("the conversation is open");
    };
    assert_eq!(
        open.now(),
        later + 1,
        "the open conversation follows the tick"
    );
}
