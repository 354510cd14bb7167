//! `boucle init`: create a profile.

use anyhow::Context;
use boucle_client_core::{Engine, EngineError};

use crate::exit::usage;
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
    #[arg(long, allow_hyphen_values = true)]
    token: Option<String>,
}

pub const EXAMPLES: &str =
    "  RELAY='boucle-relay://127.0.0.1:4433/a_yeeWYubFUFJD0O11tpYXKAEghGV0gH5NrYTKEYjsk'
  boucle --profile alice init --name Alice --relay \"$RELAY\"
  # A closed relay: with the access token its operator gave you.
  boucle --profile alice init --name Alice --relay \"$RELAY\" --token \"$TOKEN\"";

pub const NOTES: &str = "The relay is asked first: if it cannot be reached, presents another certificate than \
the address names, needs an access token that was not given, or refuses the one given, nothing is created. \
On a profile that exists already, init changes nothing: `boucle token set TOKEN` gives it a new token.";

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    if boucle_client_core::store::ProfileStore::exists(&globals.profile) {
        return Err(usage(format!(
            "a profile already exists in {}: init left it as it is (to give it an access token for its relay: `boucle token set TOKEN`)",
            globals.profile.display()
        )));
    }
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
    .map_err(|error| match error {
        EngineError::TokenRequired { relay } => usage(format!(
            "the relay {relay} lets only people with an access token create mailboxes: ask its operator for one, then run init again with --token TOKEN (nothing was created)"
        )),
        EngineError::TokenRefused { relay } => usage(format!(
            "the relay {relay} does not accept this access token (it is unknown or was revoked): ask its operator for a new one (nothing was created)"
        )),
        other => anyhow::Error::new(other),
    })
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
            "access_token": engine.has_access_token()?,
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
