//! The composer: what we write (Enter sends, Shift+Enter starts a new line), a reply
//! or an edit in progress with its banner (Escape cancels), the status line (what is
//! being done, what went wrong), the attach pane and the contact picker when open, and
//! the buttons for files, contacts, polls and events. In an announcement loop where we
//! may not post, a sentence instead ([`read_only`]).

use boucle_client_core::MessageId;
use iced::keyboard::{Key, key::Named};
use iced::widget::{button, column, container, row, text, text_editor};
use iced::{Alignment, Element, Fill, Shrink};

use super::history::{self, sender_name};
use super::{Message as Screen, State as Conversation, Status, attachments, shared};
use crate::{format, theme};

/// Id of the composer (for focus and tests).
pub const COMPOSER: &str = "composer";

/// What the composer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Reply(MessageId),
    Edit(MessageId),
}

#[derive(Debug)]
pub struct State {
    content: text_editor::Content,
    mode: Mode,
}

impl Default for State {
    fn default() -> State {
        State {
            content: text_editor::Content::new(),
            mode: Mode::Write,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    /// Typing, moving or selecting.
    Input(text_editor::Action),
    /// Enter, or the Send button.
    Send,
    /// Escape, or the banner's Cancel.
    Cancel,
    /// The "New poll" and "New event" buttons.
    NewPoll,
    NewEvent,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Send {
        text: String,
        reply_to: Option<MessageId>,
    },
    /// Save this new text of one of our messages.
    Edit {
        message: MessageId,
        text: String,
    },
    /// Keep the keyboard focus here (nothing to send).
    Focus,
    /// Escape: the screen's innermost thing goes.
    Cancel,
    NewPoll,
    NewEvent,
}

impl State {
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What it holds.
    pub fn draft(&self) -> String {
        self.content.text()
    }

    /// Replying to this message (an edit in progress is dropped).
    pub fn reply(&mut self, id: MessageId) {
        if matches!(self.mode, Mode::Edit(_)) {
            self.content = text_editor::Content::new();
        }
        self.mode = Mode::Reply(id);
    }

    /// Editing this message of ours, whose text is `text`: the cursor at its end.
    pub fn edit(&mut self, id: MessageId, text: &str) {
        self.content = text_editor::Content::with_text(text);
        self.content
            .perform(text_editor::Action::Move(text_editor::Motion::DocumentEnd));
        self.mode = Mode::Edit(id);
    }

    /// Leaves a reply or an edit (the edit's text goes; a reply's stays, to send).
    pub fn leave(&mut self) {
        if matches!(self.mode, Mode::Edit(_)) {
            self.content = text_editor::Content::new();
        }
        self.mode = Mode::Write;
    }

    /// The message `id` is being deleted: a reply to it or an edit of it ends.
    pub fn leave_if_about(&mut self, id: MessageId) {
        if self.mode == Mode::Edit(id) || self.mode == Mode::Reply(id) {
            self.leave();
        }
    }

    /// These messages are gone: a reply to one or an edit of one goes, with its text.
    pub fn forget(&mut self, ids: &[MessageId]) {
        if let Mode::Reply(id) | Mode::Edit(id) = self.mode
            && ids.contains(&id)
        {
            self.content = text_editor::Content::new();
            self.mode = Mode::Write;
        }
    }

    pub fn update(
        &mut self,
        message: Message,
        history: &history::State,
        status: &mut Status,
    ) -> Action {
        match message {
            Message::Input(action) => {
                self.content.perform(action);
                Action::None
            }
            Message::Send => self.send(history, status),
            Message::Cancel => Action::Cancel,
            Message::NewPoll => Action::NewPoll,
            Message::NewEvent => Action::NewEvent,
        }
    }

    fn send(&mut self, history: &history::State, status: &mut Status) -> Action {
        let text = self.content.text().trim().to_owned();
        match self.mode {
            Mode::Edit(id) => {
                if text.is_empty() {
                    status.refuse(
                        "An edited message cannot be empty: delete the message instead.".into(),
                    );
                    return Action::None;
                }
                self.content = text_editor::Content::new();
                self.mode = Mode::Write;
                status.error = None;
                let unchanged = history.find(id).is_some_and(|m| format::body(m) == text);
                if unchanged {
                    return Action::Focus;
                }
                status.doing("Saving your edit…");
                Action::Edit { message: id, text }
            }
            Mode::Write | Mode::Reply(_) => {
                if text.is_empty() {
                    return Action::None;
                }
                let reply_to = match self.mode {
                    Mode::Reply(id) => Some(id),
                    _ => None,
                };
                self.content = text_editor::Content::new();
                self.mode = Mode::Write;
                status.error = None;
                status.doing("Sending…");
                Action::Send { text, reply_to }
            }
        }
    }
}

/// The composer, with the reply or edit banner, the status line and the open panes.
pub fn view(screen: &Conversation) -> Element<'_, Screen> {
    let composer = &screen.composer;
    let banner = match composer.mode {
        Mode::Write => None,
        Mode::Reply(id) => Some(match screen.history.find(id) {
            Some(target) => format!(
                "Replying to {}: {}",
                sender_name(target, &screen.header.info().title),
                format::preview_text(target, 60)
            ),
            None => "Replying to a message".to_owned(),
        }),
        Mode::Edit(_) => Some("Editing your message (Enter saves, Escape cancels)".to_owned()),
    }
    .map(|what| {
        container(
            row![
                text(what).size(theme::SMALL).width(Fill),
                button(text("Cancel").size(theme::SMALL))
                    .style(button::text)
                    .on_press(Screen::Composer(Message::Cancel)),
            ]
            .align_y(Alignment::Center),
        )
        .padding([4, 10])
        .style(theme::panel)
    });
    let status = match (&screen.status.error, screen.status.pending) {
        (Some(error), _) => Some(text(error).size(theme::SMALL).style(theme::error_text)),
        (None, Some(pending)) => Some(text(pending).size(theme::SMALL).style(theme::muted_text)),
        (None, None) => None,
    };
    let editing = matches!(composer.mode, Mode::Edit(_));
    let editor: Element<'_, Message> = text_editor(&composer.content)
        .id(COMPOSER)
        .placeholder("Write a message…")
        .on_action(Message::Input)
        .key_binding(key_binding)
        .padding(10)
        .height(Shrink)
        .max_height(160.0)
        .into();
    let send = button(text(if editing { "Save" } else { "Send" }))
        .padding([10, 16])
        .on_press(Screen::Composer(Message::Send));
    let small = |label: &'static str, on_press: Screen| {
        button(text(label).size(theme::SMALL))
            .padding([4, 12])
            .style(button::secondary)
            .on_press(on_press)
    };
    let here = match screen.id {
        boucle_client_core::ConversationId::Contact(id) => Some(id),
        _ => None,
    };
    column![
        column![
            banner,
            status,
            screen
                .attachments
                .pane()
                .map(|pane| pane.map(Screen::Attachments)),
            screen
                .shared
                .picker(here, &screen.header.info().title)
                .map(|picker| picker.map(Screen::Shared)),
        ]
        .spacing(6),
        row![editor.map(Screen::Composer), send]
            .spacing(theme::GAP)
            .align_y(Alignment::End),
        row![
            text("Enter sends · Shift+Enter: new line · click a message to reply, react or edit")
                .size(12)
                .style(theme::muted_text)
                .width(Fill),
            small("Attach", Screen::Attachments(attachments::Message::Attach)),
            small(
                "Share a contact",
                Screen::Shared(shared::Message::SharePicker)
            ),
            small("New poll", Screen::Composer(Message::NewPoll)),
            small("New event", Screen::Composer(Message::NewEvent)),
        ]
        .spacing(6)
        .align_y(Alignment::Center),
    ]
    .spacing(6)
    .padding([12.0, theme::PAD])
    .into()
}

/// In place of the composer in an announcement loop we may not post in.
pub fn read_only<'a, M: 'a>(error: Option<&'a str>) -> Element<'a, M> {
    let status = error.map(|error| text(error).size(theme::SMALL).style(theme::error_text));
    column![
        status,
        container(
            text("Only admins post in this loop. You can still react and vote.")
                .size(theme::BODY)
                .style(theme::muted_text)
        )
        .padding([12, 14])
        .width(Fill)
        .style(theme::panel),
    ]
    .spacing(6)
    .padding([12.0, theme::PAD])
    .into()
}

/// Enter sends, Shift+Enter breaks the line, Escape cancels; Ctrl shortcuts of the
/// window (Ctrl+N, Ctrl+Up/Down) pass through; everything else as usual.
fn key_binding(press: text_editor::KeyPress) -> Option<text_editor::Binding<Message>> {
    use text_editor::Binding;
    if !matches!(press.status, text_editor::Status::Focused { .. }) {
        return None;
    }
    match press.key.as_ref() {
        Key::Named(Named::Enter) if press.modifiers.shift() => Some(Binding::Enter),
        Key::Named(Named::Enter) => Some(Binding::Custom(Message::Send)),
        Key::Named(Named::Escape) => Some(Binding::Custom(Message::Cancel)),
        Key::Named(Named::ArrowUp | Named::ArrowDown) if press.modifiers.command() => None,
        Key::Character(c) if press.modifiers.command() && matches!(c, "n" | "k" | "g") => None,
        _ => Binding::from_key_press(press),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixtures::entry;
    use boucle_client_core::MessageBody;
    use std::sync::Arc;

    const OURS: MessageId = MessageId([2; 16]);

    fn history() -> history::State {
        let mut history = history::State::default();
        history.set(vec![entry(2, MessageBody::Text("at eight".into()), true)]);
        history
    }

    fn typed(state: &mut State, text: &str, status: &mut Status) {
        let paste = text_editor::Edit::Paste(Arc::new(text.into()));
        state.update(
            Message::Input(text_editor::Action::Edit(paste)),
            &history(),
            status,
        );
    }

    #[test]
    fn the_composer_clears_after_send_and_carries_the_reply() {
        let mut state = State::default();
        let mut status = Status::default();
        status.refuse("The message is too long.".into());
        state.reply(OURS);
        typed(&mut state, "  on my way \n", &mut status);
        assert_eq!(
            state.update(Message::Send, &history(), &mut status),
            Action::Send {
                text: "on my way".into(),
                reply_to: Some(OURS)
            }
        );
        assert_eq!(state.draft(), "");
        assert_eq!(state.mode(), Mode::Write);
        assert_eq!(status.error(), None, "the old failure is forgotten");
        assert_eq!(status.pending, Some("Sending…"));
        assert_eq!(
            state.update(Message::Send, &history(), &mut status),
            Action::None,
            "nothing to send"
        );
    }

    #[test]
    fn an_edit_is_saved_unless_empty_or_unchanged() {
        let mut state = State::default();
        let mut status = Status::default();
        state.edit(OURS, "at eight");
        assert_eq!(state.draft(), "at eight");
        assert_eq!(
            state.update(Message::Send, &history(), &mut status),
            Action::Focus,
            "unchanged: nothing to save"
        );
        assert_eq!(state.mode(), Mode::Write);
        state.edit(OURS, "");
        assert_eq!(
            state.update(Message::Send, &history(), &mut status),
            Action::None
        );
        assert_eq!(
            status.error(),
            Some("An edited message cannot be empty: delete the message instead.")
        );
        assert_eq!(state.mode(), Mode::Edit(OURS), "still editing");
        typed(&mut state, "at nine", &mut status);
        assert_eq!(
            state.update(Message::Send, &history(), &mut status),
            Action::Edit {
                message: OURS,
                text: "at nine".into()
            }
        );
        assert_eq!(status.pending, Some("Saving your edit…"));
    }

    #[test]
    fn leaving_an_edit_drops_its_text_and_leaving_a_reply_keeps_it() {
        let mut state = State::default();
        state.edit(OURS, "at eight");
        state.reply(MessageId([1; 16]));
        assert_eq!(state.draft(), "", "an edit's text is not a reply");
        typed(&mut state, "yes", &mut Status::default());
        state.leave();
        assert_eq!((state.mode(), state.draft()), (Mode::Write, "yes".into()));
        state.edit(OURS, "at eight");
        state.leave_if_about(MessageId([9; 16]));
        assert_eq!(state.mode(), Mode::Edit(OURS), "another message");
        state.leave_if_about(OURS);
        assert_eq!((state.mode(), state.draft()), (Mode::Write, String::new()));
        state.reply(OURS);
        typed(&mut state, "ok", &mut Status::default());
        state.forget(&[OURS]);
        assert_eq!((state.mode(), state.draft()), (Mode::Write, String::new()));
    }
}
