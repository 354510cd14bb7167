//! The relay's embedded store (redb): mailboxes, envelopes and shared batch bodies.
//!
//! Reads (owner keys, envelopes to deliver) happen on connection tasks through read
//! transactions. Every write goes through one writer thread ([`writer`]) that commits
//! whatever has queued up in a single transaction — group commit — and only then
//! answers the senders, so "stored" always means "on disk".

mod records;
pub(crate) mod writer;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use boucle_wire::{PublicKey, ReceiveId, Seq};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::RelayError;
use crate::hub::Fill;
pub(crate) use records::MailboxRecord;
use records::{BodyRef, EnvelopeRecord, decode_shared_body};

pub(crate) const MAILBOXES: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("mailboxes");
pub(crate) const SEND_INDEX: TableDefinition<[u8; 16], [u8; 16]> =
    TableDefinition::new("send_index");
pub(crate) const ENVELOPES: TableDefinition<u64, &[u8]> = TableDefinition::new("envelopes");
pub(crate) const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
pub(crate) const BODY_CHUNKS: TableDefinition<(u64, u8), &[u8]> =
    TableDefinition::new("body_chunks");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub(crate) const NEXT_SEQ: &str = "next_seq";
pub(crate) const NEXT_BODY: &str = "next_body";

/// File name of the store inside a data directory.
pub const STORE_FILE: &str = "relay.redb";

/// Page cache of the store. Small on purpose: the relay's memory stays bounded whatever
/// is stored, and the operating system's page cache serves the rest.
const CACHE_BYTES: usize = 32 << 20;

/// Counts for `boucle-relay stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Mailboxes.
    pub mailboxes: u64,
    /// Envelopes waiting for delivery.
    pub envelopes: u64,
    /// Bytes of headers and bodies waiting (a batch body counts once per recipient).
    pub envelope_bytes: u64,
    /// Size of the store file.
    pub file_bytes: u64,
}

/// The open store.
///
/// After a write fails with an I/O error (a full disk, most often) redb refuses every
/// later operation on that handle, reads included. The writer then reopens the file
/// ([`Store::reopen`]): the last commit is intact, so the relay goes on delivering what
/// it holds, answers new writes with `StorageFailure` while the disk stays full, and
/// accepts them again once there is room, without a restart.
#[derive(Clone)]
pub struct Store {
    db: Arc<RwLock<Option<Arc<Database>>>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// What is kept in memory, rebuilt from disk at start.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Mailbox records (the writer's).
    pub records: HashMap<ReceiveId, MailboxRecord>,
    /// Routing and fill levels (the hub's).
    pub fills: HashMap<ReceiveId, Fill>,
    /// Each mailbox's stored envelopes, in order (the hub's).
    pub index: HashMap<ReceiveId, BTreeSet<u64>>,
    pub next_seq: u64,
    pub next_body_id: u64,
}

impl Store {
    /// Opens (or creates) the store file.
    pub fn open(path: &Path) -> Result<Store, RelayError> {
        let db = open_file(path)?;
        let txn = db.begin_write()?;
        txn.open_table(MAILBOXES)?;
        txn.open_table(SEND_INDEX)?;
        txn.open_table(ENVELOPES)?;
        txn.open_table(BODIES)?;
        txn.open_table(BODY_CHUNKS)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(Store {
            db: Arc::new(RwLock::new(Some(Arc::new(db)))),
            path: path.to_owned(),
        })
    }

    /// The database, unless it is closed for reopening.
    pub(crate) fn database(&self) -> Result<Arc<Database>, RelayError> {
        self.db
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                RelayError::Store("the store is being reopened after a write failed".into())
            })
    }

    /// Closes the database and opens the file again, after an I/O error left the handle
    /// unusable. Waits (briefly) for readers to let go of the old handle; on failure the
    /// store stays closed (reads and writes fail with a clear error) until a later call
    /// succeeds.
    pub(crate) fn reopen(&self) -> Result<(), RelayError> {
        let old = self.db.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut old) = old {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(shared) if Instant::now() < deadline => {
                        old = shared;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(shared) => {
                        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Some(shared);
                        return Err(RelayError::Store(
                            "cannot reopen the store: it is still in use".into(),
                        ));
                    }
                }
            }
        }
        let db = open_file(&self.path)?;
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(db));
        Ok(())
    }

    /// The owner key of a mailbox, if it exists.
    pub fn owner_key(&self, receive_id: &ReceiveId) -> Result<Option<PublicKey>, RelayError> {
        let txn = self.database()?.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let Some(value) = table.get(receive_id.as_bytes())? else {
            return Ok(None);
        };
        let record = MailboxRecord::decode(value.value()).ok_or_else(corrupt)?;
        Ok(Some(record.owner_key))
    }

    /// A snapshot to read envelopes from (one read transaction for many reads).
    pub(crate) fn reader(&self) -> Result<Reader, RelayError> {
        let txn = self.database()?.begin_read()?;
        Ok(Reader {
            envelopes: txn.open_table(ENVELOPES)?,
            bodies: txn.open_table(BODIES)?,
            chunks: txn.open_table(BODY_CHUNKS)?,
            scratch: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// Rebuilds the writer's in-memory state from disk.
    pub(crate) fn load_state(&self) -> Result<State, RelayError> {
        let txn = self.database()?.begin_read()?;
        let mut state = State::default();
        for entry in txn.open_table(MAILBOXES)?.iter()? {
            let (key, value) = entry?;
            let record = MailboxRecord::decode(value.value()).ok_or_else(corrupt)?;
            let receive_id = ReceiveId::from_bytes(key.value());
            state.fills.insert(
                receive_id,
                Fill {
                    send_id: Some(record.send_id),
                    sender_key: record.sender_key,
                    envelopes: 0,
                    bytes: 0,
                    uncommitted: Default::default(),
                },
            );
            state.records.insert(receive_id, record);
        }
        let bodies = txn.open_table(BODIES)?;
        let mut last_seq = None;
        for entry in txn.open_table(ENVELOPES)?.iter()? {
            let (key, value) = entry?;
            let seq = key.value();
            last_seq = Some(seq);
            let record = EnvelopeRecord::decode(value.value()).ok_or_else(corrupt)?;
            let body_len = match record.body {
                BodyRef::Inline(bytes) => bytes.len(),
                BodyRef::Chunked(len) => len as usize,
                BodyRef::Shared(id) => bodies
                    .get(id)?
                    .and_then(|v| decode_shared_body(v.value()).map(|(_, b)| b.len()))
                    .unwrap_or(0),
            };
            if let Some(fill) = state.fills.get_mut(&record.receive_id) {
                fill.envelopes += 1;
                fill.bytes += (record.header.len() + body_len) as u64;
                state
                    .index
                    .entry(record.receive_id)
                    .or_default()
                    .insert(seq);
            }
        }
        let meta = txn.open_table(META)?;
        let stored_next = meta.get(NEXT_SEQ)?.map(|v| v.value()).unwrap_or(0);
        state.next_seq = stored_next.max(last_seq.map_or(0, |s| s + 1));
        let last_body = bodies.last()?.map(|(k, _)| k.value() + 1).unwrap_or(0);
        let stored_body = meta.get(NEXT_BODY)?.map(|v| v.value()).unwrap_or(0);
        state.next_body_id = stored_body.max(last_body);
        Ok(state)
    }

    /// Seqs a relay may hand out before anything it hands out is committed: a run gives
    /// subscribers envelopes before their commit lands (relay-protocol §5, early delivery),
    /// so after a crash the last commit does not know every seq that left. Each start
    /// therefore moves the seq counter this far ahead of everything the store knows, and
    /// commits that before serving: a seq is never reused, even across crashes.
    pub(crate) const SEQS_PER_RUN: u64 = 1 << 32;

    /// Reserves the seqs of a new run (see [`Store::SEQS_PER_RUN`]): returns the first,
    /// committed as the store's high-water mark.
    pub(crate) fn start_run(&self, known_next: u64) -> Result<u64, RelayError> {
        let first = known_next.saturating_add(Self::SEQS_PER_RUN);
        let db = self.database()?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(NEXT_SEQ, first)?;
        }
        txn.commit()?;
        Ok(first)
    }

    /// Counts for `boucle-relay stats`.
    pub fn stats(&self) -> Result<StoreStats, RelayError> {
        let state = self.load_state()?;
        let mut stats = StoreStats {
            mailboxes: state.records.len() as u64,
            ..StoreStats::default()
        };
        for fill in state.fills.values() {
            stats.envelopes += u64::from(fill.envelopes);
            stats.envelope_bytes += fill.bytes;
        }
        stats.file_bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        Ok(stats)
    }
}

fn open_file(path: &Path) -> Result<Database, RelayError> {
    Ok(redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)?)
}

/// Reads envelopes from one consistent snapshot of the store.
pub(crate) struct Reader {
    envelopes: redb::ReadOnlyTable<u64, &'static [u8]>,
    bodies: redb::ReadOnlyTable<u64, &'static [u8]>,
    chunks: redb::ReadOnlyTable<(u64, u8), &'static [u8]>,
    /// A chunked body, put back together.
    scratch: std::cell::RefCell<Vec<u8>>,
}

impl Reader {
    /// Hands the envelopes `seqs` of a mailbox to `deliver` as borrowed header and body
    /// bytes, skipping those stored before `not_before_ms` (expired) and those gone or not
    /// of this mailbox. `deliver` returns whether to go on. Returns how many of `seqs`
    /// were dealt with (delivered or skipped).
    pub(crate) fn for_each_envelope(
        &self,
        receive_id: &ReceiveId,
        seqs: &[u64],
        not_before_ms: u64,
        mut deliver: impl FnMut(Seq, &[u8], &[u8]) -> bool,
    ) -> Result<usize, RelayError> {
        for (done, &seq) in seqs.iter().enumerate() {
            let Some(value) = self.envelopes.get(seq)? else {
                continue;
            };
            let record = EnvelopeRecord::decode(value.value()).ok_or_else(corrupt)?;
            if record.receive_id != *receive_id || record.stored_at_ms < not_before_ms {
                continue;
            }
            let go_on = match record.body {
                BodyRef::Inline(body) => deliver(Seq(seq), record.header, body),
                BodyRef::Chunked(len) => {
                    let mut body = self.scratch.borrow_mut();
                    body.clear();
                    for chunk in self.chunks.range((seq, 0)..=(seq, u8::MAX))? {
                        body.extend_from_slice(chunk?.1.value());
                    }
                    if body.len() != len as usize {
                        return Err(corrupt());
                    }
                    deliver(Seq(seq), record.header, &body)
                }
                BodyRef::Shared(id) => {
                    let shared = self.bodies.get(id)?.ok_or_else(corrupt)?;
                    let (_, body) = decode_shared_body(shared.value()).ok_or_else(corrupt)?;
                    deliver(Seq(seq), record.header, body)
                }
            };
            if !go_on {
                return Ok(done + 1);
            }
        }
        Ok(seqs.len())
    }
}

fn corrupt() -> RelayError {
    RelayError::Store("a record in the store is corrupt".into())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Store;
    use crate::config::{Durability, Limits};
    use crate::hub::Hub;
    use crate::store::writer::{SystemClock, Writer};

    /// A run hands out seqs before they are committed (early delivery). A crash then
    /// leaves the store knowing none of them: the next run must not hand them out again.
    #[test]
    fn a_new_run_never_reuses_a_seq_handed_out_by_a_run_that_crashed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("relay.redb");
        let first_run = {
            let store = Store::open(&path).expect("the store opens");
            let hub = Arc::new(Hub::new(Limits::default()));
            let writer = Writer::start(
                store,
                hub.clone(),
                Limits::default(),
                Durability::Fsync,
                Arc::new(SystemClock),
            )
            .expect("the writer starts");
            // What this run would give its next envelope; it "crashes" with nothing
            // committed since (the writer is stopped without any envelope stored).
            let next = hub.next_seq();
            writer.finish();
            next
        };
        for _ in 0..3 {
            let store = Store::open(&path).expect("the store opens again");
            let hub = Arc::new(Hub::new(Limits::default()));
            let writer = Writer::start(
                store,
                hub.clone(),
                Limits::default(),
                Durability::Fsync,
                Arc::new(SystemClock),
            )
            .expect("the writer starts again");
            assert!(
                hub.next_seq() >= first_run + Store::SEQS_PER_RUN,
                "a restarted relay starts its seqs past every seq an earlier run may have handed out"
            );
            writer.finish();
        }
    }
}
