//! The store's one error type.

use std::path::PathBuf;

/// Why a profile store operation failed.
///
/// Every variant says what happened and that nothing was silently reset: the store
/// never deletes or rewrites a profile it cannot read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The passphrase does not unwrap the profile's data key.
    #[error("wrong passphrase: the profile was not changed")]
    WrongPassphrase,
    /// There is no profile in this directory.
    #[error("no profile in {0}: create one first")]
    NotFound(PathBuf),
    /// `create` was asked for a directory that already holds a profile.
    #[error("a profile already exists in {0}: it was left as it is")]
    AlreadyExists(PathBuf),
    /// Another process (or another handle in this process) has the profile open.
    #[error("the profile is open in another Boucle process: close it first")]
    InUse,
    /// The file is a profile but part of it cannot be read or authenticated.
    #[error("the profile file is damaged ({0}): nothing was changed; restore it from a backup")]
    Corrupt(String),
    /// The file in the profile directory is not a Boucle profile at all.
    #[error("{0} is not a Boucle profile file: it was left as it is")]
    NotAProfile(PathBuf),
    /// The disk holding the profile is full. The write was not made; what was stored
    /// before is intact.
    #[error(
        "the disk is full: nothing was written and nothing stored before was lost; free some space, then try again"
    )]
    DiskFull,
    /// An earlier write failed (see the error it gave) and the profile is being opened
    /// again; what was stored before is intact.
    #[error("an earlier write to the profile failed; nothing stored was lost: try again")]
    Interrupted,
    /// The operating system refused a read or a write.
    #[error("could not read or write the profile: {0}")]
    Io(#[from] std::io::Error),
    /// A value could not be encoded, or a stored value does not decode as the asked type.
    #[error("could not encode or decode a stored value: {0}")]
    Encode(String),
    /// A profile in an older format could not be upgraded to this version's; it was left
    /// as it was.
    #[error(
        "the profile could not be upgraded to this version of Boucle ({0}): it was left as it is"
    )]
    Upgrade(String),
    /// Argon2 parameters outside what the store accepts.
    #[error("unusable key derivation parameters: {0}")]
    InvalidKdfParams(String),
}

/// Maps any redb error to the store's error: a lock conflict is [`StoreError::InUse`],
/// an I/O failure is [`StoreError::Io`] (or [`StoreError::DiskFull`]), a handle left
/// unusable by one is [`StoreError::Interrupted`], anything else means the file is not
/// what redb (and so this store) wrote.
pub(crate) fn db_err(err: impl Into<redb::Error>) -> StoreError {
    match err.into() {
        redb::Error::DatabaseAlreadyOpen => StoreError::InUse,
        redb::Error::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => StoreError::DiskFull,
        redb::Error::Io(e) => StoreError::Io(e),
        redb::Error::PreviousIo => StoreError::Interrupted,
        redb::Error::Corrupted(msg) => StoreError::Corrupt(msg),
        redb::Error::ValueTooLarge(n) => {
            StoreError::Encode(format!("a value of {n} bytes is too large to store"))
        }
        other => StoreError::Corrupt(other.to_string()),
    }
}

impl StoreError {
    /// Whether the error came from the disk: redb then refuses every later operation on
    /// the same handle, and the store opens its file again.
    pub(crate) fn is_io(&self) -> bool {
        matches!(
            self,
            StoreError::DiskFull | StoreError::Interrupted | StoreError::Io(_)
        )
    }
}
