//! Reading and writing sealed records.

use std::ops::Bound;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{StoreError, db_err};
use super::keys::{IndexKey, RecordKey};
use super::sealed::{self, Table};
use super::{ProfileStore, layout};

type Def<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

/// A list of records: `(key, plaintext value)`.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

impl ProfileStore {
    /// The record under `key`, or `None` (also when the table was never written).
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = layout::whole(&self.index_key, table, key)?;
        self.read(table, |t| {
            match t.get(stored.key.as_slice()).map_err(db_err)? {
                Some(v) => opened_as(&self.record_key, table, &stored, v.value()).map(Some),
                None => Ok(None),
            }
        })
        .map(Option::flatten)
    }

    /// The record under `key`, decoded with postcard.
    pub fn get_value<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.get(table, key)?
            .map(|bytes| decode(table, &bytes))
            .transpose()
    }

    /// All records of a table whose key starts with `prefix`, in key order.
    pub fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, StoreError> {
        let prefix = layout::prefix(&self.index_key, table, prefix)?.key;
        let upper = prefix_end(&prefix);
        self.read(table, |t| {
            let range = t
                .range::<&[u8]>((Bound::Included(prefix.as_slice()), upper_bound(&upper)))
                .map_err(db_err)?;
            let mut out = Vec::new();
            for entry in range {
                let (k, v) = entry.map_err(db_err)?;
                out.push(self.opened(table, k.value(), v.value())?);
            }
            Ok(out)
        })
        .map(Option::unwrap_or_default)
    }

    /// Records with keys in `[start, end)`, in key order (newest first when `reverse`),
    /// at most `limit` of them. Both bounds are key prefixes with the same ids: records
    /// are ordered by their clear parts only ([`super::KeyPart`]).
    pub fn range(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
        reverse: bool,
    ) -> Result<Records, StoreError> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let start = layout::prefix(&self.index_key, table, start)?;
        let end = layout::prefix(&self.index_key, table, end)?;
        if start.ids != end.ids {
            return Err(StoreError::Encode(format!(
                "a range of table \"{}\" must not span different ids",
                table.name()
            )));
        }
        let (start, end) = (start.key, end.key);
        self.read(table, |t| {
            let range = t
                .range::<&[u8]>(start.as_slice()..end.as_slice())
                .map_err(db_err)?;
            let iter: Box<dyn Iterator<Item = _>> = if reverse {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            let mut out = Vec::new();
            for entry in iter.take(limit) {
                let (k, v) = entry.map_err(db_err)?;
                out.push(self.opened(table, k.value(), v.value())?);
            }
            Ok(out)
        })
        .map(Option::unwrap_or_default)
    }

    /// How many records of a table have a key starting with `prefix` (nothing is
    /// decrypted).
    pub fn count(&self, table: Table, prefix: &[u8]) -> Result<u64, StoreError> {
        let prefix = layout::prefix(&self.index_key, table, prefix)?.key;
        let upper = prefix_end(&prefix);
        self.read(table, |t| {
            if prefix.is_empty() {
                return t.len().map_err(db_err);
            }
            let mut n = 0;
            for entry in t
                .range::<&[u8]>((Bound::Included(prefix.as_slice()), upper_bound(&upper)))
                .map_err(db_err)?
            {
                entry.map_err(db_err)?;
                n += 1;
            }
            Ok(n)
        })
        .map(Option::unwrap_or_default)
    }

    /// Runs `f` over one write transaction: all its writes commit together (one fsync)
    /// or, if `f` returns an error, none do.
    pub fn write(
        &self,
        f: impl FnOnce(&mut WriteBatch) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.with_db(|db| self.write_in(db, f))
    }

    fn write_in(
        &self,
        db: &redb::Database,
        f: impl FnOnce(&mut WriteBatch) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = db.begin_write().map_err(db_err)?;
        let mut batch = WriteBatch::new(&txn, &self.record_key, &self.index_key);
        match f(&mut batch) {
            Ok(()) => {
                let touched = std::mem::take(&mut batch.touched);
                let committed = txn.commit().map_err(db_err);
                // Counted even if the commit failed: a cache may be rebuilt for nothing,
                // never kept stale.
                let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
                for table in touched {
                    *generations.entry(table).or_default() += 1;
                }
                committed
            }
            Err(e) => {
                txn.abort().map_err(db_err)?;
                Err(e)
            }
        }
    }

    /// How many write batches that wrote to `table` have committed since the store was
    /// opened: what was derived from the table is stale once this changes.
    pub fn generation(&self, table: Table) -> u64 {
        let generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        generations.get(table.name()).copied().unwrap_or(0)
    }

    /// Runs `f` on the table in a read transaction; `None` if the table does not exist.
    fn read<R>(
        &self,
        table: Table,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static [u8], &'static [u8]>) -> Result<R, StoreError>,
    ) -> Result<Option<R>, StoreError> {
        let name = table.redb_name();
        let txn = self.with_db(|db| db.begin_read().map_err(db_err))?;
        match txn.open_table(Def::new(&name)) {
            Ok(t) => f(&t).map(Some),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(db_err(e)),
        }
    }

    /// A stored record as `(key, plaintext value)`, its key as it was written.
    fn opened(
        &self,
        table: Table,
        stored_key: &[u8],
        value: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let (ids, plain) = sealed::open(&self.record_key, table, stored_key, value)?;
        Ok((layout::original(table, stored_key, &ids)?, plain))
    }
}

/// Opens the value found under `stored`, checking that it is the record of the ids
/// asked for (the hash of another id could only match by tampering or a collision).
fn opened_as(
    rk: &RecordKey,
    table: Table,
    stored: &layout::Stored,
    value: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let (ids, plain) = sealed::open(rk, table, &stored.key, value)?;
    if ids != stored.ids {
        return Err(StoreError::Corrupt(format!(
            "a record in table \"{}\" is not the one its key names",
            table.name()
        )));
    }
    Ok(plain)
}

/// The writes of one transaction; see [`ProfileStore::write`].
pub struct WriteBatch<'a> {
    txn: &'a redb::WriteTransaction,
    record_key: &'a RecordKey,
    index_key: &'a IndexKey,
    touched: Vec<&'static str>,
}

impl<'a> WriteBatch<'a> {
    pub(super) fn new(
        txn: &'a redb::WriteTransaction,
        record_key: &'a RecordKey,
        index_key: &'a IndexKey,
    ) -> WriteBatch<'a> {
        WriteBatch {
            txn,
            record_key,
            index_key,
            touched: Vec::new(),
        }
    }

    /// Seals `value` and stores it under `key`, replacing any previous value.
    pub fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let stored = layout::whole(self.index_key, table, key)?;
        let sealed = sealed::seal(self.record_key, table, &stored.key, &stored.ids, value)?;
        self.touch(table);
        let name = table.redb_name();
        let mut t = self.txn.open_table(Def::new(&name)).map_err(db_err)?;
        t.insert(stored.key.as_slice(), sealed.as_slice())
            .map_err(db_err)?;
        Ok(())
    }

    /// Encodes `value` with postcard and stores it under `key`.
    pub fn put_value<T: Serialize>(
        &mut self,
        table: Table,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = zeroize::Zeroizing::new(
            postcard::to_stdvec(value).map_err(|e| StoreError::Encode(e.to_string()))?,
        );
        self.put(table, key, &bytes)
    }

    /// Removes the record under `key`; whether there was one.
    pub fn delete(&mut self, table: Table, key: &[u8]) -> Result<bool, StoreError> {
        let stored = layout::whole(self.index_key, table, key)?;
        self.touch(table);
        let name = table.redb_name();
        let mut t = self.txn.open_table(Def::new(&name)).map_err(db_err)?;
        let removed = t.remove(stored.key.as_slice()).map_err(db_err)?.is_some();
        Ok(removed)
    }

    fn touch(&mut self, table: Table) {
        if !self.touched.contains(&table.name()) {
            self.touched.push(table.name());
        }
    }

    /// The record under `key` as this batch has left it so far.
    pub fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = layout::whole(self.index_key, table, key)?;
        let name = table.redb_name();
        let t = self.txn.open_table(Def::new(&name)).map_err(db_err)?;
        let value = t.get(stored.key.as_slice()).map_err(db_err)?;
        match value {
            Some(v) => opened_as(self.record_key, table, &stored, v.value()).map(Some),
            None => Ok(None),
        }
    }
}

fn decode<T: DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| {
        StoreError::Encode(format!(
            "a record in table \"{}\" does not decode: {e}",
            table.name()
        ))
    })
}

/// The smallest key greater than every key starting with `prefix`; `None` when there
/// is none (empty prefix or all 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn upper_bound(end: &Option<Vec<u8>>) -> Bound<&[u8]> {
    match end {
        Some(end) => Bound::Excluded(end.as_slice()),
        None => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_skips_trailing_ff() {
        assert_eq!(prefix_end(b""), None);
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
    }
}
