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
//! Every engine request names the screen that asked ([`Destination`]): each pane shown
//! is a new screen, and an answer for one that has closed since is dropped
//! ([`engine`]). The clock is a tick ([`tick`], [`Message::Tick`]): views show times
//! relative to the last one and never read it.
//!
//! Keyboard: Ctrl+N makes an invitation, Ctrl+G opens the agenda, Ctrl+Up and Ctrl+Down
//! move through the conversations, Escape closes a pane (or cancels a reply, an edit or
//! a selection).

mod engine;
pub mod shortcuts;
mod sidebar;

use std::collections::HashSet;

use boucle_client_core::{ContactId, ConversationId, Event, LoopId, MessageId};
use iced::widget::{container, row, text};
use iced::{Element, Fill};

pub use self::shortcuts::{Shortcut, shortcut};
use crate::io::{Destination, Organize, Overview, Request, Response, ScreenId};
use crate::screen::{
    accept, agenda, conversation, event_form, invite, loop_settings, new_loop, new_poll, verify,
};
use crate::theme;
use crate::when::Zone;

/// How often the clock ticks: times are shown to the minute ("5 min ago").
const TICK: std::time::Duration = std::time::Duration::from_secs(10);

/// The clock, as [`Message::Tick`]s (the first one after [`TICK`]: the app gives the
/// time at once when the window opens).
pub fn tick() -> iced::Subscription<Message> {
    iced::time::every(TICK).map(|_| Message::Tick(crate::format::now_ms()))
}

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
    /// The pane showing, as a screen: a new one each time a pane is shown.
    screen: ScreenId,
    /// The time (unix ms) of the last tick; 0 until the first.
    now: u64,
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
    /// The engine's answer to a request, for the screen that made it.
    Response(Destination, Response),
    /// The clock moved on: now, in unix ms.
    Tick(u64),
}

/// Work for the runtime.
#[derive(Debug, Clone)]
pub enum Command {
    /// Ask the engine; the answer comes back as [`Message::Response`] with this
    /// destination.
    Engine(Destination, Request),
    Copy(String),
    Focus(&'static str),
    /// Focus an input whose id is made at run time (a poll's option).
    FocusInput(String),
    /// Run this request at this time (unix ms), or at once if it is past.
    After(u64, Destination, Request),
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
            screen: ScreenId::default(),
            now: 0,
        };
        (
            state,
            vec![Command::Engine(Destination::Window, Request::Refresh)],
        )
    }

    pub fn pane(&self) -> &Pane {
        &self.pane
    }

    /// Shows a pane: a new screen, which the answers for the one before do not reach.
    fn show(&mut self, pane: Pane) {
        self.pane = pane;
        self.screen = self.screen.next();
    }

    /// The screen showing, as the destination of what it asks.
    fn here(&self) -> Destination {
        Destination::Screen(self.screen)
    }

    /// A request for the screen showing.
    fn ask(&self, request: Request) -> Command {
        Command::Engine(self.here(), request)
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
                self.show(Pane::Invite(invite::State::default()));
                vec![self.ask(Request::Invite)]
            }
            Message::Accept => {
                self.show(Pane::Accept(accept::State::default()));
                vec![Command::Focus(accept::LINK)]
            }
            Message::NewLoop => {
                self.show(Pane::NewLoop(new_loop::State::new(&self.overview.contacts)));
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
                    invite::Action::Again => vec![self.ask(Request::Invite)],
                }
            }
            Message::AcceptPane(message) => {
                let Pane::Accept(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    accept::Action::None => Vec::new(),
                    accept::Action::Accept(link) => vec![self.ask(Request::Accept(link))],
                }
            }
            Message::VerifyPane(message) => {
                let Pane::Verify(pane) = &mut self.pane else {
                    return Vec::new();
                };
                match pane.update(message) {
                    verify::Action::None => Vec::new(),
                    verify::Action::MarkVerified(id) => {
                        vec![self.ask(Request::MarkVerified(id))]
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
                        vec![self.ask(Request::CreateLoop { name, contacts })]
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
                        vec![self.ask(Request::Loop(id, change))]
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
                    } => vec![self.ask(Request::Organize(
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
                        vec![self.ask(Request::Organize(id, what))]
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
                        vec![self.ask(Request::Export { events, path })]
                    }
                }
            }
            Message::Agenda => self.agenda(None),
            Message::Shortcut(shortcut) => self.shortcut(shortcut),
            Message::Event(event) => self.on_event(event),
            Message::Response(to, response) => self.on_response(to, response),
            Message::Tick(now) => {
                self.now = now;
                if let Pane::Conversation(open) = &mut self.pane {
                    open.update(conversation::Message::Tick(now));
                }
                Vec::new()
            }
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
                self.ask(Request::Send {
                    conversation,
                    text,
                    reply_to,
                }),
                Command::Focus(conversation::COMPOSER),
            ],
            conversation::Action::Change { message, change } => {
                vec![
                    self.ask(Request::Change {
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
                vec![self.ask(Request::Organize(conversation, what))]
            }
            conversation::Action::NewPoll => {
                let title = self.header(conversation).title;
                self.show(Pane::NewPoll(new_poll::State::new(
                    conversation,
                    &title,
                    self.zone.clone(),
                )));
                vec![Command::Focus(new_poll::QUESTION)]
            }
            conversation::Action::NewEvent => {
                let title = self.header(conversation).title;
                self.show(Pane::EventForm(event_form::State::new(
                    conversation,
                    &title,
                    &self.zone,
                    crate::format::now_ms(),
                )));
                vec![Command::Focus(event_form::TITLE)]
            }
            conversation::Action::EditEvent(event) => {
                self.show(Pane::EventForm(event_form::State::edit(&event)));
                vec![Command::Focus(event_form::TITLE)]
            }
            conversation::Action::Agenda => self.agenda(Some(conversation)),
            conversation::Action::Focus(id) => vec![Command::Focus(id)],
            conversation::Action::SendFile(path) => {
                vec![self.ask(Request::SendFile { conversation, path })]
            }
            conversation::Action::SaveFile(message, path) => vec![self.ask(Request::Save {
                conversation,
                message,
                path,
            })],
            conversation::Action::Share(contact) => vec![
                self.ask(Request::Share(conversation, contact)),
                Command::Focus(conversation::COMPOSER),
            ],
            conversation::Action::AddContact(message) => {
                vec![self.ask(Request::AddShared(conversation, message))]
            }
            conversation::Action::OpenContact(contact) => {
                self.open(ConversationId::Contact(contact))
            }
            conversation::Action::SetTimer(seconds) => {
                vec![self.ask(Request::SetTimer(conversation, seconds))]
            }
            conversation::Action::SetBlocked(contact, blocked) => {
                vec![self.ask(Request::SetBlocked(contact, blocked))]
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
                self.ask(Request::Attachment {
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
        self.show(Pane::Agenda(agenda::State::new(
            scope,
            name,
            self.zone.clone(),
        )));
        vec![self.ask(Request::Agenda(scope))]
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
                        self.show(Pane::Empty);
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
        state.update(conversation::Message::Tick(self.now));
        self.show(Pane::Conversation(Box::new(state)));
        self.fill();
        // The polls are read again: their closing timers are set again.
        self.timers.clear();
        self.last_open = Some(id);
        let mut commands = vec![
            self.ask(Request::History(id)),
            self.ask(Request::Timer(id)),
            self.ask(Request::Polls(id)),
            self.ask(Request::Agenda(Some(id))),
            Command::Engine(Destination::Window, Request::MarkRead(id)),
            Command::ShowLatest(conversation::MESSAGES),
            Command::Focus(conversation::COMPOSER),
        ];
        if let ConversationId::Loop(loop_id) = id {
            commands.push(self.ask(Request::Members(loop_id)));
        }
        commands
    }

    fn verify(&mut self, contact: ContactId) -> Vec<Command> {
        let Some(found) = self.overview.contacts.iter().find(|c| c.id == contact) else {
            return Vec::new();
        };
        self.show(Pane::Verify(verify::State::new(found)));
        vec![self.ask(Request::SafetyNumber(contact))]
    }

    fn loop_settings(&mut self, id: LoopId) -> Vec<Command> {
        let Some(found) = self.overview.loops.iter().find(|l| l.id == id) else {
            return Vec::new();
        };
        let pane = Pane::LoopSettings(loop_settings::State::new(found, &self.overview.contacts));
        self.show(pane);
        vec![self.ask(Request::Members(id))]
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
