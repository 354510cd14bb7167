//! An agenda event in the history, as a card: title, when (in the zone it was planned
//! in, and where the user is when that differs), where, description, who is going, who
//! might and who is not, and our answer as three toggle buttons. Its author and admins
//! may edit or cancel it (after a confirmation); a cancelled event is struck through
//! and grey.

use boucle_client_core::{EventView, MessageView, Participant, RsvpAnswer};
use iced::widget::{button, column, container, rich_text, row, span, text};
use iced::{Alignment, Element};

use super::{Message, State};
use crate::screen::conversation::Confirm;
use crate::screen::conversation::card::{CARD, card, kind_line};
use crate::theme;
use crate::when::{self, Zone};

/// An event's card; its times also where the user is (`here`), when the clocks there
/// differ.
pub fn view<'a>(
    state: &'a State,
    message: &'a MessageView,
    title: &'a str,
    footer: String,
    here: &Zone,
    confirm: Option<Confirm>,
) -> Element<'a, Message> {
    let Some(event) = state.events.get(&message.id) else {
        return card(
            column![
                kind_line("Event", String::new()),
                text(title).size(17),
                text("Reading the answers…")
                    .size(theme::SMALL)
                    .style(theme::muted_text),
                text(footer).size(12).style(theme::muted_text),
            ]
            .spacing(6),
        );
    };
    let details = &event.details;
    let cancelled = event.cancelled;
    let headline: Element<'a, Message> = if cancelled {
        rich_text([span::<(), iced::Font>(details.title.as_str())
            .size(19)
            .strikethrough(true)])
        .style(|theme: &iced::Theme| iced::widget::text::Style {
            color: Some(theme::muted(theme)),
        })
        .into()
    } else {
        text(&details.title).size(19).into()
    };
    let (when_line, yours) = when_lines(event, here);
    let place = (!details.place.is_empty()).then(|| text(&details.place).size(theme::BODY));
    let description =
        (!details.description.is_empty()).then(|| text(&details.description).size(theme::SMALL));
    let confirm = confirm == Some(Confirm::CancelEvent(event.id));
    let organizer: Option<Element<'a, Message>> = (event.can_edit && !cancelled).then(|| {
        if confirm {
            row![
                text("Cancel it for everyone? This cannot be undone.").size(theme::SMALL),
                button(text("Cancel it").size(theme::SMALL))
                    .padding([4, 10])
                    .style(button::danger)
                    .on_press(Message::ConfirmCancelEvent(event.id)),
                button(text("Keep it").size(theme::SMALL))
                    .padding([4, 10])
                    .style(button::secondary)
                    .on_press(Message::KeepEvent),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center)
            .into()
        } else {
            row![
                small("Edit", Message::EditEvent(event.id)),
                small("Cancel the event", Message::AskCancelEvent(event.id)),
            ]
            .spacing(theme::GAP)
            .into()
        }
    });
    let answers = (!cancelled).then(|| answer_buttons(event));
    let muted = |t: String| text(t).size(theme::SMALL).style(theme::muted_text);
    let kind: Element<'a, Message> = if cancelled {
        row![
            theme::label("Event", theme::Tag::Neutral),
            theme::label("Cancelled", theme::Tag::Warning),
        ]
        .spacing(6)
        .into()
    } else {
        kind_line("Event", String::new())
    };
    let content = column![
        kind,
        headline,
        text(when_line).size(theme::BODY),
        yours.map(muted),
        place,
        description,
        text(counts(event)).size(theme::SMALL),
        who(event),
        answers,
        organizer,
        muted(footer),
    ]
    .spacing(6);
    if cancelled {
        // Everything in grey: the event is off.
        container(content)
            .padding(12)
            .width(CARD)
            .style(|t: &iced::Theme| container::Style {
                text_color: Some(theme::muted(t)),
                ..theme::card(t)
            })
            .into()
    } else {
        card(content)
    }
}

/// When, in the event's zone; and where the user is, if the clocks there differ.
pub fn when_lines(event: &EventView, here: &Zone) -> (String, Option<String>) {
    let details = &event.details;
    let zone = Zone::named(&details.time_zone).unwrap_or_else(|_| Zone::utc());
    let main = format!(
        "{} ({})",
        when::span(&zone, details.starts_at, details.ends_at),
        zone.name()
    );
    let yours = (!zone.same_offset(here, details.starts_at)).then(|| {
        format!(
            "{} your time ({})",
            when::short_span(here, details.starts_at, details.ends_at),
            here.name()
        )
    });
    (main, yours)
}

/// "3 going · 1 maybe · 1 not going".
pub fn counts(event: &EventView) -> String {
    let c = event.counts;
    format!("{} going · {} maybe · {} not going", c.going, c.maybe, c.no)
}

/// Names under each answer, one line each.
fn who(event: &EventView) -> Option<Element<'_, Message>> {
    let lines: Vec<Element<'_, Message>> = [
        ("Going", &event.going),
        ("Maybe", &event.maybe),
        ("Not going", &event.no),
    ]
    .into_iter()
    .filter(|(_, people)| !people.is_empty())
    .map(|(label, people)| {
        text(format!("{label}: {}", names(people)))
            .size(12)
            .style(theme::muted_text)
            .into()
    })
    .collect();
    (!lines.is_empty()).then(|| column(lines).spacing(2).into())
}

/// "Nadia, Omar, you".
pub fn names(people: &[Participant]) -> String {
    people
        .iter()
        .map(|p| if p.me { "you" } else { p.name.as_str() })
        .collect::<Vec<_>>()
        .join(", ")
}

fn answer_buttons(event: &EventView) -> Element<'_, Message> {
    let answer = |label: &'static str, answer: RsvpAnswer| {
        let mine = event.my_answer == Some(answer);
        button(text(label).size(theme::SMALL))
            .padding([5, 14])
            .style(if mine {
                button::primary
            } else {
                button::secondary
            })
            .on_press(Message::Rsvp(event.id, answer))
    };
    row![
        text(if event.my_answer.is_some() {
            "Your answer:"
        } else {
            "Are you coming?"
        })
        .size(theme::SMALL),
        answer("Going", RsvpAnswer::Going),
        answer("Maybe", RsvpAnswer::Maybe),
        answer("No", RsvpAnswer::No),
    ]
    .spacing(6)
    .align_y(Alignment::Center)
    .into()
}

fn small<'a>(label: &'a str, message: Message) -> Element<'a, Message> {
    button(text(label).size(theme::SMALL))
        .padding([4, 10])
        .style(button::secondary)
        .on_press(message)
        .into()
}
