//! The agenda: the events of every conversation (from the list, Ctrl+G) or of one (from
//! its header). Upcoming events first, soonest first; then past ones, greyed, latest
//! first; cancelled ones stay, struck through. Clicking an event opens its
//! conversation. "Export .ics" writes the listed events as an iCalendar file at the
//! path in the field (the Downloads folder by default) and says where it went.

use std::path::PathBuf;

use boucle_client_core::{ConversationId, EventView, RsvpAnswer};
use iced::widget::{button, column, container, rich_text, row, span, text, text_input};
use iced::{Alignment, Element, Fill};

use crate::screen::conversation::organize::event as event_text;
use crate::theme;
use crate::when::Zone;

/// Id of the export path input.
pub const PATH: &str = "agenda-path";

#[derive(Debug)]
pub struct State {
    scope: Option<ConversationId>,
    /// The conversation's name, for one conversation's agenda.
    name: Option<String>,
    events: Vec<EventView>,
    loading: bool,
    error: Option<String>,
    zone: Zone,
    now: u64,
    path: String,
    export: Export,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Export {
    Idle,
    Busy,
    Done(String),
    Failed(String),
}

#[derive(Debug, Clone)]
pub enum Message {
    Open(ConversationId),
    Path(String),
    Export,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Open(ConversationId),
    /// Write these events to this file.
    Export(Vec<EventView>, PathBuf),
}

impl State {
    /// The agenda of one conversation (`scope`, called `name`) or of all, loading.
    pub fn new(scope: Option<ConversationId>, name: Option<String>, zone: Zone) -> State {
        State {
            scope,
            name,
            events: Vec::new(),
            loading: true,
            error: None,
            zone,
            now: crate::format::now_ms(),
            path: crate::io::default_export_path().display().to_string(),
            export: Export::Idle,
        }
    }

    pub fn scope(&self) -> Option<ConversationId> {
        self.scope
    }

    /// The events, as the engine ordered them (upcoming soonest first, then past), and
    /// the time that tells them apart.
    pub fn loaded(&mut self, result: Result<Vec<EventView>, String>, now: u64) {
        self.loading = false;
        self.now = now;
        match result {
            Ok(events) => {
                self.events = events;
                self.error = None;
            }
            Err(error) => self.error = Some(format!("The agenda could not be read. {error}")),
        }
    }

    pub fn set_path(&mut self, path: String) {
        self.path = path;
    }

    /// The file was written (where, how many events), or not.
    pub fn exported(&mut self, result: Result<(PathBuf, usize), String>) {
        self.export = match result {
            Ok((path, 1)) => Export::Done(format!("Saved 1 event to {}.", path.display())),
            Ok((path, n)) => Export::Done(format!("Saved {n} events to {}.", path.display())),
            Err(error) => Export::Failed(format!("The agenda was not exported. {error}")),
        };
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Open(id) => Action::Open(id),
            Message::Path(path) => {
                self.path = path;
                Action::None
            }
            Message::Export => {
                let path = self.path.trim();
                if self.export == Export::Busy {
                    return Action::None;
                }
                if path.is_empty() {
                    self.export =
                        Export::Failed("Write where to save the file, like ~/agenda.ics.".into());
                    return Action::None;
                }
                if self.events.is_empty() {
                    self.export = Export::Failed("There are no events to export.".into());
                    return Action::None;
                }
                self.export = Export::Busy;
                Action::Export(self.events.clone(), expand_home(path))
            }
        }
    }

    fn is_past(&self, event: &EventView) -> bool {
        event.details.ends_at.unwrap_or(event.details.starts_at) < self.now
    }

    pub fn view(&self) -> Element<'_, Message> {
        let title = match &self.name {
            Some(name) => format!("Agenda of {name}"),
            None => "Agenda".to_owned(),
        };
        let intro = match self.scope {
            Some(_) => "Events planned in this conversation: upcoming first, then past ones.",
            None => "Events planned in all your conversations: upcoming first, then past ones.",
        };
        let mut list = column![].spacing(6);
        if self.loading {
            list = list.push(
                text("Reading the agenda…")
                    .size(theme::BODY)
                    .style(theme::muted_text),
            );
        } else if self.events.is_empty() && self.error.is_none() {
            list = list.push(
                text("No events yet. Plan one from a conversation, with the Event button beside the composer.")
                    .size(theme::BODY)
                    .style(theme::muted_text),
            );
        }
        let (past, upcoming): (Vec<&EventView>, Vec<&EventView>) =
            self.events.iter().partition(|e| self.is_past(e));
        if !upcoming.is_empty() {
            list = list.push(heading(format!("Upcoming ({})", upcoming.len())));
            for event in upcoming {
                list = list.push(self.entry(event, false));
            }
        }
        if !past.is_empty() {
            list = list.push(heading(format!("Past ({})", past.len())));
            for event in past {
                list = list.push(self.entry(event, true));
            }
        }
        let error = self
            .error
            .as_deref()
            .map(|e| text(e).size(theme::BODY).style(theme::error_text));
        let status = match &self.export {
            Export::Idle => None,
            Export::Busy => Some(
                text("Writing the file…")
                    .size(theme::SMALL)
                    .style(theme::muted_text),
            ),
            Export::Done(done) => Some(text(done).size(theme::SMALL).style(theme::success_text)),
            Export::Failed(error) => Some(text(error).size(theme::SMALL).style(theme::error_text)),
        };
        let export = column![
            text("Export for a calendar application (.ics)")
                .size(theme::SMALL)
                .style(theme::muted_text),
            row![
                text_input("Where to save the file", &self.path)
                    .id(PATH)
                    .on_input(Message::Path)
                    .on_submit(Message::Export)
                    .padding(8),
                button(text("Export .ics"))
                    .padding([8, 16])
                    .on_press_maybe((self.export != Export::Busy).then_some(Message::Export)),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
            status,
        ]
        .spacing(6);
        let content = column![
            text(title).size(theme::TITLE),
            text(intro).size(theme::BODY).style(theme::muted_text),
            export,
            error,
            list,
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(760);
        theme::page(content)
    }

    fn entry<'a>(&'a self, event: &'a EventView, past: bool) -> Element<'a, Message> {
        let details = &event.details;
        let zone = Zone::named(&details.time_zone).unwrap_or_else(|_| Zone::utc());
        let day = zone.wall_clock(details.starts_at);
        let grey = past || event.cancelled;
        let date = column![
            text(crate::when::short_weekday(day)).size(12),
            text(day.day().to_string()).size(22),
            text(crate::when::month_short(day)).size(12),
        ]
        .align_x(Alignment::Center)
        .width(52);
        let title: Element<'a, Message> = if event.cancelled {
            rich_text([span::<(), iced::Font>(details.title.as_str())
                .size(17)
                .strikethrough(true)])
            .into()
        } else {
            text(&details.title).size(17).into()
        };
        let (when, yours) = event_text::when_lines(event, &self.zone);
        let mut tags = row![].spacing(6);
        if event.cancelled {
            tags = tags.push(theme::label("Cancelled", theme::Tag::Warning));
        } else if past {
            tags = tags.push(theme::label("past", theme::Tag::Neutral));
        }
        let answer = match event.my_answer {
            Some(RsvpAnswer::Going) => " · you are going",
            Some(RsvpAnswer::Maybe) => " · you might go",
            Some(RsvpAnswer::No) => " · you are not going",
            None => "",
        };
        let place = (!details.place.is_empty()).then(|| text(&details.place).size(theme::SMALL));
        let info = column![
            row![title, tags]
                .spacing(theme::GAP)
                .align_y(Alignment::Center),
            text(when).size(theme::SMALL),
            yours.map(|y| text(y).size(12)),
            place,
            text(format!(
                "in {} · {}{answer}",
                event.conversation_name,
                event_text::counts(event)
            ))
            .size(12),
        ]
        .spacing(3)
        .width(Fill);
        let body = container(
            row![date, info]
                .spacing(theme::GAP * 1.5)
                .align_y(Alignment::Center),
        )
        .style(move |theme: &iced::Theme| container::Style {
            text_color: grey.then(|| theme::muted(theme)),
            ..container::Style::default()
        });
        button(body)
            .width(Fill)
            .padding([8, 12])
            .style(theme::agenda_entry)
            .on_press(Message::Open(event.conversation))
            .into()
    }
}

fn heading<'a>(label: String) -> Element<'a, Message> {
    container(text(label).size(theme::SMALL).style(theme::muted_text))
        .padding([6, 0])
        .into()
}

/// `~/x` as the home folder's `x`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests;
