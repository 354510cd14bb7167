//! The relay's embedded store (redb): mailboxes, envelopes and shared batch bodies.
//!
//! Reads (owner keys, envelopes to deliver) happen on connection tasks through read
//! transactions. Every write goes through one writer thread ([`writer`]) that commits
//! whatever has queued up in a single transaction — group commit — and only then
//! answers the senders, so "stored" always means "on disk".

mod records;
pub(crate) mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use boucle_wire::{Body, Envelope, Header, PublicKey, ReceiveId, SendId, Seq};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::error::RelayError;
use records::{BodyRef, EnvelopeRecord, MailboxRecord, decode_shared_body, envelope_key};

pub(crate) const MAILBOXES: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("mailboxes");
pub(crate) const SEND_INDEX: TableDefinition<[u8; 16], [u8; 16]> =
    TableDefinition::new("send_index");
pub(crate) const ENVELOPES: TableDefinition<[u8; 24], &[u8]> = TableDefinition::new("envelopes");
pub(crate) const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");

/// File name of the store inside a data directory.
pub const STORE_FILE: &str = "relay.redb";

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
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// A mailbox as the writer keeps it in memory.
#[derive(Debug, Clone)]
pub(crate) struct MailboxState {
    pub record: MailboxRecord,
    pub envelopes: u32,
    pub bytes: u64,
}

/// Everything the writer needs in memory, rebuilt from disk at start.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub mailboxes: HashMap<ReceiveId, MailboxState>,
    pub by_send: HashMap<SendId, ReceiveId>,
    pub next_body_id: u64,
}

impl Store {
    /// Opens (or creates) the store file.
    pub fn open(path: &Path) -> Result<Store, RelayError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(MAILBOXES)?;
        txn.open_table(SEND_INDEX)?;
        txn.open_table(ENVELOPES)?;
        txn.open_table(BODIES)?;
        txn.commit()?;
        Ok(Store {
            db: Arc::new(db),
            path: path.to_owned(),
        })
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// The owner key of a mailbox, if it exists.
    pub fn owner_key(&self, receive_id: &ReceiveId) -> Result<Option<PublicKey>, RelayError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(MAILBOXES)?;
        let Some(value) = table.get(receive_id.as_bytes())? else {
            return Ok(None);
        };
        let record = MailboxRecord::decode(value.value()).ok_or_else(corrupt)?;
        Ok(Some(record.owner_key))
    }

    /// Up to `limit` envelopes of a mailbox from `from` on, skipping those stored before
    /// `not_before_ms` (expired). Returns them with the seq to continue from.
    pub fn read_envelopes(
        &self,
        receive_id: &ReceiveId,
        from: Seq,
        limit: usize,
        not_before_ms: u64,
    ) -> Result<(Vec<(Seq, Envelope)>, Option<Seq>), RelayError> {
        let txn = self.db.begin_read()?;
        let envelopes = txn.open_table(ENVELOPES)?;
        let bodies = txn.open_table(BODIES)?;
        let start = envelope_key(receive_id, from);
        let end = envelope_key(receive_id, Seq(u64::MAX));
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut last = None;
        for entry in envelopes.range(start..=end)? {
            if out.len() >= limit {
                break;
            }
            let (key, value) = entry?;
            let (_, seq) = records::split_envelope_key(&key.value());
            last = Some(seq);
            let record = EnvelopeRecord::decode(value.value()).ok_or_else(corrupt)?;
            if record.stored_at_ms < not_before_ms {
                continue;
            }
            let body = match record.body {
                BodyRef::Inline(bytes) => bytes.to_vec(),
                BodyRef::Shared(id) => {
                    let shared = bodies.get(id)?.ok_or_else(corrupt)?;
                    decode_shared_body(shared.value())
                        .ok_or_else(corrupt)?
                        .1
                        .to_vec()
                }
            };
            let envelope = Envelope {
                header: Header::new(record.header.to_vec()).map_err(|_| corrupt())?,
                body: Body::new(body).map_err(|_| corrupt())?,
            };
            out.push((seq, envelope));
        }
        Ok((out, last.map(|s| Seq(s.0 + 1))))
    }

    /// Number of envelopes stored for a mailbox.
    pub fn count(&self, receive_id: &ReceiveId) -> Result<u32, RelayError> {
        let txn = self.db.begin_read()?;
        let envelopes = txn.open_table(ENVELOPES)?;
        let start = envelope_key(receive_id, Seq(0));
        let end = envelope_key(receive_id, Seq(u64::MAX));
        let n = envelopes.range(start..=end)?.count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Rebuilds the writer's in-memory state from disk.
    pub(crate) fn load_state(&self) -> Result<State, RelayError> {
        let txn = self.db.begin_read()?;
        let mut state = State::default();
        for entry in txn.open_table(MAILBOXES)?.iter()? {
            let (key, value) = entry?;
            let record = MailboxRecord::decode(value.value()).ok_or_else(corrupt)?;
            let receive_id = ReceiveId::from_bytes(key.value());
            state.by_send.insert(record.send_id, receive_id);
            state.mailboxes.insert(
                receive_id,
                MailboxState {
                    record,
                    envelopes: 0,
                    bytes: 0,
                },
            );
        }
        let bodies = txn.open_table(BODIES)?;
        for entry in txn.open_table(ENVELOPES)?.iter()? {
            let (key, value) = entry?;
            let (receive_id, _) = records::split_envelope_key(&key.value());
            let record = EnvelopeRecord::decode(value.value()).ok_or_else(corrupt)?;
            let body_len = match record.body {
                BodyRef::Inline(bytes) => bytes.len(),
                BodyRef::Shared(id) => bodies
                    .get(id)?
                    .and_then(|v| decode_shared_body(v.value()).map(|(_, b)| b.len()))
                    .unwrap_or(0),
            };
            if let Some(mailbox) = state.mailboxes.get_mut(&receive_id) {
                mailbox.envelopes += 1;
                mailbox.bytes += (record.header.len() + body_len) as u64;
            }
        }
        state.next_body_id = bodies.last()?.map(|(k, _)| k.value() + 1).unwrap_or(0);
        Ok(state)
    }

    /// Counts for `boucle-relay stats`.
    pub fn stats(&self) -> Result<StoreStats, RelayError> {
        let state = self.load_state()?;
        let mut stats = StoreStats {
            mailboxes: state.mailboxes.len() as u64,
            ..StoreStats::default()
        };
        for mailbox in state.mailboxes.values() {
            stats.envelopes += u64::from(mailbox.envelopes);
            stats.envelope_bytes += mailbox.bytes;
        }
        stats.file_bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let txn = self.db.begin_read()?;
        debug_assert!(txn.open_table(ENVELOPES)?.len()? >= stats.envelopes);
        Ok(stats)
    }
}

fn corrupt() -> RelayError {
    RelayError::Store("a record in the store is corrupt".into())
}
