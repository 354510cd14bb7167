//! `boucle-relay`: initialize, run and administer a Boucle relay.

mod cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A Boucle relay: stores and forwards sealed envelopes it cannot read.
#[derive(Parser, Debug)]
#[command(
    name = "boucle-relay",
    version,
    about,
    after_long_help = cmd::long_help(EXAMPLES, "")
)]
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

const EXAMPLES: &str =
    "  # A relay for a group, reachable from other machines as relay.example.org:
  boucle-relay --data-dir /var/lib/boucle init --listen 0.0.0.0:4433 --public-host relay.example.org
  boucle-relay --data-dir /var/lib/boucle serve
  boucle-relay --data-dir /var/lib/boucle address   # the address to hand out, again
  boucle-relay --data-dir /var/lib/boucle token create --label \"north group\"

  # A relay for trying Boucle on this machine (first run creates ./relay-data):
  boucle-relay serve";

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a data directory: certificate, configuration file, first access token.
    #[command(after_long_help = cmd::init::long_help())]
    Init(cmd::init::Args),
    /// Run the relay (initializes the data directory on first run).
    #[command(after_long_help = cmd::serve::long_help())]
    Serve(cmd::serve::Args),
    /// Print the relay address clients use, again (from the data directory).
    #[command(after_long_help = cmd::address::long_help())]
    Address(cmd::address::Args),
    /// Manage the access tokens that allow creating mailboxes.
    #[command(subcommand, after_long_help = cmd::token::long_help())]
    Token(cmd::token::Command),
    /// Show mailboxes, stored envelopes and bytes.
    #[command(after_long_help = cmd::stats::long_help())]
    Stats(cmd::stats::Args),
}

fn main() -> ExitCode {
    // clap prints its own errors (status 2) and the help (status 0).
    let cli = Cli::parse();
    cmd::init_logging();
    let result = match cli.command {
        Command::Init(args) => cmd::init::run(&cli.data_dir, args),
        Command::Serve(args) => cmd::serve::run(&cli.data_dir, args),
        Command::Address(args) => cmd::address::run(&cli.data_dir, args),
        Command::Token(command) => cmd::token::run(&cli.data_dir, command),
        Command::Stats(args) => cmd::stats::run(&cli.data_dir, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => cmd::report(&error),
    }
}
