//! "New loop": a name and the contacts to invite. The parent creates it
//! ([`Action::Create`]) and reports a failure with [`State::failed`].

use std::collections::BTreeSet;

use boucle_client_core::{Contact, ContactId};
use iced::widget::{button, checkbox, column, container, text, text_input};
use iced::{Element, Fill};

use crate::theme;

/// Id of the name input.
pub const NAME: &str = "loop-name";

#[derive(Debug)]
pub struct State {
    name: String,
    contacts: Vec<(ContactId, String)>,
    picked: BTreeSet<ContactId>,
    busy: bool,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Name(String),
    Toggle(ContactId, bool),
    Create,
}

#[derive(Debug)]
pub enum Action {
    None,
    Create {
        name: String,
        contacts: Vec<ContactId>,
    },
}

impl State {
    pub fn new(contacts: &[Contact]) -> State {
        State {
            name: String::new(),
            contacts: contacts.iter().map(|c| (c.id, c.name.clone())).collect(),
            picked: BTreeSet::new(),
            busy: false,
            error: None,
        }
    }

    pub fn failed(&mut self, error: String) {
        self.busy = false;
        self.error = Some(error);
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Name(name) => self.name = name,
            Message::Toggle(id, on) => {
                if on {
                    self.picked.insert(id);
                } else {
                    self.picked.remove(&id);
                }
            }
            Message::Create => {
                if self.busy || self.name.trim().is_empty() {
                    return Action::None;
                }
                self.busy = true;
                self.error = None;
                return Action::Create {
                    name: self.name.trim().to_owned(),
                    contacts: self.picked.iter().copied().collect(),
                };
            }
        }
        Action::None
    }

    pub fn view(&self) -> Element<'_, Message> {
        let people = if self.contacts.is_empty() {
            column![text("You have no contacts yet: invite someone first, or create the loop and add people later.").size(theme::SMALL)]
        } else {
            column(self.contacts.iter().map(|(id, name)| {
                let id = *id;
                checkbox(self.picked.contains(&id))
                    .label(name.as_str())
                    .on_toggle(move |on| Message::Toggle(id, on))
                    .into()
            }))
            .spacing(6)
        };
        let error = self.error.as_deref().map(|e| {
            text(e).style(|t| text::Style {
                color: Some(theme::error(t)),
            })
        });
        let content = column![
            text("New loop").size(theme::TITLE),
            text("A loop is a group conversation. You will be its admin.").size(theme::BODY),
            text_input("Name of the loop", &self.name)
                .id(NAME)
                .on_input(Message::Name)
                .on_submit(Message::Create)
                .padding(10),
            text("Invite").size(theme::BODY),
            people,
            error,
            button(text(if self.busy {
                "Creating…"
            } else {
                "Create the loop"
            }))
            .padding([8, 16])
            .on_press_maybe(
                (!self.busy && !self.name.trim().is_empty()).then_some(Message::Create)
            ),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(560);
        container(content).padding(theme::PAD).width(Fill).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::selector::id;
    use iced_test::simulator;

    #[test]
    fn a_loop_is_named_and_contacts_picked() {
        let contacts = vec![Contact {
            id: ContactId([1; 16]),
            name: "Nadia".into(),
            verified: false,
            identity_changed: false,
            unread: 0,
            relay_host: "x".into(),
            last_activity: 0,
            introduced_by: None,
            can_share: false,
            blocked: false,
        }];
        let mut state = State::new(&contacts);
        let mut ui = simulator(state.view());
        ui.click(id(NAME)).expect("name");
        ui.typewrite("Tenants");
        ui.click("Nadia").expect("checkbox");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(actions.iter().all(|a| matches!(a, Action::None)));
        let mut ui = simulator(state.view());
        ui.click("Create the loop").expect("button");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(matches!(
            actions.as_slice(),
            [Action::Create { name, contacts }] if name == "Tenants" && contacts == &[ContactId([1; 16])]
        ));
    }
}
