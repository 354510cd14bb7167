//! The encrypted profile store: one redb file, `profile.redb`, in the profile
//! directory, holding every record of a profile sealed under a random data key.
//!
//! The data key is wrapped under a key-encryption key derived from the passphrase
//! with Argon2id; unlock unwraps it, and a wrong passphrase is reported before
//! anything is written. Each record is sealed with XChaCha20Poly1305, its AAD bound to
//! the table and key it is stored under. A file that is damaged, truncated or not a
//! profile is reported and left as it is, never reset. The byte layout is normative in
//! `protocol-spec/client-store.md`.
//!
//! **Table names and record keys are visible in the file**, so every table says what
//! its keys are made of ([`KeyPart`]): ids — anything another party also knows, or that
//! names someone — are stored as keyed hashes (the ids themselves are sealed in the
//! value), and only counters, positions and times stay in clear, for ordering. Callers
//! read and write with the keys they know.
//!
//! ```
//! use boucle_client_core::store::{KdfParams, KeyPart, ProfileStore, Table};
//! const NOTES: Table = Table::new("notes", &[KeyPart::Id(16), KeyPart::Clear(8)]);
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let author = [7u8; 16];
//! let key = [author.as_slice(), &1u64.to_be_bytes()].concat();
//! let store = ProfileStore::create(dir.path(), "correct horse", KdfParams::for_tests())?;
//! store.write(|batch| batch.put(NOTES, &key, b"hello"))?;
//! drop(store);
//! let store = ProfileStore::unlock(dir.path(), "correct horse", &[NOTES])?;
//! assert_eq!(store.scan(NOTES, &author)?, vec![(key, b"hello".to_vec())]);
//! # Ok(()) }
//! ```

mod error;
mod keys;
mod layout;
mod meta;
mod migrate;
mod open;
mod records;
mod sealed;

use std::path::{Path, PathBuf};

use redb::Database;

pub use error::StoreError;
pub use keys::KdfParams;
pub use records::WriteBatch;
pub use sealed::{KeyPart, Table};

use error::db_err;
use keys::{DataKey, IndexKey, Kek, RecordKey, random_salt};
use meta::{FORMAT_VERSION, Meta};

/// The name of the store file inside the profile directory.
pub const PROFILE_FILE: &str = "profile.redb";

/// An unlocked profile: the open redb file and the data key.
///
/// Holding one keeps the file locked: a second `unlock` of the same directory (in this
/// process or another) fails with [`StoreError::InUse`] until it is dropped. Dropping
/// it locks the profile again (the keys are wiped).
pub struct ProfileStore {
    /// `None` only while it is being opened again after an I/O error ([`Self::with_db`]).
    db: std::sync::RwLock<Option<Database>>,
    data_key: DataKey,
    record_key: RecordKey,
    index_key: IndexKey,
    dir: PathBuf,
    /// Committed write batches that touched each table, for callers that cache what they
    /// derive from a table ([`ProfileStore::generation`]).
    generations: std::sync::Mutex<std::collections::HashMap<&'static str, u64>>,
}

impl ProfileStore {
    /// Whether `dir` holds a profile file (it may still be damaged).
    pub fn exists(dir: &Path) -> bool {
        dir.join(PROFILE_FILE).is_file()
    }

    /// Creates a new profile in `dir` (created with mode 0700 if missing), protected by
    /// `passphrase`. Fails with [`StoreError::AlreadyExists`] if a profile is there.
    pub fn create(
        dir: &Path,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<ProfileStore, StoreError> {
        let salt = random_salt();
        let kek = Kek::derive(passphrase, &salt, params)?;
        let data_key = DataKey::random();
        let meta = Meta {
            version: FORMAT_VERSION,
            salt,
            params,
            wrapped: kek.wrap(&data_key)?,
        };
        let db = open::create_file(dir, &meta)?;
        Self::from_parts(db, data_key, dir)
    }

    /// Opens the profile in `dir` with `passphrase`. `schema` names every table the
    /// caller uses: a profile in the version 1 format is upgraded first, and its keys
    /// are hashed as those tables say (a table it does not name stops the upgrade).
    ///
    /// A wrong passphrase gives [`StoreError::WrongPassphrase`] and writes nothing; a
    /// damaged or foreign file gives [`StoreError::Corrupt`] or
    /// [`StoreError::NotAProfile`] and is left byte for byte as it was.
    pub fn unlock(
        dir: &Path,
        passphrase: &str,
        schema: &[Table],
    ) -> Result<ProfileStore, StoreError> {
        let (db, data_key) = open::unlock_file(dir, passphrase, schema)?;
        Self::from_parts(db, data_key, dir)
    }

    /// Replaces the passphrase: the data key is wrapped again under a key derived from
    /// `new` with a fresh salt and `params`, in one transaction. Records are untouched.
    pub fn change_passphrase(
        &mut self,
        old: &str,
        new: &str,
        params: KdfParams,
    ) -> Result<(), StoreError> {
        let current = self.with_db(|db| open::read_meta(db, &self.dir))?;
        let old_key =
            Kek::derive(old, &current.salt, current.params)?.unwrap_key(&current.wrapped)?;
        if !old_key.same_as(&self.data_key) {
            return Err(StoreError::Corrupt(
                "the wrapped key changed while the profile was open".into(),
            ));
        }
        let salt = random_salt();
        let kek = Kek::derive(new, &salt, params)?;
        let meta = Meta {
            version: FORMAT_VERSION,
            salt,
            params,
            wrapped: kek.wrap(&self.data_key)?,
        };
        self.with_db(|db| {
            let txn = db.begin_write().map_err(db_err)?;
            meta.write(&txn)?;
            txn.commit().map_err(db_err)
        })
    }

    /// Runs `f` on the open database. An I/O error (a full disk, most often) leaves a
    /// redb handle refusing everything, reads included; the file is then opened again, so
    /// that what is stored stays readable and later writes can succeed once there is
    /// room. The error is still returned: the operation did not happen.
    pub(crate) fn with_db<R>(
        &self,
        f: impl FnOnce(&Database) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let result = {
            let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
            match guard.as_ref() {
                Some(db) => f(db),
                None => Err(StoreError::Interrupted),
            }
        };
        if let Err(error) = &result
            && error.is_io()
        {
            self.reopen();
        }
        result
    }

    fn reopen(&self) {
        let mut guard = self.db.write().unwrap_or_else(|e| e.into_inner());
        // The old handle must be gone before the file can be opened again.
        drop(guard.take());
        match redb::Builder::new().open(self.dir.join(PROFILE_FILE)) {
            Ok(db) => *guard = Some(db),
            Err(error) => tracing::warn!(%error, "cannot open the profile again; will retry"),
        }
    }

    /// The profile directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A key for `boucle_crypto` pickles, derived from the data key (domain-separated
    /// from the record key), so it changes with neither the passphrase nor the records.
    pub fn pickle_key(&self) -> boucle_crypto::PickleKey {
        boucle_crypto::PickleKey::new(*self.data_key.pickle_key_bytes())
    }

    fn from_parts(db: Database, data_key: DataKey, dir: &Path) -> Result<ProfileStore, StoreError> {
        let record_key = data_key.record_key();
        let index_key = data_key.index_key();
        Ok(ProfileStore {
            db: std::sync::RwLock::new(Some(db)),
            data_key,
            record_key,
            index_key,
            dir: dir.to_path_buf(),
            generations: std::sync::Mutex::default(),
        })
    }
}
