//! The main window: the conversation list (contacts and loops, last message, unread
//! badge) on the left, and on the right the open conversation or one of the panes
//! (invite, accept, verify, new loop).
//!
//! [`State::handle`] turns a message into [`Command`]s (engine requests as data, the
//! clipboard, focus); [`State::update`] runs them as `Task`s. Tests call `handle` and run
//! the requests with [`crate::io::perform`] themselves.

use std::collections::HashSet;

use boucle_client_core::{Contact, ConversationId, Engine, Event, LoopView};
use iced::widget::{button, column, container, operation, row, scrollable, space, text};
use iced::{Alignment, Element, Fill, Subscription, Task};

use crate::format;
use crate::io::{self, Overview, Request, Response};
use crate::screen::{accept, conversation, invite, new_loop, verify};
use crate::theme;

pub struct State {
    engine: Engine,
    me: String,
    overview: Overview,
    pane: Pane,
    /// Relays reported down, by host.
    down: HashSet<String>,
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
    /// The main window of an unlocked engine, and the commands that load it.
    pub fn new(engine: Engine) -> (State, Vec<Command>) {
        let me = engine.name().unwrap_or_default();
        let state = State {
            engine,
            me,
            overview: Overview::default(),
            pane: Pane::Empty,
            down: HashSet::new(),
        };
        (state, vec![Command::Engine(Request::Refresh)])
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
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

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let tasks = self
            .handle(message)
            .into_iter()
            .map(|command| match command {
                Command::Engine(request) => {
                    Task::perform(io::perform(self.engine.clone(), request), Message::Response)
                }
                Command::Copy(contents) => iced::clipboard::write(contents),
                Command::Focus(id) => operation::focus(id),
            });
        Task::batch(tasks)
    }

    pub fn subscription(&self) -> Subscription<Message> {
        Subscription::run_with(EngineKey(self.engine.clone()), events).map(Message::Event)
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
            Message::Conversation(message) => {
                let Pane::Conversation(open) = &mut self.pane else {
                    return Vec::new();
                };
                match open.update(message) {
                    conversation::Action::None => Vec::new(),
                    conversation::Action::Send { text, reply_to } => {
                        vec![Command::Engine(Request::Send {
                            conversation: open.id,
                            text,
                            reply_to,
                        })]
                    }
                    conversation::Action::Verify(contact) => self.verify(contact),
                }
            }
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
            Message::Event(event) => self.on_event(event),
            Message::Response(response) => self.on_response(response),
        }
    }

    fn open(&mut self, id: ConversationId) -> Vec<Command> {
        let header = self.header(id);
        self.pane = Pane::Conversation(conversation::State::new(id, header));
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

    fn verify(&mut self, contact: boucle_client_core::ContactId) -> Vec<Command> {
        let Some(found) = self.overview.contacts.iter().find(|c| c.id == contact) else {
            return Vec::new();
        };
        self.pane = Pane::Verify(verify::State::new(found));
        vec![Command::Engine(Request::SafetyNumber(contact))]
    }

    fn header(&self, id: ConversationId) -> conversation::Header {
        match id {
            ConversationId::Contact(contact) => {
                let found = self.overview.contacts.iter().find(|c| c.id == contact);
                conversation::Header {
                    title: found.map(|c| c.name.clone()).unwrap_or_default(),
                    contact: Some(contact),
                    verified: found.is_some_and(|c| c.verified),
                    identity_changed: found.is_some_and(|c| c.identity_changed),
                }
            }
            ConversationId::Loop(loop_id) => conversation::Header {
                title: self
                    .overview
                    .loops
                    .iter()
                    .find(|l| l.id == loop_id)
                    .map(|l| l.name.clone())
                    .unwrap_or_default(),
                contact: None,
                verified: false,
                identity_changed: false,
            },
            _ => conversation::Header {
                title: String::new(),
                contact: None,
                verified: false,
                identity_changed: false,
            },
        }
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
                if self.open_id() == Some(ConversationId::Loop(id)) {
                    commands.push(Command::Engine(Request::Members(id)));
                }
                commands
            }
            _ => vec![refresh],
        }
    }

    fn on_response(&mut self, response: Response) -> Vec<Command> {
        match response {
            Response::Refreshed(Ok(overview)) => {
                self.overview = overview;
                if let Some(id) = self.open_id() {
                    let header = self.header(id);
                    if let Pane::Conversation(open) = &mut self.pane {
                        open.set_header(header);
                    }
                }
            }
            Response::Refreshed(Err(error)) => tracing::warn!("refresh failed: {error}"),
            Response::History(id, Ok(messages)) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.set_history(messages);
                }
            }
            Response::History(_, Err(error)) => tracing::warn!("history failed: {error}"),
            Response::Sent(id, result) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == id
                {
                    open.sent(result);
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
                return vec![
                    Command::Engine(Request::Refresh),
                    Command::Engine(Request::History(ConversationId::Loop(id))),
                ]
                .into_iter()
                .chain(self.open_after_refresh(id))
                .collect();
            }
            Response::LoopCreated(Err(error)) => {
                if let Pane::NewLoop(pane) = &mut self.pane {
                    pane.failed(error);
                }
            }
            Response::Members(id, Ok(members)) => {
                if let Pane::Conversation(open) = &mut self.pane
                    && open.id == ConversationId::Loop(id)
                {
                    open.set_members(members);
                }
            }
            Response::Members(_, Err(error)) => tracing::warn!("members failed: {error}"),
            Response::Done => {}
        }
        Vec::new()
    }

    fn open_after_refresh(&mut self, id: boucle_client_core::LoopId) -> Vec<Command> {
        self.open(ConversationId::Loop(id))
    }

    pub fn view(&self) -> Element<'_, Message> {
        let relay_down = !self.down.is_empty();
        let content: Element<'_, Message> = match &self.pane {
            Pane::Empty => container(
                column![
                    text("Pick a conversation, or invite someone to start one.").size(theme::BODY),
                ]
                .spacing(theme::GAP),
            )
            .center(Fill)
            .into(),
            Pane::Conversation(open) => open.view(relay_down).map(Message::Conversation),
            Pane::Invite(pane) => pane.view().map(Message::InvitePane),
            Pane::Accept(pane) => pane.view().map(Message::AcceptPane),
            Pane::Verify(pane) => pane.view().map(Message::VerifyPane),
            Pane::NewLoop(pane) => pane.view().map(Message::NewLoopPane),
        };
        row![self.sidebar(relay_down), content].into()
    }

    fn sidebar(&self, relay_down: bool) -> Element<'_, Message> {
        let now = format::now_ms();
        let status = if relay_down {
            text("Relay unreachable: messages wait in the queue").size(theme::SMALL)
        } else {
            text("Connected").size(theme::SMALL)
        };
        let actions = column![
            wide_button("Invite someone", Message::Invite),
            wide_button("Accept an invitation", Message::Accept),
            wide_button("New loop", Message::NewLoop),
        ]
        .spacing(6);
        let mut entries: Vec<Entry<'_>> = self
            .overview
            .contacts
            .iter()
            .map(Entry::Contact)
            .chain(self.overview.loops.iter().map(Entry::Loop))
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.last_activity()));
        let open = self.open_id();
        let list = column(entries.into_iter().map(|entry| {
            let id = entry.id();
            let last = self.overview.last.get(&id);
            self.entry(entry, last, now, open == Some(id))
        }))
        .spacing(2);
        let empty = self.overview.contacts.is_empty() && self.overview.loops.is_empty();
        let hint = empty.then(|| {
            text("No conversations yet. Invite someone, or accept an invitation you received.")
                .size(theme::SMALL)
        });
        let body = column![
            column![text(&self.me).size(20), status].spacing(2),
            actions,
            text("Conversations").size(theme::SMALL),
            hint,
            scrollable(list).height(Fill),
        ]
        .spacing(theme::GAP * 1.5)
        .padding(theme::GAP * 2.0);
        container(body)
            .width(theme::SIDEBAR)
            .height(Fill)
            .style(theme::sidebar)
            .into()
    }

    fn entry<'a>(
        &'a self,
        entry: Entry<'a>,
        last: Option<&'a boucle_client_core::MessageView>,
        now: u64,
        selected: bool,
    ) -> Element<'a, Message> {
        let (name, unread, tag) = match entry {
            Entry::Contact(c) => (
                c.name.as_str(),
                c.unread,
                if c.identity_changed {
                    "key changed"
                } else if c.verified {
                    "verified"
                } else {
                    ""
                },
            ),
            Entry::Loop(l) => (
                l.name.as_str(),
                l.unread,
                if l.member { "loop" } else { "loop, joining…" },
            ),
        };
        let preview = last
            .map(|m| match (&entry, &m.sender) {
                (Entry::Loop(_), Some(sender)) if !m.from_me => {
                    format!("{sender}: {}", format::preview(m, 28))
                }
                _ => format::preview(m, 30),
            })
            .unwrap_or_else(|| "No messages yet".to_owned());
        let when = (entry.last_activity() > 0)
            .then(|| text(format::ago(now, entry.last_activity())).size(12));
        let badge = (unread > 0).then(|| {
            container(text(unread.to_string()).size(12))
                .padding([1, 7])
                .style(theme::badge)
        });
        let tag = (!tag.is_empty()).then(|| text(tag).size(12));
        let top = row![text(name).size(theme::BODY), tag, space::horizontal(), when]
            .spacing(6)
            .align_y(Alignment::Center);
        let bottom = row![
            text(preview)
                .size(theme::SMALL)
                .width(Fill)
                .wrapping(text::Wrapping::None),
            badge
        ]
        .spacing(6)
        .align_y(Alignment::Center);
        button(column![top, bottom].spacing(2))
            .width(Fill)
            .padding([8, 10])
            .style(if selected {
                button::primary
            } else {
                button::text
            })
            .on_press(Message::Open(entry.id()))
            .into()
    }
}

fn wide_button(label: &str, message: Message) -> Element<'_, Message> {
    button(text(label).size(theme::BODY))
        .width(Fill)
        .padding([7, 12])
        .style(button::secondary)
        .on_press(message)
        .into()
}

#[derive(Clone, Copy)]
enum Entry<'a> {
    Contact(&'a Contact),
    Loop(&'a LoopView),
}

impl Entry<'_> {
    fn id(&self) -> ConversationId {
        match self {
            Entry::Contact(c) => ConversationId::Contact(c.id),
            Entry::Loop(l) => ConversationId::Loop(l.id),
        }
    }

    fn last_activity(&self) -> u64 {
        match self {
            Entry::Contact(c) => c.last_activity,
            Entry::Loop(l) => l.last_activity,
        }
    }
}

/// The engine as a subscription key: there is one engine at a time.
struct EngineKey(Engine);

impl std::hash::Hash for EngineKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "boucle-engine-events".hash(state);
    }
}

fn events(key: &EngineKey) -> impl iced::futures::Stream<Item = Option<Event>> + use<> {
    use tokio::sync::broadcast::error::RecvError;
    let receiver = key.0.events();
    iced::futures::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(event) => Some((Some(event), receiver)),
            Err(RecvError::Lagged(_)) => Some((None, receiver)),
            Err(RecvError::Closed) => None,
        }
    })
}
