//! "New poll" in a conversation: a question, 2 to 12 options (add and remove), one
//! choice or several, and when voting closes (never, in an hour, a day, a week, or at a
//! typed date and time). What is wrong is said in a sentence before anything is sent;
//! the parent creates the poll ([`Action::Create`]) and reports a failure with
//! [`State::failed`].

use boucle_client_core::ConversationId;
use boucle_client_core::time;
use iced::widget::{button, column, row, text, text_input};
use iced::{Alignment, Element};

use crate::theme;
use crate::when::{self, Zone};

/// Id of the question input.
pub const QUESTION: &str = "poll-question";
/// Id of the typed closing time input.
pub const CLOSES: &str = "poll-closes";
/// Fewest and most options a poll has.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 12;

/// Id of the input of option `i` (from 0).
pub fn option_id(i: usize) -> String {
    format!("poll-option-{i}")
}

#[derive(Debug)]
pub struct State {
    pub conversation: ConversationId,
    title: String,
    question: String,
    options: Vec<String>,
    multiple: bool,
    closing: Closing,
    /// The typed closing time (`2025-06-12 18:00`, the user's time), for [`Closing::At`].
    closes_text: String,
    zone: Zone,
    busy: bool,
    error: Option<String>,
}

/// When voting closes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    Never,
    InHour,
    InDay,
    InWeek,
    At,
}

impl Closing {
    const ALL: [Closing; 5] = [
        Closing::Never,
        Closing::InHour,
        Closing::InDay,
        Closing::InWeek,
        Closing::At,
    ];

    fn label(self) -> &'static str {
        match self {
            Closing::Never => "When I close it",
            Closing::InHour => "In 1 hour",
            Closing::InDay => "In 1 day",
            Closing::InWeek => "In 1 week",
            Closing::At => "At a date and time",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Question(String),
    Option(usize, String),
    AddOption,
    RemoveOption(usize),
    Multiple(bool),
    Closing(Closing),
    ClosesAt(String),
    Create,
    Cancel,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// Put the keyboard focus in this input.
    Focus(String),
    Create {
        question: String,
        options: Vec<String>,
        multiple: bool,
        closes_at: Option<u64>,
    },
    /// Back to the conversation, nothing sent.
    Cancel,
}

impl State {
    /// A blank poll for the conversation called `title`; typed times are in `zone`.
    pub fn new(conversation: ConversationId, title: &str, zone: Zone) -> State {
        State {
            conversation,
            title: title.to_owned(),
            question: String::new(),
            options: vec![String::new(); MIN_OPTIONS],
            multiple: false,
            closing: Closing::Never,
            closes_text: String::new(),
            zone,
            busy: false,
            error: None,
        }
    }

    pub fn failed(&mut self, error: String) {
        self.busy = false;
        self.error = Some(format!("The poll was not created. {error}"));
    }

    pub fn update(&mut self, message: Message, now: u64) -> Action {
        match message {
            Message::Question(question) => self.question = question,
            Message::Option(i, value) => {
                if let Some(option) = self.options.get_mut(i) {
                    *option = value;
                }
            }
            Message::AddOption => {
                if self.options.len() < MAX_OPTIONS {
                    self.options.push(String::new());
                    return Action::Focus(option_id(self.options.len() - 1));
                }
            }
            Message::RemoveOption(i) => {
                if self.options.len() > MIN_OPTIONS && i < self.options.len() {
                    self.options.remove(i);
                }
            }
            Message::Multiple(multiple) => self.multiple = multiple,
            Message::Closing(closing) => {
                self.closing = closing;
                if closing == Closing::At {
                    return Action::Focus(CLOSES.to_owned());
                }
            }
            Message::ClosesAt(value) => self.closes_text = value,
            Message::Create => {
                if self.busy {
                    return Action::None;
                }
                match self.checked(now) {
                    Ok(action) => {
                        self.busy = true;
                        self.error = None;
                        return action;
                    }
                    Err(error) => self.error = Some(error),
                }
            }
            Message::Cancel => return Action::Cancel,
        }
        Action::None
    }

    /// The poll to create, or what is wrong with it, in a sentence.
    fn checked(&self, now: u64) -> Result<Action, String> {
        let question = self.question.trim();
        if question.is_empty() {
            return Err("Write the question first.".into());
        }
        let options: Vec<String> = self
            .options
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if options.len() < MIN_OPTIONS {
            return Err(format!(
                "A poll needs at least {MIN_OPTIONS} options: fill in {}.",
                if options.is_empty() {
                    "two"
                } else {
                    "a second one"
                }
            ));
        }
        for (i, option) in options.iter().enumerate() {
            if options[..i]
                .iter()
                .any(|o| o.to_lowercase() == option.to_lowercase())
            {
                return Err(format!("“{option}” is there twice: remove one of them."));
            }
        }
        const HOUR: u64 = 3_600_000;
        let closes_at = match self.closing {
            Closing::Never => None,
            Closing::InHour => Some(now + HOUR),
            Closing::InDay => Some(now + 24 * HOUR),
            Closing::InWeek => Some(now + 7 * 24 * HOUR),
            Closing::At => {
                let Ok(clock) = time::parse_date_time(&self.closes_text) else {
                    return Err(
                        "Write the closing time as a date and a time, like 2025-06-12 18:00."
                            .into(),
                    );
                };
                let at = self.zone.instant(clock).map_err(|e| when::refusal(&e))?;
                if at <= now {
                    return Err("The closing time is already past: pick a later one.".into());
                }
                Some(at)
            }
        };
        Ok(Action::Create {
            question: question.to_owned(),
            options,
            multiple: self.multiple,
            closes_at,
        })
    }

    pub fn view(&self) -> Element<'_, Message> {
        let options = column(self.options.iter().enumerate().map(|(i, option)| {
            let remove = (self.options.len() > MIN_OPTIONS).then(|| {
                button(text("Remove").size(theme::SMALL))
                    .padding([6, 10])
                    .style(button::text)
                    .on_press(Message::RemoveOption(i))
            });
            row![
                text_input(&format!("Option {}", i + 1), option)
                    .id(option_id(i))
                    .on_input(move |value| Message::Option(i, value))
                    .on_submit(Message::Create)
                    .padding(8),
                remove,
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center)
            .into()
        }))
        .spacing(6);
        let add = (self.options.len() < MAX_OPTIONS).then(|| {
            button(text("Add an option").size(theme::SMALL))
                .padding([6, 12])
                .style(button::secondary)
                .on_press(Message::AddOption)
        });
        let kind = row![
            choice("One choice", !self.multiple, Message::Multiple(false)),
            choice("Several choices", self.multiple, Message::Multiple(true)),
        ]
        .spacing(6);
        let closing = row(Closing::ALL
            .iter()
            .map(|c| choice(c.label(), self.closing == *c, Message::Closing(*c)).into()))
        .spacing(6)
        .wrap();
        let closes_at = (self.closing == Closing::At).then(|| {
            row![
                text_input("2025-06-12 18:00", &self.closes_text)
                    .id(CLOSES)
                    .on_input(Message::ClosesAt)
                    .on_submit(Message::Create)
                    .padding(8)
                    .width(220),
                text(format!("your time ({})", self.zone.name()))
                    .size(theme::SMALL)
                    .style(theme::muted_text),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center)
        });
        let error = self
            .error
            .as_deref()
            .map(|e| text(e).size(theme::BODY).style(theme::error_text));
        let create = button(text(if self.busy {
            "Creating…"
        } else {
            "Create the poll"
        }))
        .padding([8, 16])
        .on_press_maybe((!self.busy).then_some(Message::Create));
        let content = column![
            text("New poll").size(theme::TITLE),
            text(format!(
                "{}. Everyone sees who voted for what: it is a show of hands.",
                super::event_form::place_line(self.conversation, &self.title)
            ))
            .size(theme::BODY)
            .style(theme::muted_text),
            section("Question"),
            text_input("What do you want to ask?", &self.question)
                .id(QUESTION)
                .on_input(Message::Question)
                .on_submit(Message::Create)
                .padding(10),
            section("Options"),
            options,
            add,
            section("Answers"),
            kind,
            section("Voting closes"),
            closing,
            closes_at,
            error,
            row![
                create,
                button(text("Cancel"))
                    .padding([8, 16])
                    .style(button::secondary)
                    .on_press(Message::Cancel),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(620);
        theme::page(content)
    }
}

fn section(label: &str) -> Element<'_, Message> {
    text(label)
        .size(theme::SMALL)
        .style(theme::muted_text)
        .into()
}

/// One of a group of choices, as a button that looks pressed when chosen.
pub fn choice<'a, M: Clone + 'a>(
    label: &'a str,
    on: bool,
    message: M,
) -> iced::widget::Button<'a, M> {
    button(text(label).size(theme::SMALL))
        .padding([6, 12])
        .style(if on {
            button::primary
        } else {
            button::secondary
        })
        .on_press(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::selector::id;
    use iced_test::{Simulator, simulator};

    const NOW: u64 = 1_749_700_000_000;

    fn state() -> State {
        State::new(
            ConversationId::Loop(boucle_client_core::LoopId([9; 16])),
            "Tenants",
            Zone::utc(),
        )
    }

    fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
        let mut ui = simulator(state.view());
        act(&mut ui);
        let messages: Vec<Message> = ui.into_messages().collect();
        messages
            .into_iter()
            .map(|m| state.update(m, NOW))
            .filter(|a| *a != Action::None)
            .collect()
    }

    fn shows(state: &State, text: &str) -> bool {
        simulator(state.view()).find(text).is_ok()
    }

    #[test]
    fn one_option_is_refused_then_two_make_a_poll() {
        let mut state = state();
        let actions = user(&mut state, |ui| {
            ui.click(id(QUESTION)).expect("question");
            ui.typewrite("Which day for the assembly?");
            ui.click(id(option_id(0))).expect("first option");
            ui.typewrite("Thursday");
            ui.click("Create the poll").expect("create");
        });
        assert!(actions.is_empty(), "nothing is sent");
        assert!(shows(
            &state,
            "A poll needs at least 2 options: fill in a second one."
        ));
        let actions = user(&mut state, |ui| {
            ui.click(id(option_id(1))).expect("second option");
            ui.typewrite("Friday");
            ui.click("Add an option").expect("add");
        });
        assert_eq!(actions, vec![Action::Focus(option_id(2))]);
        let actions = user(&mut state, |ui| {
            ui.click(id(option_id(2))).expect("third option");
            ui.typewrite("friday");
            ui.click("Several choices").expect("multiple");
            ui.click("In 1 day").expect("closing");
            ui.click("Create the poll").expect("create");
        });
        assert!(actions.is_empty());
        assert!(shows(
            &state,
            "“friday” is there twice: remove one of them."
        ));
        // Remove the third option again (every option's button says "Remove").
        assert!(shows(&state, "Remove"));
        state.update(Message::RemoveOption(2), NOW);
        let actions = user(&mut state, |ui| {
            ui.click("Create the poll").expect("create");
        });
        assert_eq!(
            actions,
            vec![Action::Create {
                question: "Which day for the assembly?".into(),
                options: vec!["Thursday".into(), "Friday".into()],
                multiple: true,
                closes_at: Some(NOW + 86_400_000),
            }]
        );
        assert!(shows(&state, "Creating…"));
        state.failed("The profile is locked.".into());
        assert!(shows(
            &state,
            "The poll was not created. The profile is locked."
        ));
    }

    #[test]
    fn a_typed_closing_time_is_checked() {
        let mut state = state();
        state.update(Message::Question("Banner colour?".into()), NOW);
        state.update(Message::Option(0, "Red".into()), NOW);
        state.update(Message::Option(1, "Green".into()), NOW);
        let actions = user(&mut state, |ui| {
            ui.click("At a date and time").expect("typed time");
        });
        assert_eq!(actions, vec![Action::Focus(CLOSES.into())]);
        let actions = user(&mut state, |ui| {
            ui.click(id(CLOSES)).expect("closing time");
            ui.typewrite("next friday");
            ui.click("Create the poll").expect("create");
        });
        assert!(actions.is_empty());
        assert!(shows(
            &state,
            "Write the closing time as a date and a time, like 2025-06-12 18:00."
        ));
        state.update(Message::ClosesAt("2020-01-01 10:00".into()), NOW);
        state.update(Message::Create, NOW);
        assert!(shows(
            &state,
            "The closing time is already past: pick a later one."
        ));
        state.update(Message::ClosesAt("2030-01-01 10:00".into()), NOW);
        let action = state.update(Message::Create, NOW);
        assert!(matches!(
            action,
            Action::Create {
                closes_at: Some(1_893_492_000_000),
                multiple: false,
                ..
            }
        ));
    }

    #[test]
    fn options_stay_between_two_and_twelve() {
        let mut state = state();
        assert!(!shows(&state, "Remove"), "two options cannot lose one");
        for _ in 0..20 {
            state.update(Message::AddOption, NOW);
        }
        assert_eq!(state.options.len(), MAX_OPTIONS);
        assert!(!shows(&state, "Add an option"));
        for _ in 0..20 {
            state.update(Message::RemoveOption(0), NOW);
        }
        assert_eq!(state.options.len(), MIN_OPTIONS);
    }
}
