//! What the engine says to the main window: its events (a message arrived, a poll
//! changed, a relay went down), and its answers to the requests the window made.
//!
//! Every request goes out with a [`Destination`]: the list (the window itself), or the
//! screen (one opening of a pane) that asked. An answer for a screen that has closed
//! since is dropped, even when a screen of the same kind, or the same conversation
//! opened again, shows now: what it would change belongs to the screen that is gone.
//! The list's part of an answer (a refresh after sending) is still done.

use boucle_client_core::{ConversationId, Event};

use super::{Command, Pane, State, conversation};
use crate::io::{Destination, LoopChange, Organize, Organized, Request, Response};

impl State {
    pub(super) fn on_event(&mut self, event: Option<Event>) -> Vec<Command> {
        let refresh = Command::Engine(Destination::Window, Request::Refresh);
        let here = self.here();
        let Some(event) = event else {
            let mut commands = vec![refresh];
            if let Some(id) = self.open_id() {
                commands.push(Command::Engine(here, Request::History(id)));
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
                        commands = vec![Command::Engine(
                            Destination::Window,
                            Request::MarkRead(open.id),
                        )];
                    }
                    let file = matches!(
                        message.body,
                        boucle_client_core::MessageBody::Attachment { .. }
                    ) && !message.deleted;
                    let (conversation, id) = (open.id, message.id);
                    open.upsert(message);
                    if file {
                        commands.push(Command::Engine(
                            here,
                            Request::Attachment {
                                conversation,
                                message: id,
                                bytes: open.wants_preview(id),
                            },
                        ));
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
                    commands.push(Command::Engine(here, Request::Members(id)));
                }
                commands
            }
            Event::PollChanged { conversation, poll } => {
                if self.open_id() == Some(conversation) {
                    vec![Command::Engine(here, Request::Poll(conversation, poll))]
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
                    commands.push(Command::Engine(here, Request::Event(conversation, event)));
                }
                if let Pane::Agenda(pane) = &self.pane
                    && pane.scope().is_none_or(|scope| scope == conversation)
                {
                    commands.push(Command::Engine(here, Request::Agenda(pane.scope())));
                }
                commands
            }
            // A contact was added, or a key changed (the list and the open
            // conversation's banner follow the refreshed contact).
            _ => vec![refresh],
        }
    }

    /// The pane that asked, if it is still the one showing.
    fn addressed(&mut self, to: Destination) -> Option<&mut Pane> {
        (to == self.here()).then_some(&mut self.pane)
    }

    /// The open conversation `id`, if it is the screen that asked.
    fn asking_conversation(
        &mut self,
        to: Destination,
        id: ConversationId,
    ) -> Option<&mut conversation::State> {
        match self.addressed(to) {
            Some(Pane::Conversation(open)) if open.id == id => Some(open),
            _ => None,
        }
    }

    pub(super) fn on_response(&mut self, to: Destination, response: Response) -> Vec<Command> {
        let refresh = || vec![Command::Engine(Destination::Window, Request::Refresh)];
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
            Response::History(id, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    match result {
                        Ok(messages) => {
                            open.set_history(messages);
                            return self.files();
                        }
                        Err(error) => {
                            open.failed(format!("The messages could not be read. {error}"));
                        }
                    }
                }
            }
            Response::Sent(id, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.sent(result);
                }
                return refresh();
            }
            Response::Changed(id, change, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.changed(&change, result);
                }
                return refresh();
            }
            Response::Invited(result) => {
                if let Some(Pane::Invite(pane)) = self.addressed(to) {
                    pane.loaded(result);
                }
            }
            Response::Accepted(result) => {
                if let Some(Pane::Accept(pane)) = self.addressed(to) {
                    pane.finished(result.map(|c| c.name));
                }
                return refresh();
            }
            Response::SafetyNumber(id, result) => {
                if let Some(Pane::Verify(pane)) = self.addressed(to)
                    && pane.contact() == id
                {
                    pane.loaded(result);
                }
            }
            Response::Verified(result) => {
                if let Some(Pane::Verify(pane)) = self.addressed(to) {
                    pane.verified(result);
                }
                return refresh();
            }
            Response::LoopCreated(Ok(id)) => {
                let mut commands = refresh();
                // Only the form that made it opens it: the user may have gone elsewhere.
                if let Some(Pane::NewLoop(_)) = self.addressed(to) {
                    commands.extend(self.open(ConversationId::Loop(id)));
                }
                return commands;
            }
            Response::LoopCreated(Err(error)) => {
                if let Some(Pane::NewLoop(pane)) = self.addressed(to) {
                    pane.failed(error);
                }
            }
            Response::Members(id, members) => match self.addressed(to) {
                Some(Pane::Conversation(open)) if open.id == ConversationId::Loop(id) => {
                    if let Ok(members) = members {
                        open.set_members(members);
                    }
                }
                Some(Pane::LoopSettings(pane)) if pane.id() == id => pane.set_members(members),
                _ => {}
            },
            Response::Organized(id, what, result) => return self.organized(to, id, *what, result),
            Response::Polls(id, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    match result {
                        Ok(polls) => open.set_polls(polls),
                        Err(error) => open.failed(format!("The polls could not be read. {error}")),
                    }
                    return self.timers();
                }
            }
            Response::Poll(id, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    match result {
                        Ok(poll) => open.set_poll(*poll),
                        Err(error) => open.failed(format!("The poll could not be read. {error}")),
                    }
                    return self.timers();
                }
            }
            Response::Event(id, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    match result {
                        Ok(event) => open.set_event(*event),
                        Err(error) => {
                            open.failed(format!("The event could not be read. {error}"));
                        }
                    }
                }
            }
            Response::Agenda(scope, result) => match self.addressed(to) {
                Some(Pane::Agenda(pane)) if pane.scope() == scope => {
                    pane.loaded(result, crate::format::now_ms());
                }
                Some(Pane::Conversation(open)) if scope == Some(open.id) => match result {
                    Ok(events) => open.set_events(events),
                    Err(error) => open.failed(format!("The events could not be read. {error}")),
                },
                _ => {}
            },
            Response::Exported(result) => {
                if let Some(Pane::Agenda(pane)) = self.addressed(to) {
                    pane.exported(result);
                }
            }
            Response::FileSent(id, _, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.file_sent(result);
                    let mut commands = self.files();
                    commands.extend(refresh());
                    commands.push(Command::Focus(conversation::COMPOSER));
                    return commands;
                }
                return refresh();
            }
            Response::Attachment(id, message, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.set_attachment(message, result.map(|a| *a));
                }
            }
            Response::Saved(id, message, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.saved(message, result);
                }
            }
            Response::AddedShared(id, message, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.added(message, result);
                }
                return refresh();
            }
            Response::BlockedSet(contact, blocked, result) => {
                if let Some(open) = self.asking_conversation(to, ConversationId::Contact(contact)) {
                    open.blocked_set(blocked, result);
                }
                return refresh();
            }
            Response::TimerSet(id, seconds, result) => {
                if let Some(open) = self.asking_conversation(to, id) {
                    open.timer_set(seconds, result);
                    return vec![
                        Command::Engine(to, Request::History(id)),
                        Command::Engine(Destination::Window, Request::Refresh),
                    ];
                }
            }
            Response::Timer(id, result) => {
                if let Some(open) = self.asking_conversation(to, id)
                    && let Ok(seconds) = result
                {
                    open.set_timer(seconds);
                }
            }
            Response::LoopChanged(id, change, result) => {
                let leaving = change == LoopChange::Leave;
                if result.is_ok() && leaving {
                    self.left.insert(id);
                }
                if let Some(Pane::LoopSettings(pane)) = self.addressed(to)
                    && pane.id() == id
                {
                    pane.finished(&change, result);
                    if leaving {
                        return refresh();
                    }
                }
                let mut commands = refresh();
                commands.push(Command::Engine(self.here(), Request::Members(id)));
                return commands;
            }
        }
        Vec::new()
    }

    /// What a poll or event request gave: the form that asked closes on success (back
    /// to the conversation, where the new item shows), or says what went wrong; in the
    /// conversation, the card follows.
    fn organized(
        &mut self,
        to: Destination,
        id: ConversationId,
        what: Organize,
        result: Result<Organized, String>,
    ) -> Vec<Command> {
        let done = result.is_ok();
        match self.addressed(to) {
            Some(Pane::NewPoll(form)) if matches!(what, Organize::CreatePoll { .. }) => {
                if let Err(error) = result {
                    form.failed(error);
                    return Vec::new();
                }
            }
            Some(Pane::EventForm(form))
                if matches!(what, Organize::CreateEvent(_) | Organize::EditEvent(..)) =>
            {
                if let Err(error) = result {
                    form.failed(error);
                    return Vec::new();
                }
            }
            Some(Pane::Conversation(open)) if open.id == id => {
                open.organized(&what, result);
                return self.timers();
            }
            // The screen that asked is gone: the list may still show the new item.
            _ => {
                return if done {
                    vec![Command::Engine(Destination::Window, Request::Refresh)]
                } else {
                    Vec::new()
                };
            }
        }
        let mut commands = vec![Command::Engine(Destination::Window, Request::Refresh)];
        commands.extend(self.open(id));
        commands
    }

    /// A timer for the next poll of the open conversation that closes by itself: its
    /// view is read again then, and shows it closed.
    pub(super) fn timers(&mut self) -> Vec<Command> {
        let here = self.here();
        let Pane::Conversation(open) = &self.pane else {
            return Vec::new();
        };
        match open.next_closing(crate::format::now_ms()) {
            Some((at, poll)) if self.timers.insert(poll) => {
                vec![Command::After(at, here, Request::Poll(open.id, poll))]
            }
            _ => Vec::new(),
        }
    }
}
