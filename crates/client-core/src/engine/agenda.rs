//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::agenda`.
//!
//! The agenda: events in loops and 1:1 conversations, their answers, and the calendar
//! export (`protocol-spec/organizing.md` §2).

use boucle_crypto::{Content, MessageId, RsvpAnswer};

use super::Engine;
use super::organize::{
    EventRecord, Names, Sender, conversation_name, event_view, load_event, may_create, send,
};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{EVENTS, MessageView};
use crate::organize::{EventDetails, EventView, check_event, ics};
use crate::store::StoreError;

pub(crate) use crate::core::organized::agenda::*;

impl Engine {
    /// Plans an event in a conversation. Returns its entry in the history; its id is the
    /// event's id.
    pub fn create_event(
        &self,
        conversation: ConversationId,
        details: &EventDetails,
    ) -> Result<MessageView, EngineError> {
        let spec = details.to_spec();
        check_event(&spec).map_err(EngineError::InvalidEvent)?;
        let check = |core: &super::Core, me: &Sender| {
            if may_create(core, conversation, me) {
                Ok(())
            } else {
                Err(EngineError::NotAllowedToPost)
            }
        };
        let (_, view) = send(&self.inner, conversation, check, Content::Event(spec))?;
        view.ok_or(EngineError::UnknownEvent)
    }

    /// Replaces an event's details (its author or an admin).
    pub fn edit_event(
        &self,
        conversation: ConversationId,
        event: MessageId,
        details: &EventDetails,
    ) -> Result<EventView, EngineError> {
        let spec = details.to_spec();
        check_event(&spec).map_err(EngineError::InvalidEvent)?;
        let check =
            |core: &super::Core, me: &Sender| organizer_check(core, conversation, event, me);
        send(
            &self.inner,
            conversation,
            check,
            Content::EditEvent { event, spec },
        )?;
        self.event(conversation, event)
    }

    /// Cancels an event, for good (its author or an admin).
    pub fn cancel_event(
        &self,
        conversation: ConversationId,
        event: MessageId,
    ) -> Result<EventView, EngineError> {
        let check =
            |core: &super::Core, me: &Sender| organizer_check(core, conversation, event, me);
        send(
            &self.inner,
            conversation,
            check,
            Content::CancelEvent { event },
        )?;
        self.event(conversation, event)
    }

    /// Answers an event, replacing our earlier answer.
    pub fn rsvp(
        &self,
        conversation: ConversationId,
        event: MessageId,
        answer: RsvpAnswer,
    ) -> Result<EventView, EngineError> {
        let check = |core: &super::Core, _: &Sender| {
            let record = load_event(core, conversation, event)?;
            if record.state.created().is_none() {
                return Err(EngineError::UnknownEvent);
            }
            if record.state.cancelled() {
                return Err(EngineError::EventCancelled);
            }
            Ok(())
        };
        send(
            &self.inner,
            conversation,
            check,
            Content::Rsvp { event, answer },
        )?;
        self.event(conversation, event)
    }

    /// An event of a conversation, with its answers.
    pub fn event(
        &self,
        conversation: ConversationId,
        event: MessageId,
    ) -> Result<EventView, EngineError> {
        let core = self.inner.core()?;
        let record = load_event(&core, conversation, event)?;
        let names = Names::load(&core)?;
        let me = Sender::me(&core, conversation);
        let name = conversation_name(&core, conversation);
        event_view(&record, event, &names, &me, name).ok_or(EngineError::UnknownEvent)
    }

    /// The agenda of one conversation, or of all of them (`None`): upcoming events first,
    /// soonest first (an event is upcoming until it ends), then past ones, latest first.
    /// Cancelled events are included, marked.
    pub fn agenda(
        &self,
        conversation: Option<ConversationId>,
    ) -> Result<Vec<EventView>, EngineError> {
        let core = self.inner.core()?;
        let names = Names::load(&core)?;
        let now = core.now();
        let prefix = conversation.map(|c| c.key().to_vec()).unwrap_or_default();
        let mut out = Vec::new();
        for (key, bytes) in core.store.scan(EVENTS, &prefix)? {
            let Some(id) = key.get(16..32).and_then(|id| <[u8; 16]>::try_from(id).ok()) else {
                continue;
            };
            let record: EventRecord = postcard::from_bytes(&bytes)
                .map_err(|_| StoreError::Corrupt("an event record is unreadable".into()))?;
            if conversation.is_some_and(|c| c != record.conversation) {
                continue;
            }
            let me = Sender::me(&core, record.conversation);
            let name = conversation_name(&core, record.conversation);
            out.extend(event_view(&record, MessageId(id), &names, &me, name));
        }
        out.sort_by_key(|e| {
            let end = e.details.ends_at.unwrap_or(e.details.starts_at);
            let past = end < now;
            let order = if past {
                u64::MAX - e.details.starts_at
            } else {
                e.details.starts_at
            };
            (past, order, e.id)
        });
        Ok(out)
    }

    /// These events as an iCalendar (`.ics`) file for calendar applications: times in
    /// UTC, cancelled events marked `STATUS:CANCELLED`.
    pub fn export_ics(&self, events: &[EventView]) -> Result<String, EngineError> {
        let now = self.inner.core()?.now();
        Ok(ics::calendar(events, now))
    }
}
