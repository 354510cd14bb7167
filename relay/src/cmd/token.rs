//! `boucle-relay token`: the access tokens that allow creating mailboxes.

use std::path::Path;

use anyhow::Context;
use boucle_relay::tokens::{TokenFile, token_to_text};

use super::{require_initialized, usage, utc_seconds};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Make a new token (shown once).
    #[command(after_long_help = long_help())]
    Create {
        /// A note for yourself: who it is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (ids, creation times in UTC, labels; the tokens themselves are not stored).
    #[command(after_long_help = long_help())]
    List {
        /// One JSON object per line, `{"id":…,"created_unix":…,"label":…}`, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id. Mailboxes already created stay.
    #[command(after_long_help = long_help())]
    Revoke {
        /// The id shown by `token list`.
        id: String,
    },
}

const EXAMPLES: &str =
    "  boucle-relay token create --label \"north group\"   # prints the token once, and its id
  boucle-relay token list
  boucle-relay token list --json
  boucle-relay token revoke 1a2b3c4d";

/// Tokens take effect (and are revoked) at once, without restarting the relay.
const NOTE: &str = "Tokens take effect, and revocations too, at once: the running relay \
                    need not restart. `token revoke` of an unknown id fails with status 2.";

pub(crate) fn long_help() -> String {
    super::long_help(EXAMPLES, NOTE)
}

pub(crate) fn run(data_dir: &Path, command: Command) -> anyhow::Result<()> {
    require_initialized(data_dir)?;
    let tokens = TokenFile::new(data_dir);
    match command {
        Command::Create { label } => {
            let (record, token) = tokens
                .create(&label)
                .context("cannot store a new access token")?;
            println!("access token: {}", token_to_text(&token));
            println!(
                "id: {}  (shown once; the relay keeps only its hash)",
                record.id
            );
        }
        Command::List { json } => {
            let records = tokens.list().context("cannot read the access tokens")?;
            if json {
                for record in records {
                    let line = serde_json::json!({
                        "id": record.id,
                        "created_unix": record.created,
                        "label": record.label,
                    });
                    println!("{line}");
                }
                return Ok(());
            }
            if records.is_empty() {
                println!("no access tokens");
            }
            for record in records {
                println!(
                    "{}\tcreated {}\t{}",
                    record.id,
                    utc_seconds(record.created),
                    record.label
                );
            }
        }
        Command::Revoke { id } => {
            let revoked = tokens
                .revoke(&id)
                .context("cannot revoke the access token")?;
            if !revoked {
                return Err(usage(format!(
                    "no access token has the id {id} (`boucle-relay token list` shows them)"
                )));
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}
