//! Upgrading a version 1 profile, whose record keys hold ids in clear, to version 2.
//!
//! The records are copied, keys hashed and values sealed again, into a new file next to
//! the old one, `profile.redb.upgrading`; once it is complete and on disk it is renamed
//! over `profile.redb`. A crash or an error before the rename leaves the old file as it
//! was (the next unlock starts again); after it, only the new file exists. Writing a new
//! file, rather than rewriting records in place, leaves none of the old keys in the
//! file's free pages.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::error::{StoreError, db_err};
use super::keys::DataKey;
use super::meta::{FORMAT_VERSION, Meta};
use super::records::WriteBatch;
use super::sealed::{self, Table};
use super::{PROFILE_FILE, open};

/// Where the upgraded copy is written before it replaces the profile file.
pub(crate) const UPGRADING_FILE: &str = "profile.redb.upgrading";

type Def<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

/// Copies the version 1 file `old` (open, and so locked) into a version 2 file that
/// replaces it; returns the new file, open. `schema` must name every table the file
/// holds.
pub(super) fn upgrade(
    dir: &Path,
    old: Database,
    meta: &Meta,
    key: &DataKey,
    schema: &[Table],
) -> Result<Database, StoreError> {
    let path = dir.join(UPGRADING_FILE);
    // What an interrupted upgrade left: the old file is still the profile.
    match fs::remove_file(&path) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(StoreError::Io(e)),
        _ => {}
    }
    let upgraded = Meta {
        version: FORMAT_VERSION,
        ..meta.clone()
    };
    let new = open::create_at(&path, &upgraded)?;
    let copied = copy(&old, &new, key, schema).and_then(|n| {
        fs::rename(&path, dir.join(PROFILE_FILE)).map_err(StoreError::Io)?;
        Ok(n)
    });
    let records = match copied {
        Ok(records) => records,
        Err(error) => {
            drop(new);
            let _ = fs::remove_file(&path);
            return Err(error);
        }
    };
    sync_dir(dir)?;
    // The new file stays open (and locked) across the rename; the old one goes.
    drop(old);
    tracing::info!(records, "the profile was upgraded to format version 2");
    Ok(new)
}

/// Copies every record of every engine table; returns how many.
fn copy(
    old: &Database,
    new: &Database,
    key: &DataKey,
    schema: &[Table],
) -> Result<u64, StoreError> {
    let record_key = key.record_key();
    let index_key = key.index_key();
    let read = old.begin_read().map_err(db_err)?;
    let mut records = 0;
    for handle in read.list_tables().map_err(db_err)? {
        let name = handle.name();
        if name == "meta" {
            continue;
        }
        let table = name
            .strip_prefix("t/")
            .and_then(|engine| schema.iter().find(|t| t.name() == engine))
            .ok_or_else(|| {
                StoreError::Upgrade(format!(
                    "it holds a table (\"{name}\") this version of Boucle does not know"
                ))
            })?;
        let source = read.open_table(Def::new(name)).map_err(db_err)?;
        let txn = new.begin_write().map_err(db_err)?;
        {
            let mut batch = WriteBatch::new(&txn, &record_key, &index_key);
            for entry in source.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                let plain = zeroize::Zeroizing::new(sealed::open_v1(
                    &record_key,
                    table.name(),
                    k.value(),
                    v.value(),
                )?);
                batch.put(*table, k.value(), &plain).map_err(|e| match e {
                    StoreError::Encode(why) => StoreError::Upgrade(why),
                    other => other,
                })?;
                records += 1;
            }
        }
        txn.commit().map_err(db_err)?;
    }
    Ok(records)
}

/// Makes the rename durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::Io)?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::{Kek, random_salt};
    use crate::store::{KdfParams, KeyPart, ProfileStore};

    const NOTES: Table = Table::new("notes", &[KeyPart::Clear(8)]);
    const PEOPLE: Table = Table::new("people", &[KeyPart::Id(16), KeyPart::Clear(8)]);
    const PASS: &str = "correct horse";

    /// A version 1 profile, as the version 1 store wrote it, with `records`.
    fn v1_profile(dir: &Path, records: &[(&str, Vec<u8>, &[u8])]) {
        let salt = random_salt();
        let params = KdfParams::for_tests();
        let kek = Kek::derive(PASS, &salt, params).unwrap();
        let key = DataKey::random();
        let meta = Meta {
            version: crate::store::meta::FORMAT_V1,
            salt,
            params,
            wrapped: kek.wrap(&key).unwrap(),
        };
        fs::create_dir_all(dir).unwrap();
        let db = open::create_at(&dir.join(PROFILE_FILE), &meta).unwrap();
        let rk = key.record_key();
        let txn = db.begin_write().unwrap();
        for (table, k, v) in records {
            let name = format!("t/{table}");
            let mut t = txn.open_table(Def::new(&name)).unwrap();
            let sealed = sealed::seal_v1(&rk, table, k, v);
            t.insert(k.as_slice(), sealed.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }

    /// Every raw record of the file: `(table, key, sealed value)`.
    fn raw_records(dir: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        let db = Database::open(dir.join(PROFILE_FILE)).unwrap();
        let txn = db.begin_read().unwrap();
        let mut out = Vec::new();
        for handle in txn.list_tables().unwrap() {
            let table = txn.open_table(Def::new(handle.name())).unwrap();
            for entry in table.iter().unwrap() {
                let (k, v) = entry.unwrap();
                out.push((
                    handle.name().to_owned(),
                    k.value().to_vec(),
                    v.value().to_vec(),
                ));
            }
        }
        out
    }

    fn person(id: u8, n: u64) -> Vec<u8> {
        [[id; 16].as_slice(), &n.to_be_bytes()].concat()
    }

    #[test]
    fn a_version_1_profile_is_upgraded_with_its_ids_hidden() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("profile");
        v1_profile(
            &dir,
            &[
                ("notes", 1u64.to_be_bytes().to_vec(), b"first"),
                ("people", person(0xAB, 1), b"alice"),
                ("people", person(0xAB, 2), b"alice again"),
                ("people", person(0xCD, 1), b"bob"),
            ],
        );
        let raw = fs::read(dir.join(PROFILE_FILE)).unwrap();
        assert!(raw.windows(16).any(|w| w == [0xAB; 16]));

        let store = ProfileStore::unlock(&dir, PASS, &[NOTES, PEOPLE]).unwrap();
        assert_eq!(
            store.get(NOTES, &1u64.to_be_bytes()).unwrap(),
            Some(b"first".to_vec())
        );
        assert_eq!(
            store.scan(PEOPLE, &[0xAB; 16]).unwrap(),
            vec![
                (person(0xAB, 1), b"alice".to_vec()),
                (person(0xAB, 2), b"alice again".to_vec())
            ]
        );
        assert_eq!(
            store.get(PEOPLE, &person(0xCD, 1)).unwrap(),
            Some(b"bob".to_vec())
        );
        drop(store);
        let raw = fs::read(dir.join(PROFILE_FILE)).unwrap();
        for id in [[0xAB; 16], [0xCD; 16]] {
            assert!(!raw.windows(16).any(|w| w == id), "an id is still in clear");
        }
        assert!(!dir.join(UPGRADING_FILE).exists());
        // Upgraded once: it opens again as version 2, with the same passphrase.
        let store = ProfileStore::unlock(&dir, PASS, &[NOTES, PEOPLE]).unwrap();
        assert_eq!(store.count(PEOPLE, b"").unwrap(), 3);
    }

    #[test]
    fn an_upgrade_that_cannot_finish_leaves_the_old_file_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("profile");
        v1_profile(
            &dir,
            &[
                ("notes", 1u64.to_be_bytes().to_vec(), b"first"),
                ("strange", b"k".to_vec(), b"v"),
            ],
        );
        // An earlier attempt was interrupted, leaving a partial copy.
        fs::write(dir.join(UPGRADING_FILE), b"partial").unwrap();
        let before = fs::read(dir.join(PROFILE_FILE)).unwrap();
        let wrong = ProfileStore::unlock(&dir, "wrong", &[NOTES]).err().unwrap();
        assert!(matches!(wrong, StoreError::WrongPassphrase), "{wrong}");
        assert!(
            fs::read(dir.join(PROFILE_FILE)).unwrap() == before,
            "written to"
        );
        let records = raw_records(&dir);
        let refused = ProfileStore::unlock(&dir, PASS, &[NOTES]).err().unwrap();
        assert!(matches!(refused, StoreError::Upgrade(_)), "{refused}");
        assert!(refused.to_string().contains("strange"), "{refused}");
        // Opened for writing (redb's own header changes), but no record changed.
        assert!(raw_records(&dir) == records, "a record changed");
        assert!(!dir.join(UPGRADING_FILE).exists());
        // A version that knows the table upgrades it.
        const STRANGE: Table = Table::new("strange", &[KeyPart::Label]);
        let store = ProfileStore::unlock(&dir, PASS, &[NOTES, STRANGE]).unwrap();
        assert_eq!(store.get(STRANGE, b"k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn a_key_that_does_not_fit_its_table_stops_the_upgrade() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("profile");
        v1_profile(&dir, &[("people", vec![1, 2, 3], b"short key")]);
        let records = raw_records(&dir);
        let refused = ProfileStore::unlock(&dir, PASS, &[PEOPLE]).err().unwrap();
        assert!(matches!(refused, StoreError::Upgrade(_)), "{refused}");
        assert!(raw_records(&dir) == records, "a record changed");
    }
}
