//! Shared contacts: the picker that shares one of ours ("Share a contact"; those whose
//! shareable card has not arrived yet are greyed, with the reason), and a shared
//! contact's card in the history (who, who introduced them, and "Add contact" in one
//! click, then "Added — open conversation"; or "Already a contact").

use std::collections::{HashMap, HashSet};

use boucle_client_core::{Contact, ContactId, MessageId, MessageView};
use iced::widget::{button, column, container, row, text};
use iced::{Alignment, Element, Fill};

use super::Status;
use super::card::{card as card_frame, kind_line};
use crate::theme;

#[derive(Debug, Default)]
pub struct State {
    /// Whether the picker is open, and the contacts it offers.
    open: bool,
    contacts: Vec<Contact>,
    /// Shared contacts added from here (message → the new contact), and being added.
    added: HashMap<MessageId, ContactId>,
    adding: HashSet<MessageId>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// "Share a contact": opens (or closes) the picker; a click on a contact shares it.
    SharePicker,
    Share(ContactId),
    /// "Add contact" on a shared contact's card, and the conversation once added.
    AddContact(MessageId),
    OpenContact(ContactId),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Share(ContactId),
    AddContact(MessageId),
    OpenContact(ContactId),
}

impl State {
    /// The contacts the picker offers (all of ours; those without a shareable card
    /// greyed).
    pub fn set_contacts(&mut self, contacts: Vec<Contact>) {
        self.contacts = contacts;
    }

    /// Closes the picker; whether it was open.
    pub fn close_picker(&mut self) -> bool {
        std::mem::take(&mut self.open)
    }

    pub fn update(&mut self, message: Message, may_post: bool, status: &mut Status) -> Action {
        match message {
            Message::SharePicker => {
                self.open = !self.open && may_post;
                Action::None
            }
            Message::Share(contact) => {
                self.open = false;
                status.doing("Sharing the contact…");
                Action::Share(contact)
            }
            Message::AddContact(id) => {
                if !self.adding.insert(id) {
                    return Action::None;
                }
                Action::AddContact(id)
            }
            Message::OpenContact(contact) => Action::OpenContact(contact),
        }
    }

    /// The engine added (or could not add) a shared contact.
    pub fn added(&mut self, id: MessageId, result: Result<ContactId, String>, status: &mut Status) {
        self.adding.remove(&id);
        match result {
            Ok(contact) => {
                self.added.insert(id, contact);
            }
            Err(error) => status.refuse(format!("The contact was not added. {error}")),
        }
    }

    /// The contact picker, above the composer, when open: our contacts but the one
    /// the conversation is with (`here`), to share with `title`.
    pub fn picker<'a>(
        &'a self,
        here: Option<ContactId>,
        title: &str,
    ) -> Option<Element<'a, Message>> {
        self.open.then(|| picker(self, here, title))
    }
}

fn picker<'a>(state: &'a State, here: Option<ContactId>, title: &str) -> Element<'a, Message> {
    let contacts: Vec<_> = state
        .contacts
        .iter()
        .filter(|c| Some(c.id) != here)
        .collect();
    let mut list = column![
        text(format!(
            "Share a contact with {title}: they can add them in one click."
        ))
        .size(theme::SMALL)
    ]
    .spacing(4);
    if contacts.is_empty() {
        list = list.push(
            text("You have no other contacts to share yet.")
                .size(theme::SMALL)
                .style(theme::muted_text),
        );
    }
    for contact in contacts {
        let line: Element<'_, Message> = if contact.can_share {
            button(text(contact.name.as_str()).size(theme::BODY))
                .width(Fill)
                .padding([4, 10])
                .style(button::text)
                .on_press(Message::Share(contact.id))
                .into()
        } else {
            row![
                text(contact.name.as_str())
                    .size(theme::BODY)
                    .style(theme::muted_text),
                text("not shareable yet").size(12).style(theme::muted_text),
            ]
            .spacing(theme::GAP)
            .padding([4, 10])
            .align_y(Alignment::Center)
            .into()
        };
        list = list.push(line);
    }
    list = list.push(
        button(text("Cancel").size(theme::SMALL))
            .padding([4, 12])
            .style(button::secondary)
            .on_press(Message::SharePicker),
    );
    container(list)
        .padding(10)
        .width(Fill)
        .style(theme::panel)
        .into()
}

/// A shared contact in the history, shared by `sender` (`already` our contact).
pub fn card<'a>(
    state: &'a State,
    message: &'a MessageView,
    name: &'a str,
    sender: &str,
    already: Option<ContactId>,
    footer: String,
) -> Element<'a, Message> {
    let by = if message.from_me {
        "introduced by you".to_owned()
    } else {
        format!("introduced by {sender}")
    };
    let added = state.added.get(&message.id).copied();
    let action: Element<'a, Message> = match (added, already) {
        (Some(contact), _) => button(text("Added — open conversation").size(theme::SMALL))
            .padding([4, 12])
            .style(button::success)
            .on_press(Message::OpenContact(contact))
            .into(),
        (None, Some(contact)) => row![
            theme::label("Already a contact", theme::Tag::Good),
            button(text("Open conversation").size(theme::SMALL))
                .padding([4, 12])
                .style(button::secondary)
                .on_press(Message::OpenContact(contact)),
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center)
        .into(),
        (None, None) if state.adding.contains(&message.id) => text("Adding…")
            .size(theme::SMALL)
            .style(theme::muted_text)
            .into(),
        (None, None) => button(text("Add contact").size(theme::SMALL))
            .padding([4, 12])
            .on_press(Message::AddContact(message.id))
            .into(),
    };
    card_frame(
        column![
            kind_line("Contact", by),
            text(name).size(17),
            text("Once added, compare safety numbers with them, as with anyone.")
                .size(theme::SMALL)
                .style(theme::muted_text),
            action,
            text(footer).size(12).style(theme::muted_text),
        ]
        .spacing(8),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KARIM: ContactId = ContactId([5; 16]);
    const CARD: MessageId = MessageId([9; 16]);

    #[test]
    fn the_picker_opens_where_we_may_post_and_closes_on_a_share() {
        let mut state = State::default();
        let mut status = Status::default();
        state.update(Message::SharePicker, false, &mut status);
        assert!(
            state.picker(None, "Tenants").is_none(),
            "an announcement loop"
        );
        state.update(Message::SharePicker, true, &mut status);
        assert!(state.picker(None, "Tenants").is_some());
        assert_eq!(
            state.update(Message::Share(KARIM), true, &mut status),
            Action::Share(KARIM)
        );
        assert!(!state.close_picker(), "sharing closed it");
        assert_eq!(status.pending, Some("Sharing the contact…"));
    }

    #[test]
    fn a_shared_contact_is_added_once() {
        let mut state = State::default();
        let mut status = Status::default();
        assert_eq!(
            state.update(Message::AddContact(CARD), true, &mut status),
            Action::AddContact(CARD)
        );
        assert_eq!(
            state.update(Message::AddContact(CARD), true, &mut status),
            Action::None,
            "a second click while adding"
        );
        state.added(CARD, Err("The relay is unreachable.".into()), &mut status);
        assert_eq!(
            status.error(),
            Some("The contact was not added. The relay is unreachable.")
        );
        assert_eq!(
            state.update(Message::AddContact(CARD), true, &mut status),
            Action::AddContact(CARD),
            "tried again after a failure"
        );
        state.added(CARD, Ok(KARIM), &mut status);
        assert_eq!(state.added.get(&CARD), Some(&KARIM));
    }
}
