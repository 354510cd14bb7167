//! How a run ends: its exit status (documented in `--help`) and, on failure, one line
//! on stderr, `error: <what happened>`, each cause said once.

use std::fmt;
use std::process::ExitCode;

use boucle_client_core::EngineError;
use boucle_client_core::store::StoreError;

/// Done.
pub const SUCCESS: u8 = 0;
/// Failed while doing it.
pub const FAILURE: u8 = 1;
/// Could not run as asked (clap uses 2 for command-line mistakes too).
pub const USAGE: u8 = 2;
/// A relay could not be reached: not everything was exchanged; trying again later may.
pub const UNREACHABLE: u8 = 3;

/// The command could not run as asked (exit status 2). Its message is the whole sentence.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error, as an `anyhow::Error`.
pub fn usage(sentence: impl Into<String>) -> anyhow::Error {
    Usage(sentence.into()).into()
}

/// The command did what it could, and said so on stdout, but not everything reached
/// the relays (exit status 3, nothing more is printed).
#[derive(Debug)]
pub struct NotAllSent;

impl fmt::Display for NotAllSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not everything reached the relays")
    }
}

impl std::error::Error for NotAllSent {}

/// Prints the error (unless the command already reported it) and picks the exit status.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let status = status(error);
    if !error.is::<NotAllSent>() {
        eprintln!("error: {}", sentence(error));
    }
    ExitCode::from(status)
}

/// The error and its causes in one line, each said once: a cause whose words are
/// already in what precedes it (an error that quotes its source) is not repeated.
pub fn sentence(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let said = cause.to_string();
        if said.is_empty() || text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    if let Some(hint) = hint(error) {
        text.push_str(hint);
    }
    text
}

/// What to do next, for errors a command of this program fixes.
fn hint(error: &anyhow::Error) -> Option<&'static str> {
    let engine = error
        .chain()
        .find_map(|c| c.downcast_ref::<EngineError>())?;
    match engine {
        EngineError::TokenRequired { .. } | EngineError::TokenRefused { .. } => {
            Some("; then `boucle token set TOKEN` gives it to this profile")
        }
        _ => None,
    }
}

/// The exit status `--help` documents for this error.
pub fn status(error: &anyhow::Error) -> u8 {
    if error.is::<NotAllSent>() {
        return UNREACHABLE;
    }
    for cause in error.chain() {
        if cause.is::<Usage>() {
            return USAGE;
        }
        if let Some(error) = cause.downcast_ref::<EngineError>() {
            if error.is_unreachable() {
                return UNREACHABLE;
            }
            if is_usage(error) {
                return USAGE;
            }
        }
        if let Some(error) = cause.downcast_ref::<StoreError>()
            && store_usage(error)
        {
            return USAGE;
        }
    }
    FAILURE
}

/// What was asked cannot be: a name, id or value that does not fit, or a profile that
/// lacks what the command needs. Trying again as it is changes nothing.
fn is_usage(error: &EngineError) -> bool {
    match error {
        EngineError::Store(error) => store_usage(error),
        EngineError::RelayAddress(_)
        | EngineError::InvalidToken(_)
        | EngineError::TokenRequired { .. }
        | EngineError::TokenRefused { .. }
        | EngineError::Invitation(_)
        | EngineError::OwnInvitation
        | EngineError::AlreadyContact(_)
        | EngineError::UnknownContact(_)
        | EngineError::AmbiguousContact(_)
        | EngineError::UnknownLoop(_)
        | EngineError::AmbiguousLoop(_)
        | EngineError::UnknownMessage
        | EngineError::UnknownPoll
        | EngineError::UnknownEvent
        | EngineError::InvalidPoll(_)
        | EngineError::InvalidVote(_)
        | EngineError::InvalidEvent(_)
        | EngineError::InvalidTimer(_)
        | EngineError::FileTooLarge { .. }
        | EngineError::MessageTooLong(_) => true,
        _ => false,
    }
}

fn store_usage(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::WrongPassphrase | StoreError::NotFound(_) | StoreError::AlreadyExists(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not read or write the profile: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_cause_an_error_quotes_is_said_once() {
        let io = std::io::Error::other("permission denied");
        let error = anyhow::Error::new(Quoting(io)).context("cannot open the profile");
        assert_eq!(
            sentence(&error),
            "cannot open the profile: could not read or write the profile: permission denied"
        );
        let plain = anyhow::anyhow!("the relay did not answer in time")
            .context("relay 127.0.0.1:4433: the relay did not answer in time");
        assert_eq!(
            sentence(&plain),
            "relay 127.0.0.1:4433: the relay did not answer in time"
        );
    }

    #[test]
    fn statuses_tell_a_mistake_from_a_failure_and_an_unreachable_relay() {
        assert_eq!(status(&usage("no such thing")), USAGE);
        assert_eq!(status(&NotAllSent.into()), UNREACHABLE);
        assert_eq!(
            status(&EngineError::UnknownContact("Zoe".into()).into()),
            USAGE
        );
        assert_eq!(status(&EngineError::NotAdmin.into()), FAILURE);
        assert_eq!(status(&anyhow::anyhow!("disk on fire")), FAILURE);
    }
}
