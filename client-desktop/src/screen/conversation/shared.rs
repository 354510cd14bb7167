//! Shared contacts: the picker that shares one of ours ("Share a contact"; those whose
//! shareable card has not arrived yet are greyed, with the reason), and a shared
//! contact's card in the history (who, who introduced them, and "Add contact" in one
//! click, then "Added — open conversation"; or "Already a contact").

use boucle_client_core::{ContactId, ConversationId, MessageView};
use iced::widget::{button, column, container, row, text};
use iced::{Alignment, Element, Fill};

use super::poll::{card, kind_line};
use super::{Message, State};
use crate::theme;

/// The contact picker, above the composer.
pub fn picker(state: &State) -> Element<'_, Message> {
    let here = match state.id {
        ConversationId::Contact(id) => Some(id),
        _ => None,
    };
    let contacts: Vec<_> = state
        .contacts
        .iter()
        .filter(|c| Some(c.id) != here)
        .collect();
    let mut list = column![
        text(format!(
            "Share a contact with {}: they can add them in one click.",
            state.header.title
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

/// A shared contact in the history.
pub fn view<'a>(
    state: &'a State,
    message: &'a MessageView,
    name: &'a str,
    already: Option<ContactId>,
    footer: String,
) -> Element<'a, Message> {
    let by = if message.from_me {
        "introduced by you".to_owned()
    } else {
        format!("introduced by {}", state.sender_name(message))
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
    card(
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
