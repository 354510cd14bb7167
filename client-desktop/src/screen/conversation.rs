//! An open conversation: messages grouped by sender with time, replies, reactions and
//! delivery state, a warning when the contact's key changed, and the composer (Enter
//! sends). Sending is the parent's job ([`Action::Send`]).

use boucle_client_core::{ContactId, ConversationId, MemberView, MessageId, MessageView};
use iced::widget::{button, column, container, row, scrollable, space, text, text_input};
use iced::{Alignment, Element, Fill, Length};

use crate::format;
use crate::theme;

/// Id of the composer's input (for focus and tests).
pub const COMPOSER: &str = "composer";

#[derive(Debug)]
pub struct State {
    pub id: ConversationId,
    title: String,
    /// The contact, for a 1:1 conversation.
    contact: Option<ContactId>,
    verified: bool,
    identity_changed: bool,
    members: Vec<MemberView>,
    messages: Vec<MessageView>,
    draft: String,
    reply_to: Option<MessageId>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Draft(String),
    Send,
    Reply(MessageId),
    CancelReply,
    Verify,
}

#[derive(Debug)]
pub enum Action {
    None,
    Send {
        text: String,
        reply_to: Option<MessageId>,
    },
    Verify(ContactId),
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
            title: header.title,
            contact: header.contact,
            verified: header.verified,
            identity_changed: header.identity_changed,
            members: Vec::new(),
            messages: Vec::new(),
            draft: String::new(),
            reply_to: None,
            error: None,
        }
    }

    pub fn set_header(&mut self, header: Header) {
        self.title = header.title;
        self.verified = header.verified;
        self.identity_changed = header.identity_changed;
    }

    pub fn set_history(&mut self, messages: Vec<MessageView>) {
        self.messages = messages;
    }

    pub fn set_members(&mut self, members: Vec<MemberView>) {
        self.members = members;
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
        match result {
            Ok(message) => {
                self.error = None;
                self.upsert(message);
            }
            Err(error) => self.error = Some(format!("Not sent: {error}")),
        }
    }

    pub fn messages(&self) -> &[MessageView] {
        &self.messages
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Draft(text) => self.draft = text,
            Message::Reply(id) => self.reply_to = Some(id),
            Message::CancelReply => self.reply_to = None,
            Message::Verify => {
                if let Some(contact) = self.contact {
                    return Action::Verify(contact);
                }
            }
            Message::Send => {
                let text = self.draft.trim().to_owned();
                if text.is_empty() {
                    return Action::None;
                }
                self.draft.clear();
                return Action::Send {
                    text,
                    reply_to: self.reply_to.take(),
                };
            }
        }
        Action::None
    }

    pub fn view(&self, relay_down: bool) -> Element<'_, Message> {
        let now = format::now_ms();
        let subtitle = match self.contact {
            Some(_) if self.verified => "verified".to_owned(),
            Some(_) => "not verified yet".to_owned(),
            None => members_line(&self.members),
        };
        let verify = self.contact.map(|_| {
            button(
                text(if self.verified {
                    "Safety number"
                } else {
                    "Verify"
                })
                .size(theme::SMALL),
            )
            .style(button::secondary)
            .on_press(Message::Verify)
        });
        let header = row![
            column![
                text(&self.title).size(22),
                text(subtitle).size(theme::SMALL).style(muted),
            ]
            .spacing(2),
            space::horizontal(),
        ]
        .push(verify)
        .align_y(Alignment::Center)
        .padding([12.0, theme::PAD]);

        let changed = self.identity_changed.then(|| {
            container(
                row![
                    text(format!(
                        "{}'s security key changed. Compare safety numbers again before trusting new messages.",
                        self.title
                    ))
                    .size(theme::SMALL)
                    .width(Fill),
                    button(text("Verify").size(theme::SMALL)).on_press(Message::Verify),
                ]
                .spacing(theme::GAP)
                .align_y(Alignment::Center),
            )
            .padding(10)
            .style(theme::banner)
        })
        .map(|banner| container(banner).padding([0.0, theme::PAD]));
        let unreachable = (relay_down
            && self.messages.iter().any(|m| {
                matches!(m.delivery, Some(boucle_client_core::DeliveryState::Queued))
            }))
        .then(|| {
            container(
                text("The relay is unreachable: your messages are queued and will be sent when it is back.")
                    .size(theme::SMALL),
            )
            .padding(10)
            .width(Fill)
            .style(theme::banner)
        })
        .map(|banner| container(banner).padding([0.0, theme::PAD]));

        let mut list = column![].spacing(4).padding([theme::GAP, theme::PAD]);
        if self.messages.is_empty() {
            list = list.push(
                text("No messages yet. Say hello!")
                    .size(theme::BODY)
                    .style(muted),
            );
        }
        let mut previous: Option<(bool, Option<&str>)> = None;
        for message in &self.messages {
            let who = (message.from_me, message.sender.as_deref());
            let first_of_group = previous != Some(who);
            previous = Some(who);
            list = list.push(self.bubble(message, first_of_group, now, relay_down));
        }
        let messages = scrollable(list).anchor_bottom().height(Fill).width(Fill);

        let replying = self.reply_to.and_then(|id| self.find(id)).map(|target| {
            row![
                text(format!("Replying to: {}", format::preview(target, 60)))
                    .size(theme::SMALL)
                    .width(Fill),
                button(text("Cancel").size(theme::SMALL))
                    .style(button::text)
                    .on_press(Message::CancelReply),
            ]
            .align_y(Alignment::Center)
        });
        let error = self.error.as_deref().map(|e| {
            text(e).size(theme::SMALL).style(|t| text::Style {
                color: Some(theme::error(t)),
            })
        });
        let composer = column![
            replying,
            error,
            row![
                text_input("Write a message…", &self.draft)
                    .id(COMPOSER)
                    .on_input(Message::Draft)
                    .on_submit(Message::Send)
                    .padding(10)
                    .width(Fill),
                button(text("Send"))
                    .padding([10, 16])
                    .on_press(Message::Send),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
        ]
        .spacing(6)
        .padding([12.0, theme::PAD]);

        column![header, changed, unreachable, messages, composer]
            .spacing(theme::GAP)
            .height(Fill)
            .into()
    }

    fn find(&self, id: MessageId) -> Option<&MessageView> {
        self.messages.iter().find(|m| m.id == id)
    }

    fn sender_name<'a>(&'a self, message: &'a MessageView) -> &'a str {
        if message.from_me {
            "You"
        } else {
            message.sender.as_deref().unwrap_or(&self.title)
        }
    }

    fn bubble<'a>(
        &'a self,
        message: &'a MessageView,
        first_of_group: bool,
        now: u64,
        relay_down: bool,
    ) -> Element<'a, Message> {
        let mine = message.from_me;
        let name = first_of_group.then(|| {
            text(self.sender_name(message))
                .size(theme::SMALL)
                .style(muted)
        });
        let quote = message.reply_to.map(|id| {
            let quoted = match self.find(id) {
                Some(original) => format!(
                    "In reply to {}: {}",
                    self.sender_name(original),
                    format::preview(original, 50)
                ),
                None => "In reply to a message not shown here".to_owned(),
            };
            text(quoted).size(theme::SMALL)
        });
        let mut footer = format::ago(now, message.sent_at);
        if message.edited && !message.deleted {
            footer.push_str(" · edited");
        }
        if let Some(state) = &message.delivery {
            footer.push_str(" · ");
            footer.push_str(&format::delivery(state, relay_down));
        }
        let reactions = (!message.reactions.is_empty()).then(|| {
            let emojis: Vec<&str> = message.reactions.iter().map(|r| r.emoji.as_str()).collect();
            text(emojis.join(" ")).size(theme::SMALL)
        });
        let content = column![
            quote,
            text(format::body(message)).size(theme::BODY),
            reactions
        ]
        .push(text(footer).size(12))
        .spacing(3);
        let bubble = container(content)
            .padding([8, 12])
            .max_width(520)
            .style(theme::bubble(mine));
        let reply = button(text("Reply").size(12))
            .style(button::text)
            .padding([2, 6])
            .on_press(Message::Reply(message.id));
        let line: Element<'a, Message> = if mine {
            row![space::horizontal(), reply, bubble]
                .align_y(Alignment::Center)
                .into()
        } else {
            row![bubble, reply, space::horizontal()]
                .align_y(Alignment::Center)
                .into()
        };
        let align = if mine {
            Alignment::End
        } else {
            Alignment::Start
        };
        column![name, line]
            .spacing(2)
            .width(Length::Fill)
            .align_x(align)
            .padding(iced::Padding::default().top(if first_of_group { 6 } else { 0 }))
            .into()
    }
}

fn members_line(members: &[MemberView]) -> String {
    if members.is_empty() {
        return "loop".to_owned();
    }
    let names: Vec<String> = members
        .iter()
        .map(|m| {
            let name = if m.me {
                "you".to_owned()
            } else {
                m.name.clone().unwrap_or_else(|| m.id.clone())
            };
            let mut label = name;
            if m.admin {
                label.push_str(" (admin)");
            }
            if m.verified && !m.me {
                label.push_str(", verified");
            }
            label
        })
        .collect();
    format!("{} members: {}", members.len(), names.join(", "))
}

fn muted(theme: &iced::Theme) -> text::Style {
    text::Style {
        color: Some(theme::muted(theme)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boucle_client_core::{DeliveryState, MessageBody};
    use iced::keyboard::{Key, key::Named};
    use iced_test::selector::id;
    use iced_test::simulator;

    const NADIA: ContactId = ContactId([3; 16]);

    fn message(n: u8, from_me: bool, text: &str) -> MessageView {
        MessageView {
            id: MessageId([n; 16]),
            conversation: ConversationId::Contact(NADIA),
            from_me,
            sender: None,
            sent_at: format::now_ms(),
            received_at: format::now_ms(),
            body: MessageBody::Text(text.into()),
            reply_to: None,
            reactions: Vec::new(),
            edited: false,
            deleted: false,
            delivery: from_me.then_some(DeliveryState::Queued),
            position: u64::from(n),
        }
    }

    fn state() -> State {
        State::new(
            ConversationId::Contact(NADIA),
            Header {
                title: "Nadia".into(),
                contact: Some(NADIA),
                verified: false,
                identity_changed: true,
            },
        )
    }

    #[test]
    fn messages_show_sender_delivery_and_replies() {
        let mut state = state();
        state.set_history(vec![message(1, false, "are you coming tonight?")]);
        state.upsert(MessageView {
            reply_to: Some(MessageId([1; 16])),
            ..message(2, true, "yes, at eight")
        });
        let mut ui = simulator(state.view(true));
        assert!(ui.find("are you coming tonight?").is_ok());
        assert!(ui.find("yes, at eight").is_ok());
        assert!(ui.find("You").is_ok());
        assert!(
            ui.find("In reply to Nadia: are you coming tonight?")
                .is_ok()
        );
        assert!(ui.find("just now · queued — relay unreachable").is_ok());
        assert!(ui
            .find("Nadia's security key changed. Compare safety numbers again before trusting new messages.")
            .is_ok());
        let mut ui = simulator(state.view(false));
        assert!(ui.find("just now · sending…").is_ok());
    }

    #[test]
    fn enter_sends_and_reply_is_carried() {
        let mut state = state();
        state.set_history(vec![message(1, false, "hello")]);
        let mut ui = simulator(state.view(false));
        ui.click("Reply").expect("reply button");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(actions.iter().all(|a| matches!(a, Action::None)));
        let mut ui = simulator(state.view(false));
        assert!(ui.find("Replying to: hello").is_ok());
        ui.click(id(COMPOSER)).expect("composer");
        ui.typewrite("hi!");
        ui.tap_key(Key::Named(Named::Enter));
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(matches!(
            actions.last(),
            Some(Action::Send { text, reply_to: Some(to) }) if text == "hi!" && *to == MessageId([1; 16])
        ));
        let mut ui = simulator(state.view(false));
        assert!(ui.find("Replying to: hello").is_err());
        ui.click("Verify").expect("verify");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(matches!(actions.as_slice(), [Action::Verify(c)] if *c == NADIA));
    }
}
