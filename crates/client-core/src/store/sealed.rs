//! Tables, and record sealing: every value is `nonce(24) || XChaCha20Poly1305(record_key,
//! nonce, ids || plaintext, aad)` with `aad = FORMAT_VERSION || table name || 0x00 ||
//! stored key`, so a value moved to another key or table no longer opens. `ids` are the
//! id parts of the record's key ([`KeyPart::Id`]), which the stored key holds only
//! hashed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::error::StoreError;
use super::keys::{NONCE_LEN, RecordKey, random_nonce};
use super::meta::FORMAT_VERSION;

/// One part of a table's record keys, in order. A key is the concatenation of its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyPart {
    /// `n` bytes that name someone or something — an id, a key, anything another party
    /// also knows. The file holds a 16-byte keyed hash in their place (they are sealed
    /// in the value), so records with this part are not ordered by it.
    Id(usize),
    /// `n` bytes kept in clear, so that records are ordered by them: a counter, a
    /// position, a time (big-endian). Never anything another party knows.
    Clear(usize),
    /// The rest of the key, in clear: a fixed label such as `b"profile"`. Last only.
    Label,
}

/// A table of sealed records. The engine defines the constants, e.g.
/// `const CONTACTS: Table = Table::new("contacts", &[KeyPart::Id(16)]);`.
///
/// Names are visible in the file, as are the clear parts of record keys (see
/// [`super::ProfileStore`]); names must not contain a NUL byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    name: &'static str,
    key: &'static [KeyPart],
}

impl Table {
    /// Names a table and says what its record keys are made of.
    pub const fn new(name: &'static str, key: &'static [KeyPart]) -> Table {
        Table { name, key }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The parts of its record keys.
    pub fn key(&self) -> &'static [KeyPart] {
        self.key
    }

    /// How many bytes of a record key are ids (sealed at the start of each value).
    pub(crate) fn ids_len(&self) -> usize {
        self.key
            .iter()
            .map(|part| match part {
                KeyPart::Id(n) => *n,
                _ => 0,
            })
            .sum()
    }

    /// The name of the redb table that holds it: user tables live under `t/`, apart
    /// from the store's own `meta` table.
    pub(crate) fn redb_name(&self) -> String {
        format!("t/{}", self.name)
    }
}

fn aad(version: u8, table: &str, key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(2 + table.len() + key.len());
    aad.push(version);
    aad.extend_from_slice(table.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

/// Seals a record value for `table` under its stored key, with the key's ids.
pub(crate) fn seal(
    rk: &RecordKey,
    table: Table,
    stored_key: &[u8],
    ids: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let nonce = random_nonce();
    let message = zeroize::Zeroizing::new([ids, plaintext].concat());
    let ct = XChaCha20Poly1305::new(&rk.0.into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &message,
                aad: &aad(FORMAT_VERSION, table.name, stored_key),
            },
        )
        .map_err(|_| StoreError::Encode("could not seal a record".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a stored value: `(ids, plaintext)`. Any failure means the file was altered
/// (or damaged).
pub(crate) fn open(
    rk: &RecordKey,
    table: Table,
    stored_key: &[u8],
    sealed: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let mut plain = open_with(rk, FORMAT_VERSION, table.name, stored_key, sealed)?;
    let ids_len = table.ids_len();
    if plain.len() < ids_len {
        return Err(not_authentic(table.name));
    }
    let value = plain.split_off(ids_len);
    Ok((plain, value))
}

/// Opens a value written by the version 1 store (AAD version 1, the key as given, no
/// ids in the value): only for upgrading a profile.
pub(crate) fn open_v1(
    rk: &RecordKey,
    table: &str,
    key: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    open_with(rk, 1, table, key, sealed)
}

/// Seals a value as the version 1 store did (for tests of the upgrade).
#[cfg(test)]
pub(crate) fn seal_v1(rk: &RecordKey, table: &str, key: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_nonce();
    let ct = XChaCha20Poly1305::new(&rk.0.into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad(1, table, key),
            },
        )
        .expect("sealing cannot fail");
    [nonce.as_slice(), &ct].concat()
}

fn open_with(
    rk: &RecordKey,
    version: u8,
    table: &str,
    key: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    if sealed.len() < NONCE_LEN {
        return Err(not_authentic(table));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    XChaCha20Poly1305::new(&rk.0.into())
        .decrypt(
            &XNonce::from(nonce_bytes),
            Payload {
                msg: ct,
                aad: &aad(version, table, key),
            },
        )
        .map_err(|_| not_authentic(table))
}

fn not_authentic(table: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "a record in table \"{table}\" does not authenticate"
    ))
}
