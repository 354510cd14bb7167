//! Disappearing messages in the header: the button ("Disappearing: Off") and the
//! selector it opens (Off, 1 hour, 1 day, 1 week, 4 weeks). Where we may not set it (a
//! loop we are not an admin of), the header only says it. A change's line in the
//! history is [`super::super::history`]'s.

use boucle_client_core::TIMER_CHOICES;
use iced::widget::{button as button_widget, container, row, text};
use iced::{Alignment, Element, Fill};

use super::Message;
use crate::{format, theme};

/// The header's control: a button that opens the selector, or the value as text.
pub fn button<'a>(timer: u32, may_set: bool, open: bool) -> Element<'a, Message> {
    let label = format!("Disappearing: {}", format::timer(timer));
    if !may_set {
        return text(label)
            .size(theme::SMALL)
            .style(theme::muted_text)
            .into();
    }
    button_widget(text(label).size(theme::SMALL))
        .style(if open {
            button_widget::primary
        } else {
            button_widget::secondary
        })
        .on_press(Message::TimerMenu)
        .into()
}

/// The choices, the current one marked.
pub fn selector<'a>(current: u32) -> Element<'a, Message> {
    let choices = TIMER_CHOICES.iter().map(|&seconds| {
        button_widget(text(format::timer(seconds)).size(theme::SMALL))
            .padding([4, 12])
            .style(theme::chip(seconds == current))
            .on_press(Message::SetTimer(seconds))
            .into()
    });
    let bar = container(
        row![
            text("Messages disappear after:")
                .size(theme::SMALL)
                .width(Fill),
            row(choices).spacing(6),
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center),
    )
    .padding(10)
    .style(theme::panel);
    container(bar).padding([0.0, theme::PAD]).into()
}
