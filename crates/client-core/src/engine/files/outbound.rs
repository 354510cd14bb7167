//! Sending a file: encrypt, queue the reference and every chunk in one write, then
//! follow the outbox as relays store the chunks.

use boucle_crypto::{AttachmentRef, Content};
use zeroize::Zeroizing;

use super::blob::{self, CHUNK_SIZE};
use super::{
    ATTACHMENTS, AttachmentRecord, FILE_CHUNKS, Stored, UPLOADS, UploadRecord, chunk_key,
    chunk_tag, crosses_step, sent_bytes,
};
use crate::engine::messages::{decode_view, encrypt_for, new_message, put_view};
use crate::engine::{Core, Event, Inner, loops};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{
    CONTACTS, DeliveryState, MESSAGES, MessageBody, MessageView, OUTBOX, OutboxRecord, SESSIONS,
    message_key,
};
use crate::store::{StoreError, WriteBatch};

/// Fails early (before the file is encrypted) if we cannot write to the conversation.
pub(super) fn check_can_send(
    inner: &Inner,
    conversation: ConversationId,
) -> Result<(), EngineError> {
    let core = inner.core()?;
    match conversation {
        ConversationId::Contact(contact) => {
            core.contact_record(&contact)?;
            if crate::engine::blocking::is_blocked(&core, &contact) {
                return Err(EngineError::Blocked);
            }
            Ok(())
        }
        ConversationId::Loop(id) => {
            if !core.loops.contains_key(&id) {
                return Err(EngineError::NotInLoop);
            }
            let me = core.account.identity_keys().ed25519;
            if crate::engine::roles::may_post(&core, conversation, &me) {
                Ok(())
            } else {
                Err(EngineError::NotAllowedToPost)
            }
        }
    }
}

/// Encrypts and queues a file (runs on a blocking thread).
pub(super) fn queue_file(
    inner: &Inner,
    conversation: ConversationId,
    name: String,
    media_type: String,
    data: Zeroizing<Vec<u8>>,
) -> Result<MessageView, EngineError> {
    let size = data.len() as u64;
    let sealed = blob::seal(&data, CHUNK_SIZE).map_err(|_| EngineError::FileTooLarge { size })?;
    drop(data);
    check_can_send(inner, conversation)?;
    let mut core = inner.core()?;
    let reference = AttachmentRef {
        locator: sealed.locator.to_bytes(),
        key: *sealed.key,
        sha256: sealed.sha256,
        size,
        media_type: media_type.clone(),
        name: name.clone(),
    };
    let message = new_message(&core, Content::Attachment(reference));
    let id = message.id;
    core.counters.message += 1;
    let position = core.counters.message;
    let mut view = MessageView {
        id,
        conversation,
        from_me: true,
        sender: None,
        sent_at: message.sent_at.0,
        received_at: core.now(),
        body: MessageBody::Attachment {
            name: name.clone(),
            media_type: media_type.clone(),
            size,
        },
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: Some(DeliveryState::Queued),
        position,
    };
    // The chunks' items carry the message's place too: a chunk a relay refuses for good
    // marks the message failed.
    let visible = Some((conversation.key(), position));
    let mut items = encrypt_for(&mut core, conversation, &message, visible)?;
    view.delivery = Some(crate::engine::kept::initial_delivery(
        &core, &items, visible,
    ));
    drop(message);
    let mut chunk_items = Vec::new();
    let mut own_chunks = Vec::with_capacity(sealed.chunks.len());
    for (index, data) in (0u32..).zip(sealed.chunks) {
        let chunk = new_message(
            &core,
            Content::FileChunk {
                attachment: id,
                index,
                data,
            },
        );
        for item in encrypt_for(&mut core, conversation, &chunk, visible)? {
            // Key shares (a rotation on the way) carry no message.
            if item.message.is_some() {
                chunk_items.push(items.len() as u64);
            }
            items.push(item);
        }
        if let Content::FileChunk { data, .. } = chunk.content {
            own_chunks.push(data);
        }
    }
    // `queue` numbers the items from the next outbox counter on, in order.
    let first = core.counters.outbox + 1;
    let pending: Vec<u64> = chunk_items.iter().map(|i| first + i).collect();
    let me = core.account.identity_keys().ed25519;
    let tag = chunk_tag(conversation, &me, &id);
    let record = AttachmentRecord {
        conversation,
        from_me: true,
        sender: me,
        position: Some(position),
        name,
        media_type,
        size,
        key: *sealed.key,
        sha256: sealed.sha256,
        locator: Some(sealed.locator),
        received: sealed.locator.chunks,
        state: if pending.is_empty() {
            Stored::Complete
        } else {
            Stored::Sending
        },
    };
    let upload = UploadRecord {
        message: id,
        conversation,
        size,
        total: u32::try_from(pending.len()).unwrap_or(u32::MAX),
        pending,
    };
    let extra = |batch: &mut WriteBatch<'_>| -> Result<(), StoreError> {
        put_view(batch, &view)?;
        batch.put_value(ATTACHMENTS, &id.0, &record)?;
        if !upload.pending.is_empty() {
            batch.put_value(
                UPLOADS,
                &message_key(&conversation.key(), position),
                &upload,
            )?;
        }
        for (index, data) in (0u32..).zip(&own_chunks) {
            batch.put(FILE_CHUNKS, &chunk_key(&id, &tag, index), data)?;
        }
        Ok(())
    };
    persist_with(&mut core, conversation, items, extra)?;
    drop(core);
    tracing::debug!(chunks = own_chunks.len(), "file queued");
    inner.outbox_wake.notify_one();
    Ok(view)
}

/// Stores the advanced session state, the outbox items and `extra`, in one write (as
/// `messages::persist` does for one message).
fn persist_with(
    core: &mut Core,
    conversation: ConversationId,
    items: Vec<OutboxRecord>,
    extra: impl FnOnce(&mut WriteBatch<'_>) -> Result<(), StoreError>,
) -> Result<(), EngineError> {
    let now = core.now();
    match conversation {
        ConversationId::Contact(contact) => {
            let mut record = core.contact_record(&contact)?;
            record.last_activity = now;
            let session = core.session_pickle(&contact).unwrap_or_default();
            let Core {
                store, counters, ..
            } = &mut *core;
            store.write(|batch| {
                extra(batch)?;
                batch.put(SESSIONS, &contact.0, &session)?;
                batch.put_value(CONTACTS, &contact.0, &record)?;
                loops::queue(counters, batch, items)
            })?;
        }
        ConversationId::Loop(id) => {
            let mut record = loops::loop_record(core, id)?;
            record.last_activity = now;
            loops::commit_loop(core, id, &mut record, items, extra)?;
        }
    }
    Ok(())
}

/// Whether an outbox item is still queued (a deleted message's upload is withdrawn).
pub(crate) fn still_queued(inner: &Inner, key: &[u8]) -> bool {
    inner
        .core()
        .ok()
        .and_then(|core| core.store.count(OUTBOX, key).ok())
        .is_none_or(|n| n > 0)
}

/// Called by the outbox, inside the write that removes item `key`, with the state the
/// item ended in. For a chunk of one of our uploads: counts it, reports progress, ends
/// the upload (complete, or failed: the rest is withdrawn). Returns `true` when the item
/// was a chunk that was stored (its message's delivery state is left alone).
pub(crate) fn on_outbox_done(
    batch: &mut WriteBatch<'_>,
    key: &[u8],
    message: Option<([u8; 16], u64)>,
    state: &DeliveryState,
    events: &mut Vec<Event>,
) -> Result<bool, StoreError> {
    let Some((conversation, position)) = message else {
        return Ok(false);
    };
    let upload_key = message_key(&conversation, position);
    let Some(mut upload) = batch
        .get(UPLOADS, &upload_key)?
        .and_then(|bytes| postcard::from_bytes::<UploadRecord>(&bytes).ok())
    else {
        return Ok(false);
    };
    let Ok(counter) = <[u8; 8]>::try_from(key).map(u64::from_be_bytes) else {
        return Ok(false);
    };
    let Some(at) = upload.pending.iter().position(|p| *p == counter) else {
        return Ok(false);
    };
    upload.pending.remove(at);
    let view = |batch: &mut WriteBatch<'_>| -> Result<Option<MessageView>, StoreError> {
        Ok(batch
            .get(MESSAGES, &upload_key)?
            .and_then(|bytes| decode_view(&bytes).ok()))
    };
    if let DeliveryState::Failed(reason) = state {
        tracing::info!("a file could not be sent; the rest of it is withdrawn");
        for item in &upload.pending {
            batch.delete(OUTBOX, &item.to_be_bytes())?;
        }
        batch.delete(UPLOADS, &upload_key)?;
        set_state(batch, &upload, Stored::Failed(reason.clone()))?;
        events.extend(view(batch)?.map(Event::MessageUpdated));
        return Ok(false);
    }
    let done = u64::from(upload.total).saturating_sub(upload.pending.len() as u64);
    if crosses_step(done, u64::from(upload.total)) {
        events.push(Event::TransferProgress {
            conversation: upload.conversation,
            message: upload.message,
            done: sent_bytes(&upload),
            total: upload.size,
            upload: true,
        });
    }
    if upload.pending.is_empty() {
        batch.delete(UPLOADS, &upload_key)?;
        set_state(batch, &upload, Stored::Complete)?;
        events.extend(view(batch)?.map(Event::MessageUpdated));
    } else {
        batch.put_value(UPLOADS, &upload_key, &upload)?;
    }
    Ok(true)
}

fn set_state(
    batch: &mut WriteBatch<'_>,
    upload: &UploadRecord,
    state: Stored,
) -> Result<(), StoreError> {
    let Some(mut record) = batch
        .get(ATTACHMENTS, &upload.message.0)?
        .and_then(|bytes| postcard::from_bytes::<AttachmentRecord>(&bytes).ok())
    else {
        return Ok(());
    };
    if record.state == Stored::Sending {
        record.state = state;
        batch.put_value(ATTACHMENTS, &upload.message.0, &record)?;
    }
    Ok(())
}
