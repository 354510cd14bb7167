//! Creating and opening the profile file without ever damaging it: unlock checks the
//! file and the passphrase through a read-only handle before it opens for writing.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, ReadableDatabase, TableError};

use super::error::{StoreError, db_err};
use super::keys::{DataKey, Kek};
use super::meta::{FORMAT_V1, META_TABLE, Meta};
use super::sealed::Table;
use super::{PROFILE_FILE, migrate};

/// The first bytes of every redb file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Creates `dir` (0700) and a new `profile.redb` (0600) holding `meta`. If anything
/// fails after the file was made, the new (empty) file is removed again.
pub(super) fn create_file(dir: &Path, meta: &Meta) -> Result<Database, StoreError> {
    create_dir(dir)?;
    match create_at(&dir.join(PROFILE_FILE), meta) {
        Err(StoreError::Io(e)) if e.kind() == ErrorKind::AlreadyExists => {
            Err(StoreError::AlreadyExists(dir.to_path_buf()))
        }
        other => other,
    }
}

/// Creates a new redb file (0600) at `path`, which must not exist, holding `meta`.
/// If anything fails after the file was made, it is removed again.
pub(super) fn create_at(path: &Path, meta: &Meta) -> Result<Database, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(StoreError::Io)?;
    let result = (|| {
        let backend = FileBackend::new(file).map_err(db_err)?;
        let db = Builder::new()
            .create_with_backend(backend)
            .map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        meta.write(&txn)?;
        txn.commit().map_err(db_err)?;
        Ok(db)
    })();
    if result.is_err() {
        // Only ever the file this call created, which holds no user data yet.
        let _ = fs::remove_file(path);
    }
    result
}

fn create_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(StoreError::Io)
}

/// Unlocks the profile file in `dir`: the opened database and the data key. A version 1
/// file is upgraded first ([`super::migrate`]), with `schema` naming every table.
pub(super) fn unlock_file(
    dir: &Path,
    passphrase: &str,
    schema: &[Table],
) -> Result<(Database, DataKey), StoreError> {
    let path = dir.join(PROFILE_FILE);
    check_magic(dir, &path)?;
    // Read-only first: a wrong passphrase or a damaged file is found without writing.
    let probed = match probe(dir, &path)? {
        Some(meta) => {
            let key =
                Kek::derive(passphrase, &meta.salt, meta.params)?.unwrap_key(&meta.wrapped)?;
            Some((meta, key))
        }
        // The file was not closed cleanly (a crash): redb's own recovery runs in the
        // writable open below, then the passphrase is checked.
        None => None,
    };
    let db = Builder::new()
        .set_check_integrity_on_open(true)
        .open(&path)
        .map_err(|e| open_err(e, &path))?;
    let meta = read_meta(&db, dir)?;
    let key = match probed {
        Some((probed_meta, key)) if probed_meta == meta => key,
        // Recovered, or the passphrase changed in between: derive from what is there now.
        _ => Kek::derive(passphrase, &meta.salt, meta.params)?.unwrap_key(&meta.wrapped)?,
    };
    if meta.version == FORMAT_V1 {
        let db = migrate::upgrade(dir, db, &meta, &key, schema)?;
        return Ok((db, key));
    }
    Ok((db, key))
}

/// Reads the meta record of an open profile.
pub(super) fn read_meta(db: &impl ReadableDatabase, dir: &Path) -> Result<Meta, StoreError> {
    let not_a_profile = || StoreError::NotAProfile(dir.join(PROFILE_FILE));
    let txn = db.begin_read().map_err(db_err)?;
    let table = match txn.open_table(META_TABLE) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Err(not_a_profile()),
        Err(e) => return Err(db_err(e)),
    };
    Meta::read(&table)?.ok_or_else(not_a_profile)
}

/// `NotFound` if there is no file, `NotAProfile` if it is not a redb file at all.
fn check_magic(dir: &Path, path: &Path) -> Result<(), StoreError> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(StoreError::NotFound(dir.to_path_buf()));
        }
        Err(e) => return Err(StoreError::Io(e)),
    };
    let mut head = [0u8; REDB_MAGIC.len()];
    match file.read_exact(&mut head) {
        Ok(()) if head == REDB_MAGIC => Ok(()),
        Ok(()) => Err(StoreError::NotAProfile(path.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
            Err(StoreError::NotAProfile(path.to_path_buf()))
        }
        Err(e) => Err(StoreError::Io(e)),
    }
}

/// Reads the meta record through a read-only handle. `Ok(None)` when the file needs
/// crash recovery, which only a writable open performs.
fn probe(dir: &Path, path: &Path) -> Result<Option<Meta>, StoreError> {
    // redb trusts a cleanly closed file and may panic on one altered outside it; a
    // damaged file must be reported, not crash the client.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let db = match Builder::new().open_read_only(path) {
            Ok(db) => db,
            Err(DatabaseError::RepairAborted) => return Ok(None),
            Err(e) => return Err(open_err(e, path)),
        };
        read_meta(&db, dir).map(Some)
    }));
    match outcome {
        Ok(result) => result.map_err(|e| truncated(e, path)),
        Err(_) => Err(StoreError::Corrupt(
            "its internal structure is invalid".into(),
        )),
    }
}

fn open_err(err: DatabaseError, path: &Path) -> StoreError {
    truncated(db_err(err), path)
}

/// A read past the end of the file means it was cut short.
fn truncated(err: StoreError, path: &Path) -> StoreError {
    match err {
        StoreError::Io(e) if e.kind() == ErrorKind::UnexpectedEof => StoreError::Corrupt(format!(
            "{} is shorter than its header says: it was truncated",
            PathBuf::from(path).display()
        )),
        other => other,
    }
}
