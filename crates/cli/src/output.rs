//! How messages and contacts are shown: one line of text for people, or one JSON
//! object per line for scripts.

use boucle_client_core::{
    Contact, ContactId, ConversationId, DeliveryState, Engine, LoopId, MessageBody, MessageId,
    MessageView,
};
use serde::Serialize;

/// Prints one JSON object on its own line.
pub fn json_line(value: &impl Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => outln!("{line}"),
        Err(error) => eprintln!("error: cannot encode the output as JSON: {error}"),
    }
}

/// A contact, for `--json`.
#[derive(Debug, Serialize)]
pub struct ContactJson {
    pub id: String,
    pub name: String,
    pub verified: bool,
    pub identity_changed: bool,
    pub unread: u32,
    pub relay: String,
    pub last_activity: u64,
    /// Who shared them with us (or through whose card they came).
    pub introduced_by: Option<String>,
    /// Whether they can be shared with others yet.
    pub can_share: bool,
    /// Blocked: nothing they send is shown, nothing can be sent to them.
    pub blocked: bool,
}

impl From<&Contact> for ContactJson {
    fn from(contact: &Contact) -> Self {
        ContactJson {
            id: contact.id.to_hex(),
            name: contact.name.clone(),
            verified: contact.verified,
            identity_changed: contact.identity_changed,
            unread: contact.unread,
            relay: contact.relay_host.clone(),
            last_activity: contact.last_activity,
            introduced_by: contact.introduced_by.clone(),
            can_share: contact.can_share,
            blocked: contact.blocked,
        }
    }
}

/// One line about a contact, for people.
pub fn contact_line(contact: &Contact) -> String {
    let mut line = format!("{}  {}", contact.id.short(), contact.name);
    if contact.unread > 0 {
        line.push_str(&format!("  ({} unread)", contact.unread));
    }
    if contact.verified {
        line.push_str("  verified");
    }
    if contact.blocked {
        line.push_str("  blocked");
    }
    if contact.identity_changed {
        line.push_str("  WARNING: their identity key changed; run `boucle verify` again");
    }
    line.push_str(&format!("  via {}", contact.relay_host));
    if let Some(by) = &contact.introduced_by {
        line.push_str(&format!("  (introduced by {by})"));
    }
    line
}

/// A message, for `--json`.
#[derive(Debug, Serialize)]
pub struct MessageJson {
    pub id: String,
    pub contact: Option<String>,
    /// The loop, for loop messages.
    #[serde(rename = "loop")]
    pub loop_id: Option<String>,
    pub from_me: bool,
    /// "me", or the contact's name (in a loop: a contact's name or a member's short id).
    pub sender: String,
    pub sent_at: u64,
    pub received_at: u64,
    pub text: Option<String>,
    /// Kind number of a message from a newer Boucle, not understood here.
    pub unsupported_kind: Option<u16>,
    pub reply_to: Option<String>,
    pub reactions: Vec<ReactionJson>,
    pub edited: bool,
    pub deleted: bool,
    /// "queued", "sent", "delivered", "failed" or "waiting_for_members" for our
    /// messages.
    pub state: Option<&'static str>,
    pub failure: Option<String>,
    /// For a message posted in a loop before the contacts invited joined it: how many
    /// it waits for (it is sent to each one when they join).
    pub waiting_for_members: Option<u32>,
    pub position: u64,
    /// A shared contact: their name, safety number and whether they are a contact.
    pub shared_contact: Option<SharedContactJson>,
    /// A change of the disappearing-messages timer, in seconds (0: off).
    pub timer_seconds: Option<u32>,
    /// The file, for a message that carries one (`boucle save-file` saves it).
    pub file: Option<FileRefJson>,
}

/// A shared contact, for `--json`.
#[derive(Debug, Serialize)]
pub struct SharedContactJson {
    pub name: String,
    pub safety_number: String,
    pub already_contact: bool,
}

/// A file attached to a message, for `--json`.
#[derive(Debug, Serialize)]
pub struct FileRefJson {
    pub name: String,
    pub media_type: String,
    pub size: u64,
}

/// A reaction, for `--json`.
#[derive(Debug, Serialize)]
pub struct ReactionJson {
    pub mine: bool,
    pub emoji: String,
}

impl MessageJson {
    pub fn new(view: &MessageView, peer: &str) -> MessageJson {
        let (text, unsupported_kind) = match &view.body {
            MessageBody::Text(text) => (Some(text.clone()), None),
            MessageBody::Unsupported { kind } => (None, Some(*kind)),
            MessageBody::Poll { question } => (Some(format!("poll: {question}")), None),
            MessageBody::Event { title, .. } => (Some(format!("event: {title}")), None),
            _ => (None, None),
        };
        MessageJson {
            id: hex::encode(view.id.0),
            contact: contact_of(view.conversation).map(|id| id.to_hex()),
            loop_id: loop_of(view.conversation).map(|id| hex::encode(id.0)),
            from_me: view.from_me,
            sender: if view.from_me {
                "me".into()
            } else {
                peer.into()
            },
            sent_at: view.sent_at,
            received_at: view.received_at,
            text,
            unsupported_kind,
            reply_to: view.reply_to.map(|id| hex::encode(id.0)),
            reactions: view
                .reactions
                .iter()
                .map(|r| ReactionJson {
                    mine: r.mine,
                    emoji: r.emoji.clone(),
                })
                .collect(),
            edited: view.edited,
            deleted: view.deleted,
            state: view.delivery.as_ref().map(state_name),
            failure: match &view.delivery {
                Some(DeliveryState::Failed(reason)) => Some(reason.clone()),
                _ => None,
            },
            waiting_for_members: match view.delivery {
                Some(DeliveryState::WaitingForMembers(n)) => Some(n),
                _ => None,
            },
            position: view.position,
            shared_contact: match &view.body {
                MessageBody::SharedContact {
                    name,
                    safety_number,
                    already_contact,
                    ..
                } => Some(SharedContactJson {
                    name: name.clone(),
                    safety_number: safety_number.clone(),
                    already_contact: *already_contact,
                }),
                _ => None,
            },
            timer_seconds: match view.body {
                MessageBody::TimerChanged { seconds } => Some(seconds),
                _ => None,
            },
            file: match &view.body {
                MessageBody::Attachment {
                    name,
                    media_type,
                    size,
                } => Some(FileRefJson {
                    name: name.clone(),
                    media_type: media_type.clone(),
                    size: *size,
                }),
                _ => None,
            },
        }
    }
}

/// One line about a message, for people:
/// `#12 2025-05-01 10:31 UTC  Bob: ↪ 1a2b3c4d  text (edited)  [👍 you]  (delivered)  id 9f8e7d6c`.
pub fn message_line(view: &MessageView, peer: &str) -> String {
    let sender = if view.from_me { "you" } else { peer };
    let mut line = format!("#{} {}  {sender}: ", view.position, utc_time(view.sent_at));
    if let Some(to) = view.reply_to {
        line.push_str(&format!("↪ {} ", short_message(&to)));
    }
    if view.deleted {
        line.push_str("(message deleted)");
    } else {
        match &view.body {
            MessageBody::Text(text) => line.push_str(text),
            MessageBody::Unsupported { kind } => line.push_str(&format!(
                "(a kind of message this version cannot show: {kind})"
            )),
            MessageBody::Poll { question } => line.push_str(&format!(
                "poll: {question}  (boucle poll show … {})",
                short_message(&view.id)
            )),
            MessageBody::Event {
                title,
                starts_at,
                cancelled,
            } => line.push_str(&format!(
                "event: {title}, {}{}  (boucle event show … {})",
                utc_time(*starts_at),
                if *cancelled { ", CANCELLED" } else { "" },
                short_message(&view.id)
            )),
            MessageBody::SharedContact {
                name,
                already_contact,
                ..
            } => {
                line.push_str(&format!("(shared a contact: {name}"));
                if *already_contact {
                    line.push_str(", already one of yours)");
                } else {
                    line.push_str(&format!(
                        "; add them: boucle add-shared {})",
                        hex::encode(&view.id.0[..4])
                    ));
                }
            }
            MessageBody::TimerChanged { seconds: 0 } => {
                line.push_str("(turned disappearing messages off)");
            }
            MessageBody::TimerChanged { seconds } => line.push_str(&format!(
                "(set disappearing messages to {})",
                crate::cmd::timer::timer_text(*seconds)
            )),
            MessageBody::Attachment {
                name,
                media_type,
                size,
            } => line.push_str(&format!(
                "[file {name}, {media_type}, {}]",
                human_size(*size)
            )),
            _ => line.push_str("(a kind of message this version cannot show)"),
        }
    }
    if view.edited && !view.deleted {
        line.push_str(" (edited)");
    }
    if !view.reactions.is_empty() {
        let reactions: Vec<String> = view
            .reactions
            .iter()
            .map(|r| format!("{} {}", r.emoji, if r.mine { "you" } else { peer }))
            .collect();
        line.push_str(&format!("  [{}]", reactions.join(", ")));
    }
    if let Some(state) = &view.delivery {
        line.push_str(&format!("  ({})", state_text(state)));
    }
    line.push_str(&format!("  id {}", short_message(&view.id)));
    line
}

/// Who wrote a message that is not ours: the contact, or in a loop the member.
pub fn peer_name(engine: &Engine, view: &MessageView) -> String {
    match view.conversation {
        ConversationId::Contact(id) => engine
            .contact(id)
            .map(|contact| contact.name)
            .unwrap_or_else(|_| "?".into()),
        _ => view.sender.clone().unwrap_or_else(|| "?".into()),
    }
}

/// The contact of a 1:1 conversation.
pub fn contact_of(conversation: ConversationId) -> Option<ContactId> {
    match conversation {
        ConversationId::Contact(id) => Some(id),
        _ => None,
    }
}

/// The loop of a loop conversation.
pub fn loop_of(conversation: ConversationId) -> Option<LoopId> {
    match conversation {
        ConversationId::Loop(id) => Some(id),
        _ => None,
    }
}

pub fn state_name(state: &DeliveryState) -> &'static str {
    match state {
        DeliveryState::Queued => "queued",
        DeliveryState::Sent => "sent",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed(_) => "failed",
        DeliveryState::MailboxFull { .. } => "mailbox_full",
        DeliveryState::WaitingForMembers(_) => "waiting_for_members",
        _ => "unknown",
    }
}

pub fn state_text(state: &DeliveryState) -> String {
    match state {
        DeliveryState::Failed(reason) => format!("failed: {reason}"),
        DeliveryState::MailboxFull { relay } => {
            format!("waiting: the recipient's mailbox on relay {relay} is full")
        }
        DeliveryState::WaitingForMembers(n) => format!("waiting for {} to join", members(*n)),
        other => state_name(other).to_owned(),
    }
}

/// `1 member`, `3 members`.
pub fn members(n: u32) -> String {
    match n {
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    }
}

/// A size for people: `512 bytes`, `3.4 KiB`, `10.0 MiB`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// The first 8 hexadecimal digits of a message id.
pub fn short_message(id: &MessageId) -> String {
    hex::encode(&id.0[..4])
}

/// `YYYY-MM-DD HH:MM UTC` from Unix milliseconds.
pub fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_time(1_735_689_599_000), "2024-12-31 23:59 UTC");
    }
}
