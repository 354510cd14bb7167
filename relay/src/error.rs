//! The relay library's errors.

use std::path::{Path, PathBuf};

/// Why the relay could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// What happened.
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
    #[error("could not listen on {address}: {source}")]
    Listen {
        /// Address asked for.
        address: std::net::SocketAddr,
        /// What happened.
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
