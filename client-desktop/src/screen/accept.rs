//! "Accept an invitation": paste a link. The link is read here first (a damaged or
//! wrong link says so at once, a good one shows who it is from); the parent accepts it
//! over the network ([`Action::Accept`]) and reports the outcome with
//! [`State::finished`].

use boucle_client_core::Invitation;
use iced::Element;
use iced::widget::{button, column, text, text_input};

use crate::{io, theme};

/// Id of the link input.
pub const LINK: &str = "invitation";

#[derive(Debug, Default)]
pub struct State {
    link: String,
    /// Who the pasted invitation is from, once it reads well.
    from: Option<String>,
    busy: bool,
    error: Option<String>,
    accepted: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Link(String),
    Accept,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Accept(String),
}

impl State {
    /// The engine accepted the invitation (with the new contact's name) or refused it.
    pub fn finished(&mut self, result: Result<String, String>) {
        self.busy = false;
        match result {
            Ok(name) => {
                self.link.clear();
                self.from = None;
                self.error = None;
                self.accepted = Some(name);
            }
            Err(error) => self.error = Some(format!("The invitation was not accepted. {error}")),
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Link(link) => {
                self.from = Invitation::from_link(&link).ok().map(|i| i.name);
                self.link = link;
                self.error = None;
                Action::None
            }
            Message::Accept if self.busy || self.link.trim().is_empty() => Action::None,
            Message::Accept => match Invitation::from_link(&self.link) {
                Err(error) => {
                    self.error = Some(io::sentence(error));
                    Action::None
                }
                Ok(_) => {
                    self.busy = true;
                    self.error = None;
                    self.accepted = None;
                    Action::Accept(self.link.trim().to_owned())
                }
            },
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let status = if self.busy {
            Some(text("Accepting… (this needs the relay)").style(theme::muted_text))
        } else if let Some(name) = &self.accepted {
            Some(
                text(format!(
                    "{name} is now one of your contacts. Compare safety numbers when you meet."
                ))
                .style(theme::success_text),
            )
        } else {
            self.from
                .as_ref()
                .map(|name| text(format!("An invitation from {name}.")))
        };
        let error = self
            .error
            .as_deref()
            .map(|e| text(e).style(theme::error_text));
        let content = column![
            text("Accept an invitation").size(theme::TITLE),
            text("Paste the link someone sent you. It starts with boucle:invite/")
                .size(theme::BODY),
            text_input("boucle:invite/1/…", &self.link)
                .id(LINK)
                .on_input(Message::Link)
                .on_submit(Message::Accept)
                .padding(10),
            status,
            error,
            button(text(if self.busy { "Accepting…" } else { "Accept" }))
                .padding([8, 16])
                .on_press_maybe((!self.busy).then_some(Message::Accept)),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(640);
        theme::page(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced::keyboard::{Key, key::Named};
    use iced_test::selector::id;
    use iced_test::simulator;

    fn act(
        state: &mut State,
        f: impl FnOnce(&mut iced_test::Simulator<'_, Message>),
    ) -> Vec<Action> {
        let mut ui = simulator(state.view());
        f(&mut ui);
        let messages: Vec<Message> = ui.into_messages().collect();
        messages.into_iter().map(|m| state.update(m)).collect()
    }

    #[test]
    fn a_garbage_link_says_what_is_wrong_without_the_network() {
        let mut state = State::default();
        let actions = act(&mut state, |ui| {
            ui.click(id(LINK)).expect("field");
            ui.typewrite("hello there");
            ui.tap_key(Key::Named(Named::Enter));
        });
        assert!(actions.iter().all(|a| *a == Action::None), "{actions:?}");
        let mut ui = simulator(state.view());
        assert!(
            ui.find("This is not a Boucle invitation (it should start with boucle:invite/).")
                .is_ok()
        );
        drop(ui);
        state.update(Message::Link("boucle:invite/1/AAAA".into()));
        state.update(Message::Accept);
        let mut ui = simulator(state.view());
        assert!(
            ui.find("This invitation is damaged (was it copied completely?).")
                .is_ok()
        );
    }

    #[test]
    fn a_good_link_shows_who_it_is_from_and_is_accepted() {
        // A real invitation's link needs a real card: the two-user test pastes one. Here
        // the network part: progress, then success or a refusal.
        let mut state = State {
            link: "boucle:invite/1/…".into(),
            from: Some("Nadia".into()),
            ..State::default()
        };
        let mut ui = simulator(state.view());
        assert!(ui.find("An invitation from Nadia.").is_ok());
        drop(ui);
        state.busy = true;
        let mut ui = simulator(state.view());
        assert!(ui.find("Accepting… (this needs the relay)").is_ok());
        drop(ui);
        state.finished(Err("Nadia is already one of your contacts.".into()));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("The invitation was not accepted. Nadia is already one of your contacts.")
                .is_ok()
        );
        drop(ui);
        state.finished(Ok("Nadia".into()));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("Nadia is now one of your contacts. Compare safety numbers when you meet.")
                .is_ok()
        );
    }
}
