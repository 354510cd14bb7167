//! The conversation's history: its messages in order, grouped by sender, each in a
//! bubble or as a card ([`bubble`]); the one selected shows its actions: Reply, a row
//! of reactions, and for our own messages Edit and Delete (after a confirmation). A
//! banner says when the relay is unreachable and some of ours wait.

mod bubble;

use boucle_client_core::{DeliveryState, MessageId, MessageView};
use iced::widget::{column, container, scrollable, text};
use iced::{Element, Fill};

use super::{Confirm, Message as Screen, State as Conversation, Status};
use crate::io::Change;
use crate::{format, theme};

/// Id of the message list (scrolled to the latest message when a conversation opens).
pub const MESSAGES: &str = "messages";

/// The reactions offered on every message.
pub const REACTIONS: [&str; 7] = ["👍", "❤️", "😂", "😮", "😢", "🙏", "✊"];

#[derive(Debug, Default)]
pub struct State {
    messages: Vec<MessageView>,
    /// The message whose actions are shown.
    selected: Option<MessageId>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// Click on a message: show (or hide) its actions.
    Select(MessageId),
    Reply(MessageId),
    StartEdit(MessageId),
    /// Adds this reaction of ours, or takes it back if it is there.
    React(MessageId, String),
    AskDelete(MessageId),
    ConfirmDelete(MessageId),
    KeepMessage,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// Reply to this message, in the composer.
    Reply(MessageId),
    /// Edit this message of ours (its text now), in the composer.
    Edit(MessageId, String),
    /// React to a message, or delete it.
    Change {
        message: MessageId,
        change: Change,
    },
}

impl State {
    pub fn messages(&self) -> &[MessageView] {
        &self.messages
    }

    pub fn set(&mut self, messages: Vec<MessageView>) {
        self.messages = messages;
    }

    pub fn find(&self, id: MessageId) -> Option<&MessageView> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// Adds a message in its place, or replaces the one with the same id.
    pub fn upsert(&mut self, message: MessageView) {
        match self.messages.iter_mut().find(|m| m.id == message.id) {
            Some(existing) => *existing = message,
            None => {
                self.messages.push(message);
                self.messages.sort_by_key(|m| m.position);
            }
        }
    }

    /// These messages go (their timer ran out).
    pub fn expire(&mut self, ids: &[MessageId]) {
        self.messages.retain(|m| !ids.contains(&m.id));
        if self.selected.is_some_and(|id| ids.contains(&id)) {
            self.selected = None;
        }
    }

    /// The message whose actions are shown.
    pub fn selected(&self) -> Option<MessageId> {
        self.selected
    }

    /// Hides the selected message's actions; whether they were shown.
    pub fn deselect(&mut self) -> bool {
        self.selected.take().is_some()
    }

    pub fn update(
        &mut self,
        message: Message,
        confirm: &mut Option<Confirm>,
        status: &mut Status,
    ) -> Action {
        match message {
            Message::Select(id) => {
                if matches!(confirm, Some(Confirm::Delete(_))) {
                    *confirm = None;
                }
                self.selected = if self.selected == Some(id) {
                    None
                } else {
                    Some(id)
                };
                Action::None
            }
            Message::Reply(id) => {
                self.selected = None;
                Action::Reply(id)
            }
            Message::StartEdit(id) => {
                let Some(target) = self.find(id).filter(|m| m.from_me && !m.deleted) else {
                    return Action::None;
                };
                let text = format::body(target);
                self.selected = None;
                Action::Edit(id, text)
            }
            Message::React(id, emoji) => {
                let Some(target) = self.find(id) else {
                    return Action::None;
                };
                let remove = target.reactions.iter().any(|r| r.mine && r.emoji == emoji);
                self.selected = None;
                status.doing("Sending your reaction…");
                Action::Change {
                    message: id,
                    change: Change::React { emoji, remove },
                }
            }
            Message::AskDelete(id) => {
                *confirm = Some(Confirm::Delete(id));
                Action::None
            }
            Message::ConfirmDelete(id) => {
                if matches!(confirm, Some(Confirm::Delete(_))) {
                    *confirm = None;
                }
                self.selected = None;
                status.doing("Deleting the message…");
                Action::Change {
                    message: id,
                    change: Change::Delete,
                }
            }
            Message::KeepMessage => {
                if matches!(confirm, Some(Confirm::Delete(_))) {
                    *confirm = None;
                }
                Action::None
            }
        }
    }

    /// While the relay is unreachable and some of our messages wait: say so.
    pub fn unreachable_banner<'a, M: 'a>(&self, relay_down: bool) -> Option<Element<'a, M>> {
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
}

/// Who wrote a message: "you", the loop member, or the contact (`title`).
pub fn sender_name<'a>(message: &'a MessageView, title: &'a str) -> &'a str {
    if message.from_me {
        "you"
    } else {
        message.sender.as_deref().unwrap_or(title)
    }
}

/// The message list, scrolled to the latest; the cards in it are drawn by the parts
/// that own them.
pub fn view(screen: &Conversation, relay_down: bool) -> Element<'_, Screen> {
    let history = &screen.history;
    let mut list = column![].spacing(4).padding([theme::GAP, theme::PAD]);
    if history.messages.is_empty() {
        list = list.push(
            text("No messages yet. Say hello!")
                .size(theme::BODY)
                .style(theme::muted_text),
        );
    }
    let mut previous: Option<(bool, Option<&str>)> = None;
    for message in &history.messages {
        let who = (message.from_me, message.sender.as_deref());
        let first_of_group = previous != Some(who);
        previous = Some(who);
        list = list.push(bubble::view(
            screen,
            message,
            bubble::Context {
                first_of_group,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixtures::entry;
    use boucle_client_core::{MessageBody, Reaction};

    fn state() -> State {
        let mut state = State::default();
        state.set(vec![
            entry(1, MessageBody::Text("are you coming?".into()), false),
            entry(2, MessageBody::Text("yes, at eight".into()), true),
        ]);
        state
    }

    fn update(state: &mut State, message: Message, confirm: &mut Option<Confirm>) -> Action {
        state.update(message, confirm, &mut Status::default())
    }

    const FIRST: MessageId = MessageId([1; 16]);
    const OURS: MessageId = MessageId([2; 16]);

    #[test]
    fn a_click_selects_and_another_click_hides_and_a_delete_question_goes() {
        let mut state = state();
        let mut confirm = Some(Confirm::Delete(OURS));
        update(&mut state, Message::Select(FIRST), &mut confirm);
        assert_eq!(state.selected, Some(FIRST));
        assert_eq!(confirm, None, "selecting puts the delete question away");
        update(&mut state, Message::Select(FIRST), &mut confirm);
        assert_eq!(state.selected, None);
        // A question that is not about a message stays.
        let mut confirm = Some(Confirm::Block);
        update(&mut state, Message::Select(FIRST), &mut confirm);
        assert_eq!(confirm, Some(Confirm::Block));
        assert!(state.deselect());
        assert!(!state.deselect());
    }

    #[test]
    fn only_our_messages_are_edited_with_their_text() {
        let mut state = state();
        assert_eq!(
            update(&mut state, Message::StartEdit(FIRST), &mut None),
            Action::None
        );
        state.selected = Some(OURS);
        assert_eq!(
            update(&mut state, Message::StartEdit(OURS), &mut None),
            Action::Edit(OURS, "yes, at eight".into())
        );
        assert_eq!(state.selected, None);
        assert_eq!(
            update(&mut state, Message::Reply(FIRST), &mut None),
            Action::Reply(FIRST)
        );
    }

    #[test]
    fn a_reaction_of_ours_is_taken_back() {
        let mut state = state();
        let mut liked = entry(1, MessageBody::Text("are you coming?".into()), false);
        liked.reactions = vec![Reaction {
            mine: true,
            emoji: "👍".into(),
        }];
        state.upsert(liked);
        assert_eq!(state.messages().len(), 2, "replaced, not added");
        let mut status = Status::default();
        let react = |emoji: &str| Message::React(FIRST, emoji.into());
        assert_eq!(
            state.update(react("👍"), &mut None, &mut status),
            Action::Change {
                message: FIRST,
                change: Change::React {
                    emoji: "👍".into(),
                    remove: true
                }
            }
        );
        assert_eq!(status.pending, Some("Sending your reaction…"));
        assert!(matches!(
            state.update(react("❤️"), &mut None, &mut status),
            Action::Change {
                change: Change::React { remove: false, .. },
                ..
            }
        ));
    }

    #[test]
    fn deleting_is_asked_then_confirmed_or_kept() {
        let mut state = state();
        let mut confirm = Some(Confirm::ClosePoll(MessageId([5; 16])));
        update(&mut state, Message::AskDelete(OURS), &mut confirm);
        assert_eq!(
            confirm,
            Some(Confirm::Delete(OURS)),
            "one question at a time"
        );
        update(&mut state, Message::KeepMessage, &mut confirm);
        assert_eq!(confirm, None);
        update(&mut state, Message::AskDelete(OURS), &mut confirm);
        assert_eq!(
            update(&mut state, Message::ConfirmDelete(OURS), &mut confirm),
            Action::Change {
                message: OURS,
                change: Change::Delete
            }
        );
        assert_eq!(confirm, None);
    }

    #[test]
    fn expired_messages_go_with_their_selection() {
        let mut state = state();
        update(&mut state, Message::Select(OURS), &mut None);
        state.expire(&[OURS]);
        assert_eq!(state.messages().len(), 1);
        assert!(!state.deselect(), "the selection went with it");
    }
}
