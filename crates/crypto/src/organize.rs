//! Payloads of the organizing content kinds: polls and agenda events.
//!
//! These are plain data: the rules that turn a loop's polls, votes, events and answers
//! into one result every member agrees on live in the client (see
//! `protocol-spec/organizing.md`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Fewest options a poll may offer.
pub const MIN_POLL_OPTIONS: usize = 2;
/// Most options a poll may offer.
pub const MAX_POLL_OPTIONS: usize = 12;

/// A show-of-hands poll. Its id is the id of the message that carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollSpec {
    /// The question.
    pub question: String,
    /// The options, 2 to 12, in display order.
    pub options: Vec<String>,
    /// Whether a voter may pick several options.
    pub multiple: bool,
    /// When voting ends by itself, if ever (the poll author's clock).
    pub closes_at: Option<Timestamp>,
}

impl fmt::Debug for PollSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollSpec")
            .field("options", &self.options.len())
            .field("multiple", &self.multiple)
            .field("closes_at", &self.closes_at)
            .finish_non_exhaustive()
    }
}

/// An agenda event. Its id is the id of the message that first carried it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSpec {
    /// What it is.
    pub title: String,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it ends, if said.
    pub ends_at: Option<Timestamp>,
    /// The IANA time zone it is planned in (e.g. `Europe/Paris`), for display and export.
    pub time_zone: String,
    /// Where: an address or a meeting link.
    pub place: String,
    /// Free text.
    pub description: String,
}

impl fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSpec")
            .field("starts_at", &self.starts_at)
            .field("ends_at", &self.ends_at)
            .finish_non_exhaustive()
    }
}

/// An answer to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RsvpAnswer {
    /// Will come.
    Going,
    /// Might come.
    Maybe,
    /// Will not come.
    No,
}
