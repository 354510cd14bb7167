//! An open conversation: messages grouped by sender with time, replies, reactions,
//! edits and delivery state, a warning while the contact's key changed, and the
//! composer (Enter sends, Shift+Enter starts a new line).
//!
//! Clicking a message selects it and shows its actions: Reply, a row of reactions, and
//! for our own messages Edit and Delete (after a confirmation). Replying and editing put
//! a banner above the composer; Escape cancels them. Sending and changing messages is
//! the parent's job (the [`Action`]s); it reports back with [`State::sent`] and
//! [`State::changed`].
//!
//! Files ("Attach": a path, checked and read in a task), shared contacts ("Share a
//! contact": a picker; a card to add them in one click) and the disappearing-messages
//! timer (the header's selector, a tag while it is on, a line in the history for each
//! change) are in [`attachment`], [`shared`] and [`timer`]. In an announcement loop
//! where we may not post, the composer gives way to a sentence.

pub mod attachment;
mod bubble;
pub mod event;
pub mod poll;
pub mod shared;
pub mod timer;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use boucle_client_core::{
    AttachmentView, Contact, ContactId, ConversationId, DeliveryState, EventView, MemberView,
    MessageBody, MessageId, MessageView, PollView, RsvpAnswer, TransferState,
};
use iced::keyboard::{Key, key::Named};
use iced::widget::{button, column, container, image, row, scrollable, text, text_editor};
use iced::{Alignment, Element, Fill, Shrink};

use crate::format;
use crate::io::{Attached, Change, Organize, Organized};
use crate::theme;
use crate::when::Zone;

/// Id of the composer (for focus and tests).
pub const COMPOSER: &str = "composer";
/// Id of the message list (scrolled to the latest message when a conversation opens).
pub const MESSAGES: &str = "messages";

/// Id of the attach pane's path field.
pub const ATTACH_PATH: &str = "attach-path";

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
    /// "Block" was pressed: the confirmation shows instead of the composer.
    confirm_block: bool,
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
    /// The files of the history, by message id, and the previews of its images.
    attachments: HashMap<MessageId, AttachmentView>,
    previews: HashMap<MessageId, image::Handle>,
    /// Files being saved, or saved: the path field and what happened.
    saves: HashMap<MessageId, attachment::Save>,
    /// The attach pane, when open.
    attach: Option<attachment::Attach>,
    /// Whether the contact picker is open, and the contacts it offers.
    sharing: bool,
    contacts: Vec<Contact>,
    /// Shared contacts added from here (message → the new contact), and being added.
    added: HashMap<MessageId, ContactId>,
    adding: HashSet<MessageId>,
    /// The disappearing-messages timer in seconds (0: off), and whether its selector is
    /// open.
    timer: u32,
    timer_open: bool,
    rules: Rules,
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
    /// The composer's "Attach": opens (or closes) the attach pane.
    Attach,
    AttachPath(String),
    SendFile,
    /// A file dropped on the window: its path goes in the attach pane.
    FileDropped(PathBuf),
    /// "Save…" on a file's card, its path field, and "Save".
    StartSave(MessageId),
    SavePath(MessageId, String),
    Save(MessageId),
    /// "Share a contact": opens (or closes) the picker; a click on a contact shares it.
    SharePicker,
    Share(ContactId),
    /// "Add contact" on a shared contact's card.
    AddContact(MessageId),
    OpenContact(ContactId),
    /// The header's timer button: opens (or closes) the selector; a choice sets it.
    TimerMenu,
    SetTimer(u32),
    /// The header's "Block", its confirmation, "Keep", and "Unblock".
    AskBlock,
    ConfirmBlock,
    KeepContact,
    Unblock,
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

/// Who the conversation is with, as the list knows it.
#[derive(Debug, Clone)]
pub struct Header {
    pub title: String,
    pub contact: Option<ContactId>,
    pub verified: bool,
    pub identity_changed: bool,
    /// We blocked them: nothing they send is shown, and we cannot write.
    pub blocked: bool,
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
            confirm_block: false,
            pending: None,
            error: None,
            polls: HashMap::new(),
            events: HashMap::new(),
            confirm_close: None,
            confirm_cancel: None,
            zone: Zone::utc(),
            attachments: HashMap::new(),
            previews: HashMap::new(),
            saves: HashMap::new(),
            attach: None,
            sharing: false,
            contacts: Vec::new(),
            added: HashMap::new(),
            adding: HashSet::new(),
            timer: 0,
            timer_open: false,
            rules: Rules::default(),
        }
    }

    /// What we may do here.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
        if !rules.may_post {
            self.attach = None;
            self.sharing = false;
        }
        if !rules.may_set_timer {
            self.timer_open = false;
        }
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// The contacts the picker offers (all of ours; those without a shareable card
    /// greyed).
    pub fn set_contacts(&mut self, contacts: Vec<Contact>) {
        self.contacts = contacts;
    }

    /// The disappearing-messages timer in seconds (0: off).
    pub fn set_timer(&mut self, seconds: u32) {
        self.timer = seconds;
    }

    pub fn timer(&self) -> u32 {
        self.timer
    }

    /// The messages whose file we do not know yet (to ask the engine about).
    pub fn unknown_files(&self) -> Vec<MessageId> {
        self.messages
            .iter()
            .filter(|m| !m.deleted && matches!(m.body, MessageBody::Attachment { .. }))
            .filter(|m| !self.attachments.contains_key(&m.id))
            .map(|m| m.id)
            .collect()
    }

    /// Whether the engine should send this file's content with its state: an image
    /// whose preview is not there yet.
    pub fn wants_preview(&self, id: MessageId) -> bool {
        !self.previews.contains_key(&id)
            && self.find(id).is_some_and(|m| {
                matches!(&m.body, MessageBody::Attachment { media_type, .. }
                    if media_type.starts_with("image/"))
            })
    }

    /// A file's state (and, for an image, its content) as the engine has it now.
    pub fn set_attachment(&mut self, id: MessageId, result: Result<Attached, String>) {
        match result {
            Ok(attached) => {
                if let Some(bytes) = attached.bytes {
                    self.previews.insert(id, image::Handle::from_bytes(bytes));
                }
                self.attachments.insert(id, attached.view);
            }
            Err(error) => {
                if let Some(view) = self.attachments.get_mut(&id) {
                    view.state = TransferState::Failed(error);
                }
            }
        }
    }

    pub fn attachment(&self, id: MessageId) -> Option<&AttachmentView> {
        self.attachments.get(&id)
    }

    pub fn has_preview(&self, id: MessageId) -> bool {
        self.previews.contains_key(&id)
    }

    /// A file moved on: `done` of `total` bytes sent or received.
    pub fn progress(&mut self, id: MessageId, done: u64, total: u64, upload: bool) {
        let Some(view) = self.attachments.get_mut(&id) else {
            return;
        };
        if matches!(
            view.state,
            TransferState::Complete | TransferState::Failed(_)
        ) {
            return;
        }
        view.state = if upload {
            TransferState::Uploading { done, total }
        } else {
            TransferState::Downloading { done, total }
        };
    }

    /// The engine sent (or refused) the file of the attach pane.
    pub fn file_sent(&mut self, result: Result<MessageView, String>) {
        match result {
            Ok(message) => {
                self.attach = None;
                self.error = None;
                self.upsert(message);
            }
            Err(error) => {
                if let Some(attach) = &mut self.attach {
                    attach.busy = false;
                    attach.error = Some(error);
                } else {
                    self.error = Some(format!("The file was not sent. {error}"));
                }
            }
        }
    }

    /// The engine saved (or could not save) a file.
    pub fn saved(&mut self, id: MessageId, result: Result<(PathBuf, u64), String>) {
        if let Some(save) = self.saves.get_mut(&id) {
            save.busy = false;
            save.result = Some(result.map(|(path, _)| path.display().to_string()));
        }
    }

    /// The engine added (or could not add) a shared contact.
    pub fn added(&mut self, id: MessageId, result: Result<ContactId, String>) {
        self.adding.remove(&id);
        match result {
            Ok(contact) => {
                self.added.insert(id, contact);
            }
            Err(error) => self.error = Some(format!("The contact was not added. {error}")),
        }
    }

    /// The engine set (or refused) the timer.
    /// The answer to "Block" or "Unblock" (the header follows the refreshed contact).
    pub fn blocked_set(&mut self, blocked: bool, result: Result<(), String>) {
        self.pending = None;
        match result {
            Ok(()) => {
                self.error = None;
                self.header.blocked = blocked;
            }
            Err(error) => {
                let what = if blocked { "blocked" } else { "unblocked" };
                self.error = Some(format!("{} was not {what}. {error}", self.header.title));
            }
        }
    }

    pub fn timer_set(&mut self, seconds: u32, result: Result<(), String>) {
        self.pending = None;
        match result {
            Ok(()) => {
                self.error = None;
                self.timer = seconds;
            }
            Err(error) => {
                self.error = Some(format!("Disappearing messages were not changed. {error}"));
            }
        }
    }

    /// These messages reached the end of their timer: they go.
    pub fn expired(&mut self, ids: &[MessageId]) {
        self.messages.retain(|m| !ids.contains(&m.id));
        for id in ids {
            self.attachments.remove(id);
            self.previews.remove(id);
            self.saves.remove(id);
            self.polls.remove(id);
            self.events.remove(id);
        }
        if self.selected.is_some_and(|id| ids.contains(&id)) {
            self.selected = None;
        }
        if let Mode::Reply(id) | Mode::Edit(id) = self.mode
            && ids.contains(&id)
        {
            self.composer = text_editor::Content::new();
            self.mode = Mode::Write;
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
        if let MessageBody::TimerChanged { seconds } = message.body
            && !self.messages.iter().any(|m| m.id == message.id)
        {
            self.timer = seconds;
        }
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
            Message::AskBlock => {
                self.confirm_block = self.header.contact.is_some() && !self.header.blocked;
                Action::None
            }
            Message::KeepContact => {
                self.confirm_block = false;
                Action::None
            }
            Message::ConfirmBlock | Message::Unblock => {
                let block = matches!(message, Message::ConfirmBlock);
                self.confirm_block = false;
                match self.header.contact {
                    Some(contact) => {
                        self.pending = Some(if block {
                            "Blocking…"
                        } else {
                            "Unblocking…"
                        });
                        Action::SetBlocked(contact, block)
                    }
                    None => Action::None,
                }
            }
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
            Message::Attach => {
                self.sharing = false;
                if self.attach.take().is_some() || !self.rules.may_post {
                    return Action::FocusComposer;
                }
                self.attach = Some(attachment::Attach::default());
                Action::Focus(ATTACH_PATH)
            }
            Message::AttachPath(path) => {
                if let Some(attach) = &mut self.attach {
                    attach.path = path;
                    attach.error = None;
                }
                Action::None
            }
            Message::FileDropped(path) => {
                if !self.rules.may_post {
                    return Action::None;
                }
                self.sharing = false;
                let attach = self.attach.get_or_insert_with(attachment::Attach::default);
                attach.path = path.display().to_string();
                attach.error = None;
                Action::Focus(ATTACH_PATH)
            }
            Message::SendFile => {
                let Some(attach) = &mut self.attach else {
                    return Action::None;
                };
                match attach.check() {
                    Ok(path) => {
                        attach.busy = true;
                        attach.error = None;
                        Action::SendFile(path)
                    }
                    Err(error) => {
                        attach.error = Some(error);
                        Action::None
                    }
                }
            }
            Message::StartSave(id) => {
                let Some(view) = self.attachments.get(&id) else {
                    return Action::None;
                };
                if self.saves.get(&id).is_some_and(|s| s.open) {
                    self.saves.remove(&id);
                    return Action::None;
                }
                let path = crate::io::default_save_path(&view.name);
                self.saves.insert(id, attachment::Save::new(&path));
                Action::Focus(attachment::SAVE_PATH)
            }
            Message::SavePath(id, path) => {
                if let Some(save) = self.saves.get_mut(&id) {
                    save.path = path;
                    save.result = None;
                }
                Action::None
            }
            Message::Save(id) => {
                let Some(save) = self.saves.get_mut(&id) else {
                    return Action::None;
                };
                let path = save.path.trim();
                if path.is_empty() || path.ends_with('/') {
                    save.result = Some(Err("Type where to save it, with a file name.".into()));
                    return Action::None;
                }
                save.busy = true;
                save.result = None;
                Action::SaveFile(id, PathBuf::from(path))
            }
            Message::SharePicker => {
                self.attach = None;
                self.sharing = !self.sharing && self.rules.may_post;
                Action::None
            }
            Message::Share(contact) => {
                self.sharing = false;
                self.pending = Some("Sharing the contact…");
                Action::Share(contact)
            }
            Message::AddContact(id) => {
                if !self.adding.insert(id) {
                    return Action::None;
                }
                Action::AddContact(id)
            }
            Message::OpenContact(contact) => Action::OpenContact(contact),
            Message::TimerMenu => {
                self.timer_open = !self.timer_open && self.rules.may_set_timer;
                Action::None
            }
            Message::SetTimer(seconds) => {
                self.timer_open = false;
                if seconds == self.timer || !self.rules.may_set_timer {
                    return Action::None;
                }
                self.pending = Some("Changing disappearing messages…");
                Action::SetTimer(seconds)
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
            || self.attach.take().is_some()
            || std::mem::take(&mut self.sharing)
            || std::mem::take(&mut self.timer_open)
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
            column![
                self.timer_open.then(|| timer::selector(self.timer)),
                self.changed_banner(),
                self.unreachable_banner(relay_down)
            ]
            .spacing(theme::GAP),
            self.message_list(now, relay_down),
            self.composer(),
        ]
        .spacing(theme::GAP)
        .height(Fill)
        .into()
    }

    fn header(&self) -> Element<'_, Message> {
        let subtitle = match self.header.contact {
            Some(_) if self.header.blocked => "blocked".to_owned(),
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
        let block = self.header.contact.map(|_| {
            if self.header.blocked {
                button(text("Unblock").size(theme::SMALL))
                    .style(button::secondary)
                    .on_press(Message::Unblock)
            } else {
                button(text("Block").size(theme::SMALL))
                    .style(button::secondary)
                    .on_press(Message::AskBlock)
            }
        });
        let tag = (self.timer > 0).then(|| {
            theme::label(
                format!("disappearing: {}", format::timer(self.timer)),
                theme::Tag::Neutral,
            )
        });
        row![
            column![
                row![text(&self.header.title).size(22), tag]
                    .spacing(theme::GAP)
                    .align_y(Alignment::Center),
                text(subtitle).size(theme::SMALL).style(theme::muted_text),
            ]
            .spacing(2)
            .width(Fill),
            timer::button(self.timer, self.rules.may_set_timer, self.timer_open),
            agenda,
            block,
            action,
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center)
        .padding([12.0, theme::PAD])
        .into()
    }

    /// In place of the composer: the confirmation of "Block", or what blocking means and
    /// "Unblock".
    fn block_panel(&self) -> Element<'_, Message> {
        let name = &self.header.title;
        let (sentence, buttons) = if self.header.blocked {
            (
                format!(
                    "You blocked {name}. Nothing they send is shown or kept, and they are not told."
                ),
                row![
                    button(text("Unblock").size(theme::SMALL))
                        .style(button::secondary)
                        .on_press(Message::Unblock)
                ],
            )
        } else {
            (
                format!(
                    "Block {name}? Nothing they send will be shown or kept, and you will not be able to write to them. They are not told."
                ),
                row![
                    button(text("Block").size(theme::SMALL))
                        .style(button::danger)
                        .on_press(Message::ConfirmBlock),
                    button(text("Keep").size(theme::SMALL))
                        .style(button::secondary)
                        .on_press(Message::KeepContact),
                ]
                .spacing(theme::GAP),
            )
        };
        let status = self
            .error
            .as_deref()
            .map(|error| text(error).size(theme::SMALL).style(theme::error_text));
        column![
            status,
            container(
                row![
                    text(sentence)
                        .size(theme::BODY)
                        .style(theme::muted_text)
                        .width(Fill),
                    buttons,
                ]
                .spacing(theme::GAP)
                .align_y(Alignment::Center)
            )
            .padding([12, 14])
            .width(Fill)
            .style(theme::panel),
        ]
        .spacing(6)
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
            .id(MESSAGES)
            .anchor_bottom()
            .height(Fill)
            .width(Fill)
            .into()
    }

    fn composer(&self) -> Element<'_, Message> {
        if self.confirm_block || self.header.blocked {
            return self.block_panel();
        }
        if !self.rules.may_post {
            let status = self
                .error
                .as_deref()
                .map(|error| text(error).size(theme::SMALL).style(theme::error_text));
            return column![
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
            .into();
        }
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
        let small = |label: &'static str, on_press: Message| {
            button(text(label).size(theme::SMALL))
                .padding([4, 12])
                .style(button::secondary)
                .on_press(on_press)
        };
        column![
            column![
                banner,
                status,
                self.attach.as_ref().map(attachment::pane),
                self.sharing.then(|| shared::picker(self)),
            ]
            .spacing(6),
            row![editor, send]
                .spacing(theme::GAP)
                .align_y(Alignment::End),
            row![
                text(
                    "Enter sends · Shift+Enter: new line · click a message to reply, react or edit"
                )
                .size(12)
                .style(theme::muted_text)
                .width(Fill),
                small("Attach", Message::Attach),
                small("Share a contact", Message::SharePicker),
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
mod social_tests;
#[cfg(test)]
mod tests;
