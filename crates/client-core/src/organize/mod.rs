//! Polls and agenda events: the rules that turn a conversation's organizing messages
//! into one state every member agrees on (`protocol-spec/organizing.md` §1–2), the views
//! front ends show, and the calendar export.
//!
//! The rules are pure: [`poll::PollState`] and [`event::EventState`] take the messages of
//! one item, in any order, and give the same result. The engine stores them per item
//! (tables `polls` and `events`) and feeds them what arrives.

pub(crate) mod event;
pub mod ics;
pub(crate) mod poll;
mod views;

use std::fmt;

use boucle_crypto::{EventSpec, MAX_POLL_OPTIONS, MIN_POLL_OPTIONS, MessageId, PollSpec};
use serde::{Deserialize, Serialize};

pub use views::{EventDetails, EventView, Participant, PollOption, PollView, RsvpCounts};

/// Longest poll question, in bytes.
pub const MAX_QUESTION_LEN: usize = 500;
/// Longest poll option, in bytes.
pub const MAX_OPTION_LEN: usize = 200;
/// Longest event title, in bytes.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest event place (an address or a link), in bytes.
pub const MAX_PLACE_LEN: usize = 1_000;
/// Longest event description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 8_000;
/// Longest time zone name, in bytes.
pub const MAX_TIME_ZONE_LEN: usize = 64;

/// A person in a conversation, by the Ed25519 key of their identity (the sender the
/// envelope proves, never a name from the content).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct PersonKey(pub [u8; 32]);

impl fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonKey({})", short(&self.0))
    }
}

/// The order of two messages about the same item: `(sent_at, id)`, the later wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Stamp {
    /// The sender's clock (unix ms).
    pub sent_at: u64,
    /// The message id, to break ties.
    pub id: [u8; 16],
}

impl Stamp {
    pub(crate) fn of(sent_at: u64, id: MessageId) -> Stamp {
        Stamp { sent_at, id: id.0 }
    }
}

/// Checks a poll against the limits every client applies (a poll outside them is
/// ignored on receipt and refused on sending).
pub(crate) fn check_poll(spec: &PollSpec) -> Result<(), String> {
    if spec.question.trim().is_empty() {
        return Err("the question is empty".into());
    }
    if spec.question.len() > MAX_QUESTION_LEN {
        return Err(format!(
            "the question is longer than {MAX_QUESTION_LEN} bytes"
        ));
    }
    if !(MIN_POLL_OPTIONS..=MAX_POLL_OPTIONS).contains(&spec.options.len()) {
        return Err(format!(
            "a poll needs {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS} options, not {}",
            spec.options.len()
        ));
    }
    for option in &spec.options {
        if option.trim().is_empty() {
            return Err("an option is empty".into());
        }
        if option.len() > MAX_OPTION_LEN {
            return Err(format!("an option is longer than {MAX_OPTION_LEN} bytes"));
        }
    }
    Ok(())
}

/// Checks an event's details against the limits every client applies.
pub(crate) fn check_event(spec: &EventSpec) -> Result<(), String> {
    if spec.title.trim().is_empty() {
        return Err("the title is empty".into());
    }
    if spec.title.len() > MAX_TITLE_LEN {
        return Err(format!("the title is longer than {MAX_TITLE_LEN} bytes"));
    }
    if spec.place.len() > MAX_PLACE_LEN {
        return Err(format!("the place is longer than {MAX_PLACE_LEN} bytes"));
    }
    if spec.description.len() > MAX_DESCRIPTION_LEN {
        return Err(format!(
            "the description is longer than {MAX_DESCRIPTION_LEN} bytes"
        ));
    }
    if let Some(end) = spec.ends_at
        && end < spec.starts_at
    {
        return Err("it ends before it starts".into());
    }
    if !valid_time_zone(&spec.time_zone) {
        return Err(format!(
            "{:?} is not a time zone name (like Europe/Paris or UTC)",
            spec.time_zone
        ));
    }
    Ok(())
}

/// An IANA time zone name as written (`Europe/Paris`, `America/Argentina/Buenos_Aires`,
/// `UTC`, `Etc/GMT+3`), or empty (meaning UTC). Only its shape is checked: the name is a
/// label for display and export, never used for arithmetic.
pub(crate) fn valid_time_zone(name: &str) -> bool {
    name.len() <= MAX_TIME_ZONE_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
}

pub(crate) fn short(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(4)])
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{PersonKey, Stamp};

    pub fn person(n: u8) -> PersonKey {
        PersonKey([n; 32])
    }

    pub fn stamp(sent_at: u64, n: u8) -> Stamp {
        Stamp {
            sent_at,
            id: [n; 16],
        }
    }

    /// Every permutation of `0..n` (Heap's algorithm), for order-independence tests.
    pub fn permutations(n: usize) -> Vec<Vec<usize>> {
        fn heap(k: usize, items: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if k <= 1 {
                out.push(items.clone());
                return;
            }
            heap(k - 1, items, out);
            for i in 0..k - 1 {
                if k.is_multiple_of(2) {
                    items.swap(i, k - 1);
                } else {
                    items.swap(0, k - 1);
                }
                heap(k - 1, items, out);
            }
        }
        let mut items: Vec<usize> = (0..n).collect();
        let mut out = Vec::new();
        heap(n, &mut items, &mut out);
        out
    }
}
