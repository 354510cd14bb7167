//! The conversation's header: who it is with (verified or not, their key changed,
//! blocked) or a loop's members, and its buttons: Verify (or Safety number), Members
//! and settings, Agenda, Block and Unblock. Blocking asks first, in place of the
//! composer; while the contact is blocked that place says what it means. The banner
//! while the contact's key changed is the header's too, and so is the
//! disappearing-messages timer ([`timer`]: its button and its selector).

mod timer;

use boucle_client_core::{ContactId, MemberView};
use iced::widget::{button, column, container, row, text};
use iced::{Alignment, Element, Fill};

use super::{Confirm, Rules, Status};
use crate::{format, theme};

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

#[derive(Debug)]
pub struct State {
    info: Header,
    members: Vec<MemberView>,
    /// The disappearing-messages timer in seconds (0: off), and whether its selector is
    /// open.
    timer: u32,
    timer_open: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    Verify,
    Members,
    Agenda,
    /// The timer button: opens (or closes) the selector; a choice sets it.
    TimerMenu,
    SetTimer(u32),
    /// "Block", its confirmation, "Keep", and "Unblock".
    AskBlock,
    ConfirmBlock,
    KeepContact,
    Unblock,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Verify(ContactId),
    /// A loop's members and settings.
    Members,
    Agenda,
    SetTimer(u32),
    /// Block (`true`) or unblock the contact.
    SetBlocked(ContactId, bool),
}

impl State {
    pub fn new(info: Header) -> State {
        State {
            info,
            members: Vec::new(),
            timer: 0,
            timer_open: false,
        }
    }

    pub fn info(&self) -> &Header {
        &self.info
    }

    pub fn set_info(&mut self, info: Header) {
        self.info = info;
    }

    pub fn set_members(&mut self, members: Vec<MemberView>) {
        self.members = members;
    }

    pub fn timer(&self) -> u32 {
        self.timer
    }

    pub fn set_timer(&mut self, seconds: u32) {
        self.timer = seconds;
    }

    /// Closes the timer's selector; whether it was open.
    pub fn close_timer(&mut self) -> bool {
        std::mem::take(&mut self.timer_open)
    }

    pub fn update(
        &mut self,
        message: Message,
        rules: Rules,
        confirm: &mut Option<Confirm>,
        status: &mut Status,
    ) -> Action {
        match message {
            Message::Verify => match self.info.contact {
                Some(contact) => Action::Verify(contact),
                None => Action::None,
            },
            Message::Members => Action::Members,
            Message::Agenda => Action::Agenda,
            Message::TimerMenu => {
                self.timer_open = !self.timer_open && rules.may_set_timer;
                Action::None
            }
            Message::SetTimer(seconds) => {
                self.timer_open = false;
                if seconds == self.timer || !rules.may_set_timer {
                    return Action::None;
                }
                status.doing("Changing disappearing messages…");
                Action::SetTimer(seconds)
            }
            Message::AskBlock => {
                if self.info.contact.is_some() && !self.info.blocked {
                    *confirm = Some(Confirm::Block);
                } else if *confirm == Some(Confirm::Block) {
                    *confirm = None;
                }
                Action::None
            }
            Message::KeepContact => {
                if *confirm == Some(Confirm::Block) {
                    *confirm = None;
                }
                Action::None
            }
            Message::ConfirmBlock | Message::Unblock => {
                let block = matches!(message, Message::ConfirmBlock);
                if *confirm == Some(Confirm::Block) {
                    *confirm = None;
                }
                match self.info.contact {
                    Some(contact) => {
                        status.doing(if block {
                            "Blocking…"
                        } else {
                            "Unblocking…"
                        });
                        Action::SetBlocked(contact, block)
                    }
                    None => Action::None,
                }
            }
        }
    }

    /// The answer to "Block" or "Unblock".
    pub fn blocked_set(&mut self, blocked: bool, result: Result<(), String>, status: &mut Status) {
        match result {
            Ok(()) => {
                status.answered(None);
                self.info.blocked = blocked;
            }
            Err(error) => {
                let what = if blocked { "blocked" } else { "unblocked" };
                status.answered(Some(format!("{} was not {what}. {error}", self.info.title)));
            }
        }
    }

    /// The engine set (or refused) the timer.
    pub fn timer_set(&mut self, seconds: u32, result: Result<(), String>, status: &mut Status) {
        match result {
            Ok(()) => {
                status.answered(None);
                self.timer = seconds;
            }
            Err(error) => status.answered(Some(format!(
                "Disappearing messages were not changed. {error}"
            ))),
        }
    }

    pub fn view(&self, rules: Rules) -> Element<'_, Message> {
        let info = &self.info;
        let subtitle = match info.contact {
            Some(_) if info.blocked => "blocked".to_owned(),
            Some(_) if info.identity_changed => "security key changed".to_owned(),
            Some(_) if info.verified => "verified".to_owned(),
            Some(_) => "not verified yet".to_owned(),
            None => members_line(&self.members),
        };
        let action = match info.contact {
            Some(_) => button(
                text(if info.verified && !info.identity_changed {
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
        let block = info.contact.map(|_| {
            if info.blocked {
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
                row![text(&info.title).size(22), tag]
                    .spacing(theme::GAP)
                    .align_y(Alignment::Center),
                text(subtitle).size(theme::SMALL).style(theme::muted_text),
            ]
            .spacing(2)
            .width(Fill),
            timer::button(self.timer, rules.may_set_timer, self.timer_open),
            agenda,
            block,
            action,
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center)
        .padding([12.0, theme::PAD])
        .into()
    }

    /// The timer's choices, while its selector is open.
    pub fn selector(&self) -> Option<Element<'_, Message>> {
        self.timer_open.then(|| timer::selector(self.timer))
    }

    /// While the contact's key changed: say so, and offer to compare safety numbers.
    pub fn changed_banner(&self) -> Option<Element<'_, Message>> {
        self.info.identity_changed.then(|| {
            let banner = container(
                row![
                    text(format!(
                        "{}'s security key changed. Compare safety numbers again before trusting new messages.",
                        self.info.title
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

    /// In place of the composer: the confirmation of "Block", or what blocking means and
    /// "Unblock"; with what went wrong, if something did.
    pub fn block_panel<'a>(&'a self, error: Option<&'a str>) -> Element<'a, Message> {
        let name = &self.info.title;
        let (sentence, buttons) = if self.info.blocked {
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
        let status = error.map(|error| text(error).size(theme::SMALL).style(theme::error_text));
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

#[cfg(test)]
mod tests {
    use super::*;

    const NADIA: ContactId = ContactId([3; 16]);

    fn nadia(blocked: bool) -> State {
        State::new(Header {
            title: "Nadia".into(),
            contact: Some(NADIA),
            verified: true,
            identity_changed: false,
            blocked,
        })
    }

    fn update(state: &mut State, message: Message, confirm: &mut Option<Confirm>) -> Action {
        state.update(message, Rules::default(), confirm, &mut Status::default())
    }

    #[test]
    fn blocking_asks_first_and_keep_puts_the_question_away() {
        let mut state = nadia(false);
        let mut confirm = Some(Confirm::Delete(boucle_client_core::MessageId([1; 16])));
        assert_eq!(
            update(&mut state, Message::AskBlock, &mut confirm),
            Action::None
        );
        assert_eq!(confirm, Some(Confirm::Block), "the other question went");
        assert_eq!(
            update(&mut state, Message::KeepContact, &mut confirm),
            Action::None
        );
        assert_eq!(confirm, None);
        update(&mut state, Message::AskBlock, &mut confirm);
        let mut status = Status::default();
        assert_eq!(
            state.update(
                Message::ConfirmBlock,
                Rules::default(),
                &mut confirm,
                &mut status
            ),
            Action::SetBlocked(NADIA, true)
        );
        assert_eq!(confirm, None);
        assert_eq!(status.pending, Some("Blocking…"));
        state.blocked_set(true, Ok(()), &mut status);
        assert!(state.info().blocked);
        assert_eq!((status.pending, status.error()), (None, None));
    }

    #[test]
    fn a_blocked_contact_or_a_loop_is_not_asked_about() {
        let mut confirm = None;
        update(&mut nadia(true), Message::AskBlock, &mut confirm);
        assert_eq!(confirm, None, "already blocked");
        let mut group = State::new(Header {
            title: "Tenants".into(),
            contact: None,
            verified: false,
            identity_changed: false,
            blocked: false,
        });
        update(&mut group, Message::AskBlock, &mut confirm);
        assert_eq!(confirm, None, "a loop has no one to block");
        assert_eq!(
            update(&mut group, Message::Verify, &mut confirm),
            Action::None
        );
        assert_eq!(
            update(&mut group, Message::Members, &mut confirm),
            Action::Members
        );
    }

    #[test]
    fn the_timer_is_set_by_whoever_may() {
        let mut state = nadia(false);
        let mut status = Status::default();
        let may_not = Rules {
            may_post: true,
            may_set_timer: false,
        };
        state.update(Message::TimerMenu, may_not, &mut None, &mut status);
        assert!(state.selector().is_none(), "only admins open it");
        assert_eq!(
            state.update(Message::SetTimer(3_600), may_not, &mut None, &mut status),
            Action::None
        );
        state.update(Message::TimerMenu, Rules::default(), &mut None, &mut status);
        assert!(state.selector().is_some());
        assert_eq!(
            state.update(
                Message::SetTimer(0),
                Rules::default(),
                &mut None,
                &mut status
            ),
            Action::None,
            "it is off already"
        );
        assert!(state.selector().is_none(), "a choice closes it");
        assert_eq!(
            state.update(
                Message::SetTimer(3_600),
                Rules::default(),
                &mut None,
                &mut status
            ),
            Action::SetTimer(3_600)
        );
        state.timer_set(3_600, Err("The profile is locked.".into()), &mut status);
        assert_eq!(state.timer(), 0);
        assert_eq!(
            status.error(),
            Some("Disappearing messages were not changed. The profile is locked.")
        );
        state.timer_set(3_600, Ok(()), &mut status);
        assert_eq!((state.timer(), status.error()), (3_600, None));
    }
}
