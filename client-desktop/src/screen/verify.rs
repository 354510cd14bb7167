//! The safety-number screen: sixty digits in twelve groups and a QR code, to compare in
//! person; "Mark as verified" once they match.

use boucle_client_core::{Contact, ContactId};
use iced::Element;
use iced::widget::{button, column, container, qr_code, row, text};

use crate::theme;

#[derive(Debug)]
pub struct State {
    contact: ContactId,
    name: String,
    verified: bool,
    /// Who shared them with us, for a contact made from a shared card.
    introduced_by: Option<String>,
    groups: Vec<String>,
    qr: Option<qr_code::Data>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    MarkVerified,
    Back,
}

#[derive(Debug)]
pub enum Action {
    None,
    MarkVerified(ContactId),
    Back,
}

impl State {
    pub fn new(contact: &Contact) -> State {
        State {
            contact: contact.id,
            name: contact.name.clone(),
            verified: contact.verified && !contact.identity_changed,
            introduced_by: contact.introduced_by.clone(),
            groups: Vec::new(),
            qr: None,
            error: None,
        }
    }

    pub fn contact(&self) -> ContactId {
        self.contact
    }

    /// The safety number arrived (digit groups and QR payload).
    pub fn loaded(&mut self, result: Result<crate::io::Safety, String>) {
        match result {
            Ok(safety) => {
                self.qr = qr_code::Data::new(&safety.qr).ok();
                self.groups = safety.groups;
            }
            Err(error) => self.error = Some(error),
        }
    }

    /// The contact was marked verified (or not).
    pub fn verified(&mut self, result: Result<Contact, String>) {
        match result {
            Ok(contact) => self.verified = contact.verified,
            Err(error) => self.error = Some(error),
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::MarkVerified => Action::MarkVerified(self.contact),
            Message::Back => Action::Back,
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let digits = column(self.groups.chunks(4).map(|line| {
            row(line.iter().map(|group| digit_group(group)))
                .spacing(18)
                .into()
        }))
        .spacing(10);
        let qr = self.qr.as_ref().map(|data| {
            container(qr_code(data).cell_size(5).style(theme::qr))
                .padding(12)
                .style(theme::qr_frame)
        });
        let status: Element<'_, Message> = if self.verified {
            text(format!("You have verified {}.", self.name))
                .style(|t: &iced::Theme| text::Style {
                    color: Some(t.palette().success),
                })
                .into()
        } else {
            button(text("They match: mark as verified"))
                .padding([8, 16])
                .on_press(Message::MarkVerified)
                .into()
        };
        let error = self.error.as_deref().map(|e| {
            text(e).style(|t| text::Style {
                color: Some(theme::error(t)),
            })
        });
        let content = column![
            text(format!("Safety number with {}", self.name)).size(theme::TITLE),
            text(format!(
                "Meet {} in person (or call them) and check that you both see the same digits. If they match, nobody is in the middle of your conversation.",
                self.name
            ))
            .size(theme::BODY),
            self.introduced_by.as_deref().filter(|_| !self.verified).map(|by| {
                text(format!(
                    "{by} introduced you: that says who they are to {by}, not to you. Compare the digits with {} yourself.",
                    self.name
                ))
                .size(theme::SMALL)
                .style(theme::muted_text)
            }),
            row![container(digits).padding(16).style(theme::panel), qr]
                .spacing(theme::PAD)
                .align_y(iced::Alignment::Center),
            status,
            error,
            button(text("Back to the conversation"))
                .style(button::secondary)
                .on_press(Message::Back),
        ]
        .spacing(theme::PAD)
        .max_width(760);
        theme::page(content)
    }
}

/// A group of digits in the embedded font (a system monospace font would differ from
/// machine to machine, and some have none), in a cell of fixed width so that the groups
/// line up in columns.
fn digit_group(group: &str) -> Element<'_, Message> {
    text(group)
        .size(24)
        .width(80)
        .align_x(iced::alignment::Horizontal::Center)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;

    fn contact() -> Contact {
        Contact {
            id: ContactId([7; 16]),
            name: "Nadia".into(),
            verified: false,
            identity_changed: false,
            unread: 0,
            relay_host: "127.0.0.1".into(),
            last_activity: 0,
            introduced_by: None,
            can_share: false,
            blocked: false,
        }
    }

    #[test]
    fn digits_are_shown_in_groups_and_verifying_is_one_click() {
        let mut state = State::new(&contact());
        state.loaded(Ok(crate::io::Safety {
            groups: (0..12)
                .map(|i| format!("{:05}", i * 11111 % 100000))
                .collect(),
            qr: vec![1; 65],
        }));
        let mut ui = simulator(state.view());
        assert!(ui.find("Safety number with Nadia").is_ok());
        assert!(ui.find("22222").is_ok());
        assert!(ui.find("99999").is_ok());
        ui.click("They match: mark as verified").expect("button");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(
            matches!(actions.as_slice(), [Action::MarkVerified(id)] if *id == ContactId([7; 16]))
        );
        state.verified(Ok(Contact {
            verified: true,
            ..contact()
        }));
        let mut ui = simulator(state.view());
        assert!(ui.find("You have verified Nadia.").is_ok());
    }
}
