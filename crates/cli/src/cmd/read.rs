//! `boucle read CONTACT`: a page of a conversation, oldest first; marks it read.

use boucle_client_core::ConversationId;

use crate::output::{MessageJson, json_line, message_line};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The contact: their name, or the start of their id.
    contact: String,
    /// How many messages to show (the latest ones).
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
    /// Show messages before this position (the `#N` of a message), to page back.
    #[arg(long, value_name = "POSITION")]
    before: Option<u64>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let contact = engine.contact(engine.find_contact(&args.contact)?)?;
            let conversation = ConversationId::Contact(contact.id);
            let messages = engine.history(conversation, args.before, args.limit)?;
            engine.mark_read(conversation)?;
            if globals.json {
                for view in &messages {
                    json_line(&MessageJson::new(view, &contact.name));
                }
                return Ok(());
            }
            if contact.identity_changed {
                outln!(
                    "WARNING: {}'s identity key changed. Compare safety numbers again: boucle verify {}",
                    contact.name,
                    contact.id.short()
                );
            }
            match messages.first() {
                None => outln!("No messages with {} yet.", contact.name),
                Some(first) => {
                    if messages.len() == args.limit && first.position > 1 {
                        outln!("(older messages: --before {})", first.position);
                    }
                    for view in &messages {
                        outln!("{}", message_line(view, &contact.name));
                    }
                }
            }
            Ok(())
        })
        .await
}
