//! Record keys as the file holds them: each id part ([`KeyPart::Id`]) replaced by its
//! keyed hash, clear parts as they are. Callers use the keys they know; only this module
//! sees the stored form.

use super::error::StoreError;
use super::keys::{HASHED_ID_LEN, IndexKey};
use super::sealed::{KeyPart, Table};

/// A key (or a key prefix) as stored, and the id bytes it stands for.
pub(crate) struct Stored {
    pub key: Vec<u8>,
    pub ids: Vec<u8>,
}

/// The stored form of a whole record key of `table`.
pub(crate) fn whole(ik: &IndexKey, table: Table, key: &[u8]) -> Result<Stored, StoreError> {
    walk(ik, table, key, true)
}

/// The stored form of a key prefix: whole id parts, then any clear bytes. Records whose
/// key starts with `prefix` are exactly those whose stored key starts with it.
pub(crate) fn prefix(ik: &IndexKey, table: Table, prefix: &[u8]) -> Result<Stored, StoreError> {
    walk(ik, table, prefix, false)
}

fn walk(ik: &IndexKey, table: Table, key: &[u8], whole: bool) -> Result<Stored, StoreError> {
    let misfit = || {
        StoreError::Encode(format!(
            "a key of {} bytes does not fit the keys of table \"{}\"",
            key.len(),
            table.name()
        ))
    };
    let mut out = Stored {
        key: Vec::with_capacity(key.len() + HASHED_ID_LEN),
        ids: Vec::new(),
    };
    let mut rest = key;
    for (index, part) in table.key().iter().enumerate() {
        if rest.is_empty() && !whole {
            break;
        }
        match *part {
            KeyPart::Id(n) => {
                let (id, tail) = rest.split_at_checked(n).ok_or_else(misfit)?;
                let index = u8::try_from(index).map_err(|_| misfit())?;
                out.key
                    .extend_from_slice(&ik.hash_id(table.name(), index, id));
                out.ids.extend_from_slice(id);
                rest = tail;
            }
            KeyPart::Clear(n) => {
                let (clear, tail) = match rest.split_at_checked(n) {
                    Some(split) => split,
                    // A prefix may end inside a clear part.
                    None if !whole => (rest, &[][..]),
                    None => return Err(misfit()),
                };
                out.key.extend_from_slice(clear);
                rest = tail;
            }
            KeyPart::Label => {
                out.key.extend_from_slice(rest);
                rest = &[];
            }
        }
    }
    if !rest.is_empty() {
        return Err(misfit());
    }
    Ok(out)
}

/// The key a record was written under, from its stored key and the ids sealed in its
/// value.
pub(crate) fn original(table: Table, stored: &[u8], ids: &[u8]) -> Result<Vec<u8>, StoreError> {
    let damaged = || {
        StoreError::Corrupt(format!(
            "a record key in table \"{}\" does not have its table's layout",
            table.name()
        ))
    };
    let mut key = Vec::with_capacity(stored.len());
    let (mut stored, mut ids) = (stored, ids);
    for part in table.key() {
        match *part {
            KeyPart::Id(n) => {
                stored = stored.get(HASHED_ID_LEN..).ok_or_else(damaged)?;
                let (id, tail) = ids.split_at_checked(n).ok_or_else(damaged)?;
                key.extend_from_slice(id);
                ids = tail;
            }
            KeyPart::Clear(n) => {
                let (clear, tail) = stored.split_at_checked(n).ok_or_else(damaged)?;
                key.extend_from_slice(clear);
                stored = tail;
            }
            KeyPart::Label => {
                key.extend_from_slice(stored);
                stored = &[];
            }
        }
    }
    if !stored.is_empty() || !ids.is_empty() {
        return Err(damaged());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::DataKey;

    const MESSAGES: Table = Table::new("messages", &[KeyPart::Id(16), KeyPart::Clear(8)]);
    const EXPIRY: Table = Table::new(
        "expiry",
        &[KeyPart::Clear(8), KeyPart::Id(16), KeyPart::Clear(8)],
    );
    const META: Table = Table::new("meta", &[KeyPart::Label]);

    #[test]
    fn ids_are_hashed_and_come_back() {
        let ik = DataKey::random().index_key();
        let key = [[7u8; 16].as_slice(), &5u64.to_be_bytes()].concat();
        let stored = whole(&ik, MESSAGES, &key).unwrap();
        assert_eq!(stored.ids, [7u8; 16]);
        assert_eq!(stored.key.len(), 24);
        assert_ne!(&stored.key[..16], &[7u8; 16]);
        assert_eq!(&stored.key[16..], &5u64.to_be_bytes());
        assert_eq!(original(MESSAGES, &stored.key, &stored.ids).unwrap(), key);
        // Another profile (another data key) hashes the same id differently.
        let other = whole(&DataKey::random().index_key(), MESSAGES, &key).unwrap();
        assert_ne!(other.key, stored.key);
        // The same id in another table or another part is hashed differently too.
        let expiry_key = [[0u8; 8].as_slice(), &[7u8; 16], &[0u8; 8]].concat();
        let in_expiry = whole(&ik, EXPIRY, &expiry_key).unwrap();
        assert_ne!(&in_expiry.key[8..24], &stored.key[..16]);
    }

    #[test]
    fn prefixes_keep_whole_ids_and_any_clear_bytes() {
        let ik = DataKey::random().index_key();
        let key = [[7u8; 16].as_slice(), &5u64.to_be_bytes()].concat();
        let stored = whole(&ik, MESSAGES, &key).unwrap();
        let by_conversation = prefix(&ik, MESSAGES, &[7u8; 16]).unwrap();
        assert!(stored.key.starts_with(&by_conversation.key));
        assert!(prefix(&ik, MESSAGES, &[7u8; 8]).is_err(), "half an id");
        assert!(prefix(&ik, MESSAGES, b"").unwrap().key.is_empty());
        assert_eq!(prefix(&ik, EXPIRY, &[1, 2, 3]).unwrap().key, [1, 2, 3]);
        assert!(
            whole(&ik, MESSAGES, &[7u8; 16]).is_err(),
            "a prefix is not a key"
        );
        assert!(whole(&ik, MESSAGES, &[0u8; 25]).is_err(), "too long");
        assert_eq!(whole(&ik, META, b"profile").unwrap().key, b"profile");
        assert!(original(MESSAGES, &stored.key, &[7u8; 15]).is_err());
    }
}
