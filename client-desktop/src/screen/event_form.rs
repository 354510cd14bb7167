//! "New event" and "Edit the event": a title, the day, start and end times, the time
//! zone it is planned in (the user's by default), where (an address or a link) and a
//! description. Times are read in the zone the form names. What is wrong is said in a
//! sentence before anything is sent; the parent saves ([`Action::Save`]) and reports a
//! failure with [`State::failed`].

use boucle_client_core::time;
use boucle_client_core::{ConversationId, EventDetails, EventView, MessageId};
use iced::widget::{button, column, row, text, text_editor, text_input};
use iced::{Alignment, Element};

use crate::theme;
use crate::when::{self, Zone};

/// Ids of the inputs (for focus and tests).
pub const TITLE: &str = "event-title";
pub const DATE: &str = "event-date";
pub const START: &str = "event-start";
pub const END: &str = "event-end";
pub const ZONE: &str = "event-zone";
pub const PLACE: &str = "event-place";
pub const DESCRIPTION: &str = "event-description";

#[derive(Debug)]
pub struct State {
    pub conversation: ConversationId,
    /// The event being edited; `None` for a new one.
    editing: Option<MessageId>,
    title: String,
    conversation_name: String,
    name: String,
    date: String,
    start: String,
    end: String,
    zone: String,
    place: String,
    description: text_editor::Content,
    busy: bool,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Title(String),
    Date(String),
    Start(String),
    End(String),
    Zone(String),
    Place(String),
    Description(text_editor::Action),
    Save,
    Cancel,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Save {
        editing: Option<MessageId>,
        details: EventDetails,
    },
    Cancel,
}

impl State {
    /// A blank event for the conversation called `name`, tomorrow at 18:00 in `zone`.
    pub fn new(conversation: ConversationId, name: &str, zone: &Zone, now: u64) -> State {
        let tomorrow = zone.wall_clock(now + 86_400_000);
        State {
            conversation,
            editing: None,
            title: "New event".to_owned(),
            conversation_name: name.to_owned(),
            name: String::new(),
            date: tomorrow.date().to_string(),
            start: "18:00".to_owned(),
            end: String::new(),
            zone: zone.name().to_owned(),
            place: String::new(),
            description: text_editor::Content::new(),
            busy: false,
            error: None,
        }
    }

    /// The form for editing an event, filled with its details (times in its own zone).
    pub fn edit(event: &EventView) -> State {
        let details = &event.details;
        let zone = Zone::named(&details.time_zone).unwrap_or_else(|_| Zone::utc());
        let start = zone.wall_clock(details.starts_at);
        State {
            conversation: event.conversation,
            editing: Some(event.id),
            title: "Edit the event".to_owned(),
            conversation_name: event.conversation_name.clone(),
            name: details.title.clone(),
            date: start.date().to_string(),
            start: when::time(start),
            end: details
                .ends_at
                .map(|end| when::time(zone.wall_clock(end)))
                .unwrap_or_default(),
            zone: zone.name().to_owned(),
            place: details.place.clone(),
            description: text_editor::Content::with_text(&details.description),
            busy: false,
            error: None,
        }
    }

    pub fn editing(&self) -> Option<MessageId> {
        self.editing
    }

    pub fn failed(&mut self, error: String) {
        self.busy = false;
        self.error = Some(format!(
            "{} {error}",
            if self.editing.is_some() {
                "The changes were not saved."
            } else {
                "The event was not created."
            }
        ));
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Title(value) => self.name = value,
            Message::Date(value) => self.date = value,
            Message::Start(value) => self.start = value,
            Message::End(value) => self.end = value,
            Message::Zone(value) => self.zone = value,
            Message::Place(value) => self.place = value,
            Message::Description(action) => self.description.perform(action),
            Message::Save => {
                if self.busy {
                    return Action::None;
                }
                match self.checked() {
                    Ok(details) => {
                        self.busy = true;
                        self.error = None;
                        return Action::Save {
                            editing: self.editing,
                            details,
                        };
                    }
                    Err(error) => self.error = Some(error),
                }
            }
            Message::Cancel => return Action::Cancel,
        }
        Action::None
    }

    /// The details to save, or what is wrong, in a sentence.
    fn checked(&self) -> Result<EventDetails, String> {
        let title = self.name.trim();
        if title.is_empty() {
            return Err("Give the event a title.".into());
        }
        let Ok(day) = time::parse_date(&self.date) else {
            return Err("Write the day as year-month-day, like 2025-06-12.".into());
        };
        let Ok(start) = time::parse_time(&self.start) else {
            return Err("Write the start time as hours:minutes, like 18:30.".into());
        };
        let zone_name = self.zone.trim();
        let Ok(zone) = Zone::named(zone_name) else {
            return Err(format!(
                "“{zone_name}” is not a time zone this computer knows: write one like Europe/Paris, or UTC."
            ));
        };
        let starts_at = zone
            .instant(day.to_datetime(start))
            .map_err(|e| when::refusal(&e))?;
        let ends_at = if self.end.trim().is_empty() {
            None
        } else {
            let Ok(end_time) = time::parse_time(&self.end) else {
                return Err(
                    "Write the end time as hours:minutes, like 20:00, or leave it empty.".into(),
                );
            };
            // An end earlier in the day than the start is the next day (22:00–02:00).
            let end_day = if end_time <= start {
                day.tomorrow()
                    .map_err(|_| "The event cannot end after the year 9999.".to_owned())?
            } else {
                day
            };
            let end = zone
                .instant(end_day.to_datetime(end_time))
                .map_err(|e| when::refusal(&e))?;
            Some(end)
        };
        Ok(EventDetails {
            title: title.to_owned(),
            starts_at,
            ends_at,
            time_zone: zone.name().to_owned(),
            place: self.place.trim().to_owned(),
            description: self.description.text().trim().to_owned(),
        })
    }

    pub fn view(&self) -> Element<'_, Message> {
        let input = |id: &'static str,
                     placeholder: &'static str,
                     value: &str,
                     on_input: fn(String) -> Message| {
            text_input(placeholder, value)
                .id(id)
                .on_input(on_input)
                .on_submit(Message::Save)
                .padding(8)
        };
        let when = row![
            field(
                "Day",
                input(DATE, "2025-06-12", &self.date, Message::Date).width(150)
            ),
            field(
                "Starts",
                input(START, "18:00", &self.start, Message::Start).width(90)
            ),
            field(
                "Ends (optional)",
                input(END, "20:00", &self.end, Message::End).width(120)
            ),
            field(
                "Time zone",
                input(ZONE, "Europe/Paris", &self.zone, Message::Zone).width(200)
            ),
        ]
        .spacing(theme::GAP * 1.5)
        .align_y(Alignment::End);
        let error = self
            .error
            .as_deref()
            .map(|e| text(e).size(theme::BODY).style(theme::error_text));
        let save_label = match (self.busy, self.editing.is_some()) {
            (true, _) => "Saving…",
            (false, true) => "Save the changes",
            (false, false) => "Create the event",
        };
        let content = column![
            text(&self.title).size(theme::TITLE),
            text(format!(
                "{}. Members answer going, maybe or no.",
                place_line(self.conversation, &self.conversation_name)
            ))
            .size(theme::BODY)
            .style(theme::muted_text),
            field(
                "Title",
                input(TITLE, "What is it?", &self.name, Message::Title).padding(10)
            ),
            when,
            field(
                "Where",
                input(
                    PLACE,
                    "An address, or a link for a call",
                    &self.place,
                    Message::Place
                )
            ),
            column![
                text("Description")
                    .size(theme::SMALL)
                    .style(theme::muted_text),
                text_editor(&self.description)
                    .id(DESCRIPTION)
                    .placeholder("What to bring, who to ask, anything useful")
                    .on_action(Message::Description)
                    .padding(8)
                    .height(110),
            ]
            .spacing(4),
            error,
            row![
                button(text(save_label))
                    .padding([8, 16])
                    .on_press_maybe((!self.busy).then_some(Message::Save)),
                button(text("Cancel"))
                    .padding([8, 16])
                    .style(button::secondary)
                    .on_press(Message::Cancel),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(700);
        theme::page(content)
    }
}

/// Where a poll or an event is made: "In Tenants" (a loop), "With Omar" (a contact).
pub fn place_line(conversation: ConversationId, name: &str) -> String {
    match conversation {
        ConversationId::Contact(_) => format!("With {name}"),
        _ => format!("In {name}"),
    }
}

/// An input under its label.
fn field<'a>(label: &'a str, input: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    column![
        text(label).size(theme::SMALL).style(theme::muted_text),
        input.into()
    ]
    .spacing(4)
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::selector::id;
    use iced_test::{Simulator, simulator};

    /// 2025-06-11 12:00 UTC.
    const NOW: u64 = 1_749_643_200_000;

    fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
        let mut ui = simulator(state.view());
        act(&mut ui);
        let messages: Vec<Message> = ui.into_messages().collect();
        messages
            .into_iter()
            .map(|m| state.update(m))
            .filter(|a| *a != Action::None)
            .collect()
    }

    fn shows(state: &State, text: &str) -> bool {
        simulator(state.view()).find(text).is_ok()
    }

    fn new() -> State {
        State::new(
            ConversationId::Loop(boucle_client_core::LoopId([9; 16])),
            "Tenants",
            &Zone::utc(),
            NOW,
        )
    }

    #[test]
    fn a_new_event_is_typed_and_checked() {
        let mut state = new();
        assert!(shows(&state, "2025-06-12"), "tomorrow by default");
        assert!(shows(&state, "UTC"), "the user's zone");
        let actions = user(&mut state, |ui| {
            ui.click("Create the event").expect("create");
        });
        assert!(actions.is_empty());
        assert!(shows(&state, "Give the event a title."));
        let actions = user(&mut state, |ui| {
            ui.click(id(TITLE)).expect("title");
            ui.typewrite("Meeting with the landlord");
            ui.click(id(END)).expect("end");
            ui.typewrite("2O:00");
            ui.click(id(PLACE)).expect("place");
            ui.typewrite("12 rue Verte, hall B");
            ui.click(id(DESCRIPTION)).expect("description");
            ui.typewrite("Bring the letters.");
            ui.click("Create the event").expect("create");
        });
        assert!(actions.is_empty());
        assert!(shows(
            &state,
            "Write the end time as hours:minutes, like 20:00, or leave it empty."
        ));
        state.update(Message::End("20:00".into()));
        state.update(Message::Zone("Mars/Olympus".into()));
        state.update(Message::Save);
        assert!(shows(
            &state,
            "“Mars/Olympus” is not a time zone this computer knows: write one like Europe/Paris, or UTC."
        ));
        state.update(Message::Zone("UTC".into()));
        let action = state.update(Message::Save);
        assert_eq!(
            action,
            Action::Save {
                editing: None,
                details: EventDetails {
                    title: "Meeting with the landlord".into(),
                    starts_at: 1_749_751_200_000,
                    ends_at: Some(1_749_758_400_000),
                    time_zone: "UTC".into(),
                    place: "12 rue Verte, hall B".into(),
                    description: "Bring the letters.".into(),
                }
            }
        );
        assert!(shows(&state, "Saving…"));
    }

    #[test]
    fn an_end_before_the_start_is_the_next_day() {
        let mut state = new();
        state.update(Message::Title("Night watch".into()));
        state.update(Message::Start("22:00".into()));
        state.update(Message::End("02:00".into()));
        let Action::Save { details, .. } = state.update(Message::Save) else {
            panic!("saved");
        };
        assert_eq!(details.ends_at, Some(details.starts_at + 4 * 3_600_000));
    }

    /// 02:30 on the night Paris goes to summer time is not on any clock there: the form
    /// says so instead of moving the event an hour. 02:30 on the night it goes back is
    /// there twice: the first one (summer time, as RFC 5545 reads it).
    #[test]
    fn a_time_the_clocks_skip_is_refused_and_one_they_repeat_is_the_first() {
        let mut state = new();
        state.update(Message::Title("Night watch".into()));
        state.update(Message::Zone("europe/paris".into()));
        state.update(Message::Date("2026-03-29".into()));
        state.update(Message::Start("2h30".into()));
        assert_eq!(state.update(Message::Save), Action::None);
        assert!(shows(
            &state,
            "2026-03-29 02:30 does not exist in Europe/Paris: the clocks skip it that night. Pick another time."
        ));
        state.update(Message::Date("2026-10-25".into()));
        let Action::Save { details, .. } = state.update(Message::Save) else {
            panic!("saved");
        };
        assert_eq!(
            details.time_zone, "Europe/Paris",
            "named as the database names it"
        );
        assert_eq!(
            boucle_client_core::time::wall_clock(details.starts_at, "UTC"),
            "2026-10-25 00:30"
        );
    }

    /// The same event as `boucle event create --start '2031-05-01 18:00' --tz
    /// Europe/Paris` (crates/cli/tests/organize.rs): the same instant, 16:00 UTC, and
    /// the `.ics` export (from that instant) says so too.
    #[test]
    fn a_time_typed_in_a_zone_is_the_instant_the_cli_stores() {
        let mut state = new();
        state.update(Message::Title("Assemblée".into()));
        state.update(Message::Zone("Europe/Paris".into()));
        state.update(Message::Date("2031-05-01".into()));
        state.update(Message::Start("18:00".into()));
        let Action::Save { details, .. } = state.update(Message::Save) else {
            panic!("saved");
        };
        let cli = boucle_client_core::time::parse_in_zone("2031-05-01 18:00", "Europe/Paris")
            .expect("a time");
        assert_eq!(details.starts_at, cli);
        assert_eq!(details.starts_at, 1_935_417_600_000);
        assert_eq!(
            boucle_client_core::time::wall_clock(details.starts_at, &details.time_zone),
            "2031-05-01 18:00"
        );
    }
}
