//! Files in conversations, for front ends: sending one (read from disk or given), the
//! state of a transfer, and saving what arrived. What files are made of, and how their
//! chunks are received, is `crate::core::files`.

use std::path::Path;

use boucle_crypto::{AttachmentRef, Content, MessageId};
use zeroize::Zeroizing;

use super::{Engine, Inner};
use crate::core::files::blob::{self, CHUNK_SIZE};
pub(crate) use crate::core::files::*;
use crate::core::messages::{encrypt_for, new_message, put_view};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{DeliveryState, MessageBody, MessageView, message_key};
use crate::store::{StoreError, WriteBatch};

impl Engine {
    /// Sends a file (at most [`MAX_FILE_SIZE`] bytes) to a conversation. It is
    /// encrypted on a blocking thread and queued at once, in order with other messages;
    /// [`crate::Event::TransferProgress`] then reports the upload, and
    /// [`crate::Event::MessageUpdated`] its end. `media_type` is guessed from the name
    /// (and the first bytes, for images) when not given.
    pub async fn send_file(
        &self,
        conversation: ConversationId,
        name: &str,
        media_type: Option<&str>,
        data: Vec<u8>,
    ) -> Result<MessageView, EngineError> {
        let size = data.len() as u64;
        if size > MAX_FILE_SIZE {
            return Err(EngineError::FileTooLarge { size });
        }
        check_can_send(&self.inner, conversation)?;
        let name = clean_file_name(name);
        let media_type = match media_type {
            Some(given) => clean_media_type(given),
            None => guess_media_type(&name, &data),
        };
        let inner = self.inner.clone();
        let data = zeroize::Zeroizing::new(data);
        tokio::task::spawn_blocking(move || {
            queue_file(&inner, conversation, name, media_type, data)
        })
        .await
        .map_err(|_| EngineError::Crypto("the file could not be prepared".into()))?
    }

    /// Sends the file at `path` (see [`Engine::send_file`]); its size is checked before
    /// it is read.
    pub async fn send_file_from(
        &self,
        conversation: ConversationId,
        path: &Path,
    ) -> Result<MessageView, EngineError> {
        let file_error = |e: std::io::Error| EngineError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let metadata = tokio::fs::metadata(path).await.map_err(file_error)?;
        if !metadata.is_file() {
            return Err(EngineError::File {
                path: path.display().to_string(),
                reason: "not a file".into(),
            });
        }
        if metadata.len() > MAX_FILE_SIZE {
            return Err(EngineError::FileTooLarge {
                size: metadata.len(),
            });
        }
        let data = tokio::fs::read(path).await.map_err(file_error)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.send_file(conversation, &name, None, data).await
    }

    /// The file attached to a message, and how far it has got.
    pub fn attachment(
        &self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<AttachmentView, EngineError> {
        let core = self.inner.core()?;
        let record = record_in(&core.store, conversation, &message)?;
        let state = match &record.state {
            Stored::Sending => {
                let upload = record.position.and_then(|position| {
                    core.store
                        .get_value::<UploadRecord>(
                            UPLOADS,
                            &message_key(&conversation.key(), position),
                        )
                        .ok()
                        .flatten()
                });
                let done = upload.map_or(0, |u| sent_bytes(&u));
                TransferState::Uploading {
                    done,
                    total: record.size,
                }
            }
            Stored::Receiving => TransferState::Downloading {
                done: received_bytes(&record),
                total: record.size,
            },
            Stored::Complete => TransferState::Complete,
            Stored::Failed(reason) => TransferState::Failed(reason.clone()),
            Stored::Deleted => return Err(EngineError::NoAttachment),
        };
        Ok(AttachmentView {
            message,
            conversation,
            from_me: record.from_me,
            name: record.name,
            media_type: record.media_type,
            size: record.size,
            state,
        })
    }

    /// The content of an attachment, decrypted in memory (for previews): a received one
    /// once it is complete, one of ours at any time (we keep what we send).
    pub fn attachment_bytes(
        &self,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Vec<u8>, EngineError> {
        let core = self.inner.core()?;
        let record = record_in(&core.store, conversation, &message)?;
        match &record.state {
            Stored::Deleted => return Err(EngineError::NoAttachment),
            // Ours is complete here from the start, however its upload goes.
            _ if record.from_me => {}
            Stored::Complete => {}
            Stored::Failed(reason) => {
                return Err(EngineError::AttachmentUnavailable(reason.clone()));
            }
            Stored::Sending | Stored::Receiving => {
                return Err(EngineError::AttachmentUnavailable(
                    "it has not fully arrived yet".into(),
                ));
            }
        }
        let locator = record
            .locator
            .ok_or_else(|| EngineError::AttachmentUnavailable("it is not valid".into()))?;
        let tag = chunk_tag(conversation, &record.sender, &message);
        let chunks = core
            .store
            .scan(FILE_CHUNKS, &chunk_prefix(&message, &tag))?;
        drop(core);
        let plain = blob::open(
            &record.key,
            record.size,
            &locator,
            chunks.iter().map(|(_, data)| data.as_slice()),
        )
        .map_err(|e| EngineError::AttachmentUnavailable(e.to_string()))?;
        Ok(plain.to_vec())
    }

    /// Saves an attachment (as [`Engine::attachment_bytes`] gives it) to `path`,
    /// replacing any file there; it is written under a temporary name first, so that a
    /// partial file never appears. Returns its size.
    pub async fn save_attachment(
        &self,
        conversation: ConversationId,
        message: MessageId,
        path: &Path,
    ) -> Result<u64, EngineError> {
        let engine = self.clone();
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let data = zeroize::Zeroizing::new(engine.attachment_bytes(conversation, message)?);
            write_file(&path, &data).map_err(|e| EngineError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            Ok(data.len() as u64)
        })
        .await
        .map_err(|_| EngineError::Crypto("the file could not be saved".into()))?
    }
}

fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the destination has no file name"))?;
    let mut temporary = name.to_owned();
    temporary.push(".boucle-part");
    let temporary = path.with_file_name(temporary);
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Fails early (before the file is encrypted) if we cannot write to the conversation.
pub(crate) fn check_can_send(
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
            let me = crate::ids::MemberKey::of(&core.account.identity_keys());
            if crate::engine::roles::may_post(&core, conversation, &me) {
                Ok(())
            } else {
                Err(EngineError::NotAllowedToPost)
            }
        }
    }
}

/// Encrypts and queues a file (runs on a blocking thread).
pub(crate) fn queue_file(
    inner: &Inner,
    conversation: ConversationId,
    name: String,
    media_type: String,
    data: Zeroizing<Vec<u8>>,
) -> Result<MessageView, EngineError> {
    let size = data.len() as u64;
    let key = {
        let core = inner.core()?;
        let mut key = Zeroizing::new([0u8; 32]);
        rand::Rng::fill_bytes(&mut *core.rng(), &mut key[..]);
        key
    };
    let sealed =
        blob::seal(&data, CHUNK_SIZE, key).map_err(|_| EngineError::FileTooLarge { size })?;
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
    crate::core::messages::persist_with(&mut core, conversation, None, items, extra)?;
    drop(core);
    tracing::debug!(chunks = own_chunks.len(), "file queued");
    inner.changed();
    Ok(view)
}
