//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Polls and agenda events in conversations: what arrives or leaves is folded into each
//! item's derived state (tables `polls` and `events`, keyed by conversation ‖ item id)
//! with the rules of [`crate::organize`]. Only the items themselves appear in the
//! history; votes, closes, edits, cancellations and answers change the derived state.
//!
//! Our own messages go through the same rules as everyone's, before they are sent, so
//! what we show is what every member computes.

pub(crate) mod agenda;

use boucle_crypto::{Content, Message, MessageId};
use serde::{Deserialize, Serialize};

use super::loops::{contacts_by_identity, loop_record};
use super::messages::{find_view, put_view};
use super::{Core, Event};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{EVENTS, MESSAGE_INDEX, MessageBody, MessageView, POLLS};
use crate::organize::event::EventState;
use crate::organize::poll::PollState;
use crate::organize::{
    EventDetails, EventView, Participant, PersonKey, PollOption, PollView, RsvpCounts, Stamp,
    check_event, check_poll, short,
};
use crate::store::{StoreError, WriteBatch};

/// Who sent an organizing message, and what they may do where it was sent.
pub(crate) struct Sender {
    pub key: PersonKey,
    /// An admin of the conversation (in a 1:1 conversation, both people are).
    pub admin: bool,
    /// A member of the conversation (messages from anyone else are ignored).
    pub member: bool,
    /// How a new item from them is labelled in a loop's history.
    pub label: Option<String>,
}

impl Sender {
    /// The contact of a 1:1 conversation.
    pub(crate) fn contact(identity: [u8; 32]) -> Sender {
        Sender {
            key: PersonKey(identity),
            admin: true,
            member: true,
            label: None,
        }
    }

    /// A loop member (as the loop's state says now), labelled as in the history.
    pub(crate) fn member(
        core: &Core,
        id: boucle_crypto::LoopId,
        identity: &[u8; 32],
        label: String,
    ) -> Sender {
        let state = core.loops.get(&id).map(|s| s.state());
        Sender {
            key: PersonKey(*identity),
            admin: state.is_some_and(|s| s.is_admin(identity)),
            member: state.is_some_and(|s| s.members().any(|c| &c.identity().ed25519 == identity)),
            label: Some(label),
        }
    }

    /// Us, in a conversation.
    pub(crate) fn me(core: &Core, conversation: ConversationId) -> Sender {
        let me = core.account.identity_keys().ed25519;
        match conversation {
            ConversationId::Contact(_) => Sender::contact(me),
            ConversationId::Loop(id) => {
                let mut sender = Sender::member(core, id, &me, String::new());
                sender.label = None;
                sender
            }
        }
    }
}

/// Whether `sender` may start polls and events in `conversation`: the one place where
/// who may post (announcement loops: admins only) is to be enforced, on sending and on
/// receipt alike. Votes, closes, edits, cancellations and answers are never subject to
/// it.
pub(crate) fn may_create(core: &Core, conversation: ConversationId, sender: &Sender) -> bool {
    super::roles::may_post(core, conversation, &crate::ids::MemberKey(sender.key.0))
}

/// A poll as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PollRecord {
    pub conversation: ConversationId,
    pub state: PollState,
}

/// An event as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct EventRecord {
    pub conversation: ConversationId,
    pub state: EventState,
}

/// Key of a poll or event record: conversation ‖ item id.
pub(crate) fn item_key(conversation: ConversationId, id: MessageId) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(&conversation.key());
    key[16..].copy_from_slice(&id.0);
    key
}

pub(crate) fn load_poll(
    core: &Core,
    conversation: ConversationId,
    id: MessageId,
) -> Result<PollRecord, EngineError> {
    Ok(core
        .store
        .get_value::<PollRecord>(POLLS, &item_key(conversation, id))?
        .unwrap_or(PollRecord {
            conversation,
            state: PollState::default(),
        }))
}

pub(crate) fn load_event(
    core: &Core,
    conversation: ConversationId,
    id: MessageId,
) -> Result<EventRecord, EngineError> {
    Ok(core
        .store
        .get_value::<EventRecord>(EVENTS, &item_key(conversation, id))?
        .unwrap_or(EventRecord {
            conversation,
            state: EventState::default(),
        }))
}

/// What an organizing message changed: records and history entries to write (with the
/// rest of the message's effects, in one transaction), and events to emit after.
#[derive(Default)]
pub(crate) struct Organized {
    /// A new poll or event arrived: it counts as unread (and, in a 1:1 conversation, is
    /// acknowledged with a delivery receipt).
    pub visible: bool,
    /// To emit once written.
    pub events: Vec<Event>,
    /// The body of the history entry of a new item, and whether it was edited already.
    pub(crate) created: Option<(MessageBody, bool)>,
    pub(crate) polls: Vec<([u8; 32], PollRecord)>,
    pub(crate) event_records: Vec<([u8; 32], EventRecord)>,
    pub(crate) views: Vec<MessageView>,
}

impl Organized {
    /// Adds the writes to a transaction.
    pub(crate) fn write(&self, batch: &mut WriteBatch<'_>) -> Result<(), StoreError> {
        for (key, record) in &self.polls {
            batch.put_value(POLLS, key, record)?;
        }
        for (key, record) in &self.event_records {
            batch.put_value(EVENTS, key, record)?;
        }
        for view in &self.views {
            put_view(batch, view)?;
        }
        Ok(())
    }
}

/// A message received in a conversation: folds it in if it is a poll, a vote, an event
/// or an answer (anything else changes nothing). A new poll or event gets its history
/// entry.
pub(crate) fn receive(
    core: &mut Core,
    conversation: ConversationId,
    sender: &Sender,
    message: &Message,
) -> Result<Organized, EngineError> {
    let mut out = fold(core, conversation, sender, message)?;
    if let Some((body, edited)) = out.created.take() {
        core.counters.message += 1;
        let view = MessageView {
            id: message.id,
            conversation,
            from_me: false,
            sender: sender.label.clone(),
            sent_at: message.sent_at.0,
            received_at: core.now(),
            body,
            reply_to: None,
            reactions: Vec::new(),
            edited,
            deleted: false,
            delivery: None,
            position: core.counters.message,
        };
        out.events.insert(0, Event::MessageReceived(view.clone()));
        out.views.push(view);
        out.visible = true;
    }
    Ok(out)
}

/// Applies one message to the state of the item it is about.
pub(crate) fn fold(
    core: &mut Core,
    conversation: ConversationId,
    sender: &Sender,
    message: &Message,
) -> Result<Organized, EngineError> {
    let mut out = Organized::default();
    let organizing = matches!(
        message.content,
        Content::Poll(_)
            | Content::Vote { .. }
            | Content::ClosePoll { .. }
            | Content::Event(_)
            | Content::EditEvent { .. }
            | Content::CancelEvent { .. }
            | Content::Rsvp { .. }
    );
    if !organizing {
        return Ok(out);
    }
    if !sender.member {
        tracing::debug!("ignored a poll or agenda message from someone who is not a member");
        return Ok(out);
    }
    let at = Stamp::of(message.sent_at.0, message.id);
    match &message.content {
        Content::Poll(spec) => {
            if let Err(why) = check_poll(spec) {
                tracing::debug!(%why, "ignored a poll outside the limits");
                return Ok(out);
            }
            if !may_create(core, conversation, sender) || taken(core, message.id)? {
                return Ok(out);
            }
            let mut record = load_poll(core, conversation, message.id)?;
            let before = record.state.clone();
            record.state.create(sender.key, at, spec.clone());
            if record.state != before {
                out.polls.push((item_key(conversation, message.id), record));
                out.created = Some((
                    MessageBody::Poll {
                        question: spec.question.clone(),
                    },
                    false,
                ));
                out.events.push(Event::PollChanged {
                    conversation,
                    poll: message.id,
                });
            }
        }
        Content::Vote { poll, choices } => {
            update_poll(core, conversation, *poll, &mut out, |state| {
                state.vote(sender.key, at, choices);
            })?;
        }
        Content::ClosePoll { poll } => {
            update_poll(core, conversation, *poll, &mut out, |state| {
                state.close(sender.key, sender.admin, at);
            })?;
        }
        Content::Event(spec) => {
            if let Err(why) = check_event(spec) {
                tracing::debug!(%why, "ignored an event outside the limits");
                return Ok(out);
            }
            if !may_create(core, conversation, sender) || taken(core, message.id)? {
                return Ok(out);
            }
            let mut record = load_event(core, conversation, message.id)?;
            let before = record.state.clone();
            record.state.create(sender.key, at, spec.clone());
            if record.state != before {
                out.event_records
                    .push((item_key(conversation, message.id), record.clone()));
                out.created = Some((event_body(&record.state), record.state.edited()));
                out.events.push(Event::AgendaChanged {
                    conversation,
                    event: message.id,
                });
            }
        }
        Content::EditEvent { event, spec } => {
            if let Err(why) = check_event(spec) {
                tracing::debug!(%why, "ignored an event edit outside the limits");
                return Ok(out);
            }
            update_event(core, conversation, *event, &mut out, |state| {
                state.edit(sender.key, sender.admin, at, spec.clone());
            })?;
        }
        Content::CancelEvent { event } => {
            update_event(core, conversation, *event, &mut out, |state| {
                state.cancel(sender.key, sender.admin, at);
            })?;
        }
        Content::Rsvp { event, answer } => {
            update_event(core, conversation, *event, &mut out, |state| {
                state.answer(sender.key, at, *answer);
            })?;
        }
        _ => {}
    }
    Ok(out)
}

/// Whether a message id is already used in the history (a resend, or a forged copy).
pub(crate) fn taken(core: &Core, id: MessageId) -> Result<bool, EngineError> {
    Ok(core.store.get(MESSAGE_INDEX, &id.0)?.is_some())
}

pub(crate) fn update_poll(
    core: &Core,
    conversation: ConversationId,
    poll: MessageId,
    out: &mut Organized,
    change: impl FnOnce(&mut PollState),
) -> Result<(), EngineError> {
    let mut record = load_poll(core, conversation, poll)?;
    let before = record.state.clone();
    change(&mut record.state);
    if record.state == before {
        return Ok(());
    }
    out.polls
        .push((item_key(conversation, poll), record.clone()));
    if record.state.created().is_some() {
        out.events.push(Event::PollChanged { conversation, poll });
    }
    Ok(())
}

pub(crate) fn update_event(
    core: &Core,
    conversation: ConversationId,
    event: MessageId,
    out: &mut Organized,
    change: impl FnOnce(&mut EventState),
) -> Result<(), EngineError> {
    let mut record = load_event(core, conversation, event)?;
    let before = record.state.clone();
    change(&mut record.state);
    if record.state == before {
        return Ok(());
    }
    out.event_records
        .push((item_key(conversation, event), record.clone()));
    if record.state.created().is_none() {
        return Ok(());
    }
    // Keep the history's entry in step: title, start, cancellation.
    let body = event_body(&record.state);
    let edited = record.state.edited();
    if let Some(mut view) = find_view(core, &event)?
        && view.conversation == conversation
        && !view.deleted
        && (view.body != body || view.edited != edited)
    {
        view.body = body;
        view.edited = edited;
        out.views.push(view.clone());
        out.events.push(Event::MessageUpdated(view));
    }
    out.events.push(Event::AgendaChanged {
        conversation,
        event,
    });
    Ok(())
}

/// The history entry's body of an event: its current title and start, and whether it
/// is cancelled.
pub(crate) fn event_body(state: &EventState) -> MessageBody {
    let (title, starts_at) = state
        .details()
        .map(|d| (d.title.clone(), d.starts_at.0))
        .unwrap_or_default();
    MessageBody::Event {
        title,
        starts_at,
        cancelled: state.cancelled(),
    }
}

/// Names of the people in our conversations, for views.
pub(crate) struct Names {
    me: [u8; 32],
    my_name: String,
    contacts: std::sync::Arc<super::loops::ByIdentity>,
}

impl Names {
    pub(crate) fn load(core: &Core) -> Result<Names, EngineError> {
        Ok(Names {
            me: core.account.identity_keys().ed25519,
            my_name: core.profile.name.clone(),
            contacts: contacts_by_identity(core)?,
        })
    }

    pub(crate) fn person(&self, key: &PersonKey) -> Participant {
        let me = key.0 == self.me;
        let name = if me {
            self.my_name.clone()
        } else {
            self.contacts
                .get(&crate::ids::MemberKey(key.0))
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| format!("member {}", short(&key.0)))
        };
        Participant {
            id: short(&key.0),
            name,
            me,
        }
    }
}

/// A poll's view, once the poll itself arrived.
pub(crate) fn poll_view(
    record: &PollRecord,
    id: MessageId,
    names: &Names,
    me: &Sender,
    now: u64,
) -> Option<PollView> {
    let poll = record.state.created()?;
    let ballots = record.state.ballots();
    let closed = record.state.is_closed(now);
    let mine = ballots.get(&me.key).cloned().unwrap_or_default();
    let options = poll
        .spec
        .options
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let index = i as u8;
            let voters: Vec<Participant> = ballots
                .iter()
                .filter(|(_, choices)| choices.contains(&index))
                .map(|(voter, _)| names.person(voter))
                .collect();
            PollOption {
                index,
                text: text.clone(),
                votes: voters.len(),
                voters,
                mine: mine.contains(&index),
            }
        })
        .collect();
    Some(PollView {
        id,
        conversation: record.conversation,
        author: names.person(&poll.author),
        created_at: poll.at.sent_at,
        question: poll.spec.question.clone(),
        options,
        multiple: poll.spec.multiple,
        closes_at: poll.spec.closes_at.map(|t| t.0),
        closed,
        ended_at: if closed { record.state.end() } else { None },
        voters: ballots.keys().map(|voter| names.person(voter)).collect(),
        my_choices: mine,
        can_close: !closed && me.member && (me.admin || poll.author == me.key),
    })
}

/// An event's view, once the event itself arrived.
pub(crate) fn event_view(
    record: &EventRecord,
    id: MessageId,
    names: &Names,
    me: &Sender,
    conversation_name: String,
) -> Option<EventView> {
    let event = record.state.created()?;
    let details = EventDetails::from_spec(record.state.details()?);
    let mut going = Vec::new();
    let mut maybe = Vec::new();
    let mut no = Vec::new();
    let mut my_answer = None;
    for (by, answer) in record.state.answers() {
        if by == me.key {
            my_answer = Some(answer);
        }
        let person = names.person(&by);
        match answer {
            boucle_crypto::RsvpAnswer::Going => going.push(person),
            boucle_crypto::RsvpAnswer::Maybe => maybe.push(person),
            boucle_crypto::RsvpAnswer::No => no.push(person),
        }
    }
    let cancelled = record.state.cancelled();
    Some(EventView {
        id,
        conversation: record.conversation,
        conversation_name,
        author: names.person(&event.author),
        created_at: event.at.sent_at,
        details,
        edited: record.state.edited(),
        cancelled,
        counts: RsvpCounts {
            going: going.len(),
            maybe: maybe.len(),
            no: no.len(),
        },
        going,
        maybe,
        no,
        my_answer,
        can_edit: !cancelled && me.member && (me.admin || event.author == me.key),
    })
}

/// How a conversation is named in an agenda: the loop's name or the contact's.
pub(crate) fn conversation_name(core: &Core, conversation: ConversationId) -> String {
    match conversation {
        ConversationId::Contact(id) => core
            .contact_record(&id)
            .map(|record| record.name)
            .unwrap_or_default(),
        ConversationId::Loop(id) => core
            .loops
            .get(&id)
            .map(|s| s.state().name().to_owned())
            .or_else(|| loop_record(core, id).ok().map(|r| r.name))
            .unwrap_or_default(),
    }
}
