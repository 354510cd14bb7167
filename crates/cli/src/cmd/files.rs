//! `boucle send-file TO PATH` and `boucle save-file FROM MESSAGE [DEST]`: files and
//! images, to a contact or a loop. Progress goes to standard error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use boucle_client_core::{
    AttachmentView, ConversationId, Engine, EngineError, Event, MessageId, TransferState,
};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::cmd::send::find_message;
use crate::output::{human_size, json_line, short_message};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The contact or loop: a name, or the start of an id.
    to: String,
    /// The file to send (at most 64 MiB).
    path: PathBuf,
    /// Seconds to wait for the whole file to reach the relays; what is left is sent on
    /// the next run.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    wait: u64,
}

#[derive(clap::Args, Debug)]
pub struct SaveArgs {
    /// The contact or loop of the conversation: a name, or the start of an id.
    from: String,
    /// The message with the file (the start of its id, as `boucle read` shows it).
    message: String,
    /// Where to save it: a file name, or a directory to save it in under the sender's
    /// file name [default: the current directory].
    dest: Option<PathBuf>,
    /// Replace the destination if it exists.
    #[arg(long)]
    force: bool,
    /// Seconds to wait for the file to arrive completely.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    wait: u64,
}

/// A file, for `--json`.
#[derive(Debug, Serialize)]
struct FileJson {
    id: String,
    name: String,
    media_type: String,
    size: u64,
    /// "uploading", "downloading", "complete" or "failed".
    state: &'static str,
    /// Bytes sent or received so far.
    done: u64,
    failure: Option<String>,
    /// Where it was saved (`save-file`).
    path: Option<String>,
}

impl FileJson {
    fn new(view: &AttachmentView, path: Option<&Path>) -> FileJson {
        let (state, done, failure) = match &view.state {
            TransferState::Uploading { done, .. } => ("uploading", *done, None),
            TransferState::Downloading { done, .. } => ("downloading", *done, None),
            TransferState::Complete => ("complete", view.size, None),
            TransferState::Failed(reason) => ("failed", 0, Some(reason.clone())),
            _ => ("unknown", 0, None),
        };
        FileJson {
            id: hex::encode(view.message.0),
            name: view.name.clone(),
            media_type: view.media_type.clone(),
            size: view.size,
            state,
            done,
            failure,
            path: path.map(|p| p.display().to_string()),
        }
    }
}

pub async fn send(globals: &Globals, args: SendArgs) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let conversation = find_conversation(&engine, &args.to)?;
            let mut events = engine.events();
            let view = engine.send_file_from(conversation, &args.path).await?;
            let file = wait_for(
                &engine,
                &mut events,
                conversation,
                view.id,
                Duration::from_secs(args.wait),
                globals.json,
            )
            .await?;
            if globals.json {
                json_line(&FileJson::new(&file, None));
                return Ok(());
            }
            let what = format!("{} ({})", file.name, human_size(file.size));
            match &file.state {
                TransferState::Complete => {
                    outln!("sent {what}: id {}", short_message(&file.message))
                }
                TransferState::Failed(reason) => bail!("{what} could not be sent: {reason}"),
                TransferState::Uploading { done, total } => outln!(
                    "{what}: {} sent; the rest will be sent on the next run (id {})",
                    percent(*done, *total),
                    short_message(&file.message)
                ),
                _ => {}
            }
            Ok(())
        })
        .await
}

pub async fn save(globals: &Globals, args: SaveArgs) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let conversation = find_conversation(&engine, &args.from)?;
            let id = find_message(&engine, conversation, &args.message)?;
            let mut events = engine.events();
            let mut file = engine.attachment(conversation, id)?;
            // Ours is here from the start; someone else's may still be arriving.
            if !file.from_me {
                file = wait_for(
                    &engine,
                    &mut events,
                    conversation,
                    id,
                    Duration::from_secs(args.wait),
                    globals.json,
                )
                .await?;
            }
            match &file.state {
                TransferState::Failed(reason) if !file.from_me => {
                    bail!("the file cannot be saved: {reason}")
                }
                TransferState::Downloading { done, total } => bail!(
                    "the file has not fully arrived yet ({}); try again later",
                    percent(*done, *total)
                ),
                _ => {}
            }
            let dest = match &args.dest {
                Some(dest) if dest.is_dir() => dest.join(&file.name),
                Some(dest) => dest.clone(),
                None => PathBuf::from(&file.name),
            };
            if dest.exists() && !args.force {
                bail!(
                    "{} already exists; use --force to replace it",
                    dest.display()
                );
            }
            let size = engine.save_attachment(conversation, id, &dest).await?;
            if globals.json {
                json_line(&FileJson::new(&file, Some(&dest)));
            } else {
                outln!(
                    "saved {} ({}, {}) to {}",
                    file.name,
                    file.media_type,
                    human_size(size),
                    dest.display()
                );
            }
            Ok(())
        })
        .await
}

/// A contact or a loop, by name or id prefix.
pub fn find_conversation(engine: &Engine, query: &str) -> anyhow::Result<ConversationId> {
    let contact = engine.find_contact(query);
    let found = engine.find_loop(query);
    match (contact, found) {
        (Ok(contact), Err(_)) => Ok(ConversationId::Contact(contact)),
        (Err(_), Ok(id)) => Ok(ConversationId::Loop(id)),
        (Ok(_), Ok(_)) => {
            refuse!("{query:?} names both a contact and a loop; give the start of an id instead")
        }
        (Err(EngineError::UnknownContact(_)), Err(EngineError::UnknownLoop(_))) => {
            refuse!("no contact or loop matches {query:?}")
        }
        (Err(EngineError::UnknownContact(_)), Err(error)) | (Err(error), Err(_)) => {
            Err(error.into())
        }
    }
}

/// Waits until the file is complete or failed, or `wait` passes, showing progress on
/// standard error (every 10%).
async fn wait_for(
    engine: &Engine,
    events: &mut broadcast::Receiver<Event>,
    conversation: ConversationId,
    id: MessageId,
    wait: Duration,
    json: bool,
) -> anyhow::Result<AttachmentView> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut shown = None;
    loop {
        let file = engine.attachment(conversation, id)?;
        let (done, total, verb) = match &file.state {
            TransferState::Uploading { done, total } => (*done, *total, "sending"),
            TransferState::Downloading { done, total } => (*done, *total, "receiving"),
            _ => return Ok(file),
        };
        let tenth = done.saturating_mul(10) / total.max(1);
        if !json && shown != Some(tenth) {
            eprintln!("{verb} {}: {}", file.name, percent(done, total));
            shown = Some(tenth);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(file);
        }
        // Re-checked on every event, and at least twice a second.
        let _ = tokio::time::timeout(Duration::from_millis(500), events.recv()).await;
    }
}

fn percent(done: u64, total: u64) -> String {
    format!("{}%", done.saturating_mul(100) / total.max(1))
}
