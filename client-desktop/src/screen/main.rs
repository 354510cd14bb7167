//! The main window: the conversation list (contacts and loops, last message, unread
//! badge, delivery state) on the left, and on the right the open conversation or one of
//! the panes (invite, accept, verify, new loop, a loop's members and settings).
//!
//! The state holds no engine: [`State::handle`] turns a message into [`Command`]s
//! (engine requests as data, the clipboard, focus) that the app runs as `Task`s against
//! its engine. Tests call `handle` and answer the requests themselves, or run them with
//! [`crate::io::perform`] against a real engine.
//!
//! Keyboard: Ctrl+N makes an invitation, Ctrl+Up and Ctrl+Down move through the
//! conversations, Escape closes a pane (or cancels a reply, an edit or a selection).

pub mod shortcuts;
mod sidebar;

use std::collections::HashSet;

use boucle_client_core::{ContactId, ConversationId, Event, LoopId};
use iced::widget::{container, row, text};
use iced::{Element, Fill};

pub use self::shortcuts::{Shortcut, shortcut};
use crate::io::{Overview, Request, Response};
use crate::screen::{accept, conversation, invite, loop_settings, new_loop, verify};
use crate::theme;

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
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("main::State").finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum Pane {
    Empty,
    Conversation(conversation::State),
    Invite(invite::State),
    Accept(accept::State),
    Verify(verify::State),
    NewLoop(new_loop::State),
    LoopSettings(loop_settings::State),
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
        };
        (state, vec![Command::Engine(Request::Refresh)])
    }

    pub fn pane(&self) -> &Pane {
        &self.pane
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
        }
    }

    fn shortcut(&mut self, shortcut: Shortcut) -> Vec<Command> {
        match shortcut {
            Shortcut::Invite => self.handle(Message::Invite),
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
        self.pane = Pane::Conversation(conversation::State::new(id, header));
        self.last_open = Some(id);
        let mut commands = vec![
            Command::Engine(Request::History(id)),
            Command::Engine(Request::MarkRead(id)),
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
        };
        match id {
            ConversationId::Contact(contact) => {
                header.contact = Some(contact);
                if let Some(found) = self.overview.contacts.iter().find(|c| c.id == contact) {
                    header.title = found.name.clone();
                    header.verified = found.verified;
                    header.identity_changed = found.identity_changed;
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
                    open.upsert(message);
                }
                commands
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
                if let Some(id) = self.open_id() {
                    let header = self.header(id);
                    if let Pane::Conversation(open) = &mut self.pane {
                        open.set_header(header);
                    }
                }
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
        };
        row![sidebar::view(self, relay_down), content].into()
    }
}

#[cfg(test)]
mod tests;
