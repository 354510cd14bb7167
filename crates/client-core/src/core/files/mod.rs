//! Files and images: attachments sent as ordinary envelopes
//! (`protocol-spec/organizing.md` §4).
//!
//! Sending encrypts the file under a fresh key ([`blob`]), then queues, in one write,
//! an `Attachment` message (name, type, size, key, checksum, how it is cut) followed by
//! one `FileChunk` message per chunk, through the conversation's usual encryption and
//! outbox. The sender keeps its own copy of the chunks, so it can show and save what
//! it sent. Receiving stores each chunk as it comes (as sealed store records, still
//! encrypted under the file key), and once all are there checks sizes, checksum and
//! that every chunk opens. Plaintext exists only in memory, and on disk only where the
//! user saves it.
//!
//! Store tables (keys are random ids and counters, see `client-store.md`):
//! - `attachments`: message id → [`AttachmentRecord`];
//! - `file_chunks`: message id ‖ sender tag ‖ index → the chunk's ciphertext;
//! - `uploads`: conversation ‖ position of the message → [`UploadRecord`] (outbox
//!   items still to send);
//! - `orphan_chunks`: message id → [`OrphanRecord`] (chunks that came before their
//!   `Attachment` message).

pub(crate) mod blob;
pub(crate) mod inbound;
pub(crate) mod outbound;
#[cfg(test)]
mod receive_tests;

use boucle_crypto::MessageId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{BY_ID, BY_POSITION, OUTBOX, message_key};
use crate::store::{KeyPart, StoreError, Table, WriteBatch};
use blob::Locator;
pub use blob::MAX_FILE_SIZE;
pub(crate) use inbound::{FileEffects, on_message, prune_orphans};
pub(crate) use outbound::on_outbox_done;

/// message id → [`AttachmentRecord`].
pub(crate) const ATTACHMENTS: Table = Table::new("attachments", BY_ID);
/// message id ‖ tag ‖ index (u32 BE) → one chunk, in order.
pub(crate) const FILE_CHUNKS: Table = Table::new(
    "file_chunks",
    &[KeyPart::Id(16), KeyPart::Id(8), KeyPart::Clear(4)],
);
/// conversation ‖ position of our message → [`UploadRecord`].
pub(crate) const UPLOADS: Table = Table::new("uploads", BY_POSITION);
/// message id → [`OrphanRecord`].
pub(crate) const ORPHAN_CHUNKS: Table = Table::new("orphan_chunks", BY_ID);

/// How far a file has got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransferState {
    /// Ours, still being sent: `done` of `total` bytes have reached the relays.
    Uploading {
        /// Bytes sent.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// Someone else's, still arriving: `done` of `total` bytes are here.
    Downloading {
        /// Bytes received.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// All here and checked: it can be shown and saved.
    Complete,
    /// It cannot be used, for the reason given.
    Failed(String),
}

/// A file attached to a message, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    /// The message that carries it.
    pub message: MessageId,
    /// Its conversation.
    pub conversation: ConversationId,
    /// Whether we sent it.
    pub from_me: bool,
    /// The file name the sender gave (cleaned: no directories, no control characters).
    pub name: String,
    /// Its media type, e.g. `image/png` (`application/octet-stream` if unknown).
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// How far it has got.
    pub state: TransferState,
}

impl AttachmentView {
    /// Whether it is an image a front end may preview.
    pub fn is_image(&self) -> bool {
        self.media_type.starts_with("image/")
    }
}

/// An attachment as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AttachmentRecord {
    pub conversation: ConversationId,
    pub from_me: bool,
    /// Ed25519 identity key of its sender (ours for our own).
    pub sender: [u8; 32],
    /// For ours: position of the message, which keys its upload record.
    pub position: Option<u64>,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub key: [u8; 32],
    pub sha256: [u8; 32],
    /// `None` when the reference was not valid.
    pub locator: Option<Locator>,
    /// Chunks stored (received ones; all of them for ours).
    pub received: u32,
    pub state: Stored,
}

/// The state of an attachment record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Stored {
    Sending,
    Receiving,
    Complete,
    Failed(String),
    /// Its message was deleted: nothing is kept, later chunks are dropped.
    Deleted,
}

/// Our upload in progress: outbox keys of the chunk items not yet stored by a relay.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct UploadRecord {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub size: u64,
    pub total: u32,
    pub pending: Vec<u64>,
}

/// Chunks that arrived before their `Attachment` message: when the first came, and for
/// each sender tag the highest index stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct OrphanRecord {
    pub first_seen: u64,
    pub senders: Vec<([u8; 8], u32)>,
}

/// How a received `Attachment` message shows in history.
pub(crate) fn body(reference: &boucle_crypto::AttachmentRef) -> crate::model::MessageBody {
    crate::model::MessageBody::Attachment {
        name: clean_file_name(&reference.name),
        media_type: clean_media_type(&reference.media_type),
        size: reference.size,
    }
}

/// The attachment record of a message of `conversation`.
pub(crate) fn record_in(
    store: &crate::store::ProfileStore,
    conversation: ConversationId,
    message: &MessageId,
) -> Result<AttachmentRecord, EngineError> {
    match store.get_value::<AttachmentRecord>(ATTACHMENTS, &message.0)? {
        Some(record) if record.conversation == conversation => Ok(record),
        _ => Err(EngineError::NoAttachment),
    }
}

/// Deletes what is stored of the attachment of message `id`: its chunks, any part of
/// its upload still queued, chunks that came before it. A tombstone stays, so chunks
/// arriving later are dropped. Call it in the same write that deletes the message
/// (deleted and disappearing messages). Returns whether there was an attachment.
pub(crate) fn delete_attachment_data(
    batch: &mut WriteBatch<'_>,
    id: &MessageId,
) -> Result<bool, StoreError> {
    let record = batch
        .get(ATTACHMENTS, &id.0)?
        .and_then(|bytes| postcard::from_bytes::<AttachmentRecord>(&bytes).ok());
    let orphans = delete_orphans(batch, id)?;
    let Some(mut record) = record else {
        return Ok(orphans);
    };
    if record.state == Stored::Deleted {
        return Ok(true);
    }
    delete_chunks(batch, &record, id)?;
    if let Some(position) = record.position {
        let key = message_key(&record.conversation.key(), position);
        if let Some(upload) = batch
            .get(UPLOADS, &key)?
            .and_then(|bytes| postcard::from_bytes::<UploadRecord>(&bytes).ok())
        {
            for item in &upload.pending {
                batch.delete(OUTBOX, &item.to_be_bytes())?;
            }
            batch.delete(UPLOADS, &key)?;
        }
    }
    record.state = Stored::Deleted;
    record.key = [0; 32];
    record.name.clear();
    record.media_type.clear();
    batch.put_value(ATTACHMENTS, &id.0, &record)?;
    Ok(true)
}

/// Deletes the stored chunks of an attachment.
pub(crate) fn delete_chunks(
    batch: &mut WriteBatch<'_>,
    record: &AttachmentRecord,
    id: &MessageId,
) -> Result<(), StoreError> {
    let tag = chunk_tag(record.conversation, &record.sender, id);
    let count = record.locator.map_or(0, |l| l.chunks);
    for index in 0..count {
        batch.delete(FILE_CHUNKS, &chunk_key(id, &tag, index))?;
    }
    Ok(())
}

/// Deletes the chunks of `id` that came before its `Attachment` message. Whether there
/// were any.
pub(crate) fn delete_orphans(
    batch: &mut WriteBatch<'_>,
    id: &MessageId,
) -> Result<bool, StoreError> {
    let Some(orphans) = batch
        .get(ORPHAN_CHUNKS, &id.0)?
        .and_then(|bytes| postcard::from_bytes::<OrphanRecord>(&bytes).ok())
    else {
        return Ok(false);
    };
    for (tag, highest) in &orphans.senders {
        for index in 0..=*highest {
            batch.delete(FILE_CHUNKS, &chunk_key(id, tag, index))?;
        }
    }
    batch.delete(ORPHAN_CHUNKS, &id.0)?;
    Ok(true)
}

/// Bytes of our upload that relays have stored.
pub(crate) fn sent_bytes(upload: &UploadRecord) -> u64 {
    let total = u64::from(upload.total.max(1));
    let done = u64::from(upload.total).saturating_sub(upload.pending.len() as u64);
    upload.size.saturating_mul(done) / total
}

/// Bytes of a received attachment that are here.
pub(crate) fn received_bytes(record: &AttachmentRecord) -> u64 {
    let chunk = record.locator.map_or(0, |l| u64::from(l.chunk_size));
    (u64::from(record.received) * chunk).min(record.size)
}

/// Whether going from `done - 1` to `done` of `total` crosses a 2% step (or ends).
pub(crate) fn crosses_step(done: u64, total: u64) -> bool {
    const STEPS: u64 = 50;
    done >= total || done == 0 || (done * STEPS / total) != ((done - 1) * STEPS / total)
}

/// A per-attachment pseudonym of its sender and conversation in chunk keys (keys are
/// visible in the store file, so they must not repeat across attachments): chunks
/// someone else sends under the same attachment id never mix with the sender's.
pub(crate) fn chunk_tag(
    conversation: ConversationId,
    sender: &[u8; 32],
    id: &MessageId,
) -> [u8; 8] {
    let mut hash = Sha256::new();
    hash.update(b"boucle/file/v1/tag");
    hash.update(conversation.key());
    hash.update(sender);
    hash.update(id.0);
    let digest: [u8; 32] = hash.finalize().into();
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&digest[..8]);
    tag
}

pub(crate) fn chunk_prefix(id: &MessageId, tag: &[u8; 8]) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(&id.0);
    key[16..].copy_from_slice(tag);
    key
}

pub(crate) fn chunk_key(id: &MessageId, tag: &[u8; 8], index: u32) -> [u8; 28] {
    let mut key = [0u8; 28];
    key[..24].copy_from_slice(&chunk_prefix(id, tag));
    key[24..].copy_from_slice(&index.to_be_bytes());
    key
}

/// A file name safe to show and to save under: no directories, no control characters,
/// no leading dot, at most 255 bytes; "file" if nothing is left.
pub(crate) fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_owned();
    if out.len() > 255 {
        let mut end = 255;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    if out.is_empty() {
        "file".to_owned()
    } else {
        out
    }
}

const OCTET_STREAM: &str = "application/octet-stream";

/// A media type `type/subtype` of token characters, lower case, at most 100 bytes;
/// anything else becomes `application/octet-stream`.
pub(crate) fn clean_media_type(given: &str) -> String {
    let lower = given.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match lower.split_once('/') {
        Some((kind, sub)) if lower.len() <= 100 && token(kind) && token(sub) => lower,
        _ => OCTET_STREAM.to_owned(),
    }
}

/// The media type of a file: from its first bytes when they say (`infer` knows the
/// signatures of images, documents, archives, audio and video), else from its name's
/// extension (`mime_guess`), else `application/octet-stream`.
pub(crate) fn guess_media_type(name: &str, data: &[u8]) -> String {
    if let Some(kind) = infer::get(data) {
        return clean_media_type(kind.mime_type());
    }
    match mime_guess::from_path(name).first() {
        Some(guessed) => clean_media_type(guessed.essence_str()),
        None => OCTET_STREAM.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_file_name("photo.jpg"), "photo.jpg");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\x\\tract.pdf"), "tract.pdf");
        assert_eq!(clean_file_name(".."), "file");
        assert_eq!(clean_file_name(".bashrc"), "bashrc");
        assert_eq!(clean_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_file_name(""), "file");
        assert!(clean_file_name(&"é".repeat(300)).len() <= 255);
    }

    #[test]
    fn media_types_are_checked_and_guessed() {
        assert_eq!(clean_media_type("Image/PNG"), "image/png");
        assert_eq!(clean_media_type("text/html; charset=x"), OCTET_STREAM);
        assert_eq!(clean_media_type("nonsense"), OCTET_STREAM);
        assert_eq!(
            guess_media_type("x.bin", b"\x89PNG\r\n\x1a\nrest"),
            "image/png"
        );
        assert_eq!(guess_media_type("tract.PDF", b""), "application/pdf");
        assert_eq!(guess_media_type("noext", b"hello"), OCTET_STREAM);
        // The bytes win over a wrong name; a name is enough for what has no signature.
        assert_eq!(
            guess_media_type("photo.png", &[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]),
            "image/jpeg"
        );
        assert_eq!(
            guess_media_type("minutes.odt", b""),
            "application/vnd.oasis.opendocument.text"
        );
        assert_eq!(guess_media_type("flyer.webm", b""), "video/webm");
        assert_eq!(guess_media_type("notes.CSV", b"a,b"), "text/csv");
    }

    #[test]
    fn progress_steps() {
        let crossings = (1..=1000).filter(|d| crosses_step(*d, 1000)).count();
        assert_eq!(crossings, 50);
        assert!(crosses_step(3, 3));
    }

    #[test]
    fn tags_differ_by_sender_and_conversation() {
        let id = MessageId([1; 16]);
        let conversation = ConversationId::Loop(boucle_crypto::LoopId([2; 16]));
        let other = ConversationId::Loop(boucle_crypto::LoopId([3; 16]));
        assert_ne!(
            chunk_tag(conversation, &[4; 32], &id),
            chunk_tag(conversation, &[5; 32], &id)
        );
        assert_ne!(
            chunk_tag(conversation, &[4; 32], &id),
            chunk_tag(other, &[4; 32], &id)
        );
    }
}
