//! The relay library's errors.
//!
//! One convention: a variant's message says what failed; the error that caused it (an I/O
//! error, say) is returned by [`std::error::Error::source`] and is never repeated in the
//! message. Printing the chain (`{:#}` on an `anyhow::Error`, as the binary does) then names
//! each cause once: `could not listen on 1.2.3.4:5: Cannot assign requested address (os
//! error 99)`. Variants without a source carry their whole reason in the message.

use std::path::{Path, PathBuf};

/// Why the relay could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// What happened.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is invalid.
    #[error("invalid configuration in {path}: {reason}")]
    Config {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The data directory has not been initialized.
    #[error("{0} is not an initialized relay data directory (run `boucle-relay init` first)")]
    NotInitialized(PathBuf),
    /// `init` found a relay already there, and changed nothing.
    #[error(
        "{0} is already an initialized relay data directory, so nothing was changed \
         (`boucle-relay serve` runs it, `boucle-relay address` prints its address; pass \
         another --data-dir to make a new relay)"
    )]
    AlreadyInitialized(PathBuf),
    /// The store could not be opened or used.
    #[error("the relay store failed: {0}")]
    Store(String),
    /// Another process holds the store open.
    #[error("the relay store is in use by another process (is the relay running?)")]
    StoreInUse,
    /// The certificate or TLS setup failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The network endpoint could not be set up.
    #[error("could not listen on {address}")]
    Listen {
        /// Address asked for.
        address: std::net::SocketAddr,
        /// What happened.
        #[source]
        source: std::io::Error,
    },
}

impl RelayError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<redb::Error> for RelayError {
    fn from(error: redb::Error) -> Self {
        match error {
            redb::Error::DatabaseAlreadyOpen => Self::StoreInUse,
            other => Self::Store(other.to_string()),
        }
    }
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for RelayError {
            fn from(error: $t) -> Self {
                redb::Error::from(error).into()
            }
        }
    )*};
}
store_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    /// Every variant with a source, built from the same I/O error.
    fn with_sources() -> Vec<RelayError> {
        let cause = || std::io::Error::other("the disk caught fire");
        vec![
            RelayError::io(Path::new("/relay/config.toml"), cause()),
            RelayError::Listen {
                address: "127.0.0.1:4433".parse().unwrap(),
                source: cause(),
            },
        ]
    }

    #[test]
    fn a_cause_is_either_in_the_message_or_the_source_never_both() {
        for error in with_sources() {
            let source = error.source().expect("a source").to_string();
            assert!(
                !error.to_string().contains(&source),
                "{error:?}: the message repeats its source"
            );
        }
        let full = format!("{:#}", anyhow::Error::from(with_sources().remove(0)));
        assert_eq!(full, "/relay/config.toml: the disk caught fire");
    }
}
