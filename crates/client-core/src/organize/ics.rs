//! Agenda export as an iCalendar file (RFC 5545), for any calendar application.
//!
//! One `VEVENT` per event, times in UTC (so no `VTIMEZONE` is needed; the planned time
//! zone travels as `X-BOUCLE-TIMEZONE`), text escaped, lines folded at 75 octets and
//! ended with CRLF. The `UID` is the event's id, so importing an updated export
//! replaces the events instead of duplicating them.

use super::views::EventView;

/// The `PRODID` of exported calendars.
pub const PRODID: &str = "-//Boucle//Boucle agenda 1//EN";

/// An iCalendar file with these events; `now_ms` is the export time (`DTSTAMP`).
pub fn calendar(events: &[EventView], now_ms: u64) -> String {
    let mut out = String::new();
    let mut line = |text: &str| fold(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line(&format!("PRODID:{PRODID}"));
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    for event in events {
        let details = &event.details;
        line("BEGIN:VEVENT");
        line(&format!("UID:{}@boucle", hex::encode(event.id.0)));
        line(&format!("DTSTAMP:{}", utc(now_ms)));
        line(&format!("DTSTART:{}", utc(details.starts_at)));
        if let Some(end) = details.ends_at {
            line(&format!("DTEND:{}", utc(end)));
        }
        line(&format!("SUMMARY:{}", escape(&details.title)));
        if !details.place.is_empty() {
            line(&format!("LOCATION:{}", escape(&details.place)));
        }
        if !details.description.is_empty() {
            line(&format!("DESCRIPTION:{}", escape(&details.description)));
        }
        if !details.time_zone.is_empty() {
            line(&format!("X-BOUCLE-TIMEZONE:{}", escape(&details.time_zone)));
        }
        line(&format!(
            "ORGANIZER;CN={}:urn:boucle:member:{}",
            param(&event.author.name),
            event.author.id
        ));
        line(if event.cancelled {
            "STATUS:CANCELLED"
        } else {
            "STATUS:CONFIRMED"
        });
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

/// A text value: backslash, semicolon, comma and newlines escaped (RFC 5545 §3.3.11);
/// other control characters dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (`CN=`): quoted, with the characters a quoted value cannot hold
/// removed (RFC 5545 §3.1).
fn param(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Appends a content line, folded so that no line exceeds 75 octets (continuations
/// start with a space), never inside a UTF-8 character, and ended with CRLF.
fn fold(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// `YYYYMMDDTHHMMSSZ` from unix milliseconds.
fn utc(ms: u64) -> String {
    crate::time::utc_stamp(ms)
}

#[cfg(test)]
mod tests {
    use boucle_crypto::MessageId;

    use super::*;
    use crate::ids::{ContactId, ConversationId};
    use crate::organize::{EventDetails, Participant, RsvpCounts};

    fn event(title: &str, description: &str, cancelled: bool) -> EventView {
        EventView {
            id: MessageId([0xab; 16]),
            conversation: ConversationId::Contact(ContactId([1; 16])),
            conversation_name: "Bob".into(),
            author: Participant {
                id: "01020304".into(),
                name: "Alice \"A\"".into(),
                me: true,
            },
            created_at: 0,
            details: EventDetails {
                title: title.into(),
                starts_at: 1_777_651_200_000, // 2026-05-01 16:00 UTC
                ends_at: Some(1_777_658_400_000),
                time_zone: "Europe/Paris".into(),
                place: "12, rue de la Paix; 2e étage".into(),
                description: description.into(),
            },
            edited: false,
            cancelled,
            going: Vec::new(),
            maybe: Vec::new(),
            no: Vec::new(),
            counts: RsvpCounts::default(),
            my_answer: None,
            can_edit: true,
        }
    }

    #[test]
    fn an_event_becomes_a_vevent_in_utc_with_escaped_text() {
        let ics = calendar(&[event("Assemblée, générale", "a\\b\nc", true)], 0);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains(&format!("\r\nUID:{}@boucle\r\n", "ab".repeat(16))));
        assert!(ics.contains("\r\nDTSTAMP:19700101T000000Z\r\n"));
        assert!(ics.contains("\r\nDTSTART:20260501T160000Z\r\n"));
        assert!(ics.contains("\r\nDTEND:20260501T180000Z\r\n"));
        assert!(ics.contains("\r\nSUMMARY:Assemblée\\, générale\r\n"));
        assert!(ics.contains("\r\nLOCATION:12\\, rue de la Paix\\; 2e étage\r\n"));
        assert!(ics.contains("\r\nDESCRIPTION:a\\\\b\\nc\r\n"));
        assert!(ics.contains("\r\nSTATUS:CANCELLED\r\n"));
        assert!(ics.contains("ORGANIZER;CN=\"Alice A\":urn:boucle:member:01020304"));
        // Every line ends with CRLF: no bare LF.
        assert_eq!(ics.matches('\n').count(), ics.matches("\r\n").count());
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let description = "é".repeat(100) + &"x".repeat(100);
        let ics = calendar(&[event("Long", &description, false)], 0);
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        // Unfolding gives the value back.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("\r\nDESCRIPTION:{description}\r\n")));
        assert!(ics.contains("STATUS:CONFIRMED"));
    }
}
