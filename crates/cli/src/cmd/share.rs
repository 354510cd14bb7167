//! `boucle share CONVERSATION CONTACT` and `boucle add-shared MESSAGE`: pass a contact on,
//! and add a contact someone passed on.

use std::time::Duration;

use boucle_client_core::{ConversationId, Engine, EngineError};

use crate::output::{ContactJson, MessageJson, json_line, peer_name, short_message};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct ShareArgs {
    /// Where to share: a contact or a loop (name, or the start of its id).
    conversation: String,
    /// Who to share: one of your contacts (name, or the start of their id).
    contact: String,
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The message that shares the contact: the start of its id (at least 8 digits), as
    /// `boucle read` shows it.
    message: String,
}

pub async fn share(globals: &Globals, args: ShareArgs) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let conversation = resolve_conversation(&engine, &args.conversation)?;
            let contact = engine.find_contact(&args.contact)?;
            let view = engine.share_contact(conversation, contact)?;
            let left = engine.sync(Duration::from_secs(10)).await;
            if globals.json {
                json_line(&MessageJson::new(&view, "me"));
            } else if left {
                outln!(
                    "shared {}: id {}",
                    engine.contact(contact)?.name,
                    short_message(&view.id)
                );
            } else {
                outln!(
                    "queued: a relay is unreachable, it will be sent on the next run (id {})",
                    short_message(&view.id)
                );
            }
            Ok(())
        })
        .await
}

pub async fn add(globals: &Globals, args: AddArgs) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let message = engine.find_message(&args.message)?;
            let before = engine.contacts()?.len();
            let id = engine
                .add_shared_contact(message.conversation, message.id)
                .await?;
            engine.sync(Duration::from_secs(10)).await;
            let contact = engine.contact(id)?;
            let new = engine.contacts()?.len() > before;
            if globals.json {
                json_line(&ContactJson::from(&contact));
            } else if new {
                outln!(
                    "{} is now a contact (shared by {}). Compare safety numbers: boucle verify {}",
                    contact.name,
                    contact
                        .introduced_by
                        .clone()
                        .unwrap_or_else(|| peer_name(&engine, &message)),
                    contact.id.short()
                );
            } else {
                outln!("{} is already one of your contacts", contact.name);
            }
            Ok(())
        })
        .await
}

/// A conversation named on the command line: a contact, or else a loop.
pub fn resolve_conversation(engine: &Engine, query: &str) -> anyhow::Result<ConversationId> {
    let contact = engine.find_contact(query);
    let a_loop = engine.find_loop(query);
    match (contact, a_loop) {
        (Ok(_), Ok(_)) => {
            refuse!("{query:?} names both a contact and a loop; use the start of the id instead")
        }
        (Ok(id), Err(_)) => Ok(ConversationId::Contact(id)),
        (Err(_), Ok(id)) => Ok(ConversationId::Loop(id)),
        (Err(EngineError::AmbiguousContact(_)), Err(_)) => {
            Err(EngineError::AmbiguousContact(query.to_owned()).into())
        }
        (Err(_), Err(EngineError::AmbiguousLoop(_))) => {
            Err(EngineError::AmbiguousLoop(query.to_owned()).into())
        }
        (Err(_), Err(_)) => refuse!("no contact or loop matches {query:?}"),
    }
}
