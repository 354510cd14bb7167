//! The conversation as a user sees it: typing, Enter and Shift+Enter, selecting a
//! message, replying, reacting, editing and deleting, and the warnings.

use super::*;
use crate::format;
use boucle_client_core::{DeliveryState, MessageBody, Reaction};
use iced::keyboard::{self, Key, Modifiers, key::Named, key::Physical};
use iced::widget::text_editor;
use iced_test::selector::id;
use iced_test::{Simulator, simulator};

const NADIA: ContactId = ContactId([3; 16]);

fn message(n: u8, from_me: bool, text: &str) -> MessageView {
    MessageView {
        id: MessageId([n; 16]),
        conversation: ConversationId::Contact(NADIA),
        from_me,
        sender: None,
        sent_at: format::now_ms(),
        received_at: format::now_ms(),
        body: MessageBody::Text(text.into()),
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: from_me.then_some(DeliveryState::Queued),
        position: u64::from(n),
    }
}

fn state(identity_changed: bool) -> State {
    let mut state = State::new(
        ConversationId::Contact(NADIA),
        Header {
            title: "Nadia".into(),
            contact: Some(NADIA),
            verified: !identity_changed,
            identity_changed,
            blocked: false,
        },
    );
    state.set_history(vec![
        message(1, false, "are you coming tonight?"),
        message(2, true, "yes, at eight"),
    ]);
    state.update(Message::Tick(format::now_ms()));
    state
}

/// Lets the user act on the current view, then updates the state with what they did.
fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
    let mut ui = simulator(state.view(false));
    act(&mut ui);
    let messages: Vec<Message> = ui.into_messages().collect();
    messages.into_iter().map(|m| state.update(m)).collect()
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view(false)).find(text).is_ok()
}

fn shift_enter() -> Vec<iced::Event> {
    let key = Key::Named(Named::Enter);
    vec![iced::Event::Keyboard(keyboard::Event::KeyPressed {
        key: key.clone(),
        modified_key: key,
        physical_key: Physical::Unidentified(keyboard::key::NativeCode::Unidentified),
        location: keyboard::Location::Standard,
        modifiers: Modifiers::SHIFT,
        text: Some("\n".into()),
        repeat: false,
    })]
}

/// The actions that are not about focus or nothing.
fn work(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::None | Action::FocusComposer))
        .collect()
}

#[test]
fn messages_show_sender_time_and_delivery() {
    let mut state = state(false);
    state.upsert(MessageView {
        reply_to: Some(MessageId([1; 16])),
        edited: true,
        reactions: vec![
            Reaction {
                mine: false,
                emoji: "👍".into(),
            },
            Reaction {
                mine: true,
                emoji: "👍".into(),
            },
        ],
        ..message(3, true, "I'll bring the banners")
    });
    let mut ui = simulator(state.view(true));
    assert!(ui.find("Nadia").is_ok(), "the title");
    assert!(ui.find("verified").is_ok());
    assert!(ui.find("are you coming tonight?").is_ok());
    assert!(ui.find("You").is_ok(), "our group is named");
    assert!(
        ui.find("Nadia: are you coming tonight?").is_ok(),
        "the quote"
    );
    assert!(
        ui.find("just now · edited · queued — relay unreachable")
            .is_ok()
    );
    assert!(ui.find("2").is_ok(), "two thumbs up");
    assert!(
        ui.find(
            "The relay is unreachable: your messages are queued and will be sent when it is back."
        )
        .is_ok()
    );
    let mut ui = simulator(state.view(false));
    assert!(ui.find("just now · sending…").is_ok());
}

#[test]
fn enter_sends_and_shift_enter_breaks_the_line() {
    let mut state = state(false);
    let actions = user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.typewrite("first line");
        ui.simulate(shift_enter());
        ui.typewrite("second line");
    });
    assert!(work(actions).is_empty(), "nothing sent yet");
    assert_eq!(state.draft(), "first line\nsecond line");
    let actions = user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.tap_key(Key::Named(Named::Enter));
    });
    assert_eq!(
        work(actions),
        vec![Action::Send {
            text: "first line\nsecond line".into(),
            reply_to: None
        }]
    );
    assert_eq!(state.draft(), "", "the composer is empty again");
    assert!(shows(&state, "Sending…"));
    state.sent(Ok(message(4, true, "first line\nsecond line")));
    assert!(!shows(&state, "Sending…"));
    assert!(shows(&state, "first line\nsecond line"));

    // Enter on an empty composer sends nothing.
    let actions = user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.tap_key(Key::Named(Named::Enter));
    });
    assert!(work(actions).is_empty());
}

#[test]
fn a_failed_send_says_why() {
    let mut state = state(false);
    state.update(Message::Composer(composer::Message::Input(
        text_editor::Action::Edit(text_editor::Edit::Paste(std::sync::Arc::new(
            "hello".into(),
        ))),
    )));
    assert!(matches!(
        state.update(Message::Composer(composer::Message::Send)),
        Action::Send { .. }
    ));
    state.sent(Err("The message is too long (70000 bytes).".into()));
    assert!(shows(
        &state,
        "Your message was not sent. The message is too long (70000 bytes)."
    ));
}

#[test]
fn clicking_a_message_shows_its_actions_and_reply_is_carried() {
    let mut state = state(false);
    assert!(!shows(&state, "Reply"), "actions are hidden until a click");
    user(&mut state, |ui| {
        ui.click("are you coming tonight?").expect("the message");
    });
    assert!(shows(&state, "Reply"));
    assert!(shows(&state, "👍"));
    assert!(!shows(&state, "Edit"), "not our message");
    let actions = user(&mut state, |ui| {
        ui.click("Reply").expect("reply");
    });
    assert_eq!(actions, vec![Action::FocusComposer]);
    assert!(shows(&state, "Replying to Nadia: are you coming tonight?"));
    let actions = user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.typewrite("on my way");
        ui.tap_key(Key::Named(Named::Enter));
    });
    assert_eq!(
        work(actions),
        vec![Action::Send {
            text: "on my way".into(),
            reply_to: Some(MessageId([1; 16]))
        }]
    );
    assert!(!shows(&state, "Replying to Nadia: are you coming tonight?"));
}

#[test]
fn escape_cancels_a_reply() {
    let mut state = state(false);
    state.update(Message::History(history::Message::Reply(MessageId(
        [1; 16],
    ))));
    assert!(shows(&state, "Replying to Nadia: are you coming tonight?"));
    user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.tap_key(Key::Named(Named::Escape));
    });
    assert_eq!(state.mode(), Mode::Write);
    assert!(!shows(&state, "Replying to Nadia: are you coming tonight?"));
}

#[test]
fn reacting_adds_and_takes_back() {
    let mut state = state(false);
    user(&mut state, |ui| {
        ui.click("are you coming tonight?").expect("the message");
    });
    let actions = user(&mut state, |ui| {
        ui.click("❤️").expect("heart");
    });
    assert_eq!(
        actions,
        vec![Action::Change {
            message: MessageId([1; 16]),
            change: Change::React {
                emoji: "❤️".into(),
                remove: false
            }
        }]
    );
    state.changed(
        &Change::React {
            emoji: "❤️".into(),
            remove: false,
        },
        Ok(MessageView {
            reactions: vec![Reaction {
                mine: true,
                emoji: "❤️".into(),
            }],
            ..message(1, false, "are you coming tonight?")
        }),
    );
    assert!(!shows(&state, "Reply"), "the actions closed");
    assert!(shows(&state, "❤️"), "the reaction is shown");
    // Clicking our reaction's chip takes it back.
    let actions = user(&mut state, |ui| {
        ui.click("❤️").expect("the chip");
    });
    assert_eq!(
        actions,
        vec![Action::Change {
            message: MessageId([1; 16]),
            change: Change::React {
                emoji: "❤️".into(),
                remove: true
            }
        }]
    );
}

#[test]
fn editing_our_message_goes_through_the_composer() {
    let mut state = state(false);
    user(&mut state, |ui| {
        ui.click("yes, at eight").expect("our message");
    });
    assert!(shows(&state, "Edit"));
    assert!(shows(&state, "Delete"));
    let actions = user(&mut state, |ui| {
        ui.click("Edit").expect("edit");
    });
    assert_eq!(actions, vec![Action::FocusComposer]);
    assert_eq!(state.draft(), "yes, at eight");
    assert!(shows(
        &state,
        "Editing your message (Enter saves, Escape cancels)"
    ));
    assert!(shows(&state, "Save"));
    let actions = user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.typewrite(" thirty");
        ui.tap_key(Key::Named(Named::Enter));
    });
    assert_eq!(
        work(actions),
        vec![Action::Change {
            message: MessageId([2; 16]),
            change: Change::Edit("yes, at eight thirty".into())
        }]
    );
    assert!(shows(&state, "Saving your edit…"));
    state.changed(
        &Change::Edit("yes, at eight thirty".into()),
        Ok(MessageView {
            edited: true,
            ..message(2, true, "yes, at eight thirty")
        }),
    );
    assert!(shows(&state, "yes, at eight thirty"));
    assert!(shows(&state, "just now · edited · sending…"));
    assert!(!shows(
        &state,
        "Editing your message (Enter saves, Escape cancels)"
    ));

    // Escape in the composer leaves an edit without saving.
    state.update(Message::History(history::Message::StartEdit(MessageId(
        [2; 16],
    ))));
    user(&mut state, |ui| {
        ui.click(id(COMPOSER)).expect("composer");
        ui.tap_key(Key::Named(Named::Escape));
    });
    assert_eq!(state.mode(), Mode::Write);
    assert_eq!(state.draft(), "");
}

#[test]
fn deleting_asks_first() {
    let mut state = state(false);
    user(&mut state, |ui| {
        ui.click("yes, at eight").expect("our message");
    });
    let actions = user(&mut state, |ui| {
        ui.click("Delete").expect("delete");
    });
    assert!(work(actions).is_empty(), "nothing deleted yet");
    assert!(shows(&state, "Delete this message for everyone?"));
    let actions = user(&mut state, |ui| {
        ui.click("Keep it").expect("keep");
    });
    assert!(work(actions).is_empty());
    assert!(!shows(&state, "Delete this message for everyone?"));
    state.update(Message::History(history::Message::AskDelete(MessageId(
        [2; 16],
    ))));
    let actions = user(&mut state, |ui| {
        ui.click("Delete it").expect("confirm");
    });
    assert_eq!(
        actions,
        vec![Action::Change {
            message: MessageId([2; 16]),
            change: Change::Delete
        }]
    );
    state.changed(&Change::Delete, Err("The profile is locked.".into()));
    assert!(shows(
        &state,
        "The message was not deleted. The profile is locked."
    ));
    state.changed(
        &Change::Delete,
        Ok(MessageView {
            deleted: true,
            body: MessageBody::Text(String::new()),
            ..message(2, true, "")
        }),
    );
    assert!(shows(&state, "This message was deleted."));
    assert!(!shows(&state, "yes, at eight"));
}

#[test]
fn a_changed_key_shows_a_warning_until_verified() {
    let mut state = state(true);
    assert!(shows(
        &state,
        "Nadia's security key changed. Compare safety numbers again before trusting new messages."
    ));
    assert!(shows(&state, "security key changed"));
    let actions = user(&mut state, |ui| {
        ui.click("Compare safety numbers").expect("banner button");
    });
    assert_eq!(actions, vec![Action::Verify(NADIA)]);
    state.set_header(Header {
        title: "Nadia".into(),
        contact: Some(NADIA),
        verified: true,
        identity_changed: false,
        blocked: false,
    });
    assert!(!shows(
        &state,
        "Nadia's security key changed. Compare safety numbers again before trusting new messages."
    ));
    assert!(shows(&state, "verified"));
}

#[test]
fn a_loop_header_lists_members_and_opens_settings() {
    let id = boucle_client_core::LoopId([9; 16]);
    let mut state = State::new(
        ConversationId::Loop(id),
        Header {
            title: "Tenants".into(),
            contact: None,
            verified: false,
            identity_changed: false,
            blocked: false,
        },
    );
    state.set_members(vec![
        MemberView {
            id: "aa11bb22".into(),
            name: None,
            me: true,
            admin: true,
            verified: false,
        },
        MemberView {
            id: "cc33dd44".into(),
            name: Some("Nadia".into()),
            me: false,
            admin: false,
            verified: true,
        },
    ]);
    assert!(shows(&state, "2 members: you (admin), Nadia · 1 verified"));
    let actions = user(&mut state, |ui| {
        ui.click("Members and settings").expect("button");
    });
    assert_eq!(actions, vec![Action::Members(id)]);
}

#[test]
fn blocking_asks_first_then_replaces_the_composer_until_unblocked() {
    let mut state = state(false);
    assert!(shows(&state, "Block"));
    assert_eq!(
        state.update(Message::Header(header::Message::AskBlock)),
        Action::None
    );
    assert!(shows(
        &state,
        "Block Nadia? Nothing they send will be shown or kept, and you will not be able to write to them. They are not told."
    ));
    // "Keep" changes nothing.
    assert_eq!(
        state.update(Message::Header(header::Message::KeepContact)),
        Action::None
    );
    assert!(!shows(
        &state,
        "Block Nadia? Nothing they send will be shown or kept, and you will not be able to write to them. They are not told."
    ));

    state.update(Message::Header(header::Message::AskBlock));
    assert_eq!(
        state.update(Message::Header(header::Message::ConfirmBlock)),
        Action::SetBlocked(NADIA, true)
    );
    state.blocked_set(true, Ok(()));
    assert!(shows(
        &state,
        "You blocked Nadia. Nothing they send is shown or kept, and they are not told."
    ));
    assert!(shows(&state, "blocked"));
    assert!(!shows(&state, "Send"), "no composer while blocked");
    assert_eq!(
        state.update(Message::Header(header::Message::Unblock)),
        Action::SetBlocked(NADIA, false)
    );
    state.blocked_set(false, Err("the profile is locked.".into()));
    assert!(shows(
        &state,
        "Nadia was not unblocked. the profile is locked."
    ));
    state.blocked_set(false, Ok(()));
    assert!(shows(&state, "Send"));
}
