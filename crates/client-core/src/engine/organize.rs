//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::organized`.
//!
//! Polls and agenda events in conversations: what arrives or leaves is folded into each
//! item's derived state (tables `polls` and `events`, keyed by conversation ‖ item id)
//! with the rules of [`crate::organize`]. Only the items themselves appear in the
//! history; votes, closes, edits, cancellations and answers change the derived state.
//!
//! Our own messages go through the same rules as everyone's, before they are sent, so
//! what we show is what every member computes.

use boucle_crypto::{Content, MessageId};

use super::messages::{encrypt_for, new_message, persist_with};
use super::{Core, Inner};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{DeliveryState, MessageView};

pub(crate) use crate::core::organized::*;

/// Sends an organizing message of ours: `check` runs first (under the same lock), then
/// the message is folded in here, encrypted, and stored with its effects and outbox
/// items in one write. Returns the message's id and, for a new item, its history entry.
pub(crate) fn send(
    inner: &Inner,
    conversation: ConversationId,
    check: impl FnOnce(&Core, &Sender) -> Result<(), EngineError>,
    content: Content,
) -> Result<(MessageId, Option<MessageView>), EngineError> {
    let mut core = inner.core()?;
    let me = Sender::me(&core, conversation);
    if let ConversationId::Loop(_) = conversation
        && !me.member
    {
        return Err(EngineError::NotInLoop);
    }
    check(&core, &me)?;
    let message = new_message(&core, content);
    let mut out = fold(&mut core, conversation, &me, &message)?;
    let mut view = match out.created.take() {
        Some((body, edited)) => {
            core.counters.message += 1;
            Some(MessageView {
                id: message.id,
                conversation,
                from_me: true,
                sender: None,
                sent_at: message.sent_at.0,
                received_at: core.now(),
                body,
                reply_to: None,
                reactions: Vec::new(),
                edited,
                deleted: false,
                delivery: Some(DeliveryState::Queued),
                position: core.counters.message,
            })
        }
        None => None,
    };
    let visible = view.as_ref().map(|v| (conversation.key(), v.position));
    let items = encrypt_for(&mut core, conversation, &message, visible)?;
    if let Some(view) = &mut view {
        view.delivery = Some(super::kept::initial_delivery(&core, &items, visible));
    }
    persist_with(&mut core, conversation, view.as_ref(), items, |batch| {
        out.write(batch)
    })?;
    drop(core);
    inner.changed();
    for event in out.events {
        inner.emit(event);
    }
    Ok((message.id, view))
}
