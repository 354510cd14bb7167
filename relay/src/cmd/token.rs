use std::path::Path;

use anyhow::bail;
use boucle_relay::datadir;
use boucle_relay::tokens::{TokenFile, token_to_text};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Make a new token (shown once).
    Create {
        /// A note for yourself: who it is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (ids and labels; the tokens themselves are not stored).
    List,
    /// Revoke a token by id. Mailboxes already created stay.
    Revoke {
        /// The id shown by `token list`.
        id: String,
    },
}

pub(crate) fn run(data_dir: &Path, command: Command) -> anyhow::Result<()> {
    if !datadir::is_initialized(data_dir) {
        bail!(
            "{} is not an initialized relay data directory (run `boucle-relay init` first)",
            data_dir.display()
        );
    }
    let tokens = TokenFile::new(data_dir);
    match command {
        Command::Create { label } => {
            let (record, token) = tokens.create(&label)?;
            println!("access token: {}", token_to_text(&token));
            println!(
                "id: {}  (shown once; the relay keeps only its hash)",
                record.id
            );
        }
        Command::List => {
            let records = tokens.list()?;
            if records.is_empty() {
                println!("no access tokens");
            }
            for record in records {
                println!(
                    "{}\tcreated {}\t{}",
                    record.id, record.created, record.label
                );
            }
        }
        Command::Revoke { id } => {
            if !tokens.revoke(&id)? {
                bail!("no token with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}
