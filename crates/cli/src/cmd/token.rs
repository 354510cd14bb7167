//! `boucle token`: the access token this profile gives its home relay to create
//! mailboxes (invitations, loops), on a relay whose operator requires one.

use boucle_client_core::EngineError;

use crate::output::json_line;
use crate::profile::Globals;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Give the profile an access token for its home relay (checked with it first).
    Set {
        /// The token the relay's operator gave you (from `boucle-relay token create`).
        /// It may start with `-`.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
}

pub const EXAMPLES: &str =
    "  boucle --profile alice token set '<the access token the relay operator gave you>'";

pub const NOTES: &str = "A token is needed only to create mailboxes (what `invite`, `accept` and loops \
do), and only on a relay initialized without --open; sending never needs one. Relay operators make \
tokens with `boucle-relay token create` and may revoke them: a profile whose token was revoked gets a \
new one here.";

pub async fn run(globals: &Globals, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Set { token } => {
            globals
                .with_engine(|engine| async move {
                    let required = match engine.set_access_token(&token).await {
                        Err(EngineError::TokenRefused { relay }) => refuse!(
                            "the relay {relay} does not accept this access token (it is unknown or was revoked): ask its operator for a new one; the profile was not changed"
                        ),
                        other => other?,
                    };
                    let relay = engine.home_relay()?.authority();
                    if globals.json {
                        json_line(&serde_json::json!({
                            "relay": relay,
                            "token_required": required,
                            "saved": true,
                        }));
                    } else if required {
                        outln!("The relay {relay} accepts this token: it is saved in the profile.");
                    } else {
                        outln!(
                            "Saved. The relay {relay} lets anyone create mailboxes for now, so it does not need the token."
                        );
                    }
                    Ok(())
                })
                .await
        }
    }
}
