//! The main window without an engine: the list, the title, the panes and the keyboard,
//! with the engine's answers fed in by hand.

use super::*;
use boucle_client_core::{Contact, DeliveryState, LoopView, MessageBody, MessageId, MessageView};
use iced_test::{Simulator, simulator};

const NADIA: ContactId = ContactId([1; 16]);
const OMAR: ContactId = ContactId([2; 16]);
const TENANTS: LoopId = LoopId([9; 16]);

fn contact(id: ContactId, name: &str, unread: u32, last_activity: u64) -> Contact {
    Contact {
        id,
        name: name.into(),
        verified: false,
        identity_changed: false,
        unread,
        relay_host: "127.0.0.1".into(),
        last_activity,
        introduced_by: None,
        can_share: false,
        blocked: false,
    }
}

fn message(conversation: ConversationId, from_me: bool, text: &str) -> MessageView {
    MessageView {
        id: MessageId([7; 16]),
        conversation,
        from_me,
        sender: None,
        sent_at: format_now(),
        received_at: format_now(),
        body: MessageBody::Text(text.into()),
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: from_me.then_some(DeliveryState::Delivered),
        position: 1,
    }
}

fn format_now() -> u64 {
    crate::format::now_ms()
}

fn overview() -> Overview {
    let now = format_now();
    let mut overview = Overview {
        contacts: vec![
            contact(NADIA, "Nadia", 2, now - 1_000),
            contact(OMAR, "Omar", 0, now - 3_600_000),
        ],
        loops: vec![LoopView {
            id: TENANTS,
            name: "Tenants".into(),
            members: 3,
            admin: true,
            member: true,
            unread: 1,
            last_activity: now - 60_000,
            policy: Default::default(),
            timer: 0,
            may_post: true,
            may_invite: true,
        }],
        last: Default::default(),
    };
    overview.last.insert(
        ConversationId::Contact(NADIA),
        message(ConversationId::Contact(NADIA), false, "see you at eight"),
    );
    overview.last.insert(
        ConversationId::Contact(OMAR),
        message(ConversationId::Contact(OMAR), true, "thanks!"),
    );
    overview.last.insert(
        ConversationId::Loop(TENANTS),
        MessageView {
            sender: Some("Nadia".into()),
            ..message(
                ConversationId::Loop(TENANTS),
                false,
                "meeting moved to Friday",
            )
        },
    );
    overview
}

fn loaded() -> State {
    let (mut state, commands) = State::new("Alice".into());
    assert!(matches!(
        commands.as_slice(),
        [Command::Engine(Destination::Window, Request::Refresh)]
    ));
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview())),
    ));
    state.handle(Message::Tick(format_now()));
    state
}

fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Command> {
    let mut ui = simulator(state.view());
    act(&mut ui);
    let messages: Vec<Message> = ui.into_messages().collect();
    messages.into_iter().flat_map(|m| state.handle(m)).collect()
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view()).find(text).is_ok()
}

fn requests(commands: &[Command]) -> Vec<&Request> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Engine(_, r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn the_list_shows_conversations_with_last_message_badges_and_delivery() {
    let state = loaded();
    assert!(shows(&state, "Alice"));
    assert!(shows(&state, "Connected"));
    assert!(shows(&state, "Nadia"));
    assert!(shows(&state, "see you at eight"));
    assert!(shows(&state, "2"), "Nadia's unread badge");
    assert!(shows(&state, "Tenants"));
    assert!(shows(&state, "loop"));
    assert!(shows(&state, "Nadia: meeting moved to Friday"));
    assert!(shows(&state, "1 min ago"));
    assert!(shows(&state, "You: thanks!"));
    assert!(shows(&state, "delivered"), "our last message's state");
    assert_eq!(
        state.order(),
        vec![
            ConversationId::Contact(NADIA),
            ConversationId::Loop(TENANTS),
            ConversationId::Contact(OMAR)
        ],
        "most recent first"
    );
}

#[test]
fn the_title_counts_unread_messages() {
    let (state, _) = State::new("Alice".into());
    assert_eq!(state.title(), "Boucle");
    let mut state = loaded();
    assert_eq!(state.title(), "Boucle (3)");
    let mut read = overview();
    read.contacts[0].unread = 0;
    read.loops[0].unread = 0;
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(read)),
    ));
    assert_eq!(state.title(), "Boucle");
}

#[test]
fn clicking_an_entry_opens_it_and_marks_it_read() {
    let mut state = loaded();
    let commands = user(&mut state, |ui| {
        ui.click("Tenants").expect("the loop");
    });
    let requests = requests(&commands);
    assert!(
        requests
            .iter()
            .any(|r| matches!(r, Request::History(ConversationId::Loop(TENANTS))))
    );
    assert!(
        requests
            .iter()
            .any(|r| matches!(r, Request::MarkRead(ConversationId::Loop(TENANTS))))
    );
    assert!(
        requests
            .iter()
            .any(|r| matches!(r, Request::Members(TENANTS)))
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::Focus(conversation::COMPOSER)))
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::ShowLatest(conversation::MESSAGES))),
        "a conversation opens on its latest message"
    );
    assert!(shows(&state, "Members and settings"));
    assert!(shows(&state, "No messages yet. Say hello!"));
}

#[test]
fn a_relay_going_down_is_shown() {
    let mut state = loaded();
    state.handle(Message::Event(Some(Event::RelayStatus {
        relay: "127.0.0.1:4433".into(),
        connected: false,
        error: Some("timed out".into()),
    })));
    assert!(shows(&state, "Relay unreachable: messages are queued"));
    state.handle(Message::Event(Some(Event::RelayStatus {
        relay: "127.0.0.1:4433".into(),
        connected: true,
        error: None,
    })));
    assert!(shows(&state, "Connected"));
}

#[test]
fn a_changed_key_warns_in_the_open_conversation_until_reverified() {
    let mut state = loaded();
    state.handle(Message::Open(ConversationId::Contact(NADIA)));
    let banner =
        "Nadia's security key changed. Compare safety numbers again before trusting new messages.";
    assert!(!shows(&state, banner));

    // The engine says the key changed; the list is refreshed and the contact is flagged.
    let commands = state.handle(Message::Event(Some(Event::IdentityChanged(NADIA))));
    assert!(matches!(requests(&commands).as_slice(), [Request::Refresh]));
    let mut changed = overview();
    changed.contacts[0].identity_changed = true;
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(changed.clone())),
    ));
    assert!(shows(&state, banner));
    assert!(shows(&state, "key changed"), "the list's tag");

    // The banner's button opens the safety number; marking verified clears the warning.
    let commands = user(&mut state, |ui| {
        ui.click("Compare safety numbers").expect("banner button");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::SafetyNumber(NADIA)]
    ));
    assert!(shows(&state, "Safety number with Nadia"));
    let commands = user(&mut state, |ui| {
        ui.click("They match: mark as verified").expect("button");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::MarkVerified(NADIA)]
    ));
    let mut verified = changed;
    verified.contacts[0].identity_changed = false;
    verified.contacts[0].verified = true;
    state.handle(Message::Response(
        state.here(),
        Response::Verified(Ok(verified.contacts[0].clone())),
    ));
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(verified)),
    ));
    assert!(shows(&state, "You have verified Nadia."));
    user(&mut state, |ui| {
        ui.click("Back to the conversation").expect("back");
    });
    assert!(!shows(&state, banner));
    assert!(shows(&state, "verified"));
}

#[test]
fn keyboard_shortcuts_move_through_the_window() {
    let mut state = loaded();
    // Ctrl+Down with nothing open opens the first conversation, then the next.
    state.handle(Message::Shortcut(Shortcut::Next));
    assert_eq!(state.open_id(), Some(ConversationId::Contact(NADIA)));
    state.handle(Message::Shortcut(Shortcut::Next));
    assert_eq!(state.open_id(), Some(ConversationId::Loop(TENANTS)));
    state.handle(Message::Shortcut(Shortcut::Previous));
    assert_eq!(state.open_id(), Some(ConversationId::Contact(NADIA)));
    state.handle(Message::Shortcut(Shortcut::Previous));
    assert_eq!(
        state.open_id(),
        Some(ConversationId::Contact(NADIA)),
        "stays at the top"
    );

    // Ctrl+N makes an invitation; Escape goes back to the conversation.
    let commands = state.handle(Message::Shortcut(Shortcut::Invite));
    assert!(matches!(requests(&commands).as_slice(), [Request::Invite]));
    assert!(shows(&state, "Making a one-time invitation…"));
    state.handle(Message::Shortcut(Shortcut::Escape));
    assert_eq!(state.open_id(), Some(ConversationId::Contact(NADIA)));

    // Escape in a conversation cancels a reply.
    state.handle(Message::Response(
        state.here(),
        Response::History(
            ConversationId::Contact(NADIA),
            Ok(vec![message(ConversationId::Contact(NADIA), false, "hi")]),
        ),
    ));
    state.handle(Message::Conversation(conversation::Message::History(
        conversation::history::Message::Reply(MessageId([7; 16])),
    )));
    assert!(shows(&state, "Replying to Nadia: hi"));
    state.handle(Message::Shortcut(Shortcut::Escape));
    assert!(!shows(&state, "Replying to Nadia: hi"));
}

#[test]
fn the_loop_settings_open_from_the_conversation_and_changes_reload_members() {
    let mut state = loaded();
    state.handle(Message::Open(ConversationId::Loop(TENANTS)));
    let commands = user(&mut state, |ui| {
        ui.click("Members and settings").expect("button");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Members(TENANTS)]
    ));
    assert!(shows(&state, "Reading the member list…"));
    state.handle(Message::Response(
        state.here(),
        Response::Members(
            TENANTS,
            Ok(vec![boucle_client_core::MemberView {
                id: "aa11bb22".into(),
                name: None,
                me: true,
                admin: true,
                verified: false,
            }]),
        ),
    ));
    assert!(shows(&state, "Loop · 1 members · you are an admin"));
    // (The checkbox is clicked in loop_settings' own tests; "Nadia" here would find the
    // list's entry first.)
    let commands = state.handle(Message::LoopSettingsPane(loop_settings::Message::Toggle(
        NADIA, true,
    )));
    assert!(requests(&commands).is_empty());
    let commands = user(&mut state, |ui| {
        ui.click("Invite to the loop").expect("button");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Loop(TENANTS, crate::io::LoopChange::Add(ids))] if ids == &[NADIA]
    ));
    let commands = state.handle(Message::Response(
        state.here(),
        Response::LoopChanged(TENANTS, crate::io::LoopChange::Add(vec![NADIA]), Ok(())),
    ));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Refresh, Request::Members(TENANTS)]
    ));
    assert!(shows(
        &state,
        "Invited Nadia: they join when their app receives the invitation."
    ));
    // Escape goes back to the loop's conversation.
    state.handle(Message::Shortcut(Shortcut::Escape));
    assert_eq!(state.open_id(), Some(ConversationId::Loop(TENANTS)));
}

#[test]
fn sending_keeps_the_composer_focused() {
    let mut state = loaded();
    state.handle(Message::Open(ConversationId::Contact(OMAR)));
    let commands = user(&mut state, |ui| {
        ui.click(iced_test::selector::id(conversation::COMPOSER))
            .expect("composer");
        ui.typewrite("hello");
        ui.tap_key(iced::keyboard::Key::Named(
            iced::keyboard::key::Named::Enter,
        ));
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Send { text, reply_to: None, .. }] if text == "hello"
    ));
    assert!(matches!(
        commands.last(),
        Some(Command::Focus(conversation::COMPOSER))
    ));
}

#[test]
fn read_failures_are_said() {
    let mut state = loaded();
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Err("The profile is locked.".into())),
    ));
    assert!(shows(
        &state,
        "The conversations could not be read. The profile is locked."
    ));
    state.handle(Message::Open(ConversationId::Contact(NADIA)));
    state.handle(Message::Response(
        state.here(),
        Response::History(
            ConversationId::Contact(NADIA),
            Err("The profile is locked.".into()),
        ),
    ));
    assert!(shows(
        &state,
        "The messages could not be read. The profile is locked."
    ));
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview())),
    ));
    assert!(!shows(
        &state,
        "The conversations could not be read. The profile is locked."
    ));
}

mod organize;
mod routing;
mod social;
