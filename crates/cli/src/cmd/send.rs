//! `boucle send CONTACT TEXT`: send a message and wait (a bounded time) for it to leave.

use std::time::Duration;

use boucle_client_core::{ConversationId, DeliveryState, Engine, MessageId};

use crate::output::{MessageJson, json_line, short_message, state_text};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The contact: their name, or the start of their id (see `boucle contacts`).
    contact: String,
    /// The message.
    text: String,
    /// Reply to this message (the start of its id, as `boucle read` shows it).
    #[arg(long, value_name = "MESSAGE")]
    reply_to: Option<String>,
    /// Seconds to wait for the message to reach the relay before leaving it queued.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    wait: u64,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let contact = engine.find_contact(&args.contact)?;
            let conversation = ConversationId::Contact(contact);
            let view = match &args.reply_to {
                Some(prefix) => {
                    let to = find_message(&engine, conversation, prefix)?;
                    engine.reply(conversation, to, &args.text)?
                }
                None => engine.send_text(conversation, &args.text)?,
            };
            engine.sync(Duration::from_secs(args.wait)).await;
            // The stored view carries the state the outbox gave it.
            let view = engine
                .history(conversation, Some(view.position + 1), 1)?
                .into_iter()
                .find(|m| m.id == view.id)
                .unwrap_or(view);
            let name = engine.contact(contact)?.name;
            let queued = matches!(view.delivery, Some(DeliveryState::Queued) | None);
            if globals.json {
                json_line(&MessageJson::new(&view, &name));
                return if queued {
                    Err(crate::exit::NotAllSent.into())
                } else {
                    Ok(())
                };
            }
            match &view.delivery {
                Some(DeliveryState::Queued) | None => outln!(
                    "queued: the relay is unreachable, it will be sent on the next run (id {})",
                    short_message(&view.id)
                ),
                Some(DeliveryState::MailboxFull { relay }) => outln!(
                    "waiting: {name}'s mailbox on relay {relay} is full; the message is kept and \
                     goes out once {name} has read their messages (id {})",
                    short_message(&view.id)
                ),
                Some(state) => outln!(
                    "{} to {name}: id {}",
                    state_text(state),
                    short_message(&view.id)
                ),
            }
            if queued {
                Err(crate::exit::NotAllSent.into())
            } else {
                Ok(())
            }
        })
        .await
}

/// The message of `conversation` whose id starts with `prefix` (hexadecimal).
pub fn find_message(
    engine: &Engine,
    conversation: ConversationId,
    prefix: &str,
) -> anyhow::Result<MessageId> {
    let prefix = prefix.trim().to_lowercase();
    if prefix.len() < 4 {
        refuse!("give at least 4 characters of the message id");
    }
    let mut found = Vec::new();
    let mut before = None;
    loop {
        let page = engine.history(conversation, before, 500)?;
        let Some(first) = page.first() else { break };
        before = Some(first.position);
        found.extend(
            page.iter()
                .filter(|m| hex::encode(m.id.0).starts_with(&prefix))
                .map(|m| m.id),
        );
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => refuse!("no message of this conversation has an id starting with {prefix}"),
        _ => refuse!("more than one message has an id starting with {prefix}; give more of it"),
    }
}
