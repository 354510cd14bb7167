//! `boucle block CONTACT` and `boucle unblock CONTACT`.

use crate::output::{ContactJson, json_line};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The contact: their name, or the start of their id.
    contact: String,
}

/// Blocks (`block = true`) or unblocks a contact.
pub async fn run(globals: &Globals, args: Args, block: bool) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let id = engine.find_contact(&args.contact)?;
            let contact = if block {
                engine.block(id)?
            } else {
                engine.unblock(id)?
            };
            if globals.json {
                json_line(&ContactJson::from(&contact));
            } else if block {
                outln!(
                    "{} is blocked: nothing they send is shown or kept, and you cannot write to them. They are not told.",
                    contact.name
                );
            } else {
                outln!(
                    "{} is unblocked: what they send from now on is shown again.",
                    contact.name
                );
            }
            Ok(())
        })
        .await
}
