//! Files in the conversation: the attach pane (a path, the home folder to start with,
//! or a file dropped on the window) and a file's card in the history: its name, type
//! and size, a progress bar while it is sent or received, why it failed, an image's
//! preview, and "Save…" (a path, `~/Downloads/<name>` to start with; it says where it
//! saved). Reading, sending and saving happen in the parent's tasks.

use std::collections::HashMap;
use std::path::PathBuf;

use boucle_client_core::{AttachmentView, MessageId, MessageView, TransferState};
use iced::widget::{button, column, container, image, progress_bar, row, text, text_input};
use iced::{Alignment, ContentFit, Element, Fill};

use super::Status;
use super::card::{CARD, card, kind_line};
use crate::io::Attached;
use crate::{format, theme};

/// Id of the attach pane's path field.
pub const ATTACH_PATH: &str = "attach-path";

/// Id of a card's save-path field (one is open at a time in practice).
pub const SAVE_PATH: &str = "save-path";

/// Widest and tallest an image preview is drawn.
const PREVIEW_WIDTH: f32 = CARD - 24.0;
const PREVIEW_HEIGHT: f32 = 320.0;

#[derive(Debug, Default)]
pub struct State {
    /// The files of the history, by message id, and the previews of its images.
    files: HashMap<MessageId, AttachmentView>,
    previews: HashMap<MessageId, image::Handle>,
    /// Files being saved, or saved: the path field and what happened.
    saves: HashMap<MessageId, Save>,
    /// The attach pane, when open.
    attach: Option<Attach>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// The composer's "Attach": opens (or closes) the attach pane.
    Attach,
    AttachPath(String),
    SendFile,
    /// A file dropped on the window: its path goes in the attach pane.
    FileDropped(PathBuf),
    /// "Save…" on a file's card, its path field, and "Save".
    StartSave(MessageId),
    SavePath(MessageId, String),
    Save(MessageId),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// The pane closed (or cannot open): back to the composer.
    FocusComposer,
    /// Put the keyboard focus in this field.
    Focus(&'static str),
    SendFile(PathBuf),
    SaveFile(MessageId, PathBuf),
}

impl State {
    pub fn update(&mut self, message: Message, may_post: bool) -> Action {
        match message {
            Message::Attach => {
                if self.attach.take().is_some() || !may_post {
                    return Action::FocusComposer;
                }
                self.attach = Some(Attach::default());
                Action::Focus(ATTACH_PATH)
            }
            Message::AttachPath(path) => {
                if let Some(attach) = &mut self.attach {
                    attach.path = path;
                    attach.error = None;
                }
                Action::None
            }
            Message::FileDropped(path) => {
                if !may_post {
                    return Action::None;
                }
                let attach = self.attach.get_or_insert_with(Attach::default);
                attach.path = path.display().to_string();
                attach.error = None;
                Action::Focus(ATTACH_PATH)
            }
            Message::SendFile => {
                let Some(attach) = &mut self.attach else {
                    return Action::None;
                };
                match attach.check() {
                    Ok(path) => {
                        attach.busy = true;
                        attach.error = None;
                        Action::SendFile(path)
                    }
                    Err(error) => {
                        attach.error = Some(error);
                        Action::None
                    }
                }
            }
            Message::StartSave(id) => {
                let Some(view) = self.files.get(&id) else {
                    return Action::None;
                };
                if self.saves.get(&id).is_some_and(|s| s.open) {
                    self.saves.remove(&id);
                    return Action::None;
                }
                let path = crate::io::default_save_path(&view.name);
                self.saves.insert(id, Save::new(&path));
                Action::Focus(SAVE_PATH)
            }
            Message::SavePath(id, path) => {
                if let Some(save) = self.saves.get_mut(&id) {
                    save.path = path;
                    save.result = None;
                }
                Action::None
            }
            Message::Save(id) => {
                let Some(save) = self.saves.get_mut(&id) else {
                    return Action::None;
                };
                let path = save.path.trim();
                if path.is_empty() || path.ends_with('/') {
                    save.result = Some(Err("Type where to save it, with a file name.".into()));
                    return Action::None;
                }
                save.busy = true;
                save.result = None;
                Action::SaveFile(id, PathBuf::from(path))
            }
        }
    }

    /// Closes the attach pane; whether it was open.
    pub fn close_pane(&mut self) -> bool {
        self.attach.take().is_some()
    }

    pub fn attachment(&self, id: MessageId) -> Option<&AttachmentView> {
        self.files.get(&id)
    }

    pub fn has_preview(&self, id: MessageId) -> bool {
        self.previews.contains_key(&id)
    }

    /// A file's state (and, for an image, its content) as the engine has it now.
    pub fn set_attachment(&mut self, id: MessageId, result: Result<Attached, String>) {
        match result {
            Ok(attached) => {
                if let Some(bytes) = attached.bytes {
                    self.previews.insert(id, image::Handle::from_bytes(bytes));
                }
                self.files.insert(id, attached.view);
            }
            Err(error) => {
                if let Some(view) = self.files.get_mut(&id) {
                    view.state = TransferState::Failed(error);
                }
            }
        }
    }

    /// A file moved on: `done` of `total` bytes sent or received.
    pub fn progress(&mut self, id: MessageId, done: u64, total: u64, upload: bool) {
        let Some(view) = self.files.get_mut(&id) else {
            return;
        };
        if matches!(
            view.state,
            TransferState::Complete | TransferState::Failed(_)
        ) {
            return;
        }
        view.state = if upload {
            TransferState::Uploading { done, total }
        } else {
            TransferState::Downloading { done, total }
        };
    }

    /// The engine sent (or refused) the file of the attach pane: the pane closes and
    /// the file's message is given back for the history, or the pane says why.
    pub fn file_sent(
        &mut self,
        result: Result<MessageView, String>,
        status: &mut Status,
    ) -> Option<MessageView> {
        match result {
            Ok(message) => {
                self.attach = None;
                status.error = None;
                Some(message)
            }
            Err(error) => {
                if let Some(attach) = &mut self.attach {
                    attach.busy = false;
                    attach.error = Some(error);
                } else {
                    status.refuse(format!("The file was not sent. {error}"));
                }
                None
            }
        }
    }

    /// The engine saved (or could not save) a file.
    pub fn saved(&mut self, id: MessageId, result: Result<(PathBuf, u64), String>) {
        if let Some(save) = self.saves.get_mut(&id) {
            save.busy = false;
            save.result = Some(result.map(|(path, _)| path.display().to_string()));
        }
    }

    /// These messages are gone.
    pub fn forget(&mut self, ids: &[MessageId]) {
        for id in ids {
            self.files.remove(id);
            self.previews.remove(id);
            self.saves.remove(id);
        }
    }

    /// The attach pane, above the composer, when open.
    pub fn pane(&self) -> Option<Element<'_, Message>> {
        self.attach.as_ref().map(pane)
    }

    /// A file in the history.
    pub fn card<'a>(
        &'a self,
        message: &'a MessageView,
        name: &'a str,
        media_type: &'a str,
        size: u64,
        footer: String,
    ) -> Element<'a, Message> {
        let id = message.id;
        let kind = kind_label(name, media_type);
        let mut body =
            column![kind_line(kind, format::size(size)), text(name).size(17),].spacing(8);
        if let Some(preview) = self.previews.get(&id) {
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
        body = body.push(match self.files.get(&id).map(|a| &a.state) {
            None => text("Reading the file…")
                .size(theme::SMALL)
                .style(theme::muted_text)
                .into(),
            Some(TransferState::Uploading { done, total }) => progress("Sending", *done, *total),
            Some(TransferState::Downloading { done, total }) => {
                progress("Receiving", *done, *total)
            }
            Some(TransferState::Failed(reason)) => text(format!("Failed: {reason}"))
                .size(theme::SMALL)
                .style(theme::error_text)
                .into(),
            Some(TransferState::Complete) => save(self.saves.get(&id), id),
            Some(_) => text("").into(),
        });
        body = body.push(text(footer).size(12).style(theme::muted_text));
        card(body)
    }
}

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

/// The attach pane.
fn pane(attach: &Attach) -> Element<'_, Message> {
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
fn save(save: Option<&Save>, id: MessageId) -> Element<'_, Message> {
    let start = button(text("Save…").size(theme::SMALL))
        .padding([4, 12])
        .style(button::secondary)
        .on_press(Message::StartSave(id));
    let Some(save) = save else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixtures::file;

    const FILE: MessageId = MessageId([7; 16]);

    fn with_file(transfer: TransferState) -> State {
        let mut state = State::default();
        state.set_attachment(
            FILE,
            Ok(Attached {
                view: file(7, "flyer.pdf", "application/pdf", 2_400, transfer),
                bytes: None,
            }),
        );
        state
    }

    #[test]
    fn the_pane_opens_closes_and_takes_a_dropped_file() {
        let mut state = State::default();
        assert_eq!(
            state.update(Message::Attach, true),
            Action::Focus(ATTACH_PATH)
        );
        assert!(state.pane().is_some());
        assert_eq!(state.update(Message::Attach, true), Action::FocusComposer);
        assert!(!state.close_pane(), "closed already");
        assert_eq!(
            state.update(Message::FileDropped("/tmp/flyer.pdf".into()), true),
            Action::Focus(ATTACH_PATH)
        );
        assert_eq!(
            state.update(Message::SendFile, true),
            Action::SendFile("/tmp/flyer.pdf".into())
        );
        assert!(state.close_pane());
        // Where we may not post, nothing opens.
        assert_eq!(state.update(Message::Attach, false), Action::FocusComposer);
        assert_eq!(
            state.update(Message::FileDropped("/tmp/flyer.pdf".into()), false),
            Action::None
        );
        assert!(state.pane().is_none());
    }

    #[test]
    fn what_cannot_be_sent_is_said_in_the_pane() {
        let mut state = State::default();
        state.update(Message::Attach, true);
        for (path, why) in [
            ("  ", "Type the path of the file to send."),
            ("/tmp/", "That is a folder: add the file's name."),
        ] {
            state.update(Message::AttachPath(path.into()), true);
            assert_eq!(state.update(Message::SendFile, true), Action::None);
            assert_eq!(
                state.attach.as_ref().and_then(|a| a.error.as_deref()),
                Some(why)
            );
        }
        state.update(Message::AttachPath("/tmp/big.iso".into()), true);
        state.update(Message::SendFile, true);
        let mut status = Status::default();
        let sent = state.file_sent(Err("It is too large.".into()), &mut status);
        assert!(sent.is_none());
        assert_eq!(
            state.attach.as_ref().map(|a| (a.busy, a.error.as_deref())),
            Some((false, Some("It is too large.")))
        );
        assert_eq!(status.error(), None, "the pane says it");
        state.close_pane();
        state.file_sent(Err("It is too large.".into()), &mut status);
        assert_eq!(
            status.error(),
            Some("The file was not sent. It is too large.")
        );
    }

    #[test]
    fn progress_stops_at_completion_or_failure() {
        let mut state = with_file(TransferState::Uploading { done: 0, total: 2 });
        state.progress(FILE, 1, 2, true);
        assert_eq!(
            state.attachment(FILE).map(|a| &a.state),
            Some(&TransferState::Uploading { done: 1, total: 2 })
        );
        let mut state = with_file(TransferState::Complete);
        state.progress(FILE, 1, 2, false);
        assert_eq!(
            state.attachment(FILE).map(|a| &a.state),
            Some(&TransferState::Complete)
        );
        state.set_attachment(FILE, Err("a part is missing".into()));
        assert_eq!(
            state.attachment(FILE).map(|a| &a.state),
            Some(&TransferState::Failed("a part is missing".into()))
        );
        state.forget(&[FILE]);
        assert!(state.attachment(FILE).is_none());
    }

    #[test]
    fn saving_needs_a_file_name_and_says_where() {
        let mut state = with_file(TransferState::Complete);
        assert_eq!(
            state.update(Message::StartSave(FILE), true),
            Action::Focus(SAVE_PATH)
        );
        state.update(Message::SavePath(FILE, "/tmp/".into()), true);
        assert_eq!(state.update(Message::Save(FILE), true), Action::None);
        assert_eq!(
            state.saves[&FILE].result,
            Some(Err("Type where to save it, with a file name.".into()))
        );
        state.update(Message::SavePath(FILE, " /tmp/flyer.pdf ".into()), true);
        assert_eq!(
            state.update(Message::Save(FILE), true),
            Action::SaveFile(FILE, "/tmp/flyer.pdf".into())
        );
        state.saved(FILE, Ok(("/tmp/flyer.pdf".into(), 2_400)));
        assert_eq!(state.saves[&FILE].result, Some(Ok("/tmp/flyer.pdf".into())));
        // "Save…" again closes the field.
        assert_eq!(state.update(Message::StartSave(FILE), true), Action::None);
        assert!(state.saves.is_empty());
    }
}
