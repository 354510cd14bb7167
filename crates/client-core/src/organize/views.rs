//! What front ends show of polls and events.

use boucle_crypto::{EventSpec, MessageId, RsvpAnswer, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::ConversationId;

/// Someone in a conversation, as shown next to a vote, an answer or an item they made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Short form of their identity key (as [`crate::MemberView::id`]): the same on every
    /// member's device, unlike names.
    pub id: String,
    /// Their name: ours for us, a contact's name, or `member 1a2b3c4d` for a loop member
    /// who is not one of our contacts.
    pub name: String,
    /// Whether it is us.
    pub me: bool,
}

/// A show-of-hands poll and its live tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollView {
    /// The poll's id (the id of the message that carries it in the history).
    pub id: MessageId,
    /// Where it was asked.
    pub conversation: ConversationId,
    /// Who asked.
    pub author: Participant,
    /// When it was asked (the author's clock, unix ms).
    pub created_at: u64,
    /// The question.
    pub question: String,
    /// The options, in display order, each with its votes.
    pub options: Vec<PollOption>,
    /// Whether a voter may pick several options.
    pub multiple: bool,
    /// When voting ends by itself, if ever (unix ms).
    pub closes_at: Option<u64>,
    /// Whether voting is over (closed by its author or an admin, or past its closing time).
    pub closed: bool,
    /// When voting ended, once it has (unix ms, the closer's clock).
    pub ended_at: Option<u64>,
    /// Everyone whose vote counts, in the same order on every device.
    pub voters: Vec<Participant>,
    /// Our counted choices (option indices); empty if we have not voted.
    pub my_choices: Vec<u8>,
    /// Whether we may close it (we asked it, or we are an admin) and it is still open.
    pub can_close: bool,
}

/// One option of a poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOption {
    /// Its index (what [`crate::Engine::vote`] takes).
    pub index: u8,
    /// Its text.
    pub text: String,
    /// How many voters chose it.
    pub votes: usize,
    /// Who chose it, in the same order on every device.
    pub voters: Vec<Participant>,
    /// Whether we chose it.
    pub mine: bool,
}

/// The details of an agenda event: what [`crate::Engine::create_event`] and
/// [`crate::Engine::edit_event`] take, and what an [`EventView`] shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetails {
    /// What it is.
    pub title: String,
    /// When it starts (unix ms).
    pub starts_at: u64,
    /// When it ends (unix ms), if said.
    pub ends_at: Option<u64>,
    /// The IANA time zone it is planned in (`Europe/Paris`); empty or `UTC` for UTC. A
    /// label for display and export: times are always absolute.
    pub time_zone: String,
    /// Where: an address or a meeting link.
    pub place: String,
    /// Free text.
    pub description: String,
}

/// How many members answered what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsvpCounts {
    /// Going.
    pub going: usize,
    /// Maybe.
    pub maybe: usize,
    /// Not going.
    pub no: usize,
}

/// An agenda event with its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// The event's id (the id of the message that carries it in the history).
    pub id: MessageId,
    /// Where it was planned.
    pub conversation: ConversationId,
    /// The loop's name, or the contact's, for an agenda across conversations.
    pub conversation_name: String,
    /// Who planned it.
    pub author: Participant,
    /// When it was planned (the author's clock, unix ms).
    pub created_at: u64,
    /// Its details, after edits.
    pub details: EventDetails,
    /// Whether its details were edited.
    pub edited: bool,
    /// Whether it is cancelled (for good).
    pub cancelled: bool,
    /// Who is going, in the same order on every device.
    pub going: Vec<Participant>,
    /// Who might come.
    pub maybe: Vec<Participant>,
    /// Who is not coming.
    pub no: Vec<Participant>,
    /// The three counts.
    pub counts: RsvpCounts,
    /// Our answer, if we gave one.
    pub my_answer: Option<RsvpAnswer>,
    /// Whether we may edit or cancel it (we planned it, or we are an admin).
    pub can_edit: bool,
}

impl EventDetails {
    /// The details with surrounding white space trimmed and an empty time zone as `UTC`.
    pub(crate) fn to_spec(&self) -> EventSpec {
        let time_zone = self.time_zone.trim();
        EventSpec {
            title: self.title.trim().to_owned(),
            starts_at: Timestamp(self.starts_at),
            ends_at: self.ends_at.map(Timestamp),
            time_zone: if time_zone.is_empty() {
                "UTC".to_owned()
            } else {
                time_zone.to_owned()
            },
            place: self.place.trim().to_owned(),
            description: self.description.trim().to_owned(),
        }
    }

    pub(crate) fn from_spec(spec: &EventSpec) -> EventDetails {
        EventDetails {
            title: spec.title.clone(),
            starts_at: spec.starts_at.0,
            ends_at: spec.ends_at.map(|t| t.0),
            time_zone: spec.time_zone.clone(),
            place: spec.place.clone(),
            description: spec.description.clone(),
        }
    }
}

impl PollView {
    /// The option(s) with the most votes (several on a tie; none before any vote).
    pub fn leading(&self) -> Vec<&PollOption> {
        let top = self.options.iter().map(|o| o.votes).max().unwrap_or(0);
        if top == 0 {
            return Vec::new();
        }
        self.options.iter().filter(|o| o.votes == top).collect()
    }
}
