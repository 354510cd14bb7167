//! "Invite someone": a one-time link and its QR code, with a copy button. The parent
//! makes the invitation and hands the link over with [`State::loaded`].

use iced::widget::{button, column, container, qr_code, text};
use iced::{Element, Fill};

use crate::theme;

#[derive(Debug, Default)]
pub struct State {
    link: Option<String>,
    qr: Option<qr_code::Data>,
    error: Option<String>,
    copied: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    Copy,
    Again,
}

#[derive(Debug)]
pub enum Action {
    None,
    Copy(String),
    /// Make another invitation.
    Again,
}

impl State {
    /// The invitation is made (or could not be).
    pub fn loaded(&mut self, result: Result<String, String>) {
        match result {
            Ok(link) => {
                self.qr = qr_code::Data::new(link.as_bytes()).ok();
                self.link = Some(link);
                self.error = None;
            }
            Err(error) => self.error = Some(format!("No invitation could be made: {error}")),
        }
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Copy => match &self.link {
                Some(link) => {
                    self.copied = true;
                    Action::Copy(link.clone())
                }
                None => Action::None,
            },
            Message::Again => {
                *self = State::default();
                Action::Again
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut content = column![
            text("Invite someone").size(theme::TITLE),
            text("Send this one-time link to the person you want to talk with, over a channel you trust, or let them scan the code. It works once.")
                .size(theme::BODY),
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(640);
        content = match (&self.link, &self.error) {
            (_, Some(error)) => content
                .push(text(error).style(|t| text::Style {
                    color: Some(theme::error(t)),
                }))
                .push(button(text("Try again")).on_press(Message::Again)),
            (None, None) => content.push(text("Making a one-time invitation…")),
            (Some(link), None) => {
                let qr = self.qr.as_ref().map(|data| {
                    container(qr_code(data).cell_size(4).style(theme::qr))
                        .padding(12)
                        .style(theme::qr_frame)
                });
                content
                    .push(qr)
                    .push(
                        container(
                            text(link.as_str())
                                .size(12)
                                .font(iced::Font::MONOSPACE)
                                .wrapping(text::Wrapping::Glyph),
                        )
                        .padding(10)
                        .width(Fill)
                        .style(theme::panel),
                    )
                    .push(
                        iced::widget::row![
                            button(text(if self.copied { "Copied" } else { "Copy link" }))
                                .padding([8, 16])
                                .on_press(Message::Copy),
                            button(text("New invitation"))
                                .padding([8, 16])
                                .style(button::secondary)
                                .on_press(Message::Again),
                        ]
                        .spacing(theme::GAP),
                    )
            }
        };
        theme::page(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;

    #[test]
    fn the_link_is_shown_with_its_code_and_can_be_copied() {
        let mut state = State::default();
        let mut ui = simulator(state.view());
        assert!(ui.find("Making a one-time invitation…").is_ok());
        drop(ui);
        state.loaded(Ok("boucle:invite/1/AAAA".into()));
        assert!(state.qr.is_some());
        let mut ui = simulator(state.view());
        assert!(ui.find("boucle:invite/1/AAAA").is_ok());
        ui.click("Copy link").expect("copy");
        let actions: Vec<Action> = ui.into_messages().map(|m| state.update(m)).collect();
        assert!(matches!(actions.as_slice(), [Action::Copy(l)] if l == "boucle:invite/1/AAAA"));
        let mut ui = simulator(state.view());
        assert!(ui.find("Copied").is_ok());
    }

    #[test]
    fn a_failure_says_what_went_wrong() {
        let mut state = State::default();
        state.loaded(Err("relay 127.0.0.1: connection refused".into()));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("No invitation could be made: relay 127.0.0.1: connection refused")
                .is_ok()
        );
    }
}
