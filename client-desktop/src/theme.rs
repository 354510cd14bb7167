//! The look of the app in one place: palette, spacing, text sizes and the few custom
//! container styles (sidebar, message bubbles, badges, banners).

use iced::widget::container;
use iced::{Background, Border, Color, Theme, border, color};

/// Space between related items.
pub const GAP: f32 = 8.0;
/// Space around a screen's content.
pub const PAD: f32 = 20.0;
/// Body text.
pub const BODY: f32 = 16.0;
/// Secondary text (times, states, hints).
pub const SMALL: f32 = 13.0;
/// Screen titles.
pub const TITLE: f32 = 26.0;
/// Width of the conversation list.
pub const SIDEBAR: f32 = 300.0;

/// The app's theme: a calm dark palette with enough contrast for small text.
pub fn theme() -> Theme {
    Theme::custom(
        "Boucle",
        iced::theme::Palette {
            background: color!(0x1b1e24),
            text: color!(0xe8eaed),
            primary: color!(0x4f8cff),
            success: color!(0x3fb37f),
            warning: color!(0xe0a93b),
            danger: color!(0xe5534b),
        },
    )
}

/// Text colour for secondary information.
pub fn muted(theme: &Theme) -> Color {
    let text = theme.palette().text;
    Color { a: 0.65, ..text }
}

/// The conversation list's background.
pub fn sidebar(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(palette.background.weak.color)),
        ..container::Style::default()
    }
}

/// A message bubble: ours in the primary colour, theirs in a neutral one.
pub fn bubble(mine: bool) -> impl Fn(&Theme) -> container::Style {
    move |theme| {
        let palette = theme.extended_palette();
        let (background, text) = if mine {
            (palette.primary.strong.color, palette.primary.strong.text)
        } else {
            (
                palette.background.strong.color,
                palette.background.strong.text,
            )
        };
        container::Style {
            background: Some(Background::Color(background)),
            text_color: Some(text),
            border: border::rounded(10),
            ..container::Style::default()
        }
    }
}

/// An unread-count badge.
pub fn badge(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(palette.primary.base.color)),
        text_color: Some(palette.primary.base.text),
        border: border::rounded(9),
        ..container::Style::default()
    }
}

/// A warning banner (relay unreachable, identity changed).
pub fn banner(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(palette.warning.weak.color)),
        text_color: Some(palette.warning.weak.text),
        border: Border {
            radius: 6.0.into(),
            ..Border::default()
        },
        ..container::Style::default()
    }
}

/// A panel (cards such as the QR code's frame).
pub fn panel(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(palette.background.weak.color)),
        border: border::rounded(10),
        ..container::Style::default()
    }
}

/// The white frame a QR code needs to be scanned.
pub fn qr_frame(_theme: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(Color::WHITE)),
        border: border::rounded(8),
        ..container::Style::default()
    }
}

/// Black on white, as scanners expect.
pub fn qr(_theme: &Theme) -> iced::widget::qr_code::Style {
    iced::widget::qr_code::Style {
        cell: Color::BLACK,
        background: Color::WHITE,
    }
}

/// Colour of error sentences.
pub fn error(theme: &Theme) -> Color {
    theme.palette().danger
}

/// A full-width page whose padded content scrolls when the window is too small.
pub fn page<'a, M: 'a>(content: impl Into<iced::Element<'a, M>>) -> iced::Element<'a, M> {
    container(iced::widget::scrollable(container(content).padding(PAD)))
        .width(iced::Fill)
        .into()
}
