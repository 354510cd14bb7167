//! `boucle accept LINK`: accept an invitation.

use std::time::Duration;

use crate::output::{ContactJson, json_line};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The invitation link (boucle:invite/...). Quote it in the shell.
    link: String,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let contact = engine.accept(&args.link).await?;
            // Send the introduction now, so the inviter sees us without waiting for our
            // next run.
            let sent = engine.sync(Duration::from_secs(10)).await;
            if globals.json {
                let mut value = serde_json::to_value(ContactJson::from(&contact))?;
                value["introduced"] = sent.into();
                json_line(&value);
            } else {
                outln!("{} ({}) is now a contact.", contact.name, contact.id.short());
                if !sent {
                    outln!(
                        "queued: the relay is unreachable; they will see you once it is sent on the next run"
                    );
                }
                outln!(
                    "Compare safety numbers with `boucle verify {}`.",
                    contact.id.short()
                );
            }
            if sent {
                Ok(())
            } else {
                Err(crate::exit::NotAllSent.into())
            }
        })
        .await
}
