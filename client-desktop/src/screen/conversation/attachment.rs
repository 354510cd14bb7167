//! Files in the conversation: the attach pane (a path, the home folder to start with,
//! or a file dropped on the window) and a file's card in the history: its name, type
//! and size, a progress bar while it is sent or received, why it failed, an image's
//! preview, and "Save…" (a path, `~/Downloads/<name>` to start with; it says where it
//! saved). Reading, sending and saving happen in the parent's tasks.

use std::path::PathBuf;

use boucle_client_core::{MessageView, TransferState};
use iced::widget::{button, column, container, image, progress_bar, row, text, text_input};
use iced::{Alignment, ContentFit, Element, Fill};

use super::poll::{CARD, card, kind_line};
use super::{ATTACH_PATH, Message, State};
use crate::{format, theme};

/// Id of a card's save-path field (one is open at a time in practice).
pub const SAVE_PATH: &str = "save-path";

/// Widest and tallest an image preview is drawn.
const PREVIEW_WIDTH: f32 = CARD - 24.0;
const PREVIEW_HEIGHT: f32 = 320.0;

/// The attach pane.
#[derive(Debug, Clone)]
pub struct Attach {
    pub path: String,
    pub error: Option<String>,
    /// Sent to the engine, waiting for its answer.
    pub busy: bool,
}

impl Default for Attach {
    /// Starts at the home folder.
    fn default() -> Attach {
        Attach {
            path: crate::io::home_folder(),
            error: None,
            busy: false,
        }
    }
}

impl Attach {
    /// What can be said without the disk: a path is there and names a file.
    pub fn check(&self) -> Result<PathBuf, String> {
        let path = self.path.trim();
        if path.is_empty() {
            return Err("Type the path of the file to send.".into());
        }
        if path.ends_with('/') {
            return Err("That is a folder: add the file's name.".into());
        }
        Ok(PathBuf::from(path))
    }
}

/// A file being saved, or saved.
#[derive(Debug, Clone)]
pub struct Save {
    pub open: bool,
    pub path: String,
    pub busy: bool,
    /// Where it was saved, or why not.
    pub result: Option<Result<String, String>>,
}

impl Save {
    pub fn new(path: &std::path::Path) -> Save {
        Save {
            open: true,
            path: path.display().to_string(),
            busy: false,
            result: None,
        }
    }
}

/// The attach pane, above the composer.
pub fn pane(attach: &Attach) -> Element<'_, Message> {
    let send = button(
        text(if attach.busy {
            "Sending…"
        } else {
            "Send the file"
        })
        .size(theme::SMALL),
    )
    .padding([6, 14])
    .on_press_maybe((!attach.busy).then_some(Message::SendFile));
    let error = attach
        .error
        .as_deref()
        .map(|e| text(e).size(theme::SMALL).style(theme::error_text));
    container(
        column![
            text("Send a file (up to 64 MB): type its path, or drop it on the window.")
                .size(theme::SMALL),
            row![
                text_input("/home/you/file.pdf", &attach.path)
                    .id(ATTACH_PATH)
                    .on_input(Message::AttachPath)
                    .on_submit(Message::SendFile)
                    .padding(8)
                    .size(theme::SMALL)
                    .width(Fill),
                send,
                button(text("Cancel").size(theme::SMALL))
                    .padding([6, 12])
                    .style(button::secondary)
                    .on_press(Message::Attach),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
            error,
        ]
        .spacing(6),
    )
    .padding(10)
    .style(theme::panel)
    .into()
}

/// A file in the history.
pub fn view<'a>(
    state: &'a State,
    message: &'a MessageView,
    name: &'a str,
    media_type: &'a str,
    size: u64,
    footer: String,
) -> Element<'a, Message> {
    let id = message.id;
    let kind = kind_label(name, media_type);
    let mut body = column![kind_line(kind, format::size(size)), text(name).size(17),].spacing(8);
    if let Some(preview) = state.previews.get(&id) {
        body = body.push(
            container(
                image(preview.clone())
                    .content_fit(ContentFit::ScaleDown)
                    .width(Fill),
            )
            .max_width(PREVIEW_WIDTH)
            .max_height(PREVIEW_HEIGHT),
        );
    }
    body = body.push(match state.attachments.get(&id).map(|a| &a.state) {
        None => text("Reading the file…")
            .size(theme::SMALL)
            .style(theme::muted_text)
            .into(),
        Some(TransferState::Uploading { done, total }) => progress("Sending", *done, *total),
        Some(TransferState::Downloading { done, total }) => progress("Receiving", *done, *total),
        Some(TransferState::Failed(reason)) => text(format!("Failed: {reason}"))
            .size(theme::SMALL)
            .style(theme::error_text)
            .into(),
        Some(TransferState::Complete) => save(state, id),
        Some(_) => text("").into(),
    });
    body = body.push(text(footer).size(12).style(theme::muted_text));
    card(body)
}

/// "Image", "PDF", "Audio"… from the media type, else the name's extension.
pub fn kind_label(name: &str, media_type: &str) -> &'static str {
    let (top, sub) = media_type.split_once('/').unwrap_or((media_type, ""));
    match (top, sub) {
        ("image", _) => "Image",
        ("video", _) => "Video",
        ("audio", _) => "Audio",
        (_, "pdf") => "PDF",
        ("text", _) => "Text",
        (_, "zip" | "gzip" | "x-tar" | "x-7z-compressed") => "Archive",
        _ => match name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()) {
            Some(e) if matches!(e.as_str(), "doc" | "docx" | "odt" | "rtf") => "Document",
            Some(e) if matches!(e.as_str(), "xls" | "xlsx" | "ods" | "csv") => "Spreadsheet",
            _ => "File",
        },
    }
}

fn progress<'a>(what: &str, done: u64, total: u64) -> Element<'a, Message> {
    let share = if total == 0 {
        100.0
    } else {
        done as f32 * 100.0 / total as f32
    };
    column![
        text(format!(
            "{what}… {share:.0}% ({} of {})",
            format::size(done),
            format::size(total)
        ))
        .size(theme::SMALL)
        .style(theme::muted_text),
        progress_bar(0.0..=100.0, share)
            .girth(6)
            .style(theme::tally(true)),
    ]
    .spacing(4)
    .into()
}

/// "Save…", or the path field and what happened.
fn save<'a>(state: &'a State, id: boucle_client_core::MessageId) -> Element<'a, Message> {
    let start = button(text("Save…").size(theme::SMALL))
        .padding([4, 12])
        .style(button::secondary)
        .on_press(Message::StartSave(id));
    let Some(save) = state.saves.get(&id) else {
        return start.into();
    };
    let result = save.result.as_ref().map(|result| match result {
        Ok(path) => text(format!("Saved to {path}."))
            .size(theme::SMALL)
            .style(theme::success_text),
        Err(error) => text(format!("Not saved. {error}"))
            .size(theme::SMALL)
            .style(theme::error_text),
    });
    column![
        row![
            text_input("Where to save it", &save.path)
                .id(SAVE_PATH)
                .on_input(move |path| Message::SavePath(id, path))
                .on_submit(Message::Save(id))
                .padding(6)
                .size(theme::SMALL)
                .width(Fill),
            button(text(if save.busy { "Saving…" } else { "Save" }).size(theme::SMALL))
                .padding([4, 12])
                .on_press_maybe((!save.busy).then_some(Message::Save(id))),
        ]
        .spacing(6)
        .align_y(Alignment::Center),
        result,
    ]
    .spacing(4)
    .into()
}
