//! The plaintext `meta` table: what unlock needs before it has a key.

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::error::{StoreError, db_err};
use super::keys::{KdfParams, SALT_LEN, WRAPPED_LEN};

/// The at-rest format version; first byte of the meta record and of every record's AAD.
/// Version 2 hides the ids in record keys; a version 1 file is upgraded on unlock.
pub(crate) const FORMAT_VERSION: u8 = 2;
/// The version before: ids in clear in record keys.
pub(crate) const FORMAT_V1: u8 = 1;

/// The store's own table, apart from the engine's `t/...` tables.
pub(crate) const META_TABLE: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("meta");
/// The one record of the meta table.
const META_KEY: &[u8] = b"profile";

/// What unlock reads: the format version, salt, Argon2 parameters, and the wrapped data key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The format the file is in: [`FORMAT_VERSION`], or [`FORMAT_V1`] until upgraded.
    pub(crate) version: u8,
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) params: KdfParams,
    pub(crate) wrapped: [u8; WRAPPED_LEN],
}

#[derive(Serialize, Deserialize)]
struct MetaV1 {
    salt: [u8; SALT_LEN],
    params: KdfParams,
    wrapped: Vec<u8>,
}

impl Meta {
    /// `version || postcard(MetaV1)` (the header's body has not changed since version 1).
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let body = MetaV1 {
            salt: self.salt,
            params: self.params,
            wrapped: self.wrapped.to_vec(),
        };
        let mut out = vec![self.version];
        out.extend(postcard::to_stdvec(&body).map_err(|e| StoreError::Encode(e.to_string()))?);
        Ok(out)
    }

    /// Parses the meta record, version first.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Meta, StoreError> {
        let (&version, body) = bytes
            .split_first()
            .ok_or_else(|| StoreError::Corrupt("the profile header is empty".into()))?;
        if version != FORMAT_VERSION && version != FORMAT_V1 {
            return Err(StoreError::Corrupt(format!(
                "profile format version {version} is not supported by this version of Boucle (it reads versions {FORMAT_V1} and {FORMAT_VERSION})"
            )));
        }
        let body: MetaV1 = postcard::from_bytes(body)
            .map_err(|_| StoreError::Corrupt("the profile header does not decode".into()))?;
        let wrapped = body
            .wrapped
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("the wrapped key has the wrong length".into()))?;
        Ok(Meta {
            version,
            salt: body.salt,
            params: body.params,
            wrapped,
        })
    }

    /// Reads the meta record from an open meta table; `None` if absent.
    pub(crate) fn read(
        table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    ) -> Result<Option<Meta>, StoreError> {
        match table.get(META_KEY).map_err(db_err)? {
            Some(guard) => Meta::decode(guard.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Writes the meta record in a write transaction.
    pub(crate) fn write(&self, txn: &redb::WriteTransaction) -> Result<(), StoreError> {
        let encoded = self.encode()?;
        let mut table = txn.open_table(META_TABLE).map_err(db_err)?;
        table.insert(META_KEY, encoded.as_slice()).map_err(db_err)?;
        Ok(())
    }
}
