//! First run: choose a display name, a passphrase (with a strength hint and a
//! confirmation) and the relay to use. Creating the profile is the parent's job
//! ([`Action::Create`]); it reports failures back with [`Message::Failed`].

use iced::widget::{button, column, container, row, text, text_input};
use iced::{Center, Element, Fill};

use crate::theme;

/// What the form holds.
#[derive(Debug, Default)]
pub struct State {
    name: String,
    passphrase: String,
    confirm: String,
    relay: String,
    token: String,
    /// Whether the relay field was prefilled from this machine's settings.
    local_relay: bool,
    busy: bool,
    error: Option<String>,
}

/// What the user did.
#[derive(Debug, Clone)]
pub enum Message {
    Name(String),
    Passphrase(String),
    Confirm(String),
    Relay(String),
    Token(String),
    Submit,
    /// The profile could not be created.
    Failed(String),
}

/// What the form asks of its parent.
#[derive(Debug)]
pub enum Action {
    None,
    Create(NewProfile),
}

/// Everything needed to create a profile.
#[derive(Clone)]
pub struct NewProfile {
    pub name: String,
    pub passphrase: String,
    pub relay: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for NewProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewProfile").finish_non_exhaustive()
    }
}

/// How strong a passphrase looks, as a hint (not a guarantee).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    TooShort,
    Weak,
    Fair,
    Strong,
}

impl Strength {
    /// A rough estimate from length, variety and word count.
    pub fn of(passphrase: &str) -> Strength {
        let length = passphrase.chars().count();
        let words = passphrase.split_whitespace().count();
        let classes = [
            passphrase.chars().any(|c| c.is_lowercase()),
            passphrase.chars().any(|c| c.is_uppercase()),
            passphrase.chars().any(|c| c.is_ascii_digit()),
            passphrase.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        match length {
            0..8 => Strength::TooShort,
            _ if length >= 20 && words >= 4 => Strength::Strong,
            _ if length >= 16 && classes >= 3 => Strength::Strong,
            12.. if classes >= 2 || words >= 3 => Strength::Fair,
            _ => Strength::Weak,
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Strength::TooShort => "Too short: use at least 8 characters.",
            Strength::Weak => "Weak: add words, or mix letters, digits and signs.",
            Strength::Fair => "Fair: a few more words make it much stronger.",
            Strength::Strong => "Strong: good. Write it down somewhere safe.",
        }
    }
}

impl State {
    /// An empty form; `relay` prefills the relay address (a relay on this machine).
    pub fn new(relay: Option<String>, token: Option<String>) -> State {
        State {
            local_relay: relay.is_some(),
            relay: relay.unwrap_or_default(),
            token: token.unwrap_or_default(),
            ..State::default()
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Name(name) => self.name = name,
            Message::Passphrase(text) => self.passphrase = text,
            Message::Confirm(text) => self.confirm = text,
            Message::Relay(text) => self.relay = text,
            Message::Token(text) => self.token = text,
            Message::Failed(error) => {
                self.busy = false;
                self.error = Some(error);
            }
            Message::Submit => {
                if self.busy {
                    return Action::None;
                }
                if let Some(problem) = self.problem() {
                    self.error = Some(problem.to_owned());
                    return Action::None;
                }
                self.busy = true;
                self.error = None;
                let token = self.token.trim();
                return Action::Create(NewProfile {
                    name: self.name.trim().to_owned(),
                    passphrase: self.passphrase.clone(),
                    relay: self.relay.trim().to_owned(),
                    token: (!token.is_empty()).then(|| token.to_owned()),
                });
            }
        }
        Action::None
    }

    /// What stops the form from being submitted, in a sentence.
    fn problem(&self) -> Option<&'static str> {
        if self.name.trim().is_empty() {
            Some("Choose a name: it is what your contacts will see.")
        } else if Strength::of(&self.passphrase) == Strength::TooShort {
            Some("The passphrase is too short: use at least 8 characters.")
        } else if self.passphrase != self.confirm {
            Some("The two passphrases are different.")
        } else if self.relay.trim().is_empty() {
            Some("Paste the address of a relay (ask whoever runs it).")
        } else {
            None
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let strength = (!self.passphrase.is_empty())
            .then(|| text(Strength::of(&self.passphrase).hint()).size(theme::SMALL));
        let mismatch = (!self.confirm.is_empty() && self.confirm != self.passphrase)
            .then(|| text("The two passphrases are different.").size(theme::SMALL));
        let relay_note = if self.local_relay {
            "Prefilled with the relay on this machine (BOUCLE_RELAY)."
        } else {
            "Paste the relay address you were given: boucle-relay://host:port/fingerprint"
        };
        let submit = button(text(if self.busy {
            "Creating your profile…"
        } else {
            "Create my profile"
        }))
        .padding([10, 18])
        .on_press_maybe((!self.busy).then_some(Message::Submit));
        let error = self.error.as_deref().map(|e| {
            text(e).style(|t| text::Style {
                color: Some(theme::error(t)),
            })
        });

        let form = column![
            text("Welcome to Boucle").size(theme::TITLE),
            text("Private conversations, encrypted end to end. Nothing here needs an email or a phone number.")
                .size(theme::SMALL),
            label("Your name"),
            text_input("How your contacts will see you", &self.name)
                .id("name")
                .on_input(Message::Name)
                .on_submit(Message::Submit)
                .padding(10),
            label("Passphrase"),
            text_input("Protects this profile on this computer", &self.passphrase)
                .id("passphrase")
                .secure(true)
                .on_input(Message::Passphrase)
                .on_submit(Message::Submit)
                .padding(10),
        ]
        .push(strength)
        .push(label("Passphrase again"))
        .push(
            text_input("Type it once more", &self.confirm)
                .id("confirm")
                .secure(true)
                .on_input(Message::Confirm)
                .on_submit(Message::Submit)
                .padding(10),
        )
        .push(mismatch)
        .push(label("Relay"))
        .push(
            text_input("boucle-relay://host:port/fingerprint", &self.relay)
                .id("relay")
                .on_input(Message::Relay)
                .on_submit(Message::Submit)
                .padding(10),
        )
        .push(text(relay_note).size(theme::SMALL))
        .push(label("Access token (only if the relay asks for one)"))
        .push(
            text_input("optional", &self.token)
                .id("token")
                .on_input(Message::Token)
                .on_submit(Message::Submit)
                .padding(10),
        )
        .push(error)
        .push(row![submit].padding([theme::GAP, 0.0]))
        .spacing(theme::GAP)
        .max_width(520);

        container(iced::widget::scrollable(
            container(form).padding(theme::PAD).center_x(Fill),
        ))
        .center_y(Fill)
        .align_x(Center)
        .into()
    }
}

fn label(content: &str) -> iced::widget::Text<'_> {
    text(content).size(theme::BODY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::selector::id;
    use iced_test::simulator;

    fn run(
        state: &mut State,
        act: impl FnOnce(&mut iced_test::Simulator<'_, Message>),
    ) -> Vec<Action> {
        let mut ui = simulator(state.view());
        act(&mut ui);
        let messages: Vec<Message> = ui.into_messages().collect();
        messages.into_iter().map(|m| state.update(m)).collect()
    }

    fn fill(ui: &mut iced_test::Simulator<'_, Message>, field: &'static str, value: &str) {
        ui.click(id(field)).expect(field);
        ui.typewrite(value);
    }

    #[test]
    fn a_user_creates_a_profile() {
        let mut state = State::new(Some("boucle://127.0.0.1:4433#abcd".into()), None);
        let actions = run(&mut state, |ui| {
            fill(ui, "name", "Nadia");
            fill(ui, "passphrase", "river lamp orange tiger");
            fill(ui, "confirm", "river lamp orange tiger");
        });
        assert!(actions.iter().all(|a| matches!(a, Action::None)));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("Strong: good. Write it down somewhere safe.")
                .is_ok()
        );
        assert!(
            ui.find("Prefilled with the relay on this machine (BOUCLE_RELAY).")
                .is_ok()
        );
        drop(ui);
        let actions = run(&mut state, |ui| {
            ui.click("Create my profile").expect("button");
        });
        let Some(Action::Create(profile)) = actions.into_iter().last() else {
            panic!("no create action");
        };
        assert_eq!(profile.name, "Nadia");
        assert_eq!(profile.relay, "boucle://127.0.0.1:4433#abcd");
        assert!(profile.token.is_none());
        let mut ui = simulator(state.view());
        assert!(ui.find("Creating your profile…").is_ok());
        drop(ui);
        state.update(Message::Failed("relay 127.0.0.1: unreachable".into()));
        let mut ui = simulator(state.view());
        assert!(ui.find("relay 127.0.0.1: unreachable").is_ok());
        assert!(ui.find("Create my profile").is_ok());
    }

    #[test]
    fn mismatched_passphrases_are_refused() {
        let mut state = State::new(None, None);
        let actions = run(&mut state, |ui| {
            fill(ui, "name", "Ana");
            fill(ui, "passphrase", "short");
            fill(ui, "confirm", "other");
            fill(ui, "relay", "boucle://x:1#00");
        });
        assert!(actions.iter().all(|a| matches!(a, Action::None)));
        let mut ui = simulator(state.view());
        assert!(ui.find("Too short: use at least 8 characters.").is_ok());
        assert!(ui.find("The two passphrases are different.").is_ok());
        drop(ui);
        let actions = run(&mut state, |ui| {
            ui.click("Create my profile").expect("button");
        });
        assert!(actions.iter().all(|a| matches!(a, Action::None)));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("The passphrase is too short: use at least 8 characters.")
                .is_ok()
        );
    }

    #[test]
    fn strength_grows_with_length_and_variety() {
        assert_eq!(Strength::of("abc"), Strength::TooShort);
        assert_eq!(Strength::of("abcdefgh"), Strength::Weak);
        assert_eq!(Strength::of("abcdefgh1234"), Strength::Fair);
        assert_eq!(
            Strength::of("correct horse battery staple"),
            Strength::Strong
        );
    }
}
