//! Later runs: the passphrase opens the profile. The parent unlocks it
//! ([`Action::Unlock`]) and reports a failure back with [`Message::Failed`].

use iced::widget::{button, column, container, text, text_input};
use iced::{Element, Fill};

use crate::theme;

#[derive(Debug, Default)]
pub struct State {
    passphrase: String,
    busy: bool,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Passphrase(String),
    Submit,
    /// Unlocking failed (wrong passphrase, profile in use, ...).
    Failed(String),
}

pub enum Action {
    None,
    Unlock(String),
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::None => f.write_str("None"),
            Action::Unlock(_) => f.write_str("Unlock(..)"),
        }
    }
}

impl State {
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Passphrase(text) => {
                self.passphrase = text;
                Action::None
            }
            Message::Failed(error) => {
                self.busy = false;
                self.passphrase.clear();
                self.error = Some(error);
                Action::None
            }
            Message::Submit if self.busy || self.passphrase.is_empty() => Action::None,
            Message::Submit => {
                self.busy = true;
                self.error = None;
                Action::Unlock(self.passphrase.clone())
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let error = self.error.as_deref().map(|e| {
            text(e).style(|t| text::Style {
                color: Some(theme::error(t)),
            })
        });
        let form = column![
            text("Boucle").size(theme::TITLE),
            text("Enter your passphrase to open your conversations.").size(theme::BODY),
            text_input("Passphrase", &self.passphrase)
                .id("passphrase")
                .secure(true)
                .on_input(Message::Passphrase)
                .on_submit(Message::Submit)
                .padding(10),
            error,
            button(text(if self.busy { "Unlocking…" } else { "Unlock" }))
                .padding([10, 18])
                .on_press_maybe((!self.busy).then_some(Message::Submit)),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(420);
        container(form).padding(theme::PAD).center(Fill).into()
    }
}

/// The sentence shown for an unlock failure.
pub fn explain(error: &boucle_client_core::EngineError) -> String {
    use boucle_client_core::{EngineError, store::StoreError};
    match error {
        EngineError::Store(StoreError::WrongPassphrase) => {
            "Wrong passphrase. Try again.".to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced::keyboard::{Key, key::Named};
    use iced_test::selector::id;
    use iced_test::simulator;

    #[test]
    fn enter_unlocks_and_a_wrong_passphrase_says_so() {
        let mut state = State::default();
        let mut ui = simulator(state.view());
        ui.click(id("passphrase")).expect("field");
        ui.typewrite("not my passphrase");
        ui.tap_key(Key::Named(Named::Enter));
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(
            matches!(actions.last(), Some(Action::Unlock(p)) if p == "not my passphrase"),
            "{actions:?}"
        );
        let mut ui = simulator(state.view());
        assert!(ui.find("Unlocking…").is_ok());

        drop(ui);
        state.update(Message::Failed("Wrong passphrase. Try again.".into()));
        let mut ui = simulator(state.view());
        assert!(ui.find("Wrong passphrase. Try again.").is_ok());
        assert!(ui.find("Unlock").is_ok());
    }
}
