//! "Accept an invitation": paste a link; the parent accepts it ([`Action::Accept`]) and
//! reports the outcome with [`State::finished`].

use iced::widget::{button, column, container, text, text_input};
use iced::{Element, Fill};

use crate::theme;

/// Id of the link input.
pub const LINK: &str = "invitation";

#[derive(Debug, Default)]
pub struct State {
    link: String,
    busy: bool,
    error: Option<String>,
    accepted: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Link(String),
    Accept,
}

#[derive(Debug)]
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
                self.error = None;
                self.accepted = Some(name);
            }
            Err(error) => self.error = Some(error),
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Link(link) => {
                self.link = link;
                self.error = None;
                Action::None
            }
            Message::Accept if self.busy || self.link.trim().is_empty() => Action::None,
            Message::Accept => {
                self.busy = true;
                self.accepted = None;
                Action::Accept(self.link.trim().to_owned())
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let status = if self.busy {
            Some(text("Accepting… (this needs the relay)"))
        } else {
            self.accepted.as_ref().map(|name| {
                text(format!(
                    "{name} is now one of your contacts. Compare safety numbers when you meet."
                ))
            })
        };
        let error = self.error.as_deref().map(|e| {
            text(e).style(|t| text::Style {
                color: Some(theme::error(t)),
            })
        });
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
            button(text("Accept"))
                .padding([8, 16])
                .on_press_maybe((!self.busy).then_some(Message::Accept)),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(640);
        container(content).padding(theme::PAD).width(Fill).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::selector::id;
    use iced_test::simulator;

    #[test]
    fn a_pasted_link_is_accepted_and_errors_are_shown() {
        let mut state = State::default();
        let mut ui = simulator(state.view());
        ui.click(id(LINK)).expect("field");
        ui.typewrite("hello");
        ui.click("Accept").expect("button");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(matches!(actions.last(), Some(Action::Accept(l)) if l == "hello"));
        let mut ui = simulator(state.view());
        assert!(ui.find("Accepting… (this needs the relay)").is_ok());
        drop(ui);
        state.finished(Err(
            "this is not a Boucle invitation (it should start with boucle:invite/)".into(),
        ));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("this is not a Boucle invitation (it should start with boucle:invite/)")
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
