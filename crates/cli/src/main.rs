//! `boucle`: the Boucle command-line client.
//!
//! One profile per directory (`--profile`, `BOUCLE_PROFILE`), unlocked with a passphrase
//! from `BOUCLE_PASSPHRASE` or the terminal. Each run opens the profile, exchanges what is
//! pending with its relays, does one thing, and locks the profile again. Output is for
//! people; `--json` prints one JSON object per line for scripts.

/// `println!` that ignores a closed standard output (`boucle read | head`) instead of
/// panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Returns a usage error (exit status 2: `exit::Usage`) with this sentence.
macro_rules! refuse {
    ($($arg:tt)*) => {
        return Err($crate::exit::usage(format!($($arg)*)))
    };
}

mod cmd;
mod exit;
mod help;
mod output;
mod profile;
mod tty;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Boucle: end-to-end encrypted messages through small self-hosted relays.
#[derive(Parser, Debug)]
#[command(
    name = "boucle",
    version,
    about,
    after_long_help = help::long_help(help::EXAMPLES, PROFILE_NOTES)
)]
struct Cli {
    /// The profile directory [default: $XDG_DATA_HOME/boucle or ~/.local/share/boucle].
    #[arg(long, global = true, env = "BOUCLE_PROFILE")]
    profile: Option<PathBuf>,
    /// Machine-readable output: one JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

const PROFILE_NOTES: &str = "One profile per directory. Each run unlocks the profile, exchanges what is \
pending with its relays, does one thing and locks it again, so two runs on one profile cannot \
overlap. `--help` after a command (`boucle sync --help`) shows its own options and examples; \
`-h` gives the short form.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a profile: a new identity, with mailboxes on a home relay.
    #[command(after_long_help = help::long_help(cmd::init::EXAMPLES, cmd::init::NOTES))]
    Init(cmd::init::Args),
    /// Make a one-time invitation link (and QR code) to give to someone.
    Invite,
    /// Accept someone's invitation link: they become a contact.
    Accept(cmd::accept::Args),
    /// List contacts, with unread counts.
    Contacts,
    /// Send a text message to a contact.
    Send(cmd::send::Args),
    /// Show a conversation (oldest first) and mark it read.
    Read(cmd::read::Args),
    /// Stream incoming messages and delivery updates until Ctrl-C.
    Watch,
    /// Receive everything pending, send the outbox, and exit.
    #[command(after_long_help = help::long_help(cmd::sync::EXAMPLES, cmd::sync::NOTES))]
    Sync(cmd::sync::Args),
    /// Show the safety number to compare with a contact; `--confirm` marks them verified.
    Verify(cmd::verify::Args),
    /// Block a contact: nothing they send is shown or kept, nothing can be sent to them.
    Block(cmd::block::Args),
    /// Unblock a contact.
    Unblock(cmd::block::Args),
    /// Change the profile's passphrase.
    Passwd,
    /// Group conversations: create, add, remove, promote, rename, policy, leave, members,
    /// send, read.
    #[command(subcommand)]
    Loop(cmd::loops::Command),
    /// Show-of-hands polls in a loop or a conversation: create, vote, close, show, list.
    #[command(subcommand)]
    Poll(cmd::poll::Command),
    /// The agenda: create, edit, cancel, rsvp, show, list, export (.ics).
    #[command(subcommand)]
    Event(cmd::event::Command),
    /// Share a contact into a conversation (a contact or a loop): they can add them at once.
    Share(cmd::share::ShareArgs),
    /// Add the contact a message shared (see `boucle read`).
    AddShared(cmd::share::AddArgs),
    /// Show or set disappearing messages of a conversation: off, 1h, 1d, 1w or 4w.
    Timer(cmd::timer::Args),
    /// Send a file or image (at most 64 MiB) to a contact or a loop.
    SendFile(cmd::files::SendArgs),
    /// Save a file someone sent (or you sent) to disk.
    SaveFile(cmd::files::SaveArgs),
    /// The access token that lets the profile create mailboxes: set.
    #[command(subcommand, after_long_help = help::long_help(cmd::token::EXAMPLES, cmd::token::NOTES))]
    Token(cmd::token::Command),
}

#[tokio::main]
async fn main() -> ExitCode {
    // clap prints its own errors (status 2) and the help (status 0).
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOUCLE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && !no_color)
        .init();
    let globals = match profile::Globals::new(cli.profile, cli.json) {
        Ok(globals) => globals,
        Err(error) => return fail(&error),
    };
    let result = match cli.command {
        Command::Init(args) => cmd::init::run(&globals, args).await,
        Command::Invite => cmd::invite::run(&globals).await,
        Command::Accept(args) => cmd::accept::run(&globals, args).await,
        Command::Contacts => cmd::contacts::run(&globals).await,
        Command::Send(args) => cmd::send::run(&globals, args).await,
        Command::Read(args) => cmd::read::run(&globals, args).await,
        Command::Watch => cmd::watch::run(&globals).await,
        Command::Sync(args) => cmd::sync::run(&globals, args).await,
        Command::Verify(args) => cmd::verify::run(&globals, args).await,
        Command::Block(args) => cmd::block::run(&globals, args, true).await,
        Command::Unblock(args) => cmd::block::run(&globals, args, false).await,
        Command::Passwd => cmd::passwd::run(&globals).await,
        Command::Loop(command) => cmd::loops::run(&globals, command).await,
        Command::Poll(command) => cmd::poll::run(&globals, command).await,
        Command::Event(command) => cmd::event::run(&globals, command).await,
        Command::Share(args) => cmd::share::share(&globals, args).await,
        Command::AddShared(args) => cmd::share::add(&globals, args).await,
        Command::Timer(args) => cmd::timer::run(&globals, args).await,
        Command::SendFile(args) => cmd::files::send(&globals, args).await,
        Command::SaveFile(args) => cmd::files::save(&globals, args).await,
        Command::Token(command) => cmd::token::run(&globals, command).await,
    };
    match result {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(error) => fail(&error),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    exit::report(error)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    /// Access tokens are base64url: one in 64 starts with `-`, and must still be taken as
    /// the token, not as an option.
    #[test]
    fn a_token_that_starts_with_a_dash_is_a_token() {
        let token = "-EbeznEwRqbg8XK_Xbv6YGFDrzKJthMyo3MScnMMeCI";
        for args in [
            vec!["boucle", "token", "set", token],
            vec![
                "boucle", "init", "--name", "Alice", "--relay", "r", "--token", token,
            ],
        ] {
            let parsed = Cli::try_parse_from(&args);
            assert!(parsed.is_ok(), "{args:?}: {:?}", parsed.err());
            assert!(format!("{:?}", parsed.ok()).contains(token));
        }
    }
}
