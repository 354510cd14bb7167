//! The frame every card in the history shares (polls, events, files, contacts), and
//! the kind line above its title ("POLL · one choice").

use iced::widget::{container, row, text};
use iced::{Alignment, Element};

use crate::theme;

/// Width of a card.
pub const CARD: f32 = 460.0;

/// "POLL · one choice" above a card's title.
pub fn kind_line<'a, M: 'a>(kind: &'a str, rest: String) -> Element<'a, M> {
    row![
        theme::label(kind, theme::Tag::Neutral),
        text(rest).size(theme::SMALL).style(theme::muted_text),
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center)
    .into()
}

/// The frame of a card.
pub fn card<'a, M: 'a>(content: impl Into<Element<'a, M>>) -> Element<'a, M> {
    container(content)
        .padding(12)
        .width(CARD)
        .style(theme::card)
        .into()
}
