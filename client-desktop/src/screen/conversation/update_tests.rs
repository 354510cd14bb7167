//! The screen's routing between its parts, without views: one question at a time
//! across the parts, Escape's order, the clock, and what goes when messages expire.

use super::*;
use crate::screen::fixtures::{entry, event, poll};
use boucle_client_core::{ContactId, MessageBody};

const NADIA: ContactId = ContactId([3; 16]);
const OURS: MessageId = MessageId([2; 16]);
const POLL: MessageId = MessageId([5; 16]);
const EVENT: MessageId = MessageId([6; 16]);

/// A conversation with Nadia holding a message of ours, a poll and an event.
fn state() -> State {
    let mut state = State::new(
        ConversationId::Contact(NADIA),
        Header {
            title: "Nadia".into(),
            contact: Some(NADIA),
            verified: true,
            identity_changed: false,
            blocked: false,
        },
    );
    state.set_history(vec![
        entry(2, MessageBody::Text("at eight".into()), true),
        entry(
            5,
            MessageBody::Poll {
                question: "Which day?".into(),
            },
            true,
        ),
    ]);
    state.set_polls(vec![poll(5, "Which day?", &["Thu", "Fri"], &[], false)]);
    state.set_events(vec![event(6, "Assembly", 1_749_751_200_000, &[])]);
    state
}

fn ask(state: &mut State, which: Confirm) {
    let message = match which {
        Confirm::Delete(id) => Message::History(history::Message::AskDelete(id)),
        Confirm::Block => Message::Header(header::Message::AskBlock),
        Confirm::ClosePoll(id) => Message::Organize(organize::Message::AskClosePoll(id)),
        Confirm::CancelEvent(id) => Message::Organize(organize::Message::AskCancelEvent(id)),
    };
    assert_eq!(state.update(message), Action::None, "asking sends nothing");
}

#[test]
fn opening_one_confirmation_closes_the_other() {
    let all = [
        Confirm::Delete(OURS),
        Confirm::Block,
        Confirm::ClosePoll(POLL),
        Confirm::CancelEvent(EVENT),
    ];
    for first in all {
        for second in all {
            let mut state = state();
            ask(&mut state, first);
            assert_eq!(state.confirm, Some(first));
            ask(&mut state, second);
            assert_eq!(state.confirm, Some(second), "{first:?} then {second:?}");
        }
    }
}

#[test]
fn confirming_answers_the_question_that_is_open() {
    let mut state = state();
    ask(&mut state, Confirm::Block);
    ask(&mut state, Confirm::Delete(OURS));
    // The block question went: the composer is back.
    assert_eq!(state.confirm, Some(Confirm::Delete(OURS)));
    assert_eq!(
        state.update(Message::History(history::Message::ConfirmDelete(OURS))),
        Action::Change {
            message: OURS,
            change: Change::Delete
        }
    );
    assert_eq!(state.confirm, None);
    assert_eq!(state.status.pending, Some("Deleting the message…"));
}

#[test]
fn escape_takes_the_question_first_then_panes_then_the_selection_then_the_reply() {
    let mut state = state();
    state.update(Message::History(history::Message::Reply(OURS)));
    state.update(Message::History(history::Message::Select(OURS)));
    state.update(Message::Attachments(attachments::Message::Attach));
    ask(&mut state, Confirm::ClosePoll(POLL));
    state.update(Message::Cancel);
    assert_eq!(state.confirm, None, "the question first");
    assert!(state.attachments.pane().is_some());
    state.update(Message::Cancel);
    assert!(state.attachments.pane().is_none(), "then the attach pane");
    assert_eq!(state.history.selected(), Some(OURS));
    state.update(Message::Cancel);
    assert_eq!(state.history.selected(), None, "then the selection");
    assert_eq!(state.mode(), Mode::Reply(OURS));
    state.update(Message::Composer(composer::Message::Cancel));
    assert_eq!(state.mode(), Mode::Write, "then the reply");
    // Escape also puts the block question away.
    ask(&mut state, Confirm::Block);
    state.update(Message::Cancel);
    assert_eq!(state.confirm, None);
}

#[test]
fn the_attach_pane_and_the_contact_picker_take_turns() {
    let mut state = state();
    state.update(Message::Shared(shared::Message::SharePicker));
    assert!(state.shared.picker(None, "Nadia").is_some());
    assert_eq!(
        state.update(Message::Attachments(attachments::Message::Attach)),
        Action::Focus(ATTACH_PATH)
    );
    assert!(state.shared.picker(None, "Nadia").is_none());
    state.update(Message::Shared(shared::Message::SharePicker));
    assert!(state.attachments.pane().is_none());
    assert_eq!(
        state.update(Message::FileDropped("/tmp/flyer.pdf".into())),
        Action::Focus(ATTACH_PATH)
    );
    assert!(state.shared.picker(None, "Nadia").is_none());
    // Announcement loop: both close and stay closed.
    state.set_rules(Rules {
        may_post: false,
        may_set_timer: false,
    });
    assert!(state.attachments.pane().is_none());
    assert_eq!(
        state.update(Message::FileDropped("/tmp/flyer.pdf".into())),
        Action::None
    );
}

#[test]
fn now_is_the_last_tick() {
    let mut state = state();
    assert_eq!(state.now(), 0, "no clock read until the first tick");
    let mut closing = poll(5, "Which day?", &["Thu", "Fri"], &[], false);
    closing.closes_at = Some(1_000_000);
    state.set_poll(closing);
    let vote = || Message::Organize(organize::Message::Vote(POLL, 0));
    state.update(Message::Tick(999_999));
    assert!(matches!(state.update(vote()), Action::Organize(_)));
    state.update(Message::Tick(1_000_000));
    assert_eq!(state.now(), 1_000_000);
    assert_eq!(state.update(vote()), Action::None, "closed by now");
}

#[test]
fn the_composer_clears_after_send_and_a_failure_is_said() {
    let mut state = state();
    state.update(Message::Composer(composer::Message::Input(
        text_editor_paste("hello"),
    )));
    assert_eq!(
        state.update(Message::Composer(composer::Message::Send)),
        Action::Send {
            text: "hello".into(),
            reply_to: None
        }
    );
    assert_eq!(state.draft(), "");
    state.sent(Err("The relay is unreachable.".into()));
    assert_eq!(
        state.status.error(),
        Some("Your message was not sent. The relay is unreachable.")
    );
    assert_eq!(state.status.pending, None);
}

#[test]
fn expired_messages_take_their_question_and_their_edit() {
    let mut state = state();
    state.update(Message::History(history::Message::StartEdit(OURS)));
    ask(&mut state, Confirm::Delete(OURS));
    state.expired(&[OURS, POLL]);
    assert_eq!(state.confirm, None);
    assert_eq!((state.mode(), state.draft()), (Mode::Write, String::new()));
    assert!(state.poll(POLL).is_none());
    assert_eq!(state.messages().len(), 0);
    // A question about a message that stays, stays.
    ask(&mut state, Confirm::CancelEvent(EVENT));
    state.expired(&[OURS]);
    assert_eq!(state.confirm, Some(Confirm::CancelEvent(EVENT)));
}

fn text_editor_paste(text: &str) -> iced::widget::text_editor::Action {
    use iced::widget::text_editor::{Action, Edit};
    Action::Edit(Edit::Paste(std::sync::Arc::new(text.into())))
}
