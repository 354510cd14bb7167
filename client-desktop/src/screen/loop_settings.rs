//! A loop's members and settings: who is in it (admins and verified members marked),
//! and for admins renaming, inviting contacts, removing members and making them admins;
//! for everyone, leaving (after a confirmation). Admins set the loop's rules: "Only
//! admins can post (announcement loop)" and "Members can invite"; members read them,
//! and invite contacts when the rules let them.
//!
//! The parent carries out each change ([`Action::Change`]) and reports back with
//! [`State::finished`]; until then the screen says what it is doing.

use std::collections::BTreeSet;

use boucle_client_core::{
    Contact, ContactId, Inviting, LoopId, LoopPolicy, LoopView, MemberView, Posting,
};
use iced::widget::{button, checkbox, column, container, row, text, text_input};
use iced::{Alignment, Element, Fill};

use crate::io::LoopChange;
use crate::theme::{self, Tag};

/// Id of the name input.
pub const NAME: &str = "loop-rename";

#[derive(Debug)]
pub struct State {
    id: LoopId,
    name: String,
    admin: bool,
    member: bool,
    policy: LoopPolicy,
    may_invite: bool,
    members: Option<Vec<MemberView>>,
    contacts: Vec<(ContactId, String)>,
    rename: String,
    picked: BTreeSet<ContactId>,
    confirm: Option<Confirm>,
    /// What is being done, in words ("Removing Nadia…").
    busy: Option<String>,
    /// What was done, in words.
    notice: Option<String>,
    error: Option<String>,
}

/// A question waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Confirm {
    Remove(String),
    Leave,
}

#[derive(Debug, Clone)]
pub enum Message {
    Name(String),
    Rename,
    Toggle(ContactId, bool),
    Add,
    Remove(String),
    Promote(String),
    /// The rules' toggles: only admins post; members invite.
    AdminsOnlyPost(bool),
    MembersInvite(bool),
    Leave,
    /// Yes to the question shown.
    Confirm,
    /// No to the question shown.
    Dismiss,
    Back,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Change(LoopChange),
    Back,
}

impl State {
    pub fn new(view: &LoopView, contacts: &[Contact]) -> State {
        State {
            id: view.id,
            name: view.name.clone(),
            admin: view.admin,
            member: view.member,
            policy: view.policy,
            may_invite: view.may_invite,
            members: None,
            contacts: contacts.iter().map(|c| (c.id, c.name.clone())).collect(),
            rename: view.name.clone(),
            picked: BTreeSet::new(),
            confirm: None,
            busy: None,
            notice: None,
            error: None,
        }
    }

    pub fn id(&self) -> LoopId {
        self.id
    }

    /// The list has new data about this loop and the contacts.
    pub fn refresh(&mut self, view: &LoopView, contacts: &[Contact]) {
        if self.rename == self.name {
            self.rename = view.name.clone();
        }
        self.name = view.name.clone();
        self.admin = view.admin;
        self.member = view.member;
        self.policy = view.policy;
        self.may_invite = view.may_invite;
        self.contacts = contacts.iter().map(|c| (c.id, c.name.clone())).collect();
    }

    pub fn set_members(&mut self, members: Result<Vec<MemberView>, String>) {
        match members {
            Ok(mut members) => {
                // You first, then the admins, then everyone else; contacts by name before
                // members you do not know.
                members.sort_by_key(|m| {
                    (
                        !m.me,
                        !m.admin,
                        m.name.is_none(),
                        display_name(m).to_lowercase(),
                    )
                });
                self.members = Some(members);
            }
            Err(_) if !self.member => self.members = Some(Vec::new()),
            Err(error) => self.error = Some(format!("The members could not be read. {error}")),
        }
    }

    /// The engine made the change (or could not).
    pub fn finished(&mut self, change: &LoopChange, result: Result<(), String>) {
        self.busy = None;
        match result {
            Ok(()) => {
                self.error = None;
                self.notice = Some(match change {
                    LoopChange::Rename(name) => format!("The loop is now called {name}."),
                    LoopChange::Add(ids) => format!(
                        "Invited {}: they join when their app receives the invitation.",
                        self.names(ids)
                    ),
                    LoopChange::Remove(member) => {
                        format!("{} was removed from the loop.", self.member_name(member))
                    }
                    LoopChange::Promote(member) => {
                        format!("{} is now an admin.", self.member_name(member))
                    }
                    LoopChange::Policy(policy) => {
                        self.policy = *policy;
                        format!("Saved: {} {}", posting_rule(policy), inviting_rule(policy))
                    }
                    LoopChange::Leave => {
                        self.member = false;
                        self.admin = false;
                        self.members = Some(Vec::new());
                        "You left the loop. Its messages stay on this computer.".to_owned()
                    }
                });
                if let LoopChange::Add(_) = change {
                    self.picked.clear();
                }
            }
            Err(error) => {
                self.notice = None;
                let what = match change {
                    LoopChange::Rename(_) => "The loop was not renamed.",
                    LoopChange::Add(_) => "Not everyone was invited.",
                    LoopChange::Remove(_) => "The member was not removed.",
                    LoopChange::Promote(_) => "The member was not made an admin.",
                    LoopChange::Leave => "You did not leave the loop.",
                    LoopChange::Policy(_) => "The rules were not changed.",
                };
                self.error = Some(format!("{what} {error}"));
            }
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Name(name) => self.rename = name,
            Message::Toggle(id, on) => {
                if on {
                    self.picked.insert(id);
                } else {
                    self.picked.remove(&id);
                }
            }
            Message::Rename => {
                let name = self.rename.trim().to_owned();
                if name.is_empty() || name == self.name {
                    return Action::None;
                }
                return self.start("Renaming the loop…".into(), LoopChange::Rename(name));
            }
            Message::Add => {
                if self.picked.is_empty() {
                    return Action::None;
                }
                let ids: Vec<ContactId> = self.picked.iter().copied().collect();
                let busy = format!("Inviting {}…", self.names(&ids));
                return self.start(busy, LoopChange::Add(ids));
            }
            Message::Remove(member) => {
                self.confirm = Some(Confirm::Remove(member));
            }
            Message::Promote(member) => {
                let busy = format!("Making {} an admin…", self.member_name(&member));
                return self.start(busy, LoopChange::Promote(member));
            }
            Message::AdminsOnlyPost(on) => {
                let policy = LoopPolicy {
                    posting: if on {
                        Posting::Admins
                    } else {
                        Posting::Everyone
                    },
                    ..self.policy
                };
                return self.set_policy(policy);
            }
            Message::MembersInvite(on) => {
                let policy = LoopPolicy {
                    inviting: if on {
                        Inviting::Members
                    } else {
                        Inviting::Admins
                    },
                    ..self.policy
                };
                return self.set_policy(policy);
            }
            Message::Leave => self.confirm = Some(Confirm::Leave),
            Message::Dismiss => self.confirm = None,
            Message::Confirm => match self.confirm.take() {
                Some(Confirm::Remove(member)) => {
                    let busy = format!("Removing {}…", self.member_name(&member));
                    return self.start(busy, LoopChange::Remove(member));
                }
                Some(Confirm::Leave) => {
                    return self.start("Leaving the loop…".into(), LoopChange::Leave);
                }
                None => {}
            },
            Message::Back => return Action::Back,
        }
        Action::None
    }

    fn set_policy(&mut self, policy: LoopPolicy) -> Action {
        if !self.admin || policy == self.policy {
            return Action::None;
        }
        self.start("Saving the rules…".into(), LoopChange::Policy(policy))
    }

    fn start(&mut self, busy: String, change: LoopChange) -> Action {
        if self.busy.is_some() {
            return Action::None;
        }
        self.busy = Some(busy);
        self.notice = None;
        self.error = None;
        Action::Change(change)
    }

    fn names(&self, ids: &[ContactId]) -> String {
        let names: Vec<&str> = ids
            .iter()
            .filter_map(|id| self.contacts.iter().find(|(c, _)| c == id))
            .map(|(_, name)| name.as_str())
            .collect();
        names.join(", ")
    }

    fn member_name(&self, id: &str) -> String {
        self.members
            .iter()
            .flatten()
            .find(|m| m.id == id)
            .map_or_else(|| format!("member {id}"), display_name)
    }

    pub fn view(&self) -> Element<'_, Message> {
        let count = self.members.as_ref().map_or(0, Vec::len);
        let role = match (self.member, self.admin) {
            (false, _) => "you are not a member".to_owned(),
            (true, true) => "you are an admin".to_owned(),
            (true, false) => "you are a member".to_owned(),
        };
        let mut content = column![
            text(self.name.as_str()).size(theme::TITLE),
            text(format!("Loop · {count} members · {role}"))
                .size(theme::SMALL)
                .style(theme::muted_text),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(680);

        if self.admin {
            content = content.push(section("Name")).push(
                row![
                    text_input("Name of the loop", &self.rename)
                        .id(NAME)
                        .on_input(Message::Name)
                        .on_submit(Message::Rename)
                        .padding(10)
                        .width(Fill),
                    button(text("Rename"))
                        .padding([10, 16])
                        .style(button::secondary)
                        .on_press_maybe(self.can_rename().then_some(Message::Rename)),
                ]
                .spacing(theme::GAP)
                .align_y(Alignment::Center),
            );
        }

        content = content
            .push(section(format!("Members ({count})")))
            .push(self.member_list());

        content = content.push(section("Rules")).push(self.rules());

        if self.admin || (self.member && self.may_invite) {
            content = content.push(section("Add people")).push(self.candidates());
        }
        if self.member && !self.admin {
            content = content.push(
                text(if self.may_invite {
                    "Only admins can rename the loop or remove members."
                } else {
                    "Only admins can rename the loop, add people or remove members."
                })
                .size(theme::SMALL)
                .style(theme::muted_text),
            );
        }

        let status = match (&self.busy, &self.error, &self.notice) {
            (Some(busy), _, _) => Some(text(busy.as_str()).style(theme::muted_text)),
            (None, Some(error), _) => Some(text(error.as_str()).style(theme::error_text)),
            (None, None, Some(notice)) => Some(text(notice.as_str()).style(theme::success_text)),
            _ => None,
        };
        content = content.push(status);

        let leave: Element<'_, Message> = if self.confirm == Some(Confirm::Leave) {
            question(
                format!(
                    "Leave {}? You will stop receiving its messages, and only an admin can bring you back.",
                    self.name
                ),
                "Leave",
                "Stay",
            )
        } else {
            button(text("Leave the loop"))
                .padding([8, 16])
                .style(button::danger)
                .on_press_maybe((self.member && self.busy.is_none()).then_some(Message::Leave))
                .into()
        };
        content = content.push(
            row![
                button(text("Back to the conversation"))
                    .padding([8, 16])
                    .style(button::secondary)
                    .on_press(Message::Back),
                leave,
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
        );
        theme::page(content)
    }

    /// Who may post and invite: toggles for admins, sentences for everyone else.
    fn rules(&self) -> Element<'_, Message> {
        if !self.admin {
            return column![
                text(posting_rule(&self.policy)).size(theme::BODY),
                text(inviting_rule(&self.policy)).size(theme::BODY),
            ]
            .spacing(4)
            .into();
        }
        let busy = self.busy.is_some();
        let announcement = self.policy.posting == Posting::Admins;
        let members_invite = self.policy.inviting == Inviting::Members;
        container(
            column![
                checkbox(announcement)
                    .label("Only admins can post (announcement loop)")
                    .on_toggle_maybe((!busy).then_some(Message::AdminsOnlyPost)),
                text("Members still react, vote and answer events.")
                    .size(theme::SMALL)
                    .style(theme::muted_text),
                checkbox(members_invite)
                    .label("Members can invite")
                    .on_toggle_maybe((!busy).then_some(Message::MembersInvite)),
            ]
            .spacing(6),
        )
        .padding(14)
        .width(Fill)
        .style(theme::panel)
        .into()
    }

    fn can_rename(&self) -> bool {
        let name = self.rename.trim();
        self.busy.is_none() && !name.is_empty() && name != self.name
    }

    fn member_list(&self) -> Element<'_, Message> {
        let Some(members) = &self.members else {
            return text("Reading the member list…")
                .style(theme::muted_text)
                .into();
        };
        if members.is_empty() {
            return text("No members to show.").style(theme::muted_text).into();
        }
        let rows = members.iter().map(|member| {
            let mut line = row![text(display_name(member)).size(theme::BODY)]
                .spacing(6)
                .align_y(Alignment::Center);
            if member.admin {
                line = line.push(theme::label("admin", Tag::Neutral));
            }
            if !member.me {
                line = line.push(if member.verified {
                    theme::label("verified", Tag::Good)
                } else {
                    theme::label("not verified", Tag::Warning)
                });
            }
            line = line.push(iced::widget::space::horizontal());
            let busy = self.busy.is_some();
            if self.admin && !member.me {
                if self.confirm == Some(Confirm::Remove(member.id.clone())) {
                    return column![
                        line,
                        question(
                            format!("Remove {} from the loop?", display_name(member)),
                            "Remove",
                            "Cancel",
                        )
                    ]
                    .spacing(6)
                    .into();
                }
                if !member.admin {
                    line = line.push(
                        button(text("Make admin").size(theme::SMALL))
                            .padding([4, 10])
                            .style(button::secondary)
                            .on_press_maybe((!busy).then(|| Message::Promote(member.id.clone()))),
                    );
                }
                line = line.push(
                    button(text("Remove").size(theme::SMALL))
                        .padding([4, 10])
                        .style(button::secondary)
                        .on_press_maybe((!busy).then(|| Message::Remove(member.id.clone()))),
                );
            }
            line.into()
        });
        container(column(rows).spacing(10))
            .padding(14)
            .width(Fill)
            .style(theme::panel)
            .into()
    }

    fn candidates(&self) -> Element<'_, Message> {
        let in_loop: Vec<&str> = self
            .members
            .iter()
            .flatten()
            .filter_map(|m| m.name.as_deref())
            .collect();
        let candidates: Vec<&(ContactId, String)> = self
            .contacts
            .iter()
            .filter(|(_, name)| !in_loop.contains(&name.as_str()))
            .collect();
        if candidates.is_empty() {
            return text(if self.contacts.is_empty() {
                "You have no contacts yet: invite someone first."
            } else {
                "All your contacts are in this loop."
            })
            .size(theme::SMALL)
            .style(theme::muted_text)
            .into();
        }
        let boxes = candidates.into_iter().map(|(id, name)| {
            let id = *id;
            checkbox(self.picked.contains(&id))
                .label(name.as_str())
                .on_toggle(move |on| Message::Toggle(id, on))
                .into()
        });
        column![
            column(boxes).spacing(6),
            button(text("Invite to the loop"))
                .padding([8, 16])
                .on_press_maybe(
                    (self.busy.is_none() && !self.picked.is_empty()).then_some(Message::Add)
                ),
        ]
        .spacing(theme::GAP)
        .into()
    }
}

/// Who may post, in a sentence.
fn posting_rule(policy: &LoopPolicy) -> &'static str {
    match policy.posting {
        Posting::Admins => {
            "Only admins post (an announcement loop); members react, vote and answer events."
        }
        _ => "Everyone can post.",
    }
}

/// Who may invite, in a sentence.
fn inviting_rule(policy: &LoopPolicy) -> &'static str {
    match policy.inviting {
        Inviting::Members => "Members can invite their contacts.",
        _ => "Only admins can invite people.",
    }
}

/// A member's name for people: the contact's name, "You", or the short id.
fn display_name(member: &MemberView) -> String {
    if member.me {
        return "You".to_owned();
    }
    member
        .name
        .clone()
        .unwrap_or_else(|| format!("member {}", member.id))
}

fn section<'a>(title: impl text::IntoFragment<'a>) -> text::Text<'a> {
    text(title).size(18)
}

/// A question with a yes (danger) and a no button.
fn question<'a>(question: String, yes: &'a str, no: &'a str) -> Element<'a, Message> {
    container(
        row![
            text(question).size(theme::SMALL).width(Fill),
            button(text(yes).size(theme::SMALL))
                .padding([4, 12])
                .style(button::danger)
                .on_press(Message::Confirm),
            button(text(no).size(theme::SMALL))
                .padding([4, 12])
                .style(button::secondary)
                .on_press(Message::Dismiss),
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center),
    )
    .padding(8)
    .style(theme::banner)
    .into()
}

#[cfg(test)]
mod tests;
