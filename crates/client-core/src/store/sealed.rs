//! Record sealing: every value is `nonce(24) || XChaCha20Poly1305(record_key, nonce,
//! plaintext, aad)` with `aad = FORMAT_VERSION || table name || 0x00 || key`, so a
//! value moved to another key or table no longer opens.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::error::StoreError;
use super::keys::{NONCE_LEN, RecordKey, random_nonce};
use super::meta::FORMAT_VERSION;

/// A table of sealed records. The engine defines the constants, e.g.
/// `const CONTACTS: Table = Table::new("contacts");`.
///
/// Names are visible in the file (as are record keys, see [`super::ProfileStore`]) and
/// must not contain a NUL byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table(&'static str);

impl Table {
    /// Names a table.
    pub const fn new(name: &'static str) -> Table {
        Table(name)
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.0
    }

    /// The name of the redb table that holds it: user tables live under `t/`, apart
    /// from the store's own `meta` table.
    pub(crate) fn redb_name(&self) -> String {
        format!("t/{}", self.0)
    }
}

fn aad(table: Table, key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(2 + table.0.len() + key.len());
    aad.push(FORMAT_VERSION);
    aad.extend_from_slice(table.0.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

/// Seals a record value for `table`/`key`.
pub(crate) fn seal(
    rk: &RecordKey,
    table: Table,
    key: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let nonce = random_nonce();
    let ct = XChaCha20Poly1305::new(&rk.0.into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad(table, key),
            },
        )
        .map_err(|_| StoreError::Encode("could not seal a record".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a stored value; any failure means the file was altered (or damaged).
pub(crate) fn open(
    rk: &RecordKey,
    table: Table,
    key: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let corrupt = || {
        StoreError::Corrupt(format!(
            "a record in table \"{}\" does not authenticate",
            table.0
        ))
    };
    if sealed.len() < NONCE_LEN {
        return Err(corrupt());
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    XChaCha20Poly1305::new(&rk.0.into())
        .decrypt(
            &XNonce::from(nonce_bytes),
            Payload {
                msg: ct,
                aad: &aad(table, key),
            },
        )
        .map_err(|_| corrupt())
}
