//! *Core side* (synchronous, sans-IO), the dispatch: what a received message does to a
//! conversation, for 1:1 conversations and loops alike.
//!
//! The one place where a message's content kind is dispatched. Who sent it decides,
//! once, here ([`admits`]), what may take effect:
//! - a contact we blocked: nothing in their 1:1 conversation; in a loop, their votes and
//!   answers to events still count (so that tallies agree with the other members'),
//!   nothing else;
//! - a loop member who may not post (an announcement loop, `roles.rs`): everything but
//!   posts;
//! - someone who is not a member of the loop as we know it: nothing.
//!
//! Then each kind goes to the module that owns it, which returns what it changed without
//! writing: posts and changes to the history (`messages.rs`), polls and agenda events to
//! `organized`, files to `files`, shared cards to `sharing`, 1:1 timers to `timers`. The
//! caller writes the [`Applied`] in the envelope's transaction, with its own records (the
//! contact's or the loop's), and emits its events after.
//!
//! Session-level kinds (introductions, loop invitations and join requests, rehoming, key
//! shares, signed loop changes) are not conversation content: the channel they come on
//! handles them (`inbound.rs`, `loop_inbound.rs`) before anything reaches this module.

use boucle_crypto::{Content, Message, MessageId};

use super::Core;
use super::Event;
use super::files::FileEffects;
use super::messages::{apply_change, find_view, put_sender, put_view, sender_of};
use super::organized::{Organized, Sender};
use crate::error::EngineError;
use crate::ids::{ConversationId, MemberKey};
use crate::model::{DeliveryState, MESSAGE_INDEX, MessageBody, MessageView};
use crate::store::{StoreError, WriteBatch};

/// Who sent a message, and where.
pub(crate) struct From {
    pub conversation: ConversationId,
    /// The sender's identity key, as their envelope proved it.
    pub author: MemberKey,
    /// How the sender is labelled in a loop's history (`None` in a 1:1 conversation).
    pub label: Option<String>,
}

/// The one admission rule for received conversation content (see the module's text).
pub(crate) fn admits(core: &Core, from: &From, content: &Content) -> bool {
    match from.conversation {
        ConversationId::Contact(contact) => !super::blocking::is_blocked(core, &contact),
        ConversationId::Loop(id) => {
            if !core.loops.contains_key(&id) {
                return false;
            }
            if super::blocking::blocks_identity(core, &from.author) {
                return is_answer(content);
            }
            !super::roles::is_post(content)
                || super::roles::may_post(core, from.conversation, &from.author)
        }
    }
}

/// Votes, answers to events, and their authors' closing and cancelling: what counts in
/// a tally even from a member we blocked.
fn is_answer(content: &Content) -> bool {
    matches!(
        content,
        Content::Vote { .. }
            | Content::Rsvp { .. }
            | Content::ClosePoll { .. }
            | Content::CancelEvent { .. }
    )
}

/// What a received message changed, to write in the envelope's transaction.
#[derive(Default)]
pub(crate) struct Applied {
    /// The message's id.
    id: Option<MessageId>,
    /// History entries, new or changed.
    pub views: Vec<MessageView>,
    /// The message is a new entry the user has not read (a post, a poll, an event): the
    /// caller counts it as unread, and in a 1:1 conversation acknowledges it with a
    /// delivery receipt.
    pub counted: bool,
    /// A new history entry (counted, or a timer change): in a loop, its author is
    /// recorded, so that only they may edit or delete it.
    first_arrival: Option<MemberKey>,
    organized: Organized,
    files: FileEffects,
}

impl Applied {
    /// Adds the writes to the envelope's transaction.
    pub(crate) fn write(&self, batch: &mut WriteBatch<'_>) -> Result<(), StoreError> {
        for view in &self.views {
            put_entry(batch, view)?;
        }
        if let (Some(id), Some(author)) = (&self.id, &self.first_arrival) {
            put_sender(batch, id, author)?;
        }
        self.organized.write(batch)?;
        self.files.write(batch)
    }

    /// What to tell front ends once written: a view carrying the message's own id is
    /// the new message, others are changes; then polls, events and file progress.
    pub(crate) fn events(self) -> Vec<Event> {
        let id = self.id;
        self.views
            .into_iter()
            .map(|view| {
                if Some(view.id) == id && !view.from_me {
                    Event::MessageReceived(view)
                } else {
                    Event::MessageUpdated(view)
                }
            })
            .chain(self.organized.events)
            .chain(self.files.events)
            .collect()
    }
}

/// Applies a decrypted message from `from`: the dispatch on its content kind.
pub(crate) fn apply(
    core: &mut Core,
    from: &From,
    message: &Message,
) -> Result<Applied, EngineError> {
    let mut out = Applied {
        id: Some(message.id),
        ..Applied::default()
    };
    if !admits(core, from, &message.content) {
        tracing::debug!("ignored a message its sender may not send here");
        return Ok(out);
    }
    let conversation = from.conversation;
    let duplicate = core.store.get(MESSAGE_INDEX, &message.id.0)?.is_some();
    let one_to_one = matches!(conversation, ConversationId::Contact(_));
    let post = |body| Some((body, true));
    // A new history entry, and whether it counts as unread.
    let entry: Option<(MessageBody, bool)> = match &message.content {
        _ if duplicate => None,
        Content::Text(text) | Content::Reply { text, .. } => post(MessageBody::Text(text.clone())),
        Content::Unsupported { kind, .. } => post(MessageBody::Unsupported { kind: *kind }),
        Content::Attachment(reference) => post(super::files::body(reference)),
        Content::SharedContact { card, name } => {
            let contact = match conversation {
                ConversationId::Contact(contact) => Some(contact),
                ConversationId::Loop(_) => None,
            };
            super::sharing::received(core, contact, card, name)?.and_then(post)
        }
        // In a loop, the timer is part of its signed state (`SetTimer`), not a message.
        Content::Timer { seconds }
            if one_to_one
                && super::timers::contact_timer_applies(core, conversation, message, *seconds)? =>
        {
            Some((MessageBody::TimerChanged { seconds: *seconds }, false))
        }
        _ => None,
    };
    if let Some((body, counted)) = entry {
        core.counters.message += 1;
        out.views.push(MessageView {
            id: message.id,
            conversation,
            from_me: false,
            sender: from.label.clone(),
            sent_at: message.sent_at.0,
            received_at: core.now(),
            body,
            reply_to: match &message.content {
                Content::Reply { to, .. } => Some(*to),
                _ => None,
            },
            reactions: Vec::new(),
            edited: false,
            deleted: false,
            delivery: None,
            position: core.counters.message,
        });
        out.counted = counted;
        out.first_arrival = Some(from.author);
    }
    match &message.content {
        Content::Reaction { to, .. }
        | Content::Edit { target: to, .. }
        | Content::Delete { target: to } => {
            if let Some(mut view) = find_view(core, to)?
                && view.conversation == conversation
                && (matches!(message.content, Content::Reaction { .. })
                    || authored(core, from, &view)?)
            {
                apply_change(&mut view, &message.content, false);
                out.views.push(view);
            }
        }
        // Delivery receipts are 1:1 only: in a loop nobody learns who received what.
        Content::Receipt { ids, .. } if one_to_one => {
            for id in ids {
                if let Some(mut view) = find_view(core, id)?
                    && view.from_me
                    && view.conversation == conversation
                    && view.delivery != Some(DeliveryState::Delivered)
                {
                    view.delivery = Some(DeliveryState::Delivered);
                    out.views.push(view);
                }
            }
        }
        _ => {}
    }
    // Polls and agenda events: their own tables; a new one is also a history entry.
    let sender = match conversation {
        ConversationId::Contact(_) => Sender::contact(from.author.0),
        ConversationId::Loop(id) => Sender::member(
            core,
            id,
            &from.author.0,
            from.label.clone().unwrap_or_default(),
        ),
    };
    out.organized = super::organized::receive(core, conversation, &sender, message)?;
    if out.organized.visible {
        out.counted = true;
        out.first_arrival = Some(from.author);
    }
    out.files = super::files::on_message(core, conversation, &from.author.0, message, duplicate)?;
    if one_to_one {
        // Senders are recorded for loops only: in a 1:1 conversation, whatever is not
        // ours is the contact's.
        out.first_arrival = None;
    }
    Ok(out)
}

/// Whether `from` wrote `view`: only a message's author edits or deletes it (in a loop,
/// by key: names can repeat).
fn authored(core: &Core, from: &From, view: &MessageView) -> Result<bool, EngineError> {
    if view.from_me {
        return Ok(false);
    }
    Ok(match from.conversation {
        ConversationId::Contact(_) => true,
        ConversationId::Loop(_) => sender_of(core, &view.id)? == Some(from.author),
    })
}

/// Stores a history entry; a deleted one takes its file with it.
pub(crate) fn put_entry(batch: &mut WriteBatch<'_>, view: &MessageView) -> Result<(), StoreError> {
    if view.deleted {
        super::files::delete_attachment_data(batch, &view.id)?;
    }
    put_view(batch, view)
}

/// Deletes, in the same write, what features keep about a message deleted for good (an
/// expired one, `timers::sweep`): its reactions, edits and delivery state live in its
/// history record, deleted by the caller.
pub(crate) fn erase(
    batch: &mut WriteBatch<'_>,
    conversation: ConversationId,
    message: MessageId,
) -> Result<(), StoreError> {
    // A poll or an agenda event lives on in its own table: it disappears with its
    // message, votes and answers included.
    let key = super::organized::item_key(conversation, message);
    batch.delete(crate::model::POLLS, &key)?;
    batch.delete(crate::model::EVENTS, &key)?;
    // A file goes with its message: chunks, upload state, everything but a tombstone.
    super::files::delete_attachment_data(batch, &message)?;
    super::messages::forget_sender(batch, &message)?;
    // Not sent later to a contact who joins a loop after it disappeared here.
    super::loops::kept::forget(batch, &message.0)?;
    Ok(())
}
