//! Everything the main window asks of the engine, as plain data: a [`Request`] goes in,
//! [`perform`] runs it (inside a `Task`) and a [`Response`] comes back as a message,
//! addressed to the [`Destination`] that asked (the list, or one showing of a screen:
//! an answer for a screen that has closed since is dropped, not applied to whatever
//! shows now). Keeping requests as values lets tests run them against a real engine
//! without iced's executor.

use std::collections::HashMap;

use std::path::PathBuf;

use boucle_client_core::{
    AttachmentView, Contact, ContactId, ConversationId, Engine, EngineError, EventDetails,
    EventView, LoopId, LoopPolicy, LoopView, MAX_FILE_SIZE, MemberView, MessageId, MessageView,
    PollView, RsvpAnswer, TransferState,
};

/// How many messages a conversation shows.
pub const PAGE: usize = 200;

/// Who asked for something, so that the answer goes back there, or nowhere if that
/// screen has closed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// The main window itself (the conversation list), which is always there.
    Window,
    /// One showing of a screen.
    Screen(ScreenId),
}

/// One showing of a screen (a pane of the main window): showing a screen again, even
/// the same conversation, makes a new one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScreenId(u64);

impl ScreenId {
    /// The screen shown after this one.
    pub fn next(self) -> ScreenId {
        ScreenId(self.0.wrapping_add(1))
    }
}

/// Something to ask the engine.
#[derive(Debug, Clone)]
pub enum Request {
    /// Contacts, loops and each conversation's last message.
    Refresh,
    History(ConversationId),
    Send {
        conversation: ConversationId,
        text: String,
        reply_to: Option<MessageId>,
    },
    /// A reaction, an edit or a deletion of a message.
    Change {
        conversation: ConversationId,
        message: MessageId,
        change: Change,
    },
    /// Marks a conversation read, then refreshes the list.
    MarkRead(ConversationId),
    Invite,
    Accept(String),
    SafetyNumber(ContactId),
    MarkVerified(ContactId),
    CreateLoop {
        name: String,
        contacts: Vec<ContactId>,
    },
    Members(LoopId),
    /// A change to a loop's name or members.
    Loop(LoopId, LoopChange),
    /// Something done to a poll or an event of a conversation.
    Organize(ConversationId, Organize),
    /// The polls of a conversation.
    Polls(ConversationId),
    /// One poll, with its live tally.
    Poll(ConversationId, MessageId),
    /// One event, with its answers.
    Event(ConversationId, MessageId),
    /// The agenda of one conversation, or of all (`None`).
    Agenda(Option<ConversationId>),
    /// Writes these events as an iCalendar file.
    Export {
        events: Vec<EventView>,
        path: PathBuf,
    },
    /// Sends the file at this path (its size is checked before it is read).
    SendFile {
        conversation: ConversationId,
        path: PathBuf,
    },
    /// A message's file and how far it has got; with its content if `bytes` (for an
    /// image's preview) and it is there.
    Attachment {
        conversation: ConversationId,
        message: MessageId,
        bytes: bool,
    },
    /// Saves a message's file at this path.
    Save {
        conversation: ConversationId,
        message: MessageId,
        path: PathBuf,
    },
    /// Shares one of our contacts into the conversation.
    Share(ConversationId, ContactId),
    /// Adds the person a message shared as a contact.
    AddShared(ConversationId, MessageId),
    /// Sets the disappearing-messages timer (seconds, 0: off).
    SetTimer(ConversationId, u32),
    /// Block (`true`) or unblock a contact.
    SetBlocked(ContactId, bool),
    /// Reads the disappearing-messages timer.
    Timer(ConversationId),
}

/// Creating, voting on and closing polls; planning, answering, editing and cancelling
/// events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Organize {
    CreatePoll {
        question: String,
        options: Vec<String>,
        multiple: bool,
        closes_at: Option<u64>,
    },
    Vote {
        poll: MessageId,
        choices: Vec<u8>,
    },
    ClosePoll(MessageId),
    CreateEvent(EventDetails),
    EditEvent(MessageId, EventDetails),
    CancelEvent(MessageId),
    Rsvp(MessageId, RsvpAnswer),
}

/// What an [`Organize`] request gives back.
#[derive(Debug, Clone)]
pub enum Organized {
    /// The new poll's or event's entry in the history.
    Message(Box<MessageView>),
    Poll(Box<PollView>),
    Event(Box<EventView>),
}

/// What to change in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    React { emoji: String, remove: bool },
    Edit(String),
    Delete,
}

/// What to change in a loop. Members are named by their short id ([`MemberView::id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopChange {
    Rename(String),
    Add(Vec<ContactId>),
    Remove(String),
    Promote(String),
    Leave,
    /// Who may post and who may invite.
    Policy(LoopPolicy),
}

/// What the engine answered. Errors are sentences for the user.
#[derive(Debug, Clone)]
pub enum Response {
    Refreshed(Result<Overview, String>),
    History(ConversationId, Result<Vec<MessageView>, String>),
    Sent(ConversationId, Result<MessageView, String>),
    Changed(ConversationId, Change, Result<MessageView, String>),
    Invited(Result<String, String>),
    Accepted(Result<Contact, String>),
    SafetyNumber(ContactId, Result<Safety, String>),
    Verified(Result<Contact, String>),
    LoopCreated(Result<LoopId, String>),
    Members(LoopId, Result<Vec<MemberView>, String>),
    LoopChanged(LoopId, LoopChange, Result<(), String>),
    Organized(ConversationId, Box<Organize>, Result<Organized, String>),
    Polls(ConversationId, Result<Vec<PollView>, String>),
    Poll(ConversationId, Result<Box<PollView>, String>),
    Event(ConversationId, Result<Box<EventView>, String>),
    Agenda(Option<ConversationId>, Result<Vec<EventView>, String>),
    /// Where the file was written, and how many events it holds.
    Exported(Result<(PathBuf, usize), String>),
    /// The file at this path was sent (its message), or why not.
    FileSent(ConversationId, PathBuf, Result<MessageView, String>),
    Attachment(ConversationId, MessageId, Result<Box<Attached>, String>),
    /// Where the file was saved and its size.
    Saved(ConversationId, MessageId, Result<(PathBuf, u64), String>),
    /// The contact that a shared-contact message was added as.
    AddedShared(ConversationId, MessageId, Result<ContactId, String>),
    TimerSet(ConversationId, u32, Result<(), String>),
    BlockedSet(ContactId, bool, Result<(), String>),
    Timer(ConversationId, Result<u32, String>),
}

/// A message's file, with its content when asked for and there.
#[derive(Clone)]
pub struct Attached {
    pub view: AttachmentView,
    pub bytes: Option<Vec<u8>>,
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached")
            .field("view", &self.view)
            .field("bytes", &self.bytes.as_ref().map(Vec::len))
            .finish()
    }
}

/// The conversation list's data.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub contacts: Vec<Contact>,
    pub loops: Vec<LoopView>,
    pub last: HashMap<ConversationId, MessageView>,
}

/// A safety number ready to show.
#[derive(Debug, Clone)]
pub struct Safety {
    pub groups: Vec<String>,
    pub qr: Vec<u8>,
}

/// An engine error as a sentence: capital first letter, full stop.
pub fn sentence(error: impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Runs one request.
pub async fn perform(engine: Engine, request: Request) -> Response {
    let text = |e: EngineError| sentence(e);
    match request {
        Request::Refresh => Response::Refreshed(overview(&engine).map_err(text)),
        Request::History(id) => Response::History(id, engine.history(id, None, PAGE).map_err(text)),
        Request::Send {
            conversation,
            text: body,
            reply_to,
        } => {
            let sent = match reply_to {
                Some(to) => engine.reply(conversation, to, &body),
                None => engine.send_text(conversation, &body),
            };
            Response::Sent(conversation, sent.map_err(text))
        }
        Request::Change {
            conversation,
            message,
            change,
        } => {
            let result = match &change {
                Change::React { emoji, remove } => {
                    engine.react(conversation, message, emoji, *remove)
                }
                Change::Edit(body) => engine.edit(conversation, message, body),
                Change::Delete => engine.delete(conversation, message),
            };
            Response::Changed(conversation, change, result.map_err(text))
        }
        Request::MarkRead(id) => match engine.mark_read(id) {
            Ok(()) => Response::Refreshed(overview(&engine).map_err(text)),
            Err(error) => Response::Refreshed(Err(text(error))),
        },
        Request::Invite => {
            Response::Invited(engine.invite().await.map(|i| i.to_link()).map_err(text))
        }
        Request::Accept(link) => Response::Accepted(engine.accept(&link).await.map_err(text)),
        Request::SafetyNumber(id) => Response::SafetyNumber(
            id,
            engine
                .safety_number(id)
                .map(|n| Safety {
                    groups: n.digit_groups().iter().map(|g| (*g).to_owned()).collect(),
                    qr: n.qr_payload().to_vec(),
                })
                .map_err(text),
        ),
        Request::MarkVerified(id) => Response::Verified(engine.mark_verified(id).map_err(text)),
        Request::CreateLoop { name, contacts } => {
            Response::LoopCreated(engine.create_loop(&name, &contacts).await.map_err(text))
        }
        Request::Members(id) => Response::Members(id, engine.loop_members(id).map_err(text)),
        Request::Loop(id, change) => {
            let result = match &change {
                LoopChange::Rename(name) => engine.rename_loop(id, name),
                LoopChange::Add(contacts) => contacts
                    .iter()
                    .try_for_each(|contact| engine.invite_to_loop(id, *contact)),
                LoopChange::Remove(member) => engine.remove_from_loop(id, member),
                LoopChange::Promote(member) => engine.promote_in_loop(id, member),
                LoopChange::Leave => engine.leave_loop(id),
                LoopChange::Policy(policy) => engine.set_loop_policy(id, *policy),
            };
            Response::LoopChanged(id, change, result.map_err(text))
        }
        Request::Organize(conversation, what) => {
            let result = organize(&engine, conversation, &what);
            Response::Organized(conversation, Box::new(what), result.map_err(text))
        }
        Request::Polls(id) => Response::Polls(id, engine.polls(id).map_err(text)),
        Request::Poll(id, poll) => {
            Response::Poll(id, engine.poll(id, poll).map(Box::new).map_err(text))
        }
        Request::Event(id, event) => {
            let event = engine.event(id, event).inspect(know_zone);
            Response::Event(id, event.map(Box::new).map_err(text))
        }
        Request::Agenda(scope) => {
            let events = engine
                .agenda(scope)
                .inspect(|events| events.iter().for_each(know_zone));
            Response::Agenda(scope, events.map_err(text))
        }
        Request::Export { events, path } => export(events, path).await,
        Request::SendFile { conversation, path } => {
            let sent = send_file(&engine, conversation, &path).await;
            Response::FileSent(conversation, path, sent)
        }
        Request::Attachment {
            conversation,
            message,
            bytes,
        } => {
            let attached = engine.attachment(conversation, message).map(|view| {
                let ready = view.state == TransferState::Complete
                    || matches!(view.state, TransferState::Uploading { .. });
                let bytes = (bytes && ready)
                    .then(|| engine.attachment_bytes(conversation, message).ok())
                    .flatten();
                Box::new(Attached { view, bytes })
            });
            Response::Attachment(conversation, message, attached.map_err(text))
        }
        Request::Save {
            conversation,
            message,
            path,
        } => {
            let path = expand_home(&path);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                && let Err(e) = tokio::fs::create_dir_all(parent).await
            {
                let why = sentence(format!(
                    "cannot create the folder {}: {e}",
                    parent.display()
                ));
                return Response::Saved(conversation, message, Err(why));
            }
            let saved = engine.save_attachment(conversation, message, &path).await;
            Response::Saved(
                conversation,
                message,
                saved.map(|n| (path, n)).map_err(text),
            )
        }
        Request::Share(conversation, contact) => Response::Sent(
            conversation,
            engine.share_contact(conversation, contact).map_err(text),
        ),
        Request::AddShared(conversation, message) => Response::AddedShared(
            conversation,
            message,
            engine
                .add_shared_contact(conversation, message)
                .await
                .map_err(text),
        ),
        Request::SetTimer(conversation, seconds) => Response::TimerSet(
            conversation,
            seconds,
            engine.set_timer(conversation, seconds).map_err(text),
        ),
        Request::SetBlocked(contact, blocked) => {
            let done = if blocked {
                engine.block(contact)
            } else {
                engine.unblock(contact)
            };
            Response::BlockedSet(contact, blocked, done.map(|_| ()).map_err(text))
        }
        Request::Timer(conversation) => {
            Response::Timer(conversation, engine.timer(conversation).map_err(text))
        }
    }
}

/// Sends a file, refusing one that is too large or not there before reading it.
async fn send_file(
    engine: &Engine,
    conversation: ConversationId,
    path: &std::path::Path,
) -> Result<MessageView, String> {
    let path = check_file(path).await?;
    engine
        .send_file_from(conversation, &path)
        .await
        .map_err(sentence)
}

/// The file to send at `path` (`~` expanded), if it is a file of at most 64 MiB: only
/// its metadata is read.
pub async fn check_file(path: &std::path::Path) -> Result<PathBuf, String> {
    let path = expand_home(path);
    let shown = path.display();
    let metadata = match tokio::fs::metadata(&path).await {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("There is no file at {shown}."));
        }
        Err(e) => return Err(sentence(format!("cannot read {shown}: {e}"))),
    };
    if !metadata.is_file() {
        return Err(format!("{shown} is a folder, not a file."));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(format!(
            "{shown} is {}: files of at most 64 MB can be sent.",
            crate::format::size(metadata.len())
        ));
    }
    Ok(path)
}

/// `~/x` as `$HOME/x`.
pub fn expand_home(path: &std::path::Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_owned(),
    }
}

/// The home folder (with a trailing slash), where the attach field starts.
pub fn home_folder() -> String {
    match std::env::var_os("HOME") {
        Some(home) => {
            let mut home = PathBuf::from(home).display().to_string();
            if !home.ends_with('/') {
                home.push('/');
            }
            home
        }
        None => String::new(),
    }
}

/// Where a received file is saved unless the user says otherwise: `~/Downloads/<name>`
/// (else the home folder).
pub fn default_save_path(name: &str) -> PathBuf {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return PathBuf::from(name);
    };
    let downloads = home.join("Downloads");
    if downloads.is_dir() || !home.is_dir() {
        downloads.join(name)
    } else {
        home.join(name)
    }
}

fn organize(
    engine: &Engine,
    conversation: ConversationId,
    what: &Organize,
) -> Result<Organized, EngineError> {
    Ok(match what {
        Organize::CreatePoll {
            question,
            options,
            multiple,
            closes_at,
        } => Organized::Message(Box::new(engine.create_poll(
            conversation,
            question,
            options,
            *multiple,
            *closes_at,
        )?)),
        Organize::Vote { poll, choices } => {
            Organized::Poll(Box::new(engine.vote(conversation, *poll, choices)?))
        }
        Organize::ClosePoll(poll) => {
            Organized::Poll(Box::new(engine.close_poll(conversation, *poll)?))
        }
        Organize::CreateEvent(details) => {
            Organized::Message(Box::new(engine.create_event(conversation, details)?))
        }
        Organize::EditEvent(event, details) => Organized::Event(Box::new(engine.edit_event(
            conversation,
            *event,
            details,
        )?)),
        Organize::CancelEvent(event) => {
            Organized::Event(Box::new(engine.cancel_event(conversation, *event)?))
        }
        Organize::Rsvp(event, answer) => {
            Organized::Event(Box::new(engine.rsvp(conversation, *event, *answer)?))
        }
    })
}

/// Looks the event's time zone up here, in the task, so that the views that show the
/// event find it in the time zone database's cache and never wait on the disk.
fn know_zone(event: &EventView) {
    let _ = crate::when::Zone::named(&event.details.time_zone);
}

/// Writes events as an iCalendar file (no engine needed: the events are all there).
pub async fn export(events: Vec<EventView>, path: PathBuf) -> Response {
    let calendar = boucle_client_core::ics::calendar(&events, crate::format::now_ms());
    let written = write_file(&path, calendar).await;
    Response::Exported(written.map(|()| (path, events.len())))
}

/// Writes a file (making its folder if needed); errors as sentences.
async fn write_file(path: &std::path::Path, contents: String) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await.map_err(|e| {
            sentence(format!(
                "cannot create the folder {}: {e}",
                parent.display()
            ))
        })?;
    }
    tokio::fs::write(path, contents)
        .await
        .map_err(|e| sentence(format!("cannot write {}: {e}", path.display())))
}

/// Where the agenda is exported unless the user says otherwise: `~/Downloads` if it
/// exists, else the home folder, else the current folder.
pub fn default_export_path() -> PathBuf {
    let name = "boucle-agenda.ics";
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return PathBuf::from(name);
    };
    let downloads = home.join("Downloads");
    if downloads.is_dir() {
        downloads.join(name)
    } else {
        home.join(name)
    }
}

fn overview(engine: &Engine) -> Result<Overview, EngineError> {
    let contacts = engine.contacts()?;
    let loops = engine.loops()?;
    let mut last = HashMap::new();
    let ids = contacts
        .iter()
        .map(|c| ConversationId::Contact(c.id))
        .chain(loops.iter().map(|l| ConversationId::Loop(l.id)));
    for id in ids {
        if let Some(message) = engine.history(id, None, 1)?.pop() {
            last.insert(id, message);
        }
    }
    Ok(Overview {
        contacts,
        loops,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            sentence("only an admin of the loop can do this"),
            "Only an admin of the loop can do this."
        );
        assert_eq!(
            sentence("this is not a Boucle invitation (it should start with boucle:invite/)"),
            "This is not a Boucle invitation (it should start with boucle:invite/)."
        );
        assert_eq!(sentence(""), "");
    }

    #[tokio::test]
    async fn files_too_large_or_missing_are_refused_before_reading() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let big = dir.path().join("big.iso");
        let file = std::fs::File::create(&big).expect("file");
        file.set_len(MAX_FILE_SIZE + 1).expect("sparse file");
        let refused = check_file(&big).await.expect_err("too large");
        assert!(
            refused.ends_with("big.iso is 64.0 MB: files of at most 64 MB can be sent."),
            "{refused}"
        );
        let missing = check_file(&dir.path().join("nothing.pdf")).await;
        assert!(
            missing
                .as_ref()
                .is_err_and(|e| e.starts_with("There is no file at ")),
            "{missing:?}"
        );
        let folder = check_file(dir.path()).await;
        assert!(folder.is_err_and(|e| e.ends_with("is a folder, not a file.")));
        let small = dir.path().join("flyer.pdf");
        std::fs::write(&small, b"%PDF-1.4").expect("file");
        assert_eq!(check_file(&small).await, Ok(small));
    }
}
