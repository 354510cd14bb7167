//! `boucle init`: create a profile.

use anyhow::Context;
use boucle_client_core::Engine;

use crate::output::json_line;
use crate::profile::{Globals, PASSPHRASE_ENV};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The name your contacts will see.
    #[arg(long)]
    name: String,
    /// Your home relay's address, as the relay printed it (boucle-relay://host:port/fingerprint).
    #[arg(long)]
    relay: String,
    /// An access token from the relay's operator (not needed on an open relay).
    #[arg(long)]
    token: Option<String>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let passphrase = if std::env::var_os(PASSPHRASE_ENV).is_some() {
        crate::tty::passphrase(PASSPHRASE_ENV, "")?
    } else {
        crate::tty::new_passphrase(PASSPHRASE_ENV)?
    };
    let engine = Engine::create(
        &globals.profile,
        &passphrase,
        &args.name,
        &args.relay,
        args.token.as_deref(),
        globals.options(),
    )
    .await
    .with_context(|| format!("cannot create a profile in {}", globals.profile.display()))?;
    let result = report(globals, &engine);
    engine.lock().await;
    result
}

fn report(globals: &Globals, engine: &Engine) -> anyhow::Result<()> {
    let name = engine.name()?;
    let relay = engine.home_relay()?.to_string();
    if globals.json {
        json_line(&serde_json::json!({
            "profile": globals.profile,
            "name": name,
            "relay": relay,
        }));
    } else {
        outln!(
            "Created the profile of {name} in {}",
            globals.profile.display()
        );
        outln!("Home relay: {relay}");
        outln!("Next: `boucle invite` to invite someone, or `boucle accept LINK`.");
    }
    Ok(())
}
