//! `boucle passwd`: change the passphrase.

use crate::output::json_line;
use crate::profile::{Globals, NEW_PASSPHRASE_ENV, PASSPHRASE_ENV, kdf};

pub async fn run(globals: &Globals) -> anyhow::Result<()> {
    let old = crate::tty::passphrase(PASSPHRASE_ENV, "Current passphrase: ")?;
    let engine =
        boucle_client_core::Engine::unlock(&globals.profile, &old, globals.options()).await?;
    let result = change(&engine, &old, globals);
    engine.lock().await;
    result
}

fn change(engine: &boucle_client_core::Engine, old: &str, globals: &Globals) -> anyhow::Result<()> {
    let new = crate::tty::new_passphrase(NEW_PASSPHRASE_ENV)?;
    engine.change_passphrase(old, &new, kdf())?;
    if globals.json {
        json_line(&serde_json::json!({ "changed": true }));
    } else {
        outln!("Passphrase changed.");
    }
    Ok(())
}
