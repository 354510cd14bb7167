use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use boucle_relay::{Config, datadir, tokens::token_to_text};

/// Options of `init` (and of the first `serve`).
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct Args {
    /// UDP address to listen on (default 127.0.0.1:4433).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Host name clients use to reach this relay (default: the listen IP).
    #[arg(long)]
    pub public_host: Option<String>,
    /// Let anyone create mailboxes, without an access token.
    #[arg(long)]
    pub open: bool,
}

impl Args {
    pub(crate) fn config(&self) -> Config {
        let mut config = Config::default();
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        config.public_host.clone_from(&self.public_host);
        config.require_access_token = !self.open;
        config
    }
}

pub(crate) fn run(data_dir: &Path, args: Args) -> anyhow::Result<()> {
    let initialized = datadir::init(data_dir, &args.config())
        .with_context(|| format!("cannot initialize {}", data_dir.display()))?;
    print_initialized(data_dir, &initialized);
    Ok(())
}

pub(crate) fn print_initialized(data_dir: &Path, initialized: &datadir::Initialized) {
    println!("Initialized a relay in {}", data_dir.display());
    println!("configuration: {}", initialized.config_path.display());
    println!("relay address: {}", initialized.address);
    match &initialized.token {
        Some(token) => {
            println!("access token: {}", token_to_text(token));
            println!(
                "  (shown once; people need it to create mailboxes here. More: `boucle-relay token create`)"
            );
        }
        None => println!("anyone may create mailboxes on this relay (no access token needed)"),
    }
}
