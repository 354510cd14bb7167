//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::messages`.
//!
//! Writing messages (encrypted and sealed when queued, so the outbox holds only
//! ciphertext and the ratchet order is the queue order), and reading history.

use boucle_crypto::{Content, MessageId};

use super::{Engine, Event, loops};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{
    CONTACTS, DeliveryState, LOOPS, MESSAGES, MessageBody, MessageView, message_key,
};

pub(crate) use crate::core::messages::*;

impl Engine {
    /// Sends a text message.
    pub fn send_text(
        &self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<MessageView, EngineError> {
        self.compose(conversation, Content::Text(text.to_owned()))
    }

    /// Replies to a message.
    pub fn reply(
        &self,
        conversation: ConversationId,
        to: MessageId,
        text: &str,
    ) -> Result<MessageView, EngineError> {
        self.compose(
            conversation,
            Content::Reply {
                to,
                text: text.to_owned(),
            },
        )
    }

    /// Adds (or with `remove`, takes back) a reaction to a message.
    pub fn react(
        &self,
        conversation: ConversationId,
        to: MessageId,
        emoji: &str,
        remove: bool,
    ) -> Result<MessageView, EngineError> {
        self.change(
            conversation,
            to,
            Content::Reaction {
                to,
                emoji: emoji.to_owned(),
                remove,
            },
        )
    }

    /// Replaces the text of one of our messages.
    pub fn edit(
        &self,
        conversation: ConversationId,
        target: MessageId,
        text: &str,
    ) -> Result<MessageView, EngineError> {
        self.change(
            conversation,
            target,
            Content::Edit {
                target,
                text: text.to_owned(),
            },
        )
    }

    /// Deletes one of our messages, here and for the recipient.
    pub fn delete(
        &self,
        conversation: ConversationId,
        target: MessageId,
    ) -> Result<MessageView, EngineError> {
        self.change(conversation, target, Content::Delete { target })
    }

    /// Messages of a conversation, oldest first: the `limit` latest before position
    /// `before` (all latest if `None`). Page backwards with the first result's position.
    pub fn history(
        &self,
        conversation: ConversationId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageView>, EngineError> {
        let core = self.inner.core()?;
        let prefix = conversation.key();
        let start = message_key(&prefix, 0);
        let end = message_key(&prefix, before.unwrap_or(u64::MAX));
        let mut out = Vec::new();
        for (_, bytes) in core.store.range(MESSAGES, &start, &end, limit, true)? {
            out.push(decode_view(&bytes)?);
        }
        out.reverse();
        relabel(&core, &mut out)?;
        Ok(out)
    }

    /// Marks a conversation read.
    pub fn mark_read(&self, conversation: ConversationId) -> Result<(), EngineError> {
        let core = self.inner.core()?;
        match conversation {
            ConversationId::Contact(id) => {
                let mut record = core.contact_record(&id)?;
                if record.unread > 0 {
                    record.unread = 0;
                    core.store
                        .write(|batch| batch.put_value(CONTACTS, &id.0, &record))?;
                }
            }
            ConversationId::Loop(id) => {
                let mut record = loops::loop_record(&core, id)?;
                if record.unread > 0 {
                    record.unread = 0;
                    core.store
                        .write(|batch| batch.put_value(LOOPS, &id.0, &record))?;
                }
            }
        }
        Ok(())
    }

    fn compose(
        &self,
        conversation: ConversationId,
        content: Content,
    ) -> Result<MessageView, EngineError> {
        let body = match &content {
            Content::Text(text) | Content::Reply { text, .. } => MessageBody::Text(text.clone()),
            _ => MessageBody::Unsupported { kind: 0 },
        };
        self.compose_body(conversation, content, body)
    }

    /// Sends a new message shown here with `body`: stored, encrypted and queued in one
    /// write. Refused in an announcement loop unless we are an admin.
    pub(crate) fn compose_body(
        &self,
        conversation: ConversationId,
        content: Content,
        body: MessageBody,
    ) -> Result<MessageView, EngineError> {
        let reply_to = match &content {
            Content::Reply { to, .. } => Some(*to),
            _ => None,
        };
        let mut core = self.inner.core()?;
        super::roles::check_may_post(&core, conversation, &content)?;
        let message = new_message(&core, content);
        core.counters.message += 1;
        let position = core.counters.message;
        let mut view = MessageView {
            id: message.id,
            conversation,
            from_me: true,
            sender: None,
            sent_at: message.sent_at.0,
            received_at: core.now(),
            body,
            reply_to,
            reactions: Vec::new(),
            edited: false,
            deleted: false,
            delivery: Some(DeliveryState::Queued),
            position,
        };
        let visible = Some((conversation.key(), position));
        let items = encrypt_for(&mut core, conversation, &message, visible)?;
        view.delivery = Some(super::kept::initial_delivery(&core, &items, visible));
        persist(&mut core, conversation, Some(&view), items)?;
        drop(core);
        self.inner.changed();
        Ok(view)
    }

    /// Sends a change to an existing message (reaction, edit, delete) and applies it here.
    fn change(
        &self,
        conversation: ConversationId,
        target: MessageId,
        content: Content,
    ) -> Result<MessageView, EngineError> {
        let mut core = self.inner.core()?;
        super::roles::check_may_post(&core, conversation, &content)?;
        let Some(mut view) = find_view(&core, &target)? else {
            return Err(EngineError::UnknownMessage);
        };
        if view.conversation != conversation {
            return Err(EngineError::UnknownMessage);
        }
        if matches!(content, Content::Edit { .. } | Content::Delete { .. }) && !view.from_me {
            return Err(EngineError::NotYours);
        }
        apply_change(&mut view, &content, true);
        let message = new_message(&core, content);
        let items = encrypt_for(&mut core, conversation, &message, None)?;
        // A deleted message takes its file with it, as when its author deletes it.
        let deleted = view.deleted;
        persist_with(&mut core, conversation, Some(&view), items, |batch| {
            if deleted {
                crate::core::files::delete_attachment_data(batch, &target)?;
            }
            Ok(())
        })?;
        drop(core);
        self.inner.changed();
        self.inner.emit(Event::MessageUpdated(view.clone()));
        Ok(view)
    }
}
