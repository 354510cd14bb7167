//! Byte layouts of the store's records (see protocol-spec/relay-protocol.md, "Storage").
//!
//! ```text
//! mailboxes[receive id]  = send id (16) ‖ owner key (32) ‖ flag (1) ‖ sender key (32, if flag = 1)
//! send_index[send id]    = receive id (16)
//! envelopes[seq]         = receive id (16) ‖ stored at (u64 BE, unix ms) ‖ kind (1) ‖
//!                          header len (u16 BE) ‖ header ‖ rest
//!     kind 0: rest = body bytes;  kind 1: rest = body id (u64 BE) in `bodies`;
//!     kind 2: rest = body length (u32 BE), the body in `body_chunks`
//! body_chunks[(seq, i)]  = bytes i·CHUNK_BYTES .. of the body (the last one shorter)
//! bodies[body id]        = reference count (u32 BE) ‖ body bytes
//! meta["next_seq"], meta["next_body"] = u64 high-water marks, never decreasing
//! ```
//!
//! Envelopes are keyed by one relay-wide counter, so every insert appends at the end of
//! the B-tree: pages fill up (a key per mailbox range would leave half-empty pages) and
//! the key order is also the arrival order, which the expiry sweep relies on. A
//! mailbox's envelopes are found through an in-memory index rebuilt at start.
//!
//! Bodies longer than [`INLINE_MAX`] are cut into chunks of [`CHUNK_BYTES`]: redb gives a
//! B-tree leaf a run of pages rounded up to a power of two, so a 64 KiB body stored whole
//! took a 128 KiB run; chunks that fit a 4 KiB page each take 17 pages for 64 KiB.

use boucle_wire::{PublicKey, ReceiveId, SendId};

/// A mailbox as stored.
#[derive(Debug, Clone)]
pub(crate) struct MailboxRecord {
    pub send_id: SendId,
    pub owner_key: PublicKey,
    pub sender_key: Option<PublicKey>,
}

impl MailboxRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 32 + 1 + 32);
        out.extend_from_slice(self.send_id.as_bytes());
        out.extend_from_slice(self.owner_key.as_bytes());
        match &self.sender_key {
            Some(key) => {
                out.push(1);
                out.extend_from_slice(key.as_bytes());
            }
            None => out.push(0),
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<MailboxRecord> {
        let send_id = SendId::from_slice(bytes.get(..16)?).ok()?;
        let owner_key = PublicKey::from_slice(bytes.get(16..48)?).ok()?;
        let sender_key = match (bytes.get(48)?, bytes.len()) {
            (0, 49) => None,
            (1, 81) => Some(PublicKey::from_slice(bytes.get(49..81)?).ok()?),
            _ => return None,
        };
        Some(MailboxRecord {
            send_id,
            owner_key,
            sender_key,
        })
    }
}

/// Bodies up to this size are stored inside the envelope record.
pub(crate) const INLINE_MAX: usize = 3_072;
/// Size of a body chunk: one chunk and its key fill one 4 KiB leaf page.
pub(crate) const CHUNK_BYTES: usize = 4_032;

/// How many chunks a chunked body of `len` bytes has.
pub(crate) fn chunk_count(len: usize) -> u8 {
    // Bodies are at most 65,536 bytes (checked on receipt): at most 17 chunks.
    u8::try_from(len.div_ceil(CHUNK_BYTES)).unwrap_or(u8::MAX)
}

/// Where an envelope's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyRef<'a> {
    Inline(&'a [u8]),
    Shared(u64),
    /// In `body_chunks`, this many bytes long.
    Chunked(u32),
}

/// A decoded envelope record, borrowing from the stored bytes.
#[derive(Debug)]
pub(crate) struct EnvelopeRecord<'a> {
    pub receive_id: ReceiveId,
    pub stored_at_ms: u64,
    pub header: &'a [u8],
    pub body: BodyRef<'a>,
}

const FIXED: usize = 16 + 8 + 1 + 2;

impl EnvelopeRecord<'_> {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.receive_id.as_bytes());
        out.extend_from_slice(&self.stored_at_ms.to_be_bytes());
        out.push(match self.body {
            BodyRef::Inline(_) => 0,
            BodyRef::Shared(_) => 1,
            BodyRef::Chunked(_) => 2,
        });
        // Headers are at most 256 bytes (checked on receipt).
        out.extend_from_slice(&(self.header.len() as u16).to_be_bytes());
        out.extend_from_slice(self.header);
        match self.body {
            BodyRef::Inline(bytes) => out.extend_from_slice(bytes),
            BodyRef::Shared(id) => out.extend_from_slice(&id.to_be_bytes()),
            BodyRef::Chunked(len) => out.extend_from_slice(&len.to_be_bytes()),
        }
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<EnvelopeRecord<'_>> {
        let receive_id = ReceiveId::from_slice(bytes.get(..16)?).ok()?;
        let stored_at_ms = u64::from_be_bytes(bytes.get(16..24)?.try_into().ok()?);
        let kind = *bytes.get(24)?;
        let header_len = u16::from_be_bytes(bytes.get(25..27)?.try_into().ok()?) as usize;
        let header = bytes.get(FIXED..FIXED + header_len)?;
        let rest = bytes.get(FIXED + header_len..)?;
        let body = match kind {
            0 => BodyRef::Inline(rest),
            1 => BodyRef::Shared(u64::from_be_bytes(rest.try_into().ok()?)),
            2 => BodyRef::Chunked(u32::from_be_bytes(rest.try_into().ok()?)),
            _ => return None,
        };
        Some(EnvelopeRecord {
            receive_id,
            stored_at_ms,
            header,
            body,
        })
    }
}

/// A shared body's reference count and bytes.
pub(crate) fn encode_shared_body(refs: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&refs.to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub(crate) fn decode_shared_body(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let refs = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    Some((refs, bytes.get(4..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let record = MailboxRecord {
            send_id: SendId::from_bytes([1; 16]),
            owner_key: PublicKey::from_bytes([2; 32]),
            sender_key: Some(PublicKey::from_bytes([3; 32])),
        };
        let back = MailboxRecord::decode(&record.encode()).unwrap();
        assert_eq!(back.sender_key, record.sender_key);
        assert_eq!(back.send_id, record.send_id);

        let mut out = Vec::new();
        let id = ReceiveId::from_bytes([4; 16]);
        EnvelopeRecord {
            receive_id: id,
            stored_at_ms: 5,
            header: b"hdr",
            body: BodyRef::Shared(9),
        }
        .encode(&mut out);
        let env = EnvelopeRecord::decode(&out).unwrap();
        assert_eq!(
            (env.receive_id, env.stored_at_ms, env.header, env.body),
            (id, 5, &b"hdr"[..], BodyRef::Shared(9))
        );
        EnvelopeRecord {
            receive_id: id,
            stored_at_ms: 6,
            header: b"",
            body: BodyRef::Chunked(65_536),
        }
        .encode(&mut out);
        let env = EnvelopeRecord::decode(&out).unwrap();
        assert_eq!(env.body, BodyRef::Chunked(65_536));
        assert_eq!(chunk_count(65_536), 17);
        assert_eq!(chunk_count(CHUNK_BYTES), 1);
    }

    #[test]
    fn truncated_records_do_not_decode() {
        assert!(MailboxRecord::decode(&[0; 10]).is_none());
        assert!(MailboxRecord::decode(&[0; 50]).is_none());
        assert!(EnvelopeRecord::decode(&[0; 10]).is_none());
    }
}
