//! Receiving files: `Attachment` references and `FileChunk`s, from a contact or a loop
//! member, whatever order they come in. Chunks are stored as they are (ciphertext under
//! the file key, sealed again by the store); a file is complete once every chunk is
//! here and the whole checks out.

use boucle_crypto::{AttachmentRef, Content, Message, MessageId};

use super::blob::{self, BlobError, CHUNK_SIZE, Locator, MAX_CHUNKS, TAG_LEN};
use super::{
    ATTACHMENTS, AttachmentRecord, FILE_CHUNKS, ORPHAN_CHUNKS, OrphanRecord, Stored, chunk_key,
    chunk_prefix, chunk_tag, clean_file_name, clean_media_type, crosses_step, delete_orphans,
    received_bytes,
};
use crate::core::messages::find_view;
use crate::core::{Core, Event};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::store::{StoreError, Table, WriteBatch};

/// Chunks whose `Attachment` message has not come after this long are deleted (the
/// relays' default envelope expiry: it cannot come any more).
const ORPHAN_EXPIRY_MS: u64 = 21 * 24 * 3600 * 1000;

/// What a received message does to attachments: computed before the envelope's write,
/// applied inside it ([`FileEffects::write`]), its events emitted after.
#[derive(Default)]
pub(crate) struct FileEffects {
    deletes: Vec<(Table, Vec<u8>)>,
    puts: Vec<(Table, Vec<u8>, Vec<u8>)>,
    /// Progress and completion, to emit once written.
    pub events: Vec<Event>,
}

impl FileEffects {
    pub(crate) fn write(&self, batch: &mut WriteBatch<'_>) -> Result<(), StoreError> {
        for (table, key) in &self.deletes {
            batch.delete(*table, key)?;
        }
        for (table, key, value) in &self.puts {
            batch.put(*table, key, value)?;
        }
        Ok(())
    }

    fn put(&mut self, table: Table, key: &[u8], value: Vec<u8>) {
        self.puts.push((table, key.to_vec(), value));
    }

    fn put_record(&mut self, id: &MessageId, record: &AttachmentRecord) {
        if let Ok(bytes) = postcard::to_stdvec(record) {
            self.put(ATTACHMENTS, &id.0, bytes);
        }
    }

    fn delete(&mut self, table: Table, key: &[u8]) {
        self.deletes.push((table, key.to_vec()));
    }
}

/// The effects of a message from `sender` (Ed25519 identity, as its envelope proved it)
/// in `conversation`. `duplicate`: the message was seen before.
pub(crate) fn on_message(
    core: &Core,
    conversation: ConversationId,
    sender: &[u8; 32],
    message: &Message,
    duplicate: bool,
) -> Result<FileEffects, EngineError> {
    match &message.content {
        Content::Attachment(reference) if !duplicate => {
            on_reference(core, conversation, sender, message.id, reference)
        }
        Content::FileChunk {
            attachment,
            index,
            data,
        } => on_chunk(core, conversation, sender, attachment, *index, data),
        _ => Ok(FileEffects::default()),
    }
}

/// An `Attachment` message: record it, and take in any chunks that came before it.
fn on_reference(
    core: &Core,
    conversation: ConversationId,
    sender: &[u8; 32],
    id: MessageId,
    reference: &AttachmentRef,
) -> Result<FileEffects, EngineError> {
    let mut effects = FileEffects::default();
    if core.store.count(ATTACHMENTS, &id.0)? > 0 {
        return Ok(effects);
    }
    let locator = Locator::parse(&reference.locator, reference.size);
    let mut record = AttachmentRecord {
        conversation,
        from_me: false,
        sender: *sender,
        position: None,
        name: clean_file_name(&reference.name),
        media_type: clean_media_type(&reference.media_type),
        size: reference.size,
        key: reference.key,
        sha256: reference.sha256,
        locator: locator.as_ref().ok().copied(),
        received: 0,
        state: Stored::Receiving,
    };
    let tag = chunk_tag(conversation, sender, &id);
    let orphans = core.store.get_value::<OrphanRecord>(ORPHAN_CHUNKS, &id.0)?;
    if let Some(orphans) = &orphans {
        // Chunks under another tag came from someone else: dropped.
        effects.delete(ORPHAN_CHUNKS, &id.0);
        for (other, highest) in &orphans.senders {
            if other != &tag {
                for index in 0..=*highest {
                    effects.delete(FILE_CHUNKS, &chunk_key(&id, other, index));
                }
            }
        }
    }
    let stored_here = orphans
        .as_ref()
        .and_then(|o| o.senders.iter().find(|(t, _)| t == &tag))
        .map(|(_, highest)| *highest);
    match (locator, stored_here) {
        (Err(error), _) => {
            tracing::info!(%error, "received an attachment that cannot be used");
            record.key = [0; 32];
            record.state = Stored::Failed(error.to_string());
            if let Some(highest) = stored_here {
                for index in 0..=highest {
                    effects.delete(FILE_CHUNKS, &chunk_key(&id, &tag, index));
                }
            }
        }
        (Ok(_), None) => {}
        (Ok(locator), Some(highest)) => {
            let stored = core.store.scan(FILE_CHUNKS, &chunk_prefix(&id, &tag))?;
            let mut chunks: Vec<Option<&[u8]>> = vec![None; locator.chunks as usize];
            let mut bad = false;
            for (key, data) in &stored {
                let index = index_of(key);
                let fits = index.is_some_and(|i| {
                    i < locator.chunks && data.len() == locator.cipher_len(record.size, i)
                });
                match index {
                    Some(i) if fits => chunks[i as usize] = Some(data.as_slice()),
                    _ => bad = true,
                }
            }
            record.received = chunks.iter().filter(|c| c.is_some()).count() as u32;
            if bad {
                fail(&mut record, &id, BlobError::BadChunk, highest, &mut effects);
            } else if record.received == locator.chunks {
                let all: Vec<&[u8]> = chunks.into_iter().flatten().collect();
                finish(&mut record, &id, &locator, &all, &mut effects);
            }
        }
    }
    effects.put_record(&id, &record);
    Ok(effects)
}

/// A `FileChunk`: store it if it belongs, count it, and finish the file with the last.
fn on_chunk(
    core: &Core,
    conversation: ConversationId,
    sender: &[u8; 32],
    id: &MessageId,
    index: u32,
    data: &[u8],
) -> Result<FileEffects, EngineError> {
    let mut effects = FileEffects::default();
    let tag = chunk_tag(conversation, sender, id);
    let key = chunk_key(id, &tag, index);
    let Some(mut record) = core
        .store
        .get_value::<AttachmentRecord>(ATTACHMENTS, &id.0)?
    else {
        return orphan(core, id, &tag, index, data);
    };
    if record.conversation != conversation || &record.sender != sender || record.from_me {
        tracing::debug!("ignored a file chunk from someone else than the file's sender");
        return Ok(effects);
    }
    let (Stored::Receiving, Some(locator)) = (&record.state, record.locator) else {
        return Ok(effects);
    };
    if core.store.count(FILE_CHUNKS, &key)? > 0 {
        return Ok(effects);
    }
    if index >= locator.chunks || data.len() != locator.cipher_len(record.size, index) {
        fail(&mut record, id, BlobError::BadChunk, 0, &mut effects);
        effects.put_record(id, &record);
        effects
            .events
            .extend(find_view(core, id)?.map(Event::MessageUpdated));
        return Ok(effects);
    }
    effects.put(FILE_CHUNKS, &key, data.to_vec());
    record.received += 1;
    let total = u64::from(locator.chunks);
    if crosses_step(u64::from(record.received), total) {
        effects.events.push(Event::TransferProgress {
            conversation,
            message: *id,
            done: received_bytes(&record),
            total: record.size,
            upload: false,
        });
    }
    if record.received == locator.chunks {
        let stored = core.store.scan(FILE_CHUNKS, &chunk_prefix(id, &tag))?;
        let mut chunks: Vec<Option<&[u8]>> = vec![None; locator.chunks as usize];
        for (stored_key, stored_data) in &stored {
            if let Some(slot) = index_of(stored_key).and_then(|i| chunks.get_mut(i as usize)) {
                *slot = Some(stored_data.as_slice());
            }
        }
        chunks[index as usize] = Some(data);
        let all: Vec<&[u8]> = chunks.iter().flatten().copied().collect();
        if all.len() == chunks.len() {
            finish(&mut record, id, &locator, &all, &mut effects);
            effects
                .events
                .extend(find_view(core, id)?.map(Event::MessageUpdated));
        } else {
            // The count was off (it cannot be, short of a damaged store): recount.
            record.received = all.len() as u32;
        }
    }
    effects.put_record(id, &record);
    Ok(effects)
}

/// A chunk whose `Attachment` message has not come (yet): kept under its sender's tag.
fn orphan(
    core: &Core,
    id: &MessageId,
    tag: &[u8; 8],
    index: u32,
    data: &[u8],
) -> Result<FileEffects, EngineError> {
    let mut effects = FileEffects::default();
    if index >= MAX_CHUNKS || data.len() > CHUNK_SIZE as usize + TAG_LEN {
        tracing::debug!("ignored a file chunk that cannot belong to any file");
        return Ok(effects);
    }
    let key = chunk_key(id, tag, index);
    if core.store.count(FILE_CHUNKS, &key)? > 0 {
        return Ok(effects);
    }
    let mut orphans = core
        .store
        .get_value::<OrphanRecord>(ORPHAN_CHUNKS, &id.0)?
        .unwrap_or(OrphanRecord {
            first_seen: core.now(),
            senders: Vec::new(),
        });
    match orphans.senders.iter_mut().find(|(t, _)| t == tag) {
        Some((_, highest)) => *highest = (*highest).max(index),
        None => orphans.senders.push((*tag, index)),
    }
    effects.put(FILE_CHUNKS, &key, data.to_vec());
    if let Ok(bytes) = postcard::to_stdvec(&orphans) {
        effects.put(ORPHAN_CHUNKS, &id.0, bytes);
    }
    Ok(effects)
}

/// All chunks are here: check the whole, and keep it only if it is right.
fn finish(
    record: &mut AttachmentRecord,
    id: &MessageId,
    locator: &Locator,
    chunks: &[&[u8]],
    effects: &mut FileEffects,
) {
    match blob::verify(&record.key, &record.sha256, record.size, locator, chunks) {
        Ok(()) => {
            record.state = Stored::Complete;
            tracing::debug!(chunks = chunks.len(), "a file arrived complete");
        }
        Err(error) => fail(record, id, error, 0, effects),
    }
}

/// Marks an attachment failed and deletes its chunks (also any orphan indices up to
/// `highest`).
fn fail(
    record: &mut AttachmentRecord,
    id: &MessageId,
    error: BlobError,
    highest: u32,
    effects: &mut FileEffects,
) {
    tracing::info!(%error, "a received file is unusable");
    let tag = chunk_tag(record.conversation, &record.sender, id);
    let count = record.locator.map_or(0, |l| l.chunks).max(highest + 1);
    for index in 0..count {
        effects.delete(FILE_CHUNKS, &chunk_key(id, &tag, index));
    }
    // Puts come after deletes: drop any pending put of a chunk.
    effects.puts.retain(|(table, _, _)| *table != FILE_CHUNKS);
    record.state = Stored::Failed(error.to_string());
    record.key = [0; 32];
}

fn index_of(key: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = key.get(24..28)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Deletes chunks whose `Attachment` message never came (run at unlock).
pub(crate) fn prune_orphans(core: &Core) {
    let now = core.now();
    let Ok(orphans) = core.store.scan(ORPHAN_CHUNKS, b"") else {
        return;
    };
    let expired: Vec<MessageId> = orphans
        .into_iter()
        .filter_map(|(key, bytes)| {
            let record: OrphanRecord = postcard::from_bytes(&bytes).ok()?;
            let id = MessageId(key.as_slice().try_into().ok()?);
            (now.saturating_sub(record.first_seen) > ORPHAN_EXPIRY_MS).then_some(id)
        })
        .collect();
    if expired.is_empty() {
        return;
    }
    let result = core.store.write(|batch| {
        for id in &expired {
            delete_orphans(batch, id)?;
        }
        Ok(())
    });
    if let Err(error) = result {
        tracing::warn!(%error, "could not delete expired file chunks");
    }
}
