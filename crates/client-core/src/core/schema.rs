//! Every table of the engine, in one list: the store upgrades a profile of an older
//! format with it (each table's key layout says which parts of its keys to hash), and
//! refuses a profile holding a table the list does not name. A new table goes here.

use crate::model::{
    BLOCKED, CONTACTS, EVENTS, LOOPS, MAILBOXES, MEMBER_SESSIONS, MESSAGE_INDEX, MESSAGE_SENDERS,
    MESSAGES, META, OUTBOX, POLLS, SESSIONS,
};
use crate::store::Table;

use super::expiry::{EXPIRES, EXPIRY, TIMERS};
use super::loops::kept::{KEPT, KEPT_INDEX};
use super::rehome::CONTACT_KEYS;
use super::seen::{LEGACY_SEEN, PROCESSED};
use super::sharing::{CARD_OFFERS, INTRODUCED};
use crate::core::files::{ATTACHMENTS, FILE_CHUNKS, ORPHAN_CHUNKS, UPLOADS};

pub(crate) const TABLES: &[Table] = &[
    META,
    MAILBOXES,
    CONTACTS,
    SESSIONS,
    MESSAGES,
    MESSAGE_INDEX,
    OUTBOX,
    LOOPS,
    MEMBER_SESSIONS,
    POLLS,
    EVENTS,
    MESSAGE_SENDERS,
    BLOCKED,
    ATTACHMENTS,
    FILE_CHUNKS,
    UPLOADS,
    ORPHAN_CHUNKS,
    TIMERS,
    EXPIRY,
    EXPIRES,
    CARD_OFFERS,
    INTRODUCED,
    PROCESSED,
    LEGACY_SEEN,
    KEPT,
    KEPT_INDEX,
    CONTACT_KEYS,
];

#[cfg(test)]
mod tests {
    use super::TABLES;

    #[test]
    fn each_table_is_listed_once() {
        let mut names: Vec<&str> = TABLES.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
