//! Sending a file: encrypt, queue the reference and every chunk in one write, then
//! follow the outbox as relays store the chunks.

use super::{
    ATTACHMENTS, AttachmentRecord, Stored, UPLOADS, UploadRecord, crosses_step, sent_bytes,
};
use crate::core::Event;
use crate::core::messages::decode_view;
use crate::model::{DeliveryState, MESSAGES, MessageView, OUTBOX, message_key};
use crate::store::{StoreError, WriteBatch};

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
