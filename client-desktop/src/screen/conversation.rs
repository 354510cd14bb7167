//! An open conversation: messages grouped by sender with time, replies, reactions,
//! edits and delivery state, a warning while the contact's key changed, and the
//! composer (Enter sends, Shift+Enter starts a new line).
//!
//! The screen is made of parts, each with its own State, Message and update (as
//! halloy's `buffer/channel.rs`); this State holds them, routes each message to its
//! part and turns what the part asks for into the screen's [`Action`]s for the parent:
//!
//! - [`header`]: who the conversation is with (or a loop's members), Verify, Agenda,
//!   Block and Unblock, the disappearing-messages timer and its selector;
//! - [`history`]: the messages; clicking one selects it and shows its actions (Reply,
//!   reactions, and for our own Edit and Delete);
//! - [`composer`]: what we write, a reply or an edit in progress (Escape cancels);
//! - [`organize`]: the polls and events shown in the history, as cards;
//! - [`attachments`]: files (the attach pane, progress, previews, saving);
//! - [`shared`]: shared contacts (the picker, and a card to add them in one click).
//!
//! One question waits for an answer at a time ([`Confirm`]: delete a message, block
//! the contact, close a poll, cancel an event): asking another puts the first away.
//! The status line above the composer says what is being done and what went wrong.
//! Sending and changing things is the parent's job (the [`Action`]s); it reports back
//! with [`State::sent`], [`State::changed`] and the like. The time is the last
//! [`Message::Tick`]: views never read the clock. In an announcement loop where we may
//! not post, the composer gives way to a sentence.

pub mod attachments;
mod card;
pub mod composer;
pub mod header;
pub mod history;
pub mod organize;
pub mod shared;

use std::path::PathBuf;

use boucle_client_core::{
    AttachmentView, Contact, ContactId, ConversationId, EventView, LoopId, MemberView, MessageBody,
    MessageId, MessageView, PollView,
};
use iced::widget::column;
use iced::{Element, Fill};

pub use self::attachments::ATTACH_PATH;
pub use self::composer::{COMPOSER, Mode};
pub use self::header::Header;
pub use self::history::{MESSAGES, REACTIONS};
use crate::io::{Attached, Change, Organize, Organized};
use crate::theme;
use crate::when::Zone;

pub struct State {
    pub id: ConversationId,
    header: header::State,
    history: history::State,
    composer: composer::State,
    organize: organize::State,
    attachments: attachments::State,
    shared: shared::State,
    /// The question waiting for an answer, if one is.
    confirm: Option<Confirm>,
    status: Status,
    /// Where the user is: event times are also shown in this zone.
    zone: Zone,
    /// The time (unix ms) of the last tick; 0 until the first.
    now: u64,
    rules: Rules,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("conversation::State")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What we may do here (an announcement loop lets only admins post; only admins set a
/// loop's timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub may_post: bool,
    pub may_set_timer: bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            may_post: true,
            may_set_timer: true,
        }
    }
}

/// The question waiting for an answer: there is one place for it, so asking another
/// puts the first away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// "Delete this message for everyone?"
    Delete(MessageId),
    /// "Block Nadia?", in place of the composer.
    Block,
    /// "Close it for everyone?"
    ClosePoll(MessageId),
    /// "Cancel it for everyone?"
    CancelEvent(MessageId),
}

impl Confirm {
    /// The message the question is about, if it is about one.
    fn message(self) -> Option<MessageId> {
        match self {
            Confirm::Delete(id) | Confirm::ClosePoll(id) | Confirm::CancelEvent(id) => Some(id),
            Confirm::Block => None,
        }
    }
}

/// The line above the composer: what is being done right now ("Saving your edit…"),
/// and what went wrong (which wins).
#[derive(Debug, Default)]
pub struct Status {
    pending: Option<&'static str>,
    error: Option<String>,
}

impl Status {
    /// Something was asked of the engine.
    fn doing(&mut self, what: &'static str) {
        self.pending = Some(what);
    }

    /// The engine answered: nothing is pending any more, and this went wrong (if it
    /// did).
    fn answered(&mut self, error: Option<String>) {
        self.pending = None;
        self.error = error;
    }

    /// Something went wrong, whatever is pending.
    fn refuse(&mut self, error: String) {
        self.error = Some(error);
    }

    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Header(header::Message),
    History(history::Message),
    Composer(composer::Message),
    Organize(organize::Message),
    Attachments(attachments::Message),
    Shared(shared::Message),
    /// Escape: the innermost thing goes (a question, a pane, the selection, then the
    /// edit or the reply).
    Cancel,
    /// A file dropped on the window: its path goes in the attach pane.
    FileDropped(PathBuf),
    /// The clock moved on: now, in unix ms.
    Tick(u64),
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
    Members(LoopId),
    /// Put the keyboard focus in the composer.
    FocusComposer,
    /// Vote, close a poll, answer, cancel an event.
    Organize(Organize),
    NewPoll,
    NewEvent,
    EditEvent(Box<EventView>),
    /// This conversation's agenda.
    Agenda,
    /// Put the keyboard focus in this field.
    Focus(&'static str),
    SendFile(PathBuf),
    SaveFile(MessageId, PathBuf),
    Share(ContactId),
    AddContact(MessageId),
    OpenContact(ContactId),
    SetTimer(u32),
    /// Block (`true`) or unblock this contact.
    SetBlocked(ContactId, bool),
}

impl State {
    pub fn new(id: ConversationId, header: Header) -> State {
        State {
            id,
            header: header::State::new(header),
            history: history::State::default(),
            composer: composer::State::default(),
            organize: organize::State::default(),
            attachments: attachments::State::default(),
            shared: shared::State::default(),
            confirm: None,
            status: Status::default(),
            zone: Zone::utc(),
            now: 0,
            rules: Rules::default(),
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Header(message) => self.header(message),
            Message::History(message) => self.history(message),
            Message::Composer(message) => self.composer(message),
            Message::Organize(message) => {
                match self
                    .organize
                    .update(message, self.now, &mut self.confirm, &mut self.status)
                {
                    organize::Action::None => Action::None,
                    organize::Action::Organize(what) => Action::Organize(what),
                    organize::Action::EditEvent(event) => Action::EditEvent(event),
                }
            }
            Message::Attachments(message) => {
                if matches!(
                    message,
                    attachments::Message::Attach | attachments::Message::FileDropped(_)
                ) && self.rules.may_post
                {
                    self.shared.close_picker();
                }
                match self.attachments.update(message, self.rules.may_post) {
                    attachments::Action::None => Action::None,
                    attachments::Action::FocusComposer => Action::FocusComposer,
                    attachments::Action::Focus(id) => Action::Focus(id),
                    attachments::Action::SendFile(path) => Action::SendFile(path),
                    attachments::Action::SaveFile(id, path) => Action::SaveFile(id, path),
                }
            }
            Message::Shared(message) => {
                if matches!(message, shared::Message::SharePicker) {
                    self.attachments.close_pane();
                }
                match self
                    .shared
                    .update(message, self.rules.may_post, &mut self.status)
                {
                    shared::Action::None => Action::None,
                    shared::Action::Share(contact) => Action::Share(contact),
                    shared::Action::AddContact(id) => Action::AddContact(id),
                    shared::Action::OpenContact(contact) => Action::OpenContact(contact),
                }
            }
            Message::Cancel => {
                self.cancel();
                Action::None
            }
            Message::FileDropped(path) => self.update(Message::Attachments(
                attachments::Message::FileDropped(path),
            )),
            Message::Tick(now) => {
                self.now = now;
                Action::None
            }
        }
    }

    fn header(&mut self, message: header::Message) -> Action {
        match self
            .header
            .update(message, self.rules, &mut self.confirm, &mut self.status)
        {
            header::Action::None => Action::None,
            header::Action::Verify(contact) => Action::Verify(contact),
            header::Action::Members => match self.id {
                ConversationId::Loop(id) => Action::Members(id),
                _ => Action::None,
            },
            header::Action::Agenda => Action::Agenda,
            header::Action::SetTimer(seconds) => Action::SetTimer(seconds),
            header::Action::SetBlocked(contact, blocked) => Action::SetBlocked(contact, blocked),
        }
    }

    fn history(&mut self, message: history::Message) -> Action {
        match self
            .history
            .update(message, &mut self.confirm, &mut self.status)
        {
            history::Action::None => Action::None,
            history::Action::Reply(id) => {
                self.composer.reply(id);
                Action::FocusComposer
            }
            history::Action::Edit(id, text) => {
                self.composer.edit(id, &text);
                Action::FocusComposer
            }
            history::Action::Change { message, change } => {
                if change == Change::Delete {
                    // Replying to it or editing it ends with it.
                    self.composer.leave_if_about(message);
                }
                Action::Change { message, change }
            }
        }
    }

    fn composer(&mut self, message: composer::Message) -> Action {
        match self
            .composer
            .update(message, &self.history, &mut self.status)
        {
            composer::Action::None => Action::None,
            composer::Action::Send { text, reply_to } => Action::Send { text, reply_to },
            composer::Action::Edit { message, text } => Action::Change {
                message,
                change: Change::Edit(text),
            },
            composer::Action::Focus => Action::FocusComposer,
            composer::Action::Cancel => {
                self.cancel();
                Action::None
            }
            composer::Action::NewPoll => Action::NewPoll,
            composer::Action::NewEvent => Action::NewEvent,
        }
    }

    /// Escape: the innermost thing goes (a question, the attach pane, the contact
    /// picker, the timer's selector, the selection; else the edit or the reply).
    fn cancel(&mut self) {
        if self.confirm.take().is_some()
            || self.attachments.close_pane()
            || self.shared.close_picker()
            || self.header.close_timer()
            || self.history.deselect()
        {
            return;
        }
        self.composer.leave();
    }

    /// What we may do here.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
        if !rules.may_post {
            self.attachments.close_pane();
            self.shared.close_picker();
        }
        if !rules.may_set_timer {
            self.header.close_timer();
        }
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// The time (unix ms) views show things relative to.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The user's time zone (UTC until told).
    pub fn set_zone(&mut self, zone: Zone) {
        self.zone = zone;
    }

    pub fn set_header(&mut self, header: Header) {
        self.header.set_info(header);
    }

    pub fn set_members(&mut self, members: Vec<MemberView>) {
        self.header.set_members(members);
    }

    /// The contacts the picker offers (all of ours; those without a shareable card
    /// greyed).
    pub fn set_contacts(&mut self, contacts: Vec<Contact>) {
        self.shared.set_contacts(contacts);
    }

    /// The disappearing-messages timer in seconds (0: off).
    pub fn set_timer(&mut self, seconds: u32) {
        self.header.set_timer(seconds);
    }

    pub fn timer(&self) -> u32 {
        self.header.timer()
    }

    pub fn set_history(&mut self, messages: Vec<MessageView>) {
        self.history.set(messages);
    }

    pub fn messages(&self) -> &[MessageView] {
        self.history.messages()
    }

    pub fn mode(&self) -> Mode {
        self.composer.mode()
    }

    /// What the composer holds.
    pub fn draft(&self) -> String {
        self.composer.draft()
    }

    /// Adds a message, or replaces the one with the same id. A new change of the timer
    /// is the timer now.
    pub fn upsert(&mut self, message: MessageView) {
        if let MessageBody::TimerChanged { seconds } = message.body
            && self.history.find(message.id).is_none()
        {
            self.header.set_timer(seconds);
        }
        self.history.upsert(message);
    }

    /// The engine accepted (or refused) what we sent.
    pub fn sent(&mut self, result: Result<MessageView, String>) {
        match result {
            Ok(message) => {
                self.status.answered(None);
                self.upsert(message);
            }
            Err(error) => self
                .status
                .answered(Some(format!("Your message was not sent. {error}"))),
        }
    }

    /// The engine applied (or refused) a reaction, an edit or a deletion.
    pub fn changed(&mut self, change: &Change, result: Result<MessageView, String>) {
        match result {
            Ok(message) => {
                self.status.answered(None);
                self.upsert(message);
            }
            Err(error) => {
                let what = match change {
                    Change::React { .. } => "The reaction was not sent.",
                    Change::Edit(_) => "Your edit was not saved.",
                    Change::Delete => "The message was not deleted.",
                };
                self.status.answered(Some(format!("{what} {error}")));
            }
        }
    }

    /// Something went wrong that the composer's status line should say.
    pub fn failed(&mut self, error: String) {
        self.status.answered(Some(error));
    }

    /// The answer to "Block" or "Unblock" (the header follows the refreshed contact).
    pub fn blocked_set(&mut self, blocked: bool, result: Result<(), String>) {
        self.header.blocked_set(blocked, result, &mut self.status);
    }

    /// The engine set (or refused) the timer.
    pub fn timer_set(&mut self, seconds: u32, result: Result<(), String>) {
        self.header.timer_set(seconds, result, &mut self.status);
    }

    /// These messages reached the end of their timer: they go, and whatever was about
    /// them.
    pub fn expired(&mut self, ids: &[MessageId]) {
        self.history.expire(ids);
        self.attachments.forget(ids);
        self.organize.forget(ids);
        self.composer.forget(ids);
        if self
            .confirm
            .and_then(Confirm::message)
            .is_some_and(|id| ids.contains(&id))
        {
            self.confirm = None;
        }
    }

    /// The polls of the conversation, as the engine has them now.
    pub fn set_polls(&mut self, polls: Vec<PollView>) {
        self.organize.set_polls(polls);
    }

    pub fn set_poll(&mut self, poll: PollView) {
        self.organize.set_poll(poll);
    }

    /// The events of the conversation, as the engine has them now.
    pub fn set_events(&mut self, events: Vec<EventView>) {
        self.organize.set_events(events);
    }

    pub fn set_event(&mut self, event: EventView) {
        self.organize.set_event(event);
    }

    pub fn poll(&self, id: MessageId) -> Option<&PollView> {
        self.organize.poll(id)
    }

    pub fn event(&self, id: MessageId) -> Option<&EventView> {
        self.organize.event(id)
    }

    /// The engine did (or refused) a vote, a close, an answer or a cancellation.
    pub fn organized(&mut self, what: &Organize, result: Result<Organized, String>) {
        if let Some(message) = self.organize.organized(what, result, &mut self.status) {
            self.upsert(message);
        }
    }

    /// The next moment an open poll of this conversation closes by itself, and which.
    pub fn next_closing(&self, now: u64) -> Option<(u64, MessageId)> {
        self.organize.next_closing(now)
    }

    /// The messages whose file we do not know yet (to ask the engine about).
    pub fn unknown_files(&self) -> Vec<MessageId> {
        self.history
            .messages()
            .iter()
            .filter(|m| !m.deleted && matches!(m.body, MessageBody::Attachment { .. }))
            .filter(|m| self.attachments.attachment(m.id).is_none())
            .map(|m| m.id)
            .collect()
    }

    /// Whether the engine should send this file's content with its state: an image
    /// whose preview is not there yet.
    pub fn wants_preview(&self, id: MessageId) -> bool {
        !self.attachments.has_preview(id)
            && self.history.find(id).is_some_and(|m| {
                matches!(&m.body, MessageBody::Attachment { media_type, .. }
                    if media_type.starts_with("image/"))
            })
    }

    /// A file's state (and, for an image, its content) as the engine has it now.
    pub fn set_attachment(&mut self, id: MessageId, result: Result<Attached, String>) {
        self.attachments.set_attachment(id, result);
    }

    pub fn attachment(&self, id: MessageId) -> Option<&AttachmentView> {
        self.attachments.attachment(id)
    }

    pub fn has_preview(&self, id: MessageId) -> bool {
        self.attachments.has_preview(id)
    }

    /// A file moved on: `done` of `total` bytes sent or received.
    pub fn progress(&mut self, id: MessageId, done: u64, total: u64, upload: bool) {
        self.attachments.progress(id, done, total, upload);
    }

    /// The engine sent (or refused) the file of the attach pane.
    pub fn file_sent(&mut self, result: Result<MessageView, String>) {
        if let Some(message) = self.attachments.file_sent(result, &mut self.status) {
            self.upsert(message);
        }
    }

    /// The engine saved (or could not save) a file.
    pub fn saved(&mut self, id: MessageId, result: Result<(PathBuf, u64), String>) {
        self.attachments.saved(id, result);
    }

    /// The engine added (or could not add) a shared contact.
    pub fn added(&mut self, id: MessageId, result: Result<ContactId, String>) {
        self.shared.added(id, result, &mut self.status);
    }

    pub fn view(&self, relay_down: bool) -> Element<'_, Message> {
        // Optional parts sit inside fixed slots, so that the composer keeps its place in
        // the widget tree (and its keyboard focus) when a banner comes or goes.
        column![
            self.header.view(self.rules).map(Message::Header),
            column![
                self.header.selector().map(|e| e.map(Message::Header)),
                self.header.changed_banner().map(|e| e.map(Message::Header)),
                self.history.unreachable_banner(relay_down)
            ]
            .spacing(theme::GAP),
            history::view(self, relay_down),
            self.bottom(),
        ]
        .spacing(theme::GAP)
        .height(Fill)
        .into()
    }

    /// The composer; or in its place the question before blocking, what blocking means,
    /// or (an announcement loop) that only admins post.
    fn bottom(&self) -> Element<'_, Message> {
        if self.confirm == Some(Confirm::Block) || self.header.info().blocked {
            return self
                .header
                .block_panel(self.status.error())
                .map(Message::Header);
        }
        if !self.rules.may_post {
            return composer::read_only(self.status.error());
        }
        composer::view(self)
    }
}

#[cfg(test)]
mod organize_tests;
#[cfg(test)]
mod social_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod update_tests;
