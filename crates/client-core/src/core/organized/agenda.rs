//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! The agenda: events in loops and 1:1 conversations, their answers, and the calendar
//! export (`protocol-spec/organizing.md` §2).

use boucle_crypto::MessageId;

use super::{Sender, load_event};
use crate::error::EngineError;
use crate::ids::ConversationId;

/// Only an event's author or an admin may edit or cancel it, and not once cancelled.
pub(crate) fn organizer_check(
    core: &crate::core::Core,
    conversation: ConversationId,
    event: MessageId,
    me: &Sender,
) -> Result<(), EngineError> {
    let record = load_event(core, conversation, event)?;
    let created = record.state.created().ok_or(EngineError::UnknownEvent)?;
    if !(me.admin || created.author == me.key) {
        return Err(EngineError::NotOrganizer);
    }
    if record.state.cancelled() {
        return Err(EngineError::EventCancelled);
    }
    Ok(())
}
