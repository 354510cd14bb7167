//! The main window: the conversation list (contacts and loops, last message, unread
//! badge, delivery state) on the left, and on the right the open conversation or one of
//! the panes (invite, accept, verify, new loop, a loop's members and settings).
//!
//! The state holds no engine: [`State::handle`] turns a message into [`Command`]s
//! (engine requests as data, the clipboard, focus) that the app runs as `Task`s against
//! its engine. Tests call `handle` and answer the requests themselves, or run them with
//! [`crate::io::perform`] against a real engine.
//!
//! Polls and events: the conversation's "Poll" and "Event" buttons open their forms as
//! panes; the agenda (all conversations from the list, one from its header) is a pane
//! too. A poll that closes by itself is read again when its time comes
//! ([`Command::After`]).
//!
//! Keyboard: Ctrl+N makes an invitation, Ctrl+G opens the agenda, Ctrl+Up and Ctrl+Down
//! move through the conversations, Escape closes a pane (or cancels a reply, an edit or
//! a selection).

pub mod shortcuts;
mod sidebar;

use std::collections::HashSet;

use boucle_client_core::{ContactId, ConversationId, Event, LoopId, MessageId};
use iced::widget::{container, row, text};
use iced::{Element, Fill};

pub use self::shortcuts::{Shortcut, shortcut};
use crate::io::{Organize, Organized, Overview, Request, Response};
use crate::screen::{
    accept, agenda, conversation, event_form, invite, loop_settings, new_loop, new_poll, verify,
};
use crate::theme;
use crate::when::Zone;

pub struct State {
    me: String,
    overview: Overview,
    pane: Pane,
    /// Relays reported down, by host.
    down: HashSet<String>,
    /// Loops left in this session (the list shows them as left).
    left: HashSet<LoopId>,
    /// The conversation Escape goes back to from a pane.
    last_open: Option<ConversationId>,
    /// Why the list could not be read, if it could not.
    problem: Option<String>,
    /// Where the user is (times are typed and shown in this zone).
    zone: Zone,
    /// Polls whose closing time has a timer already.
    timers: HashSet<MessageId>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("main::State").finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum Pane {
    Empty,
    /// Boxed: far larger than the other panes.
    Conversation(Box<conversation::State>),
    Invite(invite::State),
    Accept(accept::State),
    Verify(verify::State),
    NewLoop(new_loop::State),
    LoopSettings(loop_settings::State),
    NewPoll(new_poll::State),
    EventForm(event_form::State),
    Agenda(agenda::State),
}

#[derive(Debug, Clone)]
pub enum Message {
    Open(ConversationId),
    Invite,
    Accept,
    NewLoop,
    Conversation(conversation::Message),
    InvitePane(invite::Message),
    AcceptPane(accept::Message),
    VerifyPane(verify::Message),
    NewLoopPane(new_loop::Message),
    LoopSettingsPane(loop_settings::Message),
    NewPollPane(new_poll::Message),
    EventFormPane(event_form::Message),
    AgendaPane(agenda::Message),
    /// The agenda of every conversation.
    Agenda,
    Shortcut(Shortcut),
    /// Something happened in the engine (`None`: events were missed, reload).
    Event(Option<Event>),
    Response(Response),
}

/// Work for the runtime.
#[derive(Debug, Clone)]
pub enum Command {
    Engine(Request),
    Copy(String),
    Focus(&'static str),
    /// Focus an input whose id is made at run time (a poll's option).
    FocusInput(String),
    /// Run this request at this time (unix ms), or at once if it is past.
    After(u64, Request),
    /// Scroll a message list to its latest message (a conversation just opened: it must
    /// not keep the place the previous one was scrolled to).
    ShowLatest(&'static str),
}

impl State {
    /// The main window of the profile called `me`, and the commands that load it.
    pub fn new(me: String) -> (State, Vec<Command>) {
        let state = State {
            me,
            overview: Overview::default(),
            pane: Pane::Empty,
            down: HashSet::new(),
            left: HashSet::new(),
            last_open: None,
            problem: None,
            zone: Zone::utc(),
            timers: HashSet::new(),
        };
        (state, vec![Command::Engine(Request::Refresh)])
    }

    pub fn pane(&self) -> &Pane {
        &self.pane
    }

    /// Where the user is (UTC until told): times are typed and shown in this zone.
    pub fn set_zone(&mut self, zone: Zone) {
        self.zone = zone;
    }

    /// Unread messages in every conversation.
    pub fn unread(&self) -> u32 {
        let contacts: u32 = self.overview.contacts.iter().map(|c| c.unread).sum();
        let loops: u32 = self.overview.loops.iter().map(|l| l.unread).sum();
        contacts + loops
    }

    /// The window title: "Boucle", with the unread count when there is one.
    pub fn title(&self) -> String {
        match self.unread() {
            0 => "Boucle".to_owned(),
            n => format!("Boucle ({n})"),
        }
    }

    /// What a message changes, and the work it asks for.
    pub fn handle(&mut self, message: Message) -> Vec<Command> {
        match message {
            Message::Open(id) => self.open(id),
            Message::Invite => {
                self.pane = Pane::Invite(invite::State::default());
                vec![Command::Engine(Request::Invite)]
            }
            Message::Accept => {
                self.pane = Pane::Accept(accept::State::default());
                vec![Command::Focus(accept::LINK)]
            }
            Message::NewLoop => {
                self.pane = Pane::NewLoop(new_loop::State::new(&self.overview.contacts));
                vec![Command::Focus(new_loop::NAME)]
            }
            Message::Conversation(message) => self.conversation(message),
            Message::InvitePane(message) => {
                let Pane::Invite(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    invite::Action::None => Vec::new(),
                    invite::Action::Copy(link) => vec![Command::Copy(link)],
                    invite::Action::Again => vec![Command::Engine(Request::Invite)],
                }
            }
            Message::AcceptPane(message) => {
                let Pane::Accept(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    accept::Action::None => Vec::new(),
                    accept::Action::Accept(link) => vec![Command::Engine(Request::Accept(link))],
                }
            }
            Message::VerifyPane(message) => {
                let Pane::Verify(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    verify::Action::None => Vec::new(),
                    verify::Action::MarkVerified(id) => {
                        vec![Command::Engine(Request::MarkVerified(id))]
                    }
                    verify::Action::Back => {
                        let id = ConversationId::Contact(pane.contact());
                        self.open(id)
                    }
                }
            }
            Message::NewLoopPane(message) => {
                let Pane::NewLoop(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    new_loop::Action::None => Vec::new(),
                    new_loop::Action::Create { name, contacts } => {
                        vec![Command::Engine(Request::CreateLoop { name, contacts })]
                    }
                }
            }
            Message::LoopSettingsPane(message) => {
                let Pane::LoopSettings(pane) = &mut self.pane else {
                    return Vec::new();
                };
                let id = pane.id();
                match pane.update(message) {
                    loop_settings::Action::None => Vec::new(),
                    loop_settings::Action::Change(change) => {
                        vec![Command::Engine(Request::Loop(id, change))]
                    }
                    loop_settings::Action::Back => self.open(ConversationId::Loop(id)),
                }
            }
            Message::NewPollPane(message) => {
                let Pane::NewPoll(pane) = &mut self.pane else {
                    return Vec::new();
                };
                let id = pane.conversation;
                match pane.update(message, crate::format::now_ms()) {
                    new_poll::Action::None => Vec::new(),
                    new_poll::Action::Focus(input) => vec![Command::FocusInput(input)],
                    new_poll::Action::Create {
                        question,
                        options,
                        multiple,
                        closes_at,
                    } => vec![Command::Engine(Request::Organize(
                        id,
                        Organize::CreatePoll {
                            question,
                            options,
                            multiple,
                            closes_at,
                        },
                    ))],
                    new_poll::Action::Cancel => self.open(id),
                }
            }
            Message::EventFormPane(message) => {
                let Pane::EventForm(pane) = &mut self.pane else {
                    return Vec::new();
                };
                let id = pane.conversation;
                match pane.update(message) {
                    event_form::Action::None => Vec::new(),
                    event_form::Action::Save { editing, details } => {
                        let what = match editing {
                            Some(event) => Organize::EditEvent(event, details),
                            None => Organize::CreateEvent(details),
                        };
                        vec![Command::Engine(Request::Organize(id, what))]
                    }
                    event_form::Action::Cancel => self.open(id),
                }
            }
            Message::AgendaPane(message) => {
                let Pane::Agenda(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    agenda::Action::None => Vec::new(),
                    agenda::Action::Open(id) => self.open(id),
                    agenda::Action::Export(events, path) => {
                        vec![Command::Engine(Request::Export { events, path })]
                    }
                }
            }
            Message::Agenda => self.agenda(None),
            Message::Shortcut(shortcut) => self.shortcut(shortcut),
            Message::Event(event) => self.on_event(event),
            Message::Response(response) => self.on_response(response),
        }
    }

    fn conversation(&mut self, message: conversation::Message) -> Vec<Command> {
        let Pane::Conversation(open) = &mut self.pane else {
            return Vec::new();
        };
        let conversation = open.id;
        match open.update(message) {
            conversation::Action::None => Vec::new(),
            conversation::Action::Send { text, reply_to } => vec![
                Command::Engine(Request::Send {
                    conversation,
                    text,
                    reply_to,
                }),
                Command::Focus(conversation::COMPOSER),
            ],
            conversation::Action::Change { message, change } => {
                vec![
                    Command::Engine(Request::Change {
                        conversation,
                        message,
                        change,
                    }),
                    Command::Focus(conversation::COMPOSER),
                ]
            }
            conversation::Action::FocusComposer => vec![Command::Focus(conversation::COMPOSER)],
            conversation::Action::Verify(contact) => self.verify(contact),
            conversation::Action::Members(id) => self.loop_settings(id),
            conversation::Action::Organize(what) => {
                vec![Command::Engine(Request::Organize(conversation, what))]
            }
            conversation::Action::NewPoll => {
                let title = self.header(conversation).title;
                self.pane = Pane::NewPoll(new_poll::State::new(
                    conversation,
                    &title,
                    self.zone.clone(),
                ));
                vec![Command::Focus(new_poll::QUESTION)]
            }
            conversation::Action::NewEvent => {
                let title = self.header(conversation).title;
                self.pane = Pane::EventForm(event_form::State::new(
                    conversation,
                    &title,
                    &self.zone,
                    crate::format::now_ms(),
                ));
                vec![Command::Focus(event_form::TITLE)]
            }
            conversation::Action::EditEvent(event) => {
                self.pane = Pane::EventForm(event_form::State::edit(&event));
                vec![Command::Focus(event_form::TITLE)]
            }
            conversation::Action::Agenda => self.agenda(Some(conversation)),
            conversation::Action::Focus(id) => vec![Command::Focus(id)],
            conversation::Action::SendFile(path) => {
                vec![Command::Engine(Request::SendFile { conversation, path })]
            }
            conversation::Action::SaveFile(message, path) => vec![Command::Engine(Request::Save {
                conversation,
                message,
                path,
            })],
            conversation::Action::Share(contact) => vec![
                Command::Engine(Request::Share(conversation, contact)),
                Command::Focus(conversation::COMPOSER),
            ],
            conversation::Action::AddContact(message) => {
                vec![Command::Engine(Request::AddShared(conversation, message))]
            }
            conversation::Action::OpenContact(contact) => {
                self.open(ConversationId::Contact(contact))
            }
            conversation::Action::SetTimer(seconds) => {
                vec![Command::Engine(Request::SetTimer(conversation, seconds))]
            }
            conversation::Action::SetBlocked(contact, blocked) => {
                vec![Command::Engine(Request::SetBlocked(contact, blocked))]
            }
        }
    }

    /// What we may do in a conversation: post (not in an announcement loop unless an
    /// admin) and set the timer (in a loop, admins only).
    fn rules(&self, id: ConversationId) -> conversation::Rules {
        match id {
            ConversationId::Loop(loop_id) => {
                match self.overview.loops.iter().find(|l| l.id == loop_id) {
                    Some(found) => conversation::Rules {
                        may_post: found.may_post,
                        may_set_timer: found.admin,
                    },
                    None => conversation::Rules::default(),
                }
            }
            _ => conversation::Rules::default(),
        }
    }

    /// The open conversation's header, rules, contacts and (for a loop) timer, from
    /// the list's data.
    fn fill(&mut self) {
        let Some(id) = self.open_id() else {
            return;
        };
        let header = self.header(id);
        let rules = self.rules(id);
        let timer = match id {
            ConversationId::Loop(loop_id) => self
                .overview
                .loops
                .iter()
                .find(|l| l.id == loop_id)
                .map(|l| l.timer),
            _ => None,
        };
        let contacts = self.overview.contacts.clone();
        if let Pane::Conversation(open) = &mut self.pane {
            open.set_header(header);
            open.set_rules(rules);
            open.set_contacts(contacts);
            if let Some(timer) = timer {
                open.set_timer(timer);
            }
        }
    }

    /// Asks for the files of the open conversation that it does not know yet.
    fn files(&self) -> Vec<Command> {
        let Pane::Conversation(open) = &self.pane else {
            return Vec::new();
        };
        open.unknown_files()
            .into_iter()
            .map(|message| {
                Command::Engine(Request::Attachment {
                    conversation: open.id,
                    message,
                    bytes: open.wants_preview(message),
                })
            })
            .collect()
    }

    /// The agenda of one conversation, or of all.
    fn agenda(&mut self, scope: Option<ConversationId>) -> Vec<Command> {
        let name = scope.map(|id| self.header(id).title);
        self.pane = Pane::Agenda(agenda::State::new(scope, name, self.zone.clone()));
        vec![Command::Engine(Request::Agenda(scope))]
    }

    fn shortcut(&mut self, shortcut: Shortcut) -> Vec<Command> {
        match shortcut {
            Shortcut::Invite => self.handle(Message::Invite),
            Shortcut::Agenda => self.agenda(None),
            Shortcut::Previous | Shortcut::Next => {
                let order = self.order();
                if order.is_empty() {
                    return Vec::new();
                }
                let here = self
                    .open_id()
                    .and_then(|id| order.iter().position(|o| *o == id));
                let next = match (here, shortcut) {
                    (None, _) => 0,
                    (Some(i), Shortcut::Previous) => i.saturating_sub(1),
                    (Some(i), _) => (i + 1).min(order.len() - 1),
                };
                if here == Some(next) {
                    return Vec::new();
                }
                self.open(order[next])
            }
            Shortcut::Escape => match self.pane {
                Pane::Conversation(_) => self.conversation(conversation::Message::Cancel),
                Pane::Empty => Vec::new(),
                _ => match self.last_open {
                    Some(id) if self.exists(id) => self.open(id),
                    _ => {
                        self.pane = Pane::Empty;
                        Vec::new()
                    }
                },
            },
        }
    }

    /// The conversations in the order the list shows them.
    pub fn order(&self) -> Vec<ConversationId> {
        sidebar::entries(&self.overview)
            .iter()
            .map(sidebar::Entry::id)
            .collect()
    }

    fn exists(&self, id: ConversationId) -> bool {
        self.order().contains(&id)
    }

    fn open(&mut self, id: ConversationId) -> Vec<Command> {
        let header = self.header(id);
        let mut state = conversation::State::new(id, header);
        state.set_zone(self.zone.clone());
        self.pane = Pane::Conversation(Box::new(state));
        self.fill();
        // The polls are read again: their closing timers are set again.
        self.timers.clear();
        self.last_open = Some(id);
        let mut commands = vec![
            Command::Engine(Request::History(id)),
            Command::Engine(Request::Timer(id)),
            Command::Engine(Request::Polls(id)),
            Command::Engine(Request::Agenda(Some(id))),
            Command::Engine(Request::MarkRead(id)),
            Command::ShowLatest(conversation::MESSAGES),
            Command::Focus(conversation::COMPOSER),
        ];
        if let ConversationId::Loop(loop_id) = id {
            commands.push(Command::Engine(Request::Members(loop_id)));
        }
        commands
    }

    fn verify(&mut self, contact: ContactId) -> Vec<Command> {
        let Some(found) = self.overview.contacts.iter().find(|c| c.id == contact) else {
            return Vec::new();
        };
        self.pane = Pane::Verify(verify::State::new(found));
        vec![Command::Engine(Request::SafetyNumber(contact))]
    }

    fn loop_settings(&mut self, id: LoopId) -> Vec<Command> {
        let Some(found) = self.overview.loops.iter().find(|l| l.id == id) else {
            return Vec::new();
        };
        self.pane = Pane::LoopSettings(loop_settings::State::new(found, &self.overview.contacts));
        vec![Command::Engine(Request::Members(id))]
    }

    fn header(&self, id: ConversationId) -> conversation::Header {
        let mut header = conversation::Header {
            title: String::new(),
            contact: None,
            verified: false,
            identity_changed: false,
            blocked: false,
        };
        match id {
            ConversationId::Contact(contact) => {
                header.contact = Some(contact);
                if let Some(found) = self.overview.contacts.iter().find(|c| c.id == contact) {
                    header.title = found.name.clone();
                    header.verified = found.verified;
                    header.identity_changed = found.identity_changed;
                    header.blocked = found.blocked;
                }
            }
            ConversationId::Loop(loop_id) => {
                if let Some(found) = self.overview.loops.iter().find(|l| l.id == loop_id) {
                    header.title = found.name.clone();
                }
            }
            _ => {}
        }
        header
    }

    fn open_id(&self) -> Option<ConversationId> {
        match &self.pane {
            Pane::Conversation(open) => Some(open.id),
            _ => None,
        }
    }

    fn on_event(&mut self, event: Option<Event>) -> Vec<Command> {
        let refresh = Command::Engine(Request::Refresh);
        let Some(event) = event else {
            let mut commands = vec![refresh];
            if let Some(id) = self.open_id() {
                commands.push(Command::Engine(Request::History(id)));
            }
            return commands;
        };
        match event {
            Event::MessageReceived(message) | Event::MessageUpdated(message) => {
                let mut commands = vec![refresh];
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == message.conversation
                {
                    if !message.from_me {
                        commands = vec![Command::Engine(Request::MarkRead(open.id))];
                    }
                    let file = matches!(
                        message.body,
                        boucle_client_core::MessageBody::Attachment { .. }
                    ) && !message.deleted;
                    let (conversation, id) = (open.id, message.id);
                    open.upsert(message);
                    if file {
                        commands.push(Command::Engine(Request::Attachment {
                            conversation,
                            message: id,
                            bytes: open.wants_preview(id),
                        }));
                    }
                }
                commands
            }
            Event::TransferProgress {
                conversation,
                message,
                done,
                total,
                upload,
            } => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == conversation
                {
                    open.progress(message, done, total, upload);
                }
                Vec::new()
            }
            Event::MessagesExpired { conversation, ids } => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == conversation
                {
                    open.expired(&ids);
                }
                vec![refresh]
            }
            Event::RelayStatus {
                relay, connected, ..
            } => {
                if connected {
                    self.down.remove(&relay);
                } else {
                    self.down.insert(relay);
                }
                Vec::new()
            }
            Event::LoopChanged(id) => {
                let mut commands = vec![refresh];
                let showing = match &self.pane {
                    Pane::Conversation(open) => open.id == ConversationId::Loop(id),
                    Pane::LoopSettings(pane) => pane.id() == id,
                    _ => false,
                };
                if showing {
                    commands.push(Command::Engine(Request::Members(id)));
                }
                commands
            }
            Event::PollChanged { conversation, poll } => {
                if self.open_id() == Some(conversation) {
                    vec![Command::Engine(Request::Poll(conversation, poll))]
                } else {
                    Vec::new()
                }
            }
            Event::AgendaChanged {
                conversation,
                event,
            } => {
                let mut commands = Vec::new();
                if self.open_id() == Some(conversation) {
                    commands.push(Command::Engine(Request::Event(conversation, event)));
                }
                if let Pane::Agenda(pane) = &self.pane
                    && pane.scope().is_none_or(|scope| scope == conversation)
                {
                    commands.push(Command::Engine(Request::Agenda(pane.scope())));
                }
                commands
            }
            // A contact was added, or a key changed (the list and the open
            // conversation's banner follow the refreshed contact).
            _ => vec![refresh],
        }
    }

    fn on_response(&mut self, response: Response) -> Vec<Command> {
        match response {
            Response::Refreshed(Ok(overview)) => {
                self.overview = overview;
                self.problem = None;
                self.fill();
                if let Pane::LoopSettings(pane) = &mut self.pane
                    && let Some(found) = self.overview.loops.iter().find(|l| l.id == pane.id())
                {
                    pane.refresh(found, &self.overview.contacts);
                }
            }
            Response::Refreshed(Err(error)) => {
                self.problem = Some(format!("The conversations could not be read. {error}"));
            }
            Response::History(id, Ok(messages)) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.set_history(messages);
                    return self.files();
                }
            }
            Response::History(id, Err(error)) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.failed(format!("The messages could not be read. {error}"));
                }
            }
            Response::Sent(id, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.sent(result);
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::Changed(id, change, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.changed(&change, result);
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::Invited(result) => {
                if let Pane::Invite(pane) = &mut self.pane {
                    pane.loaded(result);
                }
            }
            Response::Accepted(result) => {
                if let Pane::Accept(pane) = &mut self.pane {
                    pane.finished(result.map(|c| c.name));
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::SafetyNumber(id, result) => {
                if let Pane::Verify(pane) = &mut self.pane
                    && pane.contact() == id
                {
                    pane.loaded(result);
                }
            }
            Response::Verified(result) => {
                if let Pane::Verify(pane) = &mut self.pane {
                    pane.verified(result);
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::LoopCreated(Ok(id)) => {
                let mut commands = vec![Command::Engine(Request::Refresh)];
                commands.extend(self.open(ConversationId::Loop(id)));
                return commands;
            }
            Response::LoopCreated(Err(error)) => {
                if let Pane::NewLoop(pane) = &mut self.pane {
                    pane.failed(error);
                }
            }
            Response::Members(id, members) => match &mut self.pane {
                Pane::Conversation(open) if open.id == ConversationId::Loop(id) => {
                    if let Ok(members) = members {
                        open.set_members(members);
                    }
                }
                Pane::LoopSettings(pane) if pane.id() == id => pane.set_members(members),
                _ => {}
            },
            Response::Organized(id, what, result) => return self.organized(id, *what, result),
            Response::Polls(id, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    match result {
                        Ok(polls) => open.set_polls(polls),
                        Err(error) => open.failed(format!("The polls could not be read. {error}")),
                    }
                    return self.timers();
                }
            }
            Response::Poll(id, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    match result {
                        Ok(poll) => open.set_poll(*poll),
                        Err(error) => open.failed(format!("The poll could not be read. {error}")),
                    }
                    return self.timers();
                }
            }
            Response::Event(id, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    match result {
                        Ok(event) => open.set_event(*event),
                        Err(error) => {
                            open.failed(format!("The event could not be read. {error}"));
                        }
                    }
                }
            }
            Response::Agenda(scope, result) => match &mut self.pane {
                Pane::Agenda(pane) if pane.scope() == scope => {
                    pane.loaded(result, crate::format::now_ms());
                }
                Pane::Conversation(open) if scope == Some(open.id) => match result {
                    Ok(events) => open.set_events(events),
                    Err(error) => open.failed(format!("The events could not be read. {error}")),
                },
                _ => {}
            },
            Response::Exported(result) => {
                if let Pane::Agenda(pane) = &mut self.pane {
                    pane.exported(result);
                }
            }
            Response::FileSent(id, _, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.file_sent(result);
                    let mut commands = self.files();
                    commands.push(Command::Engine(Request::Refresh));
                    commands.push(Command::Focus(conversation::COMPOSER));
                    return commands;
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::Attachment(id, message, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.set_attachment(message, result.map(|a| *a));
                }
            }
            Response::Saved(id, message, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.saved(message, result);
                }
            }
            Response::AddedShared(id, message, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.added(message, result);
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::BlockedSet(contact, blocked, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == ConversationId::Contact(contact)
                {
                    open.blocked_set(blocked, result);
                }
                return vec![Command::Engine(Request::Refresh)];
            }
            Response::TimerSet(id, seconds, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.timer_set(seconds, result);
                    return vec![
                        Command::Engine(Request::History(id)),
                        Command::Engine(Request::Refresh),
                    ];
                }
            }
            Response::Timer(id, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                    && let Ok(seconds) = result
                {
                    open.set_timer(seconds);
                }
            }
            Response::LoopChanged(id, change, result) => {
                if result.is_ok() && change == crate::io::LoopChange::Leave {
                    self.left.insert(id);
                }
                if let Pane::LoopSettings(pane) = &mut self.pane
                    && pane.id() == id
                {
                    let leaving = change == crate::io::LoopChange::Leave;
                    pane.finished(&change, result);
                    if leaving {
                        return vec![Command::Engine(Request::Refresh)];
                    }
                }
                return vec![
                    Command::Engine(Request::Refresh),
                    Command::Engine(Request::Members(id)),
                ];
            }
        }
        Vec::new()
    }

    /// What a poll or event request gave: the form that asked closes on success (back
    /// to the conversation, where the new item shows), or says what went wrong.
    fn organized(
        &mut self,
        id: ConversationId,
        what: Organize,
        result: Result<Organized, String>,
    ) -> Vec<Command> {
        let from_form = matches!(
            (&self.pane, &what),
            (Pane::NewPoll(_), Organize::CreatePoll { .. })
                | (
                    Pane::EventForm(_),
                    Organize::CreateEvent(_) | Organize::EditEvent(..)
                )
        );
        if from_form {
            return match result {
                Ok(_) => {
                    let mut commands = vec![Command::Engine(Request::Refresh)];
                    commands.extend(self.open(id));
                    commands
                }
                Err(error) => {
                    match &mut self.pane {
                        Pane::NewPoll(form) => form.failed(error),
                        Pane::EventForm(form) => form.failed(error),
                        _ => {}
                    }
                    Vec::new()
                }
            };
        }
        if let Pane::Conversation(open) = &mut self.pane
            && open.id == id
        {
            open.organized(&what, result);
            return self.timers();
        }
        Vec::new()
    }

    /// A timer for the next poll of the open conversation that closes by itself: its
    /// view is read again then, and shows it closed.
    fn timers(&mut self) -> Vec<Command> {
        let Pane::Conversation(open) = &self.pane else {
            return Vec::new();
        };
        match open.next_closing(crate::format::now_ms()) {
            Some((at, poll)) if self.timers.insert(poll) => {
                vec![Command::After(at, Request::Poll(open.id, poll))]
            }
            _ => Vec::new(),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let relay_down = !self.down.is_empty();
        let content: Element<'_, Message> = match &self.pane {
            Pane::Empty => container(
                text("Pick a conversation, or invite someone to start one (Ctrl+N).")
                    .size(theme::BODY)
                    .style(theme::muted_text),
            )
            .center(Fill)
            .into(),
            Pane::Conversation(open) => open.view(relay_down).map(Message::Conversation),
            Pane::Invite(pane) => pane.view().map(Message::InvitePane),
            Pane::Accept(pane) => pane.view().map(Message::AcceptPane),
            Pane::Verify(pane) => pane.view().map(Message::VerifyPane),
            Pane::NewLoop(pane) => pane.view().map(Message::NewLoopPane),
            Pane::LoopSettings(pane) => pane.view().map(Message::LoopSettingsPane),
            Pane::NewPoll(pane) => pane.view().map(Message::NewPollPane),
            Pane::EventForm(pane) => pane.view().map(Message::EventFormPane),
            Pane::Agenda(pane) => pane.view().map(Message::AgendaPane),
        };
        row![sidebar::view(self, relay_down), content].into()
    }
}

#[cfg(test)]
mod tests;
