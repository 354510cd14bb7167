//! Byte layouts of the store's records (see protocol-spec/relay-protocol.md, "Storage").
//!
//! ```text
//! mailboxes[receive id]      = send id (16) ‖ owner key (32) ‖ flag (1) ‖ sender key (32, if flag = 1) ‖ next seq (u64 BE)
//! send_index[send id]        = receive id (16)
//! envelopes[receive id ‖ seq BE] = stored at (u64 BE, unix ms) ‖ kind (1) ‖ header len (u16 BE) ‖ header ‖ rest
//!     kind 0: rest = body bytes;  kind 1: rest = body id (u64 BE) in `bodies`
//! bodies[body id]            = reference count (u32 BE) ‖ body bytes
//! ```

use boucle_wire::{PublicKey, ReceiveId, SendId, Seq};

/// An envelope's key: receive id then big-endian seq, so a mailbox's envelopes are
/// contiguous and in order.
pub(crate) fn envelope_key(receive_id: &ReceiveId, seq: Seq) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(receive_id.as_bytes());
    key[16..].copy_from_slice(&seq.0.to_be_bytes());
    key
}

/// Splits an envelope key.
pub(crate) fn split_envelope_key(key: &[u8; 24]) -> (ReceiveId, Seq) {
    let mut id = [0u8; 16];
    id.copy_from_slice(&key[..16]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&key[16..]);
    (ReceiveId::from_bytes(id), Seq(u64::from_be_bytes(seq)))
}

/// A mailbox as stored.
#[derive(Debug, Clone)]
pub(crate) struct MailboxRecord {
    pub send_id: SendId,
    pub owner_key: PublicKey,
    pub sender_key: Option<PublicKey>,
    pub next_seq: u64,
}

impl MailboxRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 32 + 1 + 32 + 8);
        out.extend_from_slice(self.send_id.as_bytes());
        out.extend_from_slice(self.owner_key.as_bytes());
        match &self.sender_key {
            Some(key) => {
                out.push(1);
                out.extend_from_slice(key.as_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.next_seq.to_be_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<MailboxRecord> {
        let send_id = SendId::from_slice(bytes.get(..16)?).ok()?;
        let owner_key = PublicKey::from_slice(bytes.get(16..48)?).ok()?;
        let (sender_key, rest) = match bytes.get(48)? {
            0 => (None, bytes.get(49..)?),
            1 => (
                Some(PublicKey::from_slice(bytes.get(49..81)?).ok()?),
                bytes.get(81..)?,
            ),
            _ => return None,
        };
        let next_seq = u64::from_be_bytes(rest.try_into().ok()?);
        Some(MailboxRecord {
            send_id,
            owner_key,
            sender_key,
            next_seq,
        })
    }
}

/// Where an envelope's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyRef<'a> {
    Inline(&'a [u8]),
    Shared(u64),
}

/// A decoded envelope record, borrowing from the stored bytes.
#[derive(Debug)]
pub(crate) struct EnvelopeRecord<'a> {
    pub stored_at_ms: u64,
    pub header: &'a [u8],
    pub body: BodyRef<'a>,
}

impl EnvelopeRecord<'_> {
    pub(crate) fn encode(stored_at_ms: u64, header: &[u8], body: BodyRef<'_>, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&stored_at_ms.to_be_bytes());
        out.push(match body {
            BodyRef::Inline(_) => 0,
            BodyRef::Shared(_) => 1,
        });
        // Headers are at most 256 bytes (checked on receipt).
        out.extend_from_slice(&(header.len() as u16).to_be_bytes());
        out.extend_from_slice(header);
        match body {
            BodyRef::Inline(bytes) => out.extend_from_slice(bytes),
            BodyRef::Shared(id) => out.extend_from_slice(&id.to_be_bytes()),
        }
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<EnvelopeRecord<'_>> {
        let stored_at_ms = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let kind = *bytes.get(8)?;
        let header_len = u16::from_be_bytes(bytes.get(9..11)?.try_into().ok()?) as usize;
        let header = bytes.get(11..11 + header_len)?;
        let rest = bytes.get(11 + header_len..)?;
        let body = match kind {
            0 => BodyRef::Inline(rest),
            1 => BodyRef::Shared(u64::from_be_bytes(rest.try_into().ok()?)),
            _ => return None,
        };
        Some(EnvelopeRecord {
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
            next_seq: 77,
        };
        let back = MailboxRecord::decode(&record.encode()).unwrap();
        assert_eq!(back.sender_key, record.sender_key);
        assert_eq!(back.next_seq, 77);

        let mut out = Vec::new();
        EnvelopeRecord::encode(5, b"hdr", BodyRef::Shared(9), &mut out);
        let env = EnvelopeRecord::decode(&out).unwrap();
        assert_eq!(
            (env.stored_at_ms, env.header, env.body),
            (5, &b"hdr"[..], BodyRef::Shared(9))
        );

        let id = ReceiveId::from_bytes([4; 16]);
        assert_eq!(split_envelope_key(&envelope_key(&id, Seq(3))), (id, Seq(3)));
    }

    #[test]
    fn truncated_records_do_not_decode() {
        assert!(MailboxRecord::decode(&[0; 10]).is_none());
        assert!(EnvelopeRecord::decode(&[0; 10]).is_none());
    }
}
