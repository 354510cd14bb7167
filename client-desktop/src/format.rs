//! Small text helpers: times, delivery states, message previews.

use boucle_client_core::{DeliveryState, MessageBody, MessageView};

/// Now, in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How long ago `then` was, for people: "just now", "5 min ago", "3 h ago", "2 d ago".
pub fn ago(now: u64, then: u64) -> String {
    let seconds = now.saturating_sub(then) / 1000;
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// The delivery state of one of our messages, in words.
pub fn delivery(state: &DeliveryState, relay_down: bool) -> String {
    match state {
        DeliveryState::Queued if relay_down => "queued — relay unreachable".to_owned(),
        DeliveryState::Queued => "sending…".to_owned(),
        DeliveryState::Sent => "sent".to_owned(),
        DeliveryState::Delivered => "delivered".to_owned(),
        DeliveryState::Failed(why) => format!("not sent: {why}"),
        DeliveryState::MailboxFull { .. } => {
            "waiting — their mailbox is full; it goes out once they read their messages".to_owned()
        }
        DeliveryState::WaitingForMembers(1) => "waiting for 1 member to join".to_owned(),
        DeliveryState::WaitingForMembers(n) => format!("waiting for {n} members to join"),
        _ => "unknown".to_owned(),
    }
}

/// The delivery state in one word, for the conversation list.
pub fn delivery_short(state: &DeliveryState, relay_down: bool) -> &'static str {
    match state {
        DeliveryState::Queued if relay_down => "queued",
        DeliveryState::Queued => "sending…",
        DeliveryState::Sent => "sent",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed(_) => "not sent",
        DeliveryState::MailboxFull { .. } => "waiting",
        DeliveryState::WaitingForMembers(_) => "waiting for members",
        _ => "",
    }
}

/// What a message says, for a bubble or a preview.
pub fn body(message: &MessageView) -> String {
    if message.deleted {
        return "This message was deleted.".to_owned();
    }
    match &message.body {
        MessageBody::Text(text) => text.clone(),
        MessageBody::Unsupported { .. } => {
            "A message this version of Boucle cannot show.".to_owned()
        }
        MessageBody::Poll { question } => format!("Poll: {question}"),
        MessageBody::Event {
            title, cancelled, ..
        } => {
            if *cancelled {
                format!("Event (cancelled): {title}")
            } else {
                format!("Event: {title}")
            }
        }
        MessageBody::Attachment {
            name, media_type, ..
        } => {
            if media_type.starts_with("image/") {
                format!("Image: {name}")
            } else {
                format!("File: {name}")
            }
        }
        MessageBody::SharedContact { name, .. } => format!("Contact: {name}"),
        MessageBody::TimerChanged { seconds: 0 } => "Disappearing messages off".to_owned(),
        MessageBody::TimerChanged { seconds } => {
            format!("Disappearing messages: {}", timer(*seconds))
        }
        _ => String::new(),
    }
}

/// A size for people: "812 bytes", "12 KB", "3.4 MB".
pub fn size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    match bytes {
        0..KB => format!("{bytes} bytes"),
        KB..MB => format!("{} KB", bytes.div_ceil(KB)),
        _ => format!("{:.1} MB", bytes as f64 / MB as f64),
    }
}

/// A disappearing-messages timer: "Off", "1 hour", "1 day", "1 week", "4 weeks".
pub fn timer(seconds: u32) -> String {
    let (n, unit) = match seconds {
        0 => return "Off".to_owned(),
        s if s % 604_800 == 0 => (s / 604_800, "week"),
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `text` cut to `max` characters, with "…" if it was longer.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// The first line of a message, shortened to `max` characters.
pub fn preview_text(message: &MessageView, max: usize) -> String {
    let text = body(message);
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(max).collect();
    if line.chars().count() > max || text.lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

/// The first line of a message, shortened for the conversation list ("You: " on ours).
pub fn preview(message: &MessageView, max: usize) -> String {
    let short = preview_text(message, max);
    if message.from_me {
        format!("You: {short}")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_timers_read_naturally() {
        assert_eq!(size(812), "812 bytes");
        assert_eq!(size(12_000), "12 KB");
        assert_eq!(size(70 * 1024 * 1024), "70.0 MB");
        assert_eq!(timer(0), "Off");
        assert_eq!(timer(3_600), "1 hour");
        assert_eq!(timer(86_400), "1 day");
        assert_eq!(timer(2_419_200), "4 weeks");
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(ago(10_000, 9_000), "just now");
        assert_eq!(ago(600_000, 0), "10 min ago");
        assert_eq!(ago(7_200_000, 0), "2 h ago");
        assert_eq!(ago(3 * 86_400_000, 0), "3 d ago");
    }

    #[test]
    fn queued_says_why() {
        assert_eq!(
            delivery(&DeliveryState::Queued, true),
            "queued — relay unreachable"
        );
        assert_eq!(delivery(&DeliveryState::Delivered, false), "delivered");
        // A full mailbox is not an outage, whether or not the relay is also down now.
        let full = DeliveryState::MailboxFull {
            relay: "127.0.0.1:4433".into(),
        };
        for relay_down in [false, true] {
            assert!(delivery(&full, relay_down).starts_with("waiting — their mailbox is full"));
            assert_eq!(delivery_short(&full, relay_down), "waiting");
        }
    }
}
