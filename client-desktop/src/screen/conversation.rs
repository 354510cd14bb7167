//! An open conversation: messages grouped by sender with time, replies, reactions,
//! edits and delivery state, a warning while the contact's key changed, and the
//! composer (Enter sends, Shift+Enter starts a new line).
//!
//! Clicking a message selects it and shows its actions: Reply, a row of reactions, and
//! for our own messages Edit and Delete (after a confirmation). Replying and editing put
//! a banner above the composer; Escape cancels them. Sending and changing messages is
//! the parent's job (the [`Action`]s); it reports back with [`State::sent`] and
//! [`State::changed`].

mod bubble;
pub mod event;
pub mod poll;

use std::collections::HashMap;

use boucle_client_core::{
    ContactId, ConversationId, DeliveryState, EventView, MemberView, MessageBody, MessageId,
    MessageView, PollView, RsvpAnswer,
};
use iced::keyboard::{Key, key::Named};
use iced::widget::{button, column, container, row, scrollable, text, text_editor};
use iced::{Alignment, Element, Fill, Shrink};

use crate::format;
use crate::io::{Change, Organize, Organized};
use crate::theme;
use crate::when::Zone;

/// Id of the composer (for focus and tests).
pub const COMPOSER: &str = "composer";

/// The reactions offered on every message.
pub const REACTIONS: [&str; 7] = ["👍", "❤️", "😂", "😮", "😢", "🙏", "✊"];

pub struct State {
    pub id: ConversationId,
    header: Header,
    members: Vec<MemberView>,
    messages: Vec<MessageView>,
    composer: text_editor::Content,
    mode: Mode,
    /// The message whose actions are shown.
    selected: Option<MessageId>,
    /// The message waiting for "Delete it" to be confirmed.
    confirm_delete: Option<MessageId>,
    /// What is being done right now, in words ("Saving your edit…").
    pending: Option<&'static str>,
    error: Option<String>,
    /// The live state of the polls and events in the history, by message id.
    polls: HashMap<MessageId, PollView>,
    events: HashMap<MessageId, EventView>,
    /// The poll waiting for "Close it", the event waiting for "Cancel it".
    confirm_close: Option<MessageId>,
    confirm_cancel: Option<MessageId>,
    /// Where the user is: event times are also shown in this zone.
    zone: Zone,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("conversation::State")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What the composer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Reply(MessageId),
    Edit(MessageId),
}

#[derive(Debug, Clone)]
pub enum Message {
    /// Typing, moving or selecting in the composer.
    Composer(text_editor::Action),
    /// Enter in the composer, or the Send button.
    Send,
    /// Click on a message: show (or hide) its actions.
    Select(MessageId),
    Reply(MessageId),
    StartEdit(MessageId),
    /// Adds this reaction of ours, or takes it back if it is there.
    React(MessageId, String),
    AskDelete(MessageId),
    ConfirmDelete(MessageId),
    KeepMessage,
    /// Escape: cancel the edit, the reply or the selection.
    Cancel,
    Verify,
    Members,
    /// The composer's "Poll" and "Event" buttons, the header's "Agenda".
    NewPoll,
    NewEvent,
    Agenda,
    /// A click on a poll's option: vote for it (or take a single choice back).
    Vote(MessageId, u8),
    AskClosePoll(MessageId),
    ConfirmClosePoll(MessageId),
    KeepPoll,
    Rsvp(MessageId, RsvpAnswer),
    EditEvent(MessageId),
    AskCancelEvent(MessageId),
    ConfirmCancelEvent(MessageId),
    KeepEvent,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Send {
        text: String,
        reply_to: Option<MessageId>,
    },
    Change {
        message: MessageId,
        change: Change,
    },
    Verify(ContactId),
    /// Open the loop's members and settings.
    Members(boucle_client_core::LoopId),
    /// Put the keyboard focus in the composer.
    FocusComposer,
    /// Vote, close a poll, answer, cancel an event.
    Organize(Organize),
    NewPoll,
    NewEvent,
    EditEvent(Box<EventView>),
    /// This conversation's agenda.
    Agenda,
}

/// Who the conversation is with, as the list knows it.
#[derive(Debug, Clone)]
pub struct Header {
    pub title: String,
    pub contact: Option<ContactId>,
    pub verified: bool,
    pub identity_changed: bool,
}

impl State {
    pub fn new(id: ConversationId, header: Header) -> State {
        State {
            id,
            header,
            members: Vec::new(),
            messages: Vec::new(),
            composer: text_editor::Content::new(),
            mode: Mode::Write,
            selected: None,
            confirm_delete: None,
            pending: None,
            error: None,
            polls: HashMap::new(),
            events: HashMap::new(),
            confirm_close: None,
            confirm_cancel: None,
            zone: Zone::utc(),
        }
    }

    /// The user's time zone (UTC until told).
    pub fn set_zone(&mut self, zone: Zone) {
        self.zone = zone;
    }

    /// The polls of the conversation, as the engine has them now.
    pub fn set_polls(&mut self, polls: Vec<PollView>) {
        self.polls = polls.into_iter().map(|p| (p.id, p)).collect();
    }

    pub fn set_poll(&mut self, poll: PollView) {
        self.polls.insert(poll.id, poll);
    }

    /// The events of the conversation, as the engine has them now.
    pub fn set_events(&mut self, events: Vec<EventView>) {
        self.events = events.into_iter().map(|e| (e.id, e)).collect();
    }

    pub fn set_event(&mut self, event: EventView) {
        self.events.insert(event.id, event);
    }

    pub fn poll(&self, id: MessageId) -> Option<&PollView> {
        self.polls.get(&id)
    }

    pub fn event(&self, id: MessageId) -> Option<&EventView> {
        self.events.get(&id)
    }

    /// The engine did (or refused) a vote, a close, an answer or a cancellation.
    pub fn organized(&mut self, what: &Organize, result: Result<Organized, String>) {
        self.pending = None;
        match result {
            Ok(Organized::Poll(poll)) => {
                self.error = None;
                self.set_poll(*poll);
            }
            Ok(Organized::Event(event)) => {
                self.error = None;
                self.set_event(*event);
            }
            Ok(Organized::Message(message)) => {
                self.error = None;
                self.upsert(*message);
            }
            Err(error) => {
                let what = match what {
                    Organize::Vote { .. } => "Your vote was not sent.",
                    Organize::ClosePoll(_) => "The poll was not closed.",
                    Organize::Rsvp(..) => "Your answer was not sent.",
                    Organize::CancelEvent(_) => "The event was not cancelled.",
                    Organize::CreatePoll { .. } => "The poll was not created.",
                    Organize::CreateEvent(_) => "The event was not created.",
                    Organize::EditEvent(..) => "The changes were not saved.",
                };
                self.error = Some(format!("{what} {error}"));
            }
        }
    }

    pub fn set_header(&mut self, header: Header) {
        self.header = header;
    }

    pub fn set_history(&mut self, messages: Vec<MessageView>) {
        self.messages = messages;
    }

    pub fn set_members(&mut self, members: Vec<MemberView>) {
        self.members = members;
    }

    pub fn messages(&self) -> &[MessageView] {
        &self.messages
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the composer holds.
    pub fn draft(&self) -> String {
        self.composer.text()
    }

    /// Adds a message, or replaces the one with the same id.
    pub fn upsert(&mut self, message: MessageView) {
        match self.messages.iter_mut().find(|m| m.id == message.id) {
            Some(existing) => *existing = message,
            None => {
                self.messages.push(message);
                self.messages.sort_by_key(|m| m.position);
            }
        }
    }

    /// The engine accepted (or refused) what we sent.
    pub fn sent(&mut self, result: Result<MessageView, String>) {
        self.pending = None;
        match result {
            Ok(message) => {
                self.error = None;
                self.upsert(message);
            }
            Err(error) => self.error = Some(format!("Your message was not sent. {error}")),
        }
    }

    /// Something went wrong that the composer's status line should say.
    pub fn failed(&mut self, error: String) {
        self.pending = None;
        self.error = Some(error);
    }

    /// The engine applied (or refused) a reaction, an edit or a deletion.
    pub fn changed(&mut self, change: &Change, result: Result<MessageView, String>) {
        self.pending = None;
        match result {
            Ok(message) => {
                self.error = None;
                self.upsert(message);
            }
            Err(error) => {
                let what = match change {
                    Change::React { .. } => "The reaction was not sent.",
                    Change::Edit(_) => "Your edit was not saved.",
                    Change::Delete => "The message was not deleted.",
                };
                self.error = Some(format!("{what} {error}"));
            }
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Composer(action) => {
                self.composer.perform(action);
                Action::None
            }
            Message::Send => self.send(),
            Message::Select(id) => {
                self.confirm_delete = None;
                self.selected = if self.selected == Some(id) {
                    None
                } else {
                    Some(id)
                };
                Action::None
            }
            Message::Reply(id) => {
                if matches!(self.mode, Mode::Edit(_)) {
                    self.composer = text_editor::Content::new();
                }
                self.mode = Mode::Reply(id);
                self.selected = None;
                Action::FocusComposer
            }
            Message::StartEdit(id) => {
                let Some(target) = self.find(id).filter(|m| m.from_me && !m.deleted) else {
                    return Action::None;
                };
                self.composer = text_editor::Content::with_text(&format::body(target));
                self.composer
                    .perform(text_editor::Action::Move(text_editor::Motion::DocumentEnd));
                self.mode = Mode::Edit(id);
                self.selected = None;
                Action::FocusComposer
            }
            Message::React(id, emoji) => {
                let Some(target) = self.find(id) else {
                    return Action::None;
                };
                let remove = target.reactions.iter().any(|r| r.mine && r.emoji == emoji);
                self.selected = None;
                self.pending = Some("Sending your reaction…");
                Action::Change {
                    message: id,
                    change: Change::React { emoji, remove },
                }
            }
            Message::AskDelete(id) => {
                self.confirm_delete = Some(id);
                Action::None
            }
            Message::ConfirmDelete(id) => {
                self.confirm_delete = None;
                self.selected = None;
                if self.mode == Mode::Edit(id) || self.mode == Mode::Reply(id) {
                    self.cancel();
                }
                self.pending = Some("Deleting the message…");
                Action::Change {
                    message: id,
                    change: Change::Delete,
                }
            }
            Message::KeepMessage => {
                self.confirm_delete = None;
                Action::None
            }
            Message::Cancel => {
                self.cancel();
                Action::None
            }
            Message::Verify => match self.header.contact {
                Some(contact) => Action::Verify(contact),
                None => Action::None,
            },
            Message::Members => match self.id {
                ConversationId::Loop(id) => Action::Members(id),
                _ => Action::None,
            },
            Message::NewPoll => Action::NewPoll,
            Message::NewEvent => Action::NewEvent,
            Message::Agenda => Action::Agenda,
            Message::Vote(id, option) => {
                let Some(poll) = self.polls.get(&id) else {
                    return Action::None;
                };
                if poll::is_closed(poll, format::now_ms()) {
                    self.error = Some("This poll is closed: votes no longer count.".into());
                    return Action::None;
                }
                let mut choices = poll.my_choices.clone();
                if choices.contains(&option) {
                    choices.retain(|c| *c != option);
                } else if poll.multiple {
                    choices.push(option);
                    choices.sort_unstable();
                } else {
                    choices = vec![option];
                }
                self.pending = Some(if choices.is_empty() {
                    "Taking your vote back…"
                } else {
                    "Sending your vote…"
                });
                Action::Organize(Organize::Vote { poll: id, choices })
            }
            Message::AskClosePoll(id) => {
                self.confirm_close = Some(id);
                Action::None
            }
            Message::ConfirmClosePoll(id) => {
                self.confirm_close = None;
                self.pending = Some("Closing the poll…");
                Action::Organize(Organize::ClosePoll(id))
            }
            Message::KeepPoll => {
                self.confirm_close = None;
                Action::None
            }
            Message::Rsvp(id, answer) => {
                if self
                    .events
                    .get(&id)
                    .is_some_and(|e| e.my_answer == Some(answer))
                {
                    return Action::None;
                }
                self.pending = Some("Sending your answer…");
                Action::Organize(Organize::Rsvp(id, answer))
            }
            Message::EditEvent(id) => match self.events.get(&id) {
                Some(event) => Action::EditEvent(Box::new(event.clone())),
                None => Action::None,
            },
            Message::AskCancelEvent(id) => {
                self.confirm_cancel = Some(id);
                Action::None
            }
            Message::ConfirmCancelEvent(id) => {
                self.confirm_cancel = None;
                self.pending = Some("Cancelling the event…");
                Action::Organize(Organize::CancelEvent(id))
            }
            Message::KeepEvent => {
                self.confirm_cancel = None;
                Action::None
            }
        }
    }

    /// The next moment an open poll of this conversation closes by itself, and which.
    pub fn next_closing(&self, now: u64) -> Option<(u64, MessageId)> {
        self.polls
            .values()
            .filter(|p| !p.closed)
            .filter_map(|p| p.closes_at.map(|at| (at, p.id)))
            .filter(|(at, _)| *at > now)
            .min()
    }

    /// Escape: the innermost thing goes (delete confirmation, selection, edit or reply).
    fn cancel(&mut self) {
        if self.confirm_delete.take().is_some()
            || self.confirm_close.take().is_some()
            || self.confirm_cancel.take().is_some()
            || self.selected.take().is_some()
        {
            return;
        }
        if matches!(self.mode, Mode::Edit(_)) {
            self.composer = text_editor::Content::new();
        }
        self.mode = Mode::Write;
    }

    fn send(&mut self) -> Action {
        let text = self.composer.text().trim().to_owned();
        match self.mode {
            Mode::Edit(id) => {
                if text.is_empty() {
                    self.error = Some(
                        "An edited message cannot be empty: delete the message instead.".into(),
                    );
                    return Action::None;
                }
                self.composer = text_editor::Content::new();
                self.mode = Mode::Write;
                self.error = None;
                let unchanged = self.find(id).is_some_and(|m| format::body(m) == text);
                if unchanged {
                    return Action::FocusComposer;
                }
                self.pending = Some("Saving your edit…");
                Action::Change {
                    message: id,
                    change: Change::Edit(text),
                }
            }
            Mode::Write | Mode::Reply(_) => {
                if text.is_empty() {
                    return Action::None;
                }
                let reply_to = match self.mode {
                    Mode::Reply(id) => Some(id),
                    _ => None,
                };
                self.composer = text_editor::Content::new();
                self.mode = Mode::Write;
                self.error = None;
                self.pending = Some("Sending…");
                Action::Send { text, reply_to }
            }
        }
    }

    pub fn view(&self, relay_down: bool) -> Element<'_, Message> {
        let now = format::now_ms();
        // Optional parts sit inside fixed slots, so that the composer keeps its place in
        // the widget tree (and its keyboard focus) when a banner comes or goes.
        column![
            self.header(),
            column![self.changed_banner(), self.unreachable_banner(relay_down)].spacing(theme::GAP),
            self.message_list(now, relay_down),
            self.composer(),
        ]
        .spacing(theme::GAP)
        .height(Fill)
        .into()
    }

    fn header(&self) -> Element<'_, Message> {
        let subtitle = match self.header.contact {
            Some(_) if self.header.identity_changed => "security key changed".to_owned(),
            Some(_) if self.header.verified => "verified".to_owned(),
            Some(_) => "not verified yet".to_owned(),
            None => members_line(&self.members),
        };
        let action = match self.header.contact {
            Some(_) => button(
                text(if self.header.verified && !self.header.identity_changed {
                    "Safety number"
                } else {
                    "Verify"
                })
                .size(theme::SMALL),
            )
            .style(button::secondary)
            .on_press(Message::Verify),
            None => button(text("Members and settings").size(theme::SMALL))
                .style(button::secondary)
                .on_press(Message::Members),
        };
        let agenda = button(text("Agenda").size(theme::SMALL))
            .style(button::secondary)
            .on_press(Message::Agenda);
        row![
            column![
                text(&self.header.title).size(22),
                text(subtitle).size(theme::SMALL).style(theme::muted_text),
            ]
            .spacing(2)
            .width(Fill),
            agenda,
            action,
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center)
        .padding([12.0, theme::PAD])
        .into()
    }

    fn changed_banner(&self) -> Option<Element<'_, Message>> {
        self.header.identity_changed.then(|| {
            let banner = container(
                row![
                    text(format!(
                        "{}'s security key changed. Compare safety numbers again before trusting new messages.",
                        self.header.title
                    ))
                    .size(theme::SMALL)
                    .width(Fill),
                    button(text("Compare safety numbers").size(theme::SMALL))
                        .on_press(Message::Verify),
                ]
                .spacing(theme::GAP)
                .align_y(Alignment::Center),
            )
            .padding(10)
            .style(theme::banner);
            container(banner).padding([0.0, theme::PAD]).into()
        })
    }

    fn unreachable_banner(&self, relay_down: bool) -> Option<Element<'_, Message>> {
        let queued = self
            .messages
            .iter()
            .any(|m| matches!(m.delivery, Some(DeliveryState::Queued)));
        (relay_down && queued).then(|| {
            let banner = container(
                text("The relay is unreachable: your messages are queued and will be sent when it is back.")
                    .size(theme::SMALL),
            )
            .padding(10)
            .width(Fill)
            .style(theme::banner);
            container(banner).padding([0.0, theme::PAD]).into()
        })
    }

    fn message_list(&self, now: u64, relay_down: bool) -> Element<'_, Message> {
        let mut list = column![].spacing(4).padding([theme::GAP, theme::PAD]);
        if self.messages.is_empty() {
            list = list.push(
                text("No messages yet. Say hello!")
                    .size(theme::BODY)
                    .style(theme::muted_text),
            );
        }
        let mut previous: Option<(bool, Option<&str>)> = None;
        for message in &self.messages {
            let who = (message.from_me, message.sender.as_deref());
            let first_of_group = previous != Some(who);
            previous = Some(who);
            list = list.push(bubble::view(
                self,
                message,
                bubble::Context {
                    first_of_group,
                    now,
                    relay_down,
                },
            ));
        }
        scrollable(list)
            .anchor_bottom()
            .height(Fill)
            .width(Fill)
            .into()
    }

    fn composer(&self) -> Element<'_, Message> {
        let banner = match self.mode {
            Mode::Write => None,
            Mode::Reply(id) => Some(match self.find(id) {
                Some(target) => format!(
                    "Replying to {}: {}",
                    self.sender_name(target),
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
                        .on_press(Message::Cancel),
                ]
                .align_y(Alignment::Center),
            )
            .padding([4, 10])
            .style(theme::panel)
        });
        let status = match (&self.error, self.pending) {
            (Some(error), _) => Some(text(error).size(theme::SMALL).style(theme::error_text)),
            (None, Some(pending)) => {
                Some(text(pending).size(theme::SMALL).style(theme::muted_text))
            }
            (None, None) => None,
        };
        let editing = matches!(self.mode, Mode::Edit(_));
        let editor = text_editor(&self.composer)
            .id(COMPOSER)
            .placeholder("Write a message…")
            .on_action(Message::Composer)
            .key_binding(key_binding)
            .padding(10)
            .height(Shrink)
            .max_height(160.0);
        let send = button(text(if editing { "Save" } else { "Send" }))
            .padding([10, 16])
            .on_press(Message::Send);
        column![
            column![banner, status].spacing(6),
            row![editor, send].spacing(theme::GAP).align_y(Alignment::End),
            row![
                text("Enter sends · Shift+Enter starts a new line · click a message to reply, react or edit")
                    .size(12)
                    .style(theme::muted_text)
                    .width(Fill),
                button(text("New poll").size(theme::SMALL))
                    .padding([4, 12])
                    .style(button::secondary)
                    .on_press(Message::NewPoll),
                button(text("New event").size(theme::SMALL))
                    .padding([4, 12])
                    .style(button::secondary)
                    .on_press(Message::NewEvent),
            ]
            .spacing(6)
            .align_y(Alignment::Center),
        ]
        .spacing(6)
        .padding([12.0, theme::PAD])
        .into()
    }

    fn find(&self, id: MessageId) -> Option<&MessageView> {
        self.messages.iter().find(|m| m.id == id)
    }

    fn sender_name<'a>(&'a self, message: &'a MessageView) -> &'a str {
        if message.from_me {
            "you"
        } else {
            message.sender.as_deref().unwrap_or(&self.header.title)
        }
    }
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

fn members_line(members: &[MemberView]) -> String {
    if members.is_empty() {
        return "loop".to_owned();
    }
    let mut members: Vec<&MemberView> = members.iter().collect();
    members.sort_by_key(|m| (!m.me, !m.admin, m.name.is_none(), m.name.clone()));
    let names: Vec<String> = members
        .iter()
        .map(|m| {
            let mut label = if m.me {
                "you".to_owned()
            } else {
                m.name.clone().unwrap_or_else(|| m.id.clone())
            };
            if m.admin {
                label.push_str(" (admin)");
            }
            label
        })
        .collect();
    let verified = members.iter().filter(|m| m.verified && !m.me).count();
    format!(
        "{} members: {} · {verified} verified",
        members.len(),
        names.join(", ")
    )
}

/// Whether a message can be shown with text (not deleted, a kind we understand).
fn is_text(message: &MessageView) -> bool {
    !message.deleted && matches!(message.body, MessageBody::Text(_))
}

#[cfg(test)]
mod organize_tests;
#[cfg(test)]
mod tests;
