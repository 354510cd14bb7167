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

/// The embedded emoji font (a subset of Noto Color Emoji: the reactions offered).
pub const EMOJI_FONT: &[u8] = include_bytes!("../fonts/BoucleEmoji.ttf");

/// The family of [`EMOJI_FONT`]; emoji it lacks fall back to the system's fonts.
pub const EMOJI: iced::Font = iced::Font::with_name("Boucle Emoji");

/// The text font, embedded by iced's `fira-sans` feature.
pub const TEXT: iced::Font = iced::Font::with_name("Fira Sans");

/// A message bubble as a button (click to select it): ours in the primary colour,
/// theirs in a neutral one; lighter when hovered, outlined when selected.
pub fn bubble_button(
    mine: bool,
    selected: bool,
) -> impl Fn(&Theme, iced::widget::button::Status) -> iced::widget::button::Style {
    move |theme, status| {
        let palette = theme.extended_palette();
        let pair = if mine {
            palette.primary.strong
        } else {
            palette.background.strong
        };
        let hovered = matches!(
            status,
            iced::widget::button::Status::Hovered | iced::widget::button::Status::Pressed
        );
        let background = if hovered {
            Color {
                a: 0.85,
                ..pair.color
            }
        } else {
            pair.color
        };
        iced::widget::button::Style {
            background: Some(Background::Color(background)),
            text_color: pair.text,
            border: Border {
                radius: 10.0.into(),
                width: if selected { 2.0 } else { 0.0 },
                color: palette.background.base.text,
            },
            ..iced::widget::button::Style::default()
        }
    }
}

/// A reaction chip under a message; ours outlined in the primary colour.
pub fn chip(
    mine: bool,
) -> impl Fn(&Theme, iced::widget::button::Status) -> iced::widget::button::Style {
    move |theme, status| {
        let palette = theme.extended_palette();
        let background = match status {
            iced::widget::button::Status::Hovered | iced::widget::button::Status::Pressed => {
                palette.background.strong.color
            }
            _ => palette.background.weak.color,
        };
        iced::widget::button::Style {
            background: Some(Background::Color(background)),
            text_color: palette.background.base.text,
            border: Border {
                radius: 12.0.into(),
                width: if mine { 1.5 } else { 0.0 },
                color: palette.primary.base.color,
            },
            ..iced::widget::button::Style::default()
        }
    }
}

/// A small label beside a name ("admin", "verified", "you").
pub fn tag(kind: Tag) -> impl Fn(&Theme) -> container::Style {
    move |theme| {
        let palette = theme.extended_palette();
        let pair = match kind {
            Tag::Good => palette.success.weak,
            Tag::Neutral => palette.background.strong,
            Tag::Warning => palette.warning.weak,
        };
        container::Style {
            background: Some(Background::Color(pair.color)),
            text_color: Some(pair.text),
            border: border::rounded(8),
            ..container::Style::default()
        }
    }
}

/// The colour of a [`tag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Good,
    Neutral,
    Warning,
}

/// A small label beside a name.
pub fn label<'a, M: 'a>(
    content: impl iced::widget::text::IntoFragment<'a>,
    kind: Tag,
) -> iced::Element<'a, M> {
    container(iced::widget::text(content).size(12))
        .padding([1, 7])
        .style(tag(kind))
        .into()
}

/// Muted text style (times, hints).
pub fn muted_text(theme: &Theme) -> iced::widget::text::Style {
    iced::widget::text::Style {
        color: Some(muted(theme)),
    }
}

/// Error text style.
pub fn error_text(theme: &Theme) -> iced::widget::text::Style {
    iced::widget::text::Style {
        color: Some(error(theme)),
    }
}

/// Success text style.
pub fn success_text(theme: &Theme) -> iced::widget::text::Style {
    iced::widget::text::Style {
        color: Some(theme.palette().success),
    }
}

/// The quote of the message a reply answers, inside the reply's bubble.
pub fn quote(_theme: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(Color::from_rgba(0.0, 0.0, 0.0, 0.22))),
        border: border::rounded(6),
        ..container::Style::default()
    }
}

/// A poll or event card in the history: a raised panel with a thin outline.
pub fn card(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(palette.background.weak.color)),
        text_color: Some(palette.background.weak.text),
        border: Border {
            radius: 10.0.into(),
            width: 1.0,
            color: palette.background.strong.color,
        },
        ..container::Style::default()
    }
}

/// One option of a poll, clickable to vote; ours outlined in the primary colour.
pub fn poll_option(
    mine: bool,
) -> impl Fn(&Theme, iced::widget::button::Status) -> iced::widget::button::Style {
    move |theme, status| {
        let palette = theme.extended_palette();
        let background = match status {
            iced::widget::button::Status::Hovered | iced::widget::button::Status::Pressed => {
                Some(Background::Color(palette.background.strong.color))
            }
            _ => Some(Background::Color(palette.background.base.color)),
        };
        iced::widget::button::Style {
            background,
            text_color: palette.background.base.text,
            border: Border {
                radius: 8.0.into(),
                width: if mine { 1.5 } else { 0.0 },
                color: palette.primary.base.color,
            },
            ..iced::widget::button::Style::default()
        }
    }
}

/// The share of votes an option has: ours in the primary colour.
pub fn tally(mine: bool) -> impl Fn(&Theme) -> iced::widget::progress_bar::Style {
    move |theme| {
        let palette = theme.extended_palette();
        iced::widget::progress_bar::Style {
            background: Background::Color(palette.background.strong.color),
            bar: Background::Color(if mine {
                palette.primary.base.color
            } else {
                palette.secondary.strong.color
            }),
            border: border::rounded(3),
        }
    }
}

/// A radio (round) or checkbox (square) mark, filled when chosen.
pub fn marker(radius: f32, filled: bool) -> impl Fn(&Theme) -> container::Style {
    move |theme| {
        let palette = theme.extended_palette();
        container::Style {
            background: filled.then_some(Background::Color(palette.primary.base.color)),
            border: Border {
                radius: radius.into(),
                width: 1.5,
                color: if filled {
                    palette.primary.base.color
                } else {
                    muted(theme)
                },
            },
            ..container::Style::default()
        }
    }
}

/// An event in the agenda: flat, lighter when hovered.
pub fn agenda_entry(
    theme: &Theme,
    status: iced::widget::button::Status,
) -> iced::widget::button::Style {
    let palette = theme.extended_palette();
    let background = match status {
        iced::widget::button::Status::Hovered | iced::widget::button::Status::Pressed => {
            palette.background.strong.color
        }
        _ => palette.background.weak.color,
    };
    iced::widget::button::Style {
        background: Some(Background::Color(background)),
        text_color: palette.background.base.text,
        border: border::rounded(8),
        ..iced::widget::button::Style::default()
    }
}
