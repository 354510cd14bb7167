//! `boucle-relay init`: a new data directory.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use boucle_relay::{Config, RelayError, datadir, tokens::token_to_text};
use boucle_wire::{CertFingerprint, RelayAddress, WireError};

use super::usage;

/// Options of `init` (`--open` is also one of `serve`, for its first run).
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct Args {
    /// UDP address to listen on [default: 127.0.0.1:4433]. 0.0.0.0:4433 (or [::]:4433)
    /// accepts clients from other machines, and then needs --public-host.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The DNS name or IP address clients reach this relay at, written into the relay
    /// address [default: the listen IP].
    #[arg(long, value_name = "HOST")]
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

pub(crate) fn long_help() -> String {
    super::long_help(
        "  # A relay other machines reach as relay.example.org (UDP port 4433 open in the firewall):
  boucle-relay --data-dir /var/lib/boucle init --listen 0.0.0.0:4433 --public-host relay.example.org

  # Behind a router that forwards UDP 4433 to this machine: the router's public address.
  boucle-relay init --listen 0.0.0.0:4433 --public-host 203.0.113.7

  # A relay for this machine only, where anyone may create mailboxes:
  boucle-relay init --open",
        "`init` refuses (status 2) a directory that is already initialized, and --listen on all \
         interfaces without --public-host (the address would work only on this machine).",
    )
}

pub(crate) fn run(data_dir: &Path, args: Args) -> anyhow::Result<()> {
    if datadir::is_initialized(data_dir) {
        return Err(RelayError::AlreadyInitialized(data_dir.to_owned()).into());
    }
    let config = args.config();
    if let Some(host) = &args.public_host {
        check_host(host)?;
    }
    if config.public_host.is_none() && config.listen.ip().is_unspecified() {
        return Err(usage(format!(
            "--listen {listen} accepts clients from other machines, but the relay address would \
             name {host}, which works only on this machine: pass --public-host with the DNS \
             name or IP address clients reach this server at (`hostname -I` lists this \
             machine's addresses)",
            listen = config.listen,
            host = config.address_host(),
        )));
    }
    let initialized = datadir::init(data_dir, &config).context("cannot initialize the relay")?;
    print_initialized(data_dir, &initialized, true);
    let dir = data_dir.display();
    println!("run it:            boucle-relay --data-dir {dir} serve");
    println!("its address again: boucle-relay --data-dir {dir} address");
    Ok(())
}

/// `--public-host` must fit in a relay address.
fn check_host(host: &str) -> anyhow::Result<()> {
    let placeholder = CertFingerprint::from_bytes([0; 32]);
    match RelayAddress::new(host, 4433, placeholder) {
        Ok(_) => Ok(()),
        Err(WireError::InvalidAddress { reason, .. }) => Err(usage(format!(
            "--public-host {host:?} cannot be put in a relay address: {reason}"
        ))),
        Err(other) => Err(usage(format!(
            "--public-host {host:?} cannot be put in a relay address: {other}"
        ))),
    }
}

/// What `init` (or the first `serve`) made. `serve` prints the live address itself, so it
/// passes `with_address: false`.
pub(crate) fn print_initialized(
    data_dir: &Path,
    initialized: &datadir::Initialized,
    with_address: bool,
) {
    println!("Initialized a relay in {}", data_dir.display());
    println!("configuration: {}", initialized.config_path.display());
    if with_address {
        match &initialized.address {
            Some(address) => println!("relay address: {address}"),
            None => println!(
                "It listens on port 0 (a free port chosen at each start), so its address is known \
                 only while it serves: `boucle-relay address` prints it then."
            ),
        }
    }
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
