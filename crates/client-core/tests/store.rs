//! The profile store against its promises: everything comes back after unlock, a wrong
//! passphrase or a damaged file changes nothing, tampering is detected, and the file
//! holds no plaintext.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use boucle_client_core::store::{
    KdfParams, KeyPart, PROFILE_FILE, ProfileStore, StoreError, Table,
};
use proptest::prelude::*;
use redb::{Database, ReadableTable, TableDefinition};

// Keys in clear, of any length.
const NOTES: Table = Table::new("notes", &[KeyPart::Label]);
const CONTACTS: Table = Table::new("contacts", &[KeyPart::Label]);
// An id (hashed in the file), then a position (in clear).
const PEOPLE: Table = Table::new("people", &[KeyPart::Id(16), KeyPart::Clear(8)]);
const SCHEMA: &[Table] = &[NOTES, CONTACTS, PEOPLE];
const PASS: &str = "correct horse battery staple";

fn new_profile() -> (tempfile::TempDir, PathBuf, ProfileStore) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    let store = ProfileStore::create(&dir, PASS, KdfParams::for_tests()).unwrap();
    (tmp, dir, store)
}

fn file(dir: &Path) -> PathBuf {
    dir.join(PROFILE_FILE)
}

fn key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Rewrites one raw (sealed) value of a user table with redb directly, as an attacker
/// holding the file could.
fn tamper(dir: &Path, f: impl FnOnce(&mut redb::Table<&[u8], &[u8]>)) {
    let db = Database::open(file(dir)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn
            .open_table(TableDefinition::<&[u8], &[u8]>::new("t/notes"))
            .unwrap();
        f(&mut table);
    }
    txn.commit().unwrap();
}

fn raw_value(table: &redb::Table<&[u8], &[u8]>, k: &[u8]) -> Vec<u8> {
    table.get(k).unwrap().unwrap().value().to_vec()
}

#[test]
fn everything_written_is_read_back_after_unlock() {
    let (_tmp, dir, store) = new_profile();
    assert!(ProfileStore::exists(&dir));
    assert_eq!(store.path(), dir);
    // A table never written reads as empty.
    assert_eq!(store.get(NOTES, b"x").unwrap(), None);
    assert!(store.scan(NOTES, b"").unwrap().is_empty());
    assert_eq!(store.count(NOTES, b"").unwrap(), 0);
    assert!(
        store
            .range(NOTES, &key(0), &key(9), 10, false)
            .unwrap()
            .is_empty()
    );

    store
        .write(|b| {
            for n in 0..10u64 {
                b.put(NOTES, &key(n), format!("note {n}").as_bytes())?;
            }
            b.put(CONTACTS, b"a1", b"alice")?;
            b.put(CONTACTS, b"a2", b"bob")?;
            b.put(CONTACTS, b"b1", b"carol")?;
            b.put_value(CONTACTS, b"v", &(7u32, String::from("seven")))?;
            // Read-your-writes inside the batch, and delete.
            assert_eq!(b.get(NOTES, &key(3))?, Some(b"note 3".to_vec()));
            assert!(b.delete(NOTES, &key(9))?);
            assert!(!b.delete(NOTES, &key(99))?);
            assert_eq!(b.get(NOTES, &key(9))?, None);
            Ok(())
        })
        .unwrap();

    let check = |store: &ProfileStore| {
        assert_eq!(store.get(NOTES, &key(4)).unwrap(), Some(b"note 4".to_vec()));
        assert_eq!(store.get(NOTES, &key(9)).unwrap(), None);
        let v: Option<(u32, String)> = store.get_value(CONTACTS, b"v").unwrap();
        assert_eq!(v, Some((7, "seven".into())));
        let a: Vec<_> = store.scan(CONTACTS, b"a").unwrap();
        assert_eq!(
            a,
            vec![
                (b"a1".to_vec(), b"alice".to_vec()),
                (b"a2".to_vec(), b"bob".to_vec())
            ]
        );
        assert_eq!(store.count(CONTACTS, b"a").unwrap(), 2);
        assert_eq!(store.count(CONTACTS, b"").unwrap(), 4);
        assert_eq!(store.count(NOTES, b"").unwrap(), 9);
        let fwd = store.range(NOTES, &key(2), &key(6), 3, false).unwrap();
        let keys: Vec<_> = fwd.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(
            keys,
            vec![key(2).to_vec(), key(3).to_vec(), key(4).to_vec()]
        );
        let back = store.range(NOTES, &key(2), &key(6), 2, true).unwrap();
        assert_eq!(back[0], (key(5).to_vec(), b"note 5".to_vec()));
        assert_eq!(back[1].0, key(4).to_vec());
        assert!(
            store
                .range(NOTES, &key(6), &key(2), 5, false)
                .unwrap()
                .is_empty()
        );
    };
    check(&store);
    drop(store);
    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    check(&store);
}

#[test]
fn a_failed_batch_writes_nothing() {
    let (_tmp, _dir, store) = new_profile();
    let err = store
        .write(|b| {
            b.put(NOTES, b"k", b"v")?;
            Err(StoreError::Encode("stop".into()))
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Encode(_)));
    assert_eq!(store.get(NOTES, b"k").unwrap(), None);
}

#[test]
fn wrong_passphrase_is_reported_and_changes_nothing() {
    let (_tmp, dir, store) = new_profile();
    store.write(|b| b.put(NOTES, b"k", b"v")).unwrap();
    drop(store);
    let before = fs::read(file(&dir)).unwrap();
    let err = ProfileStore::unlock(&dir, "not it", SCHEMA).err().unwrap();
    assert!(matches!(err, StoreError::WrongPassphrase), "{err}");
    assert_eq!(
        err.to_string(),
        "wrong passphrase: the profile was not changed"
    );
    assert_eq!(fs::read(file(&dir)).unwrap(), before);
    assert!(ProfileStore::unlock(&dir, PASS, SCHEMA).is_ok());
}

#[test]
fn changing_the_passphrase_keeps_the_records() {
    let (_tmp, dir, mut store) = new_profile();
    store.write(|b| b.put(NOTES, b"k", b"v")).unwrap();
    let err = store
        .change_passphrase("nope", "new one", KdfParams::for_tests())
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongPassphrase));
    store
        .change_passphrase(PASS, "new one", KdfParams::for_tests())
        .unwrap();
    // The open handle keeps working.
    assert_eq!(store.get(NOTES, b"k").unwrap(), Some(b"v".to_vec()));
    drop(store);
    assert!(matches!(
        ProfileStore::unlock(&dir, PASS, SCHEMA).err().unwrap(),
        StoreError::WrongPassphrase
    ));
    let store = ProfileStore::unlock(&dir, "new one", SCHEMA).unwrap();
    assert_eq!(store.get(NOTES, b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn the_pickle_key_survives_unlock_and_passphrase_change() {
    let (_tmp, dir, mut store) = new_profile();
    // PickleKey has no Eq: compare what it encrypts. Encrypting the same plaintext
    // is randomised, so check that the key of one handle opens the other's pickle.
    let pickle = pickle_with(&store.pickle_key());
    store
        .change_passphrase(PASS, "other", KdfParams::for_tests())
        .unwrap();
    drop(store);
    let store = ProfileStore::unlock(&dir, "other", SCHEMA).unwrap();
    assert!(open_with(&store.pickle_key(), &pickle));
    let (_tmp2, _dir2, other) = new_profile();
    assert!(!open_with(&other.pickle_key(), &pickle));
}

fn pickle_with(key: &boucle_crypto::PickleKey) -> Vec<u8> {
    boucle_crypto::MailboxKeys::generate(&mut rand::rng()).pickle(key, &mut rand::rng())
}

fn open_with(key: &boucle_crypto::PickleKey, pickle: &[u8]) -> bool {
    boucle_crypto::MailboxKeys::from_pickle(pickle, key).is_ok()
}

#[test]
fn a_flipped_ciphertext_byte_is_reported_as_corrupt() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| b.put(NOTES, b"k", b"secret value"))
        .unwrap();
    drop(store);
    tamper(&dir, |t| {
        let mut v = raw_value(t, b"k");
        let last = v.len() - 1;
        v[last] ^= 1;
        t.insert(b"k".as_slice(), v.as_slice()).unwrap();
    });
    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    let err = store.get(NOTES, b"k").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert!(
        err.to_string().contains("restore it from a backup"),
        "{err}"
    );
    assert!(matches!(
        store.scan(NOTES, b"").unwrap_err(),
        StoreError::Corrupt(_)
    ));
}

#[test]
fn a_record_copied_under_another_key_is_reported_as_corrupt() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| {
            b.put(NOTES, b"a", b"first")?;
            b.put(NOTES, b"b", b"second")
        })
        .unwrap();
    drop(store);
    tamper(&dir, |t| {
        let a = raw_value(t, b"a");
        t.insert(b"b".as_slice(), a.as_slice()).unwrap();
    });
    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    assert_eq!(store.get(NOTES, b"a").unwrap(), Some(b"first".to_vec()));
    assert!(matches!(
        store.get(NOTES, b"b").unwrap_err(),
        StoreError::Corrupt(_)
    ));
}

#[test]
fn a_record_moved_to_another_table_is_reported_as_corrupt() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| b.put(CONTACTS, b"k", b"from contacts"))
        .unwrap();
    drop(store);
    let db = Database::open(file(&dir)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let contacts = txn
            .open_table(TableDefinition::<&[u8], &[u8]>::new("t/contacts"))
            .unwrap();
        let v = raw_value(&contacts, b"k");
        let mut notes = txn
            .open_table(TableDefinition::<&[u8], &[u8]>::new("t/notes"))
            .unwrap();
        notes.insert(b"k".as_slice(), v.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    drop(db);
    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    assert!(matches!(
        store.get(NOTES, b"k").unwrap_err(),
        StoreError::Corrupt(_)
    ));
}

fn person(id: u8, position: u64) -> Vec<u8> {
    [[id; 16].as_slice(), &position.to_be_bytes()].concat()
}

#[test]
fn ids_in_keys_are_not_in_the_file_and_come_back_from_every_read() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| {
            for position in [3, 1, 2] {
                b.put(PEOPLE, &person(0xA1, position), &[0xA1, position as u8])?;
            }
            b.put(PEOPLE, &person(0xB2, 1), b"b")
        })
        .unwrap();
    let check = |store: &ProfileStore| {
        let first = store.scan(PEOPLE, &[0xA1; 16]).unwrap();
        let keys: Vec<Vec<u8>> = first.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(
            keys,
            [1, 2, 3].map(|p| person(0xA1, p)),
            "in position order"
        );
        assert_eq!(first[0].1, [0xA1, 1]);
        assert_eq!(store.count(PEOPLE, &[0xA1; 16]).unwrap(), 3);
        assert_eq!(store.count(PEOPLE, b"").unwrap(), 4);
        let newest = store
            .range(PEOPLE, &person(0xA1, 0), &person(0xA1, 3), 5, true)
            .unwrap();
        assert_eq!(newest.len(), 2);
        assert_eq!(newest[0].0, person(0xA1, 2));
        assert_eq!(
            store.get(PEOPLE, &person(0xB2, 1)).unwrap(),
            Some(b"b".to_vec())
        );
        assert_eq!(store.get(PEOPLE, &person(0xB2, 2)).unwrap(), None);
        let all: Vec<Vec<u8>> = store
            .scan(PEOPLE, b"")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(all.len(), 4);
        assert!(all.contains(&person(0xB2, 1)));
    };
    check(&store);
    // Keys that do not fit the table are refused, not stored as they come.
    for bad in [
        person(0xA1, 1)[..20].to_vec(),
        [person(0xA1, 1), vec![0]].concat(),
    ] {
        let err = store.write(|b| b.put(PEOPLE, &bad, b"x")).unwrap_err();
        assert!(matches!(err, StoreError::Encode(_)), "{err}");
    }
    assert!(store.scan(PEOPLE, &[0xA1; 8]).is_err(), "half an id");
    assert!(
        store
            .range(PEOPLE, &person(0xA1, 0), &person(0xB2, 9), 5, false)
            .is_err(),
        "a range across ids"
    );
    drop(store);
    let bytes = fs::read(file(&dir)).unwrap();
    for id in [[0xA1u8; 16], [0xB2; 16]] {
        assert!(!bytes.windows(16).any(|w| w == id), "an id is in the file");
    }
    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    check(&store);
}

#[test]
fn a_record_swapped_with_another_ids_is_reported_as_corrupt() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| {
            b.put(PEOPLE, &person(1, 1), b"one")?;
            b.put(PEOPLE, &person(2, 1), b"two")
        })
        .unwrap();
    drop(store);
    let db = Database::open(file(&dir)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn
            .open_table(TableDefinition::<&[u8], &[u8]>::new("t/people"))
            .unwrap();
        let records: Vec<(Vec<u8>, Vec<u8>)> = t
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect();
        assert_eq!(records.len(), 2);
        t.insert(records[0].0.as_slice(), records[1].1.as_slice())
            .unwrap();
        t.insert(records[1].0.as_slice(), records[0].1.as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
    drop(db);
    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    for id in [1, 2] {
        let err = store.get(PEOPLE, &person(id, 1)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    }
}

fn assert_refused_untouched(dir: &Path) {
    let before = fs::read(file(dir)).unwrap();
    let err = ProfileStore::unlock(dir, PASS, SCHEMA).err().unwrap();
    assert!(
        matches!(err, StoreError::Corrupt(_) | StoreError::NotAProfile(_)),
        "unexpected {err:?}"
    );
    assert_eq!(
        fs::read(file(dir)).unwrap(),
        before,
        "the file was modified"
    );
    assert!(ProfileStore::exists(dir));
}

#[test]
fn a_truncated_file_is_refused_and_left_untouched() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| (0..200u64).try_for_each(|n| b.put(NOTES, &key(n), &[7u8; 300])))
        .unwrap();
    drop(store);
    let full = fs::read(file(&dir)).unwrap();
    for len in [0, 5, 100, 600, 4096, full.len() / 2, full.len() - 1] {
        fs::write(file(&dir), &full[..len]).unwrap();
        assert_refused_untouched(&dir);
    }
}

#[test]
fn a_garbage_file_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        file(dir),
        b"this is not a profile at all, just text\n".repeat(300),
    )
    .unwrap();
    assert_refused_untouched(dir);
    // A garbage body behind a valid redb header.
    let mut bytes = b"redb\x1A\x0A\xA9\x0D\x0A".to_vec();
    bytes.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    fs::write(file(dir), &bytes).unwrap();
    assert_refused_untouched(dir);
    // create refuses to replace it.
    let err = ProfileStore::create(dir, PASS, KdfParams::for_tests())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::AlreadyExists(_)));
    assert_eq!(fs::read(file(dir)).unwrap(), bytes);
}

#[test]
fn a_redb_file_without_a_profile_is_not_a_profile() {
    let tmp = tempfile::tempdir().unwrap();
    drop(Database::create(file(tmp.path())).unwrap());
    assert_refused_untouched(tmp.path());
}

#[test]
fn missing_and_existing_profiles_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nothing");
    assert!(!ProfileStore::exists(&dir));
    assert!(matches!(
        ProfileStore::unlock(&dir, PASS, SCHEMA).err().unwrap(),
        StoreError::NotFound(_)
    ));
    let store = ProfileStore::create(&dir, PASS, KdfParams::for_tests()).unwrap();
    drop(store);
    let err = ProfileStore::create(&dir, PASS, KdfParams::for_tests())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::AlreadyExists(_)), "{err}");
}

#[test]
fn a_second_open_is_in_use() {
    let (_tmp, dir, store) = new_profile();
    let err = ProfileStore::unlock(&dir, PASS, SCHEMA).err().unwrap();
    assert!(matches!(err, StoreError::InUse), "{err:?}");
    drop(store);
    assert!(ProfileStore::unlock(&dir, PASS, SCHEMA).is_ok());
}

#[cfg(unix)]
#[test]
fn the_directory_and_file_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, dir, _store) = new_profile();
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fs::metadata(file(&dir)).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn the_file_holds_no_plaintext() {
    let (_tmp, dir, store) = new_profile();
    let secrets: Vec<String> = (0..50)
        .map(|i| format!("PLAINTEXT-MARKER-{i:04}-the-quick-brown-fox"))
        .collect();
    store
        .write(|b| {
            for (i, s) in secrets.iter().enumerate() {
                b.put(NOTES, &key(i as u64), s.as_bytes())?;
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    let bytes = fs::read(file(&dir)).unwrap();
    for needle in [
        b"PLAINTEXT-MARKER".as_slice(),
        b"quick-brown",
        PASS.as_bytes(),
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "found plaintext in the file"
        );
    }
}

#[test]
fn recommended_params_are_the_specified_ones() {
    let p = KdfParams::recommended();
    assert_eq!((p.m_cost_kib, p.t_cost, p.p_cost), (64 * 1024, 3, 1));
    assert_eq!(KdfParams::default(), p);
}

#[test]
fn absurd_params_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let params = KdfParams {
        m_cost_kib: u32::MAX,
        t_cost: 1,
        p_cost: 1,
    };
    let err = ProfileStore::create(tmp.path(), PASS, params)
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::InvalidKdfParams(_)), "{err}");
    assert!(!ProfileStore::exists(tmp.path()));
}

/// Prints cold unlock times; run with
/// `cargo test --release -p boucle-client-core --test store -- --ignored --nocapture`.
#[test]
#[ignore = "timing, not a check"]
fn unlock_timing() {
    for (name, params) in [
        ("for_tests", KdfParams::for_tests()),
        ("recommended", KdfParams::recommended()),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        drop(ProfileStore::create(tmp.path(), PASS, params).unwrap());
        let start = std::time::Instant::now();
        let store = ProfileStore::unlock(tmp.path(), PASS, SCHEMA).unwrap();
        println!("unlock with {name} params: {:?}", start.elapsed());
        drop(store);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..16, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..16).prop_map(Op::Delete),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_puts_and_deletes_match_a_model(ops in proptest::collection::vec(op(), 1..40)) {
        let (_tmp, dir, mut store) = new_profile();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    store.write(|b| b.put(NOTES, &[k], &v)).unwrap();
                    model.insert(vec![k], v);
                }
                Op::Delete(k) => {
                    let had = store.write_delete(&[k]);
                    prop_assert_eq!(had, model.remove(&vec![k]).is_some());
                }
                Op::Reopen => {
                    drop(store);
                    store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
                }
            }
        }
        drop(store);
        let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
        let stored: BTreeMap<_, _> = store.scan(NOTES, b"").unwrap().into_iter().collect();
        prop_assert_eq!(&stored, &model);
        prop_assert_eq!(store.count(NOTES, b"").unwrap(), model.len() as u64);
        for k in 0u8..16 {
            prop_assert_eq!(store.get(NOTES, &[k]).unwrap(), model.get(&vec![k]).cloned());
        }
    }
}

trait DeleteOne {
    fn write_delete(&self, key: &[u8]) -> bool;
}

impl DeleteOne for ProfileStore {
    fn write_delete(&self, key: &[u8]) -> bool {
        let mut had = false;
        self.write(|b| {
            had = b.delete(NOTES, key)?;
            Ok(())
        })
        .unwrap();
        had
    }
}

#[test]
fn flipped_bytes_anywhere_never_panic_and_refusals_leave_the_file_alone() {
    let (_tmp, dir, store) = new_profile();
    store
        .write(|b| (0..100u64).try_for_each(|n| b.put(NOTES, &key(n), &[9u8; 200])))
        .unwrap();
    drop(store);
    let pristine = fs::read(file(&dir)).unwrap();
    let mut outcomes = BTreeMap::new();
    for offset in (0..pristine.len()).step_by(509) {
        let mut bytes = pristine.clone();
        bytes[offset] ^= 0x40;
        fs::write(file(&dir), &bytes).unwrap();
        let outcome = match ProfileStore::unlock(&dir, PASS, SCHEMA) {
            Ok(store) => {
                // Whatever opens must still authenticate every record or report Corrupt.
                match store.scan(NOTES, b"") {
                    Ok(records) => assert!(records.iter().all(|(_, v)| v == &[9u8; 200])),
                    Err(e) => assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}"),
                }
                "opened"
            }
            Err(
                StoreError::Corrupt(_) | StoreError::NotAProfile(_) | StoreError::WrongPassphrase,
            ) => {
                assert_eq!(
                    fs::read(file(&dir)).unwrap(),
                    bytes,
                    "refused at {offset} but modified"
                );
                "refused"
            }
            Err(e) => panic!("unexpected error at {offset}: {e:?}"),
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    eprintln!("{outcomes:?}");
}

#[test]
fn a_file_left_by_a_crash_is_recovered_and_still_checks_the_passphrase() {
    // A copy taken while the store is open looks like a crash: not closed cleanly.
    let (tmp, dir, store) = new_profile();
    store.write(|b| b.put(NOTES, b"k", b"kept")).unwrap();
    let copy = tmp.path().join("copy");
    fs::create_dir(&copy).unwrap();
    fs::copy(file(&dir), file(&copy)).unwrap();
    drop(store);
    assert!(matches!(
        redb::Builder::new().open_read_only(file(&copy)).err(),
        Some(redb::DatabaseError::RepairAborted)
    ));
    assert!(matches!(
        ProfileStore::unlock(&copy, "not it", SCHEMA).err().unwrap(),
        StoreError::WrongPassphrase
    ));
    let recovered = ProfileStore::unlock(&copy, PASS, SCHEMA).unwrap();
    assert_eq!(recovered.get(NOTES, b"k").unwrap(), Some(b"kept".to_vec()));
}

#[test]
fn a_tables_generation_moves_with_each_committed_write_to_it_only() {
    let (_tmp, _dir, store) = new_profile();
    assert_eq!(store.generation(CONTACTS), 0);
    store
        .write(|batch| batch.put(CONTACTS, b"a", b"Nadia"))
        .unwrap();
    assert_eq!(store.generation(CONTACTS), 1);
    assert_eq!(store.generation(NOTES), 0, "another table is untouched");
    // Several writes in one batch are one change; a delete is a change.
    store
        .write(|batch| {
            batch.put(CONTACTS, b"b", b"Omar")?;
            batch.delete(CONTACTS, b"a").map(|_| ())
        })
        .unwrap();
    assert_eq!(store.generation(CONTACTS), 2);
    // A batch that fails commits nothing and changes nothing.
    let failed = store.write(|batch| {
        batch.put(CONTACTS, b"c", b"Karim")?;
        Err(StoreError::Corrupt("on purpose".into()))
    });
    assert!(failed.is_err());
    assert_eq!(store.generation(CONTACTS), 2);
    assert_eq!(store.get(CONTACTS, b"c").unwrap(), None);
}

/// The disk under the profile fills up: the failing write says so in a sentence and
/// changes nothing, what was stored stays readable without reopening the profile, writes
/// succeed again once there is room, and everything written is there after an unlock.
#[test]
fn a_full_disk_says_so_keeps_everything_and_recovers() {
    let Some(disk) = boucle_test_support::SmallDisk::mount(4 << 20) else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root): the full-disk test did not run"
        );
        return;
    };
    let dir = disk.path().join("profile");
    let store = ProfileStore::create(&dir, PASS, KdfParams::for_tests()).unwrap();
    let ballast = disk.path().join("ballast");
    fs::write(&ballast, vec![0u8; 1 << 20]).unwrap();

    // 16 KiB notes until the disk is full (4 MiB: bounded by 400 writes).
    let note = |n: u64| vec![(n % 251) as u8; 16 << 10];
    let mut written = Vec::new();
    let mut refusal = None;
    for n in 0..400u64 {
        match store.write(|batch| batch.put(NOTES, &key(n), &note(n))) {
            Ok(()) => written.push(n),
            Err(error) => {
                refusal = Some(error);
                break;
            }
        }
    }
    let refusal = refusal.expect("the disk never filled");
    assert!(matches!(refusal, StoreError::DiskFull), "{refusal:?}");
    assert!(refusal.to_string().contains("disk is full"), "{refusal}");
    assert!(written.len() > 10, "only {} notes fit", written.len());

    // Still readable, with the same handle.
    let first = written[0];
    assert_eq!(store.get(NOTES, &key(first)).unwrap(), Some(note(first)));
    assert_eq!(store.count(NOTES, b"").unwrap(), written.len() as u64);

    // Room again: writes succeed.
    fs::remove_file(&ballast).unwrap();
    let next = written.len() as u64;
    store
        .write(|batch| batch.put(NOTES, &key(next), &note(next)))
        .unwrap();
    written.push(next);
    drop(store);

    let store = ProfileStore::unlock(&dir, PASS, SCHEMA).unwrap();
    for n in &written {
        assert_eq!(
            store.get(NOTES, &key(*n)).unwrap(),
            Some(note(*n)),
            "note {n}"
        );
    }
    assert_eq!(store.count(NOTES, b"").unwrap(), written.len() as u64);
    drop(store);
    drop(disk);
}
