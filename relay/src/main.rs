//! `boucle-relay`: initialize, run and administer a Boucle relay.

mod cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A Boucle relay: stores and forwards sealed envelopes it cannot read.
#[derive(Parser, Debug)]
#[command(name = "boucle-relay", version, about)]
struct Cli {
    /// The relay's data directory (store, certificate, configuration, tokens).
    #[arg(
        long,
        global = true,
        env = "BOUCLE_RELAY_DATA",
        default_value = "relay-data"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a data directory: certificate, configuration file, first access token.
    Init(cmd::init::Args),
    /// Run the relay (initializes the data directory on first run).
    Serve(cmd::serve::Args),
    /// Manage the access tokens that allow creating mailboxes.
    #[command(subcommand)]
    Token(cmd::token::Command),
    /// Show mailboxes, stored envelopes and bytes.
    Stats,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    cmd::init_logging();
    match cli.command {
        Command::Init(args) => cmd::init::run(&cli.data_dir, args),
        Command::Serve(args) => cmd::serve::run(&cli.data_dir, args),
        Command::Token(command) => cmd::token::run(&cli.data_dir, command),
        Command::Stats => cmd::stats::run(&cli.data_dir),
    }
}
