//! The polls and events of the conversation, as cards in its history ([`poll`],
//! [`event`]): their live state as the engine has it, voting, answering, and for their
//! author and admins closing a poll, editing or cancelling an event (closing and
//! cancelling after a confirmation).

pub mod event;
pub mod poll;

use std::collections::HashMap;

use boucle_client_core::{EventView, MessageId, MessageView, PollView, RsvpAnswer};

use super::{Confirm, Status};
use crate::io::{Organize, Organized};

#[derive(Debug, Default)]
pub struct State {
    /// The live state of the polls and events in the history, by message id.
    polls: HashMap<MessageId, PollView>,
    events: HashMap<MessageId, EventView>,
}

#[derive(Debug, Clone)]
pub enum Message {
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
    /// Vote, close a poll, answer, cancel an event.
    Organize(Organize),
    /// Open the form for this event.
    EditEvent(Box<EventView>),
}

impl State {
    pub fn set_polls(&mut self, polls: Vec<PollView>) {
        self.polls = polls.into_iter().map(|p| (p.id, p)).collect();
    }

    pub fn set_poll(&mut self, poll: PollView) {
        self.polls.insert(poll.id, poll);
    }

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

    /// These messages are gone.
    pub fn forget(&mut self, ids: &[MessageId]) {
        for id in ids {
            self.polls.remove(id);
            self.events.remove(id);
        }
    }

    /// The next moment an open poll closes by itself, and which.
    pub fn next_closing(&self, now: u64) -> Option<(u64, MessageId)> {
        self.polls
            .values()
            .filter(|p| !p.closed)
            .filter_map(|p| p.closes_at.map(|at| (at, p.id)))
            .filter(|(at, _)| *at > now)
            .min()
    }

    pub fn update(
        &mut self,
        message: Message,
        now: u64,
        confirm: &mut Option<Confirm>,
        status: &mut Status,
    ) -> Action {
        match message {
            Message::Vote(id, option) => {
                let Some(poll) = self.polls.get(&id) else {
                    return Action::None;
                };
                if poll::is_closed(poll, now) {
                    status.refuse("This poll is closed: votes no longer count.".into());
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
                status.doing(if choices.is_empty() {
                    "Taking your vote back…"
                } else {
                    "Sending your vote…"
                });
                Action::Organize(Organize::Vote { poll: id, choices })
            }
            Message::AskClosePoll(id) => {
                *confirm = Some(Confirm::ClosePoll(id));
                Action::None
            }
            Message::ConfirmClosePoll(id) => {
                if matches!(confirm, Some(Confirm::ClosePoll(_))) {
                    *confirm = None;
                }
                status.doing("Closing the poll…");
                Action::Organize(Organize::ClosePoll(id))
            }
            Message::KeepPoll => {
                if matches!(confirm, Some(Confirm::ClosePoll(_))) {
                    *confirm = None;
                }
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
                status.doing("Sending your answer…");
                Action::Organize(Organize::Rsvp(id, answer))
            }
            Message::EditEvent(id) => match self.events.get(&id) {
                Some(event) => Action::EditEvent(Box::new(event.clone())),
                None => Action::None,
            },
            Message::AskCancelEvent(id) => {
                *confirm = Some(Confirm::CancelEvent(id));
                Action::None
            }
            Message::ConfirmCancelEvent(id) => {
                if matches!(confirm, Some(Confirm::CancelEvent(_))) {
                    *confirm = None;
                }
                status.doing("Cancelling the event…");
                Action::Organize(Organize::CancelEvent(id))
            }
            Message::KeepEvent => {
                if matches!(confirm, Some(Confirm::CancelEvent(_))) {
                    *confirm = None;
                }
                Action::None
            }
        }
    }

    /// The engine did (or refused) a vote, a close, an answer or a cancellation; a new
    /// poll's or event's entry in the history is given back for the history.
    pub fn organized(
        &mut self,
        what: &Organize,
        result: Result<Organized, String>,
        status: &mut Status,
    ) -> Option<MessageView> {
        match result {
            Ok(organized) => {
                status.answered(None);
                match organized {
                    Organized::Poll(poll) => self.set_poll(*poll),
                    Organized::Event(event) => self.set_event(*event),
                    Organized::Message(message) => return Some(*message),
                }
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
                status.answered(Some(format!("{what} {error}")));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixtures::{event, poll};

    const POLL: MessageId = MessageId([5; 16]);
    const EVENT: MessageId = MessageId([6; 16]);
    const NOW: u64 = 1_749_751_200_000;

    fn state() -> State {
        let mut state = State::default();
        state.set_polls(vec![poll(
            5,
            "Which day?",
            &["Thu", "Fri", "Sat"],
            &[],
            false,
        )]);
        state.set_events(vec![event(6, "Assembly", NOW + 86_400_000, &[])]);
        state
    }

    fn vote(state: &mut State, option: u8, status: &mut Status) -> Action {
        state.update(Message::Vote(POLL, option), NOW, &mut None, status)
    }

    #[test]
    fn one_choice_is_replaced_and_several_add_up() {
        let mut state = state();
        let mut status = Status::default();
        assert_eq!(
            vote(&mut state, 1, &mut status),
            Action::Organize(Organize::Vote {
                poll: POLL,
                choices: vec![1]
            })
        );
        assert_eq!(status.pending, Some("Sending your vote…"));
        let mut voted = poll(
            5,
            "Which day?",
            &["Thu", "Fri", "Sat"],
            &[(1, "Alice")],
            false,
        );
        state.set_poll(voted.clone());
        assert_eq!(
            vote(&mut state, 2, &mut status),
            Action::Organize(Organize::Vote {
                poll: POLL,
                choices: vec![2]
            })
        );
        assert_eq!(
            vote(&mut state, 1, &mut status),
            Action::Organize(Organize::Vote {
                poll: POLL,
                choices: vec![]
            }),
            "our choice again takes it back"
        );
        assert_eq!(status.pending, Some("Taking your vote back…"));
        voted.multiple = true;
        state.set_poll(voted);
        assert_eq!(
            vote(&mut state, 0, &mut status),
            Action::Organize(Organize::Vote {
                poll: POLL,
                choices: vec![0, 1]
            })
        );
    }

    #[test]
    fn a_poll_past_its_closing_time_takes_no_votes() {
        let mut state = state();
        let mut closing = poll(5, "Which day?", &["Thu", "Fri"], &[], false);
        closing.closes_at = Some(NOW);
        state.set_poll(closing);
        let mut status = Status::default();
        assert_eq!(vote(&mut state, 0, &mut status), Action::None);
        assert_eq!(
            status.error(),
            Some("This poll is closed: votes no longer count.")
        );
        assert_eq!(
            state.update(Message::Vote(POLL, 0), NOW - 1, &mut None, &mut status),
            Action::Organize(Organize::Vote {
                poll: POLL,
                choices: vec![0]
            }),
            "a moment before, it did"
        );
        assert_eq!(state.next_closing(NOW - 1), Some((NOW, POLL)));
        assert_eq!(state.next_closing(NOW), None);
    }

    #[test]
    fn closing_and_cancelling_ask_one_question_at_a_time() {
        let mut state = state();
        let mut status = Status::default();
        let mut confirm = Some(Confirm::Block);
        state.update(Message::AskClosePoll(POLL), NOW, &mut confirm, &mut status);
        assert_eq!(confirm, Some(Confirm::ClosePoll(POLL)));
        state.update(
            Message::AskCancelEvent(EVENT),
            NOW,
            &mut confirm,
            &mut status,
        );
        assert_eq!(
            confirm,
            Some(Confirm::CancelEvent(EVENT)),
            "the poll's went"
        );
        state.update(Message::KeepPoll, NOW, &mut confirm, &mut status);
        assert_eq!(
            confirm,
            Some(Confirm::CancelEvent(EVENT)),
            "keeping the poll says nothing about the event"
        );
        assert_eq!(
            state.update(
                Message::ConfirmCancelEvent(EVENT),
                NOW,
                &mut confirm,
                &mut status
            ),
            Action::Organize(Organize::CancelEvent(EVENT))
        );
        assert_eq!(confirm, None);
        assert_eq!(status.pending, Some("Cancelling the event…"));
    }

    #[test]
    fn answers_are_sent_once_and_results_land() {
        let mut state = state();
        let mut status = Status::default();
        let going = Message::Rsvp(EVENT, RsvpAnswer::Going);
        assert_eq!(
            state.update(going.clone(), NOW, &mut None, &mut status),
            Action::Organize(Organize::Rsvp(EVENT, RsvpAnswer::Going))
        );
        let mut answered = event(6, "Assembly", NOW + 86_400_000, &[]);
        answered.my_answer = Some(RsvpAnswer::Going);
        let landed = state.organized(
            &Organize::Rsvp(EVENT, RsvpAnswer::Going),
            Ok(Organized::Event(Box::new(answered))),
            &mut status,
        );
        assert!(landed.is_none());
        assert_eq!(status.pending, None);
        assert_eq!(
            state.update(going, NOW, &mut None, &mut status),
            Action::None,
            "our answer already"
        );
        state.organized(
            &Organize::ClosePoll(POLL),
            Err("The profile is locked.".into()),
            &mut status,
        );
        assert_eq!(
            status.error(),
            Some("The poll was not closed. The profile is locked.")
        );
        state.forget(&[POLL, EVENT]);
        assert!(state.poll(POLL).is_none() && state.event(EVENT).is_none());
    }
}
