//! `boucle event ...`: the agenda of a loop or a 1:1 conversation, answers, and the
//! calendar export.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use boucle_client_core::{Engine, EventDetails, EventView, MessageId, RsvpAnswer};

use super::poll::{conversation, conversation_json, participant_json, pick};
use crate::output::{json_line, short_message, utc_time};
use crate::profile::Globals;

const SEND_WAIT: Duration = Duration::from_secs(10);

/// Times are `2026-05-01 18:00` (or `2026-05-01T18:00:00`), in UTC unless an offset
/// follows (`Z`, `+02:00`, `-05:00`).
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Plan an event.
    Create {
        /// Where: a loop or a contact (name, or the start of its id).
        r#where: String,
        /// What it is.
        title: String,
        /// When it starts (`2026-05-01 18:00`): a clock in `--tz`, unless an offset
        /// like `+02:00` follows.
        #[arg(long, value_name = "TIME")]
        start: String,
        /// When it ends (as `--start`).
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
        /// The time zone it is planned in (`Europe/Paris`): `--start` and `--end` are
        /// read as its clocks show them, and it is shown in it.
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
        /// Where: an address or a meeting link.
        #[arg(long, default_value = "")]
        place: String,
        /// More about it.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change an event's details (its author or an admin); what is not given stays.
    Edit {
        r#where: String,
        /// The event: the start of its id (`boucle event list` shows it).
        event: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        #[arg(long)]
        place: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Cancel an event, for good (its author or an admin).
    Cancel { r#where: String, event: String },
    /// Answer an event: going, maybe or no.
    Rsvp {
        r#where: String,
        event: String,
        #[arg(value_parser = ["going", "maybe", "no"])]
        answer: String,
    },
    /// Show an event with who answered what.
    Show { r#where: String, event: String },
    /// The agenda: upcoming events first, of one conversation or of all.
    List {
        /// A loop or a contact; all conversations if not given.
        r#where: Option<String>,
    },
    /// Write the agenda as an iCalendar (.ics) file for calendar applications.
    Export {
        /// A loop or a contact; all conversations if not given.
        r#where: Option<String>,
        /// The file to write (standard output if not given).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

pub async fn run(globals: &Globals, command: Command) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move { dispatch(globals, &engine, command).await })
        .await
}

async fn dispatch(globals: &Globals, engine: &Engine, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create {
            r#where,
            title,
            start,
            end,
            tz,
            place,
            description,
        } => {
            let conversation = conversation(engine, &r#where)?;
            let details = EventDetails {
                title,
                starts_at: parse_time_in(&start, &tz)?,
                ends_at: end.as_deref().map(|e| parse_time_in(e, &tz)).transpose()?,
                time_zone: tz,
                place,
                description,
            };
            let view = engine.create_event(conversation, &details)?;
            engine.sync(SEND_WAIT).await;
            show(globals, &engine.event(conversation, view.id)?, "planned");
        }
        Command::Edit {
            r#where,
            event,
            title,
            start,
            end,
            tz,
            place,
            description,
        } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_event(engine, conversation, &event)?;
            let mut details = engine.event(conversation, id)?.details;
            if let Some(title) = title {
                details.title = title;
            }
            if let Some(tz) = tz {
                // A known zone, even when no time changes with it.
                boucle_client_core::time::Zone::named(&tz)
                    .map_err(|e| crate::exit::usage(e.to_string()))?;
                details.time_zone = tz;
            }
            if let Some(start) = start {
                details.starts_at = parse_time_in(&start, &details.time_zone)?;
            }
            if let Some(end) = end {
                details.ends_at = Some(parse_time_in(&end, &details.time_zone)?);
            }
            if let Some(place) = place {
                details.place = place;
            }
            if let Some(description) = description {
                details.description = description;
            }
            let view = engine.edit_event(conversation, id, &details)?;
            engine.sync(SEND_WAIT).await;
            show(globals, &view, "changed");
        }
        Command::Cancel { r#where, event } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_event(engine, conversation, &event)?;
            let view = engine.cancel_event(conversation, id)?;
            engine.sync(SEND_WAIT).await;
            show(globals, &view, "cancelled");
        }
        Command::Rsvp {
            r#where,
            event,
            answer,
        } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_event(engine, conversation, &event)?;
            let answer = match answer.as_str() {
                "going" => RsvpAnswer::Going,
                "maybe" => RsvpAnswer::Maybe,
                _ => RsvpAnswer::No,
            };
            let view = engine.rsvp(conversation, id, answer)?;
            engine.sync(SEND_WAIT).await;
            show(globals, &view, "answered");
        }
        Command::Show { r#where, event } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_event(engine, conversation, &event)?;
            show(globals, &engine.event(conversation, id)?, "");
        }
        Command::List { r#where } => {
            let scope = r#where.map(|w| conversation(engine, &w)).transpose()?;
            let events = engine.agenda(scope)?;
            if events.is_empty() && !globals.json {
                outln!("Nothing in the agenda yet: `boucle event create`.");
            }
            for event in &events {
                if globals.json {
                    json_line(&event_json(event));
                } else {
                    outln!("{}", summary_line(event));
                }
            }
        }
        Command::Export { r#where, out } => {
            let scope = r#where.map(|w| conversation(engine, &w)).transpose()?;
            let events = engine.agenda(scope)?;
            let calendar = engine.export_ics(&events)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &calendar)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    if globals.json {
                        json_line(&serde_json::json!({
                            "file": path.display().to_string(),
                            "events": events.len(),
                        }));
                    } else {
                        outln!("{} events written to {}", events.len(), path.display());
                    }
                }
                None => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().lock().write_all(calendar.as_bytes());
                }
            }
        }
    }
    Ok(())
}

fn find_event(
    engine: &Engine,
    conversation: boucle_client_core::ConversationId,
    prefix: &str,
) -> anyhow::Result<MessageId> {
    let ids: Vec<MessageId> = engine
        .agenda(Some(conversation))?
        .into_iter()
        .map(|e| e.id)
        .collect();
    pick(&ids, prefix, "event")
}

fn show(globals: &Globals, event: &EventView, what: &str) {
    if globals.json {
        json_line(&event_json(event));
        return;
    }
    if !what.is_empty() {
        outln!("{what}:");
    }
    outln!("{}", summary_line(event));
    let details = &event.details;
    if !details.place.is_empty() {
        outln!("  where: {}", details.place);
    }
    if !details.description.is_empty() {
        for line in details.description.lines() {
            outln!("  | {line}");
        }
    }
    for (label, people) in [
        ("going", &event.going),
        ("maybe", &event.maybe),
        ("no", &event.no),
    ] {
        let names: Vec<String> = people
            .iter()
            .map(|p| {
                if p.me {
                    "you".to_owned()
                } else {
                    p.name.clone()
                }
            })
            .collect();
        let line = format!("  {label:<5} {:>3}  {}", people.len(), names.join(", "));
        outln!("{}", line.trim_end());
    }
}

fn summary_line(event: &EventView) -> String {
    let details = &event.details;
    let when = match details.ends_at {
        Some(end) => format!("{} – {}", utc_time(details.starts_at), utc_time(end)),
        None => utc_time(details.starts_at),
    };
    let mut line = format!("{}  {}  {when}", short_message(&event.id), details.title);
    if !details.time_zone.is_empty() && details.time_zone != "UTC" {
        line.push_str(&format!(" (planned in {})", details.time_zone));
    }
    line.push_str(&format!(
        "  in {}  by {}",
        event.conversation_name,
        if event.author.me {
            "you"
        } else {
            &event.author.name
        }
    ));
    line.push_str(&format!(
        "  [{} going, {} maybe, {} no]",
        event.counts.going, event.counts.maybe, event.counts.no
    ));
    if let Some(answer) = event.my_answer {
        line.push_str(&format!("  you: {}", answer_word(answer)));
    }
    if event.edited {
        line.push_str("  (edited)");
    }
    if event.cancelled {
        line.push_str("  CANCELLED");
    }
    line
}

fn answer_word(answer: RsvpAnswer) -> &'static str {
    match answer {
        RsvpAnswer::Going => "going",
        RsvpAnswer::Maybe => "maybe",
        RsvpAnswer::No => "no",
    }
}

fn event_json(event: &EventView) -> serde_json::Value {
    let (contact, loop_id) = conversation_json(event.conversation);
    let details = &event.details;
    serde_json::json!({
        "id": hex::encode(event.id.0),
        "contact": contact,
        "loop": loop_id,
        "conversation_name": event.conversation_name,
        "author": participant_json(&event.author),
        "created_at": event.created_at,
        "title": details.title,
        "starts_at": details.starts_at,
        "ends_at": details.ends_at,
        "time_zone": details.time_zone,
        "place": details.place,
        "description": details.description,
        "edited": event.edited,
        "cancelled": event.cancelled,
        "going": event.going.iter().map(participant_json).collect::<Vec<_>>(),
        "maybe": event.maybe.iter().map(participant_json).collect::<Vec<_>>(),
        "no": event.no.iter().map(participant_json).collect::<Vec<_>>(),
        "my_answer": event.my_answer.map(answer_word),
        "can_edit": event.can_edit,
    })
}

/// Unix milliseconds from `YYYY-MM-DD[ T]HH:MM[:SS][Z|±HH:MM]`: a clock in `zone`
/// (an IANA name; UTC when empty), unless an explicit offset says otherwise.
pub fn parse_time_in(text: &str, zone: &str) -> anyhow::Result<u64> {
    boucle_client_core::time::parse_in_zone(text, zone)
        .map_err(|e| crate::exit::usage(e.to_string()))
}

/// [`parse_time_in`] UTC.
pub fn parse_time(text: &str) -> anyhow::Result<u64> {
    parse_time_in(text, "UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_the_event_s_zone() {
        // 18:00 in Paris in May is 16:00 UTC; in January, 17:00 UTC.
        assert_eq!(
            parse_time_in("2026-05-01 18:00", "Europe/Paris").unwrap(),
            1_777_651_200_000
        );
        assert_eq!(
            parse_time_in("2026-01-10 18:00", "Europe/Paris").unwrap(),
            1_768_064_400_000
        );
        assert!(parse_time_in("2026-05-01 18:00", "Mars/Olympus").is_err());
    }

    #[test]
    fn times_parse_in_utc_or_with_an_offset() {
        assert_eq!(parse_time("1970-01-01 00:00").unwrap(), 0);
        assert_eq!(parse_time("2026-05-01 16:00").unwrap(), 1_777_651_200_000);
        assert_eq!(
            parse_time("2026-05-01T16:00:00Z").unwrap(),
            1_777_651_200_000
        );
        assert_eq!(
            parse_time("2026-05-01T18:00+02:00").unwrap(),
            1_777_651_200_000
        );
        assert_eq!(
            parse_time("2026-05-01 11:30-04:30").unwrap(),
            1_777_651_200_000
        );
        assert_eq!(parse_time("2000-02-29 00:00").unwrap(), 951_782_400_000);
        for bad in [
            "2026-02-30 10:00",
            "2026-13-01 10:00",
            "2026-05-01",
            "2026-05-01 25:00",
            "tomorrow",
            "2026-05-01 10:00+2",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
