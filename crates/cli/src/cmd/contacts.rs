//! `boucle contacts`: the contact list.

use crate::output::{ContactJson, contact_line, json_line};
use crate::profile::Globals;

pub async fn run(globals: &Globals) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let contacts = engine.contacts()?;
            if globals.json {
                for contact in &contacts {
                    json_line(&ContactJson::from(contact));
                }
            } else if contacts.is_empty() {
                outln!("No contacts yet: `boucle invite` or `boucle accept LINK`.");
            } else {
                for contact in &contacts {
                    outln!("{}", contact_line(contact));
                }
            }
            Ok(())
        })
        .await
}
