//! `boucle poll ...`: show-of-hands polls in a loop or a 1:1 conversation.

use std::time::Duration;

use anyhow::Context;
use boucle_client_core::{ConversationId, Engine, MessageId, Participant, PollView};

use crate::output::{contact_of, json_line, loop_of, short_message, utc_time};
use crate::profile::Globals;

/// Seconds to wait for what we send to reach the relays before leaving it queued.
const SEND_WAIT: Duration = Duration::from_secs(10);

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Ask a question: 2 to 12 options.
    Create {
        /// Where: a loop or a contact (name, or the start of its id).
        r#where: String,
        /// The question.
        question: String,
        /// The options, in order.
        #[arg(required = true, num_args = 2..=12)]
        options: Vec<String>,
        /// Let voters pick several options.
        #[arg(long)]
        multiple: bool,
        /// Close voting by itself after this many minutes.
        #[arg(long, value_name = "MINUTES", conflicts_with = "closes_at")]
        closes_in: Option<u64>,
        /// Close voting by itself at this time (`2026-05-01 18:00`, UTC unless an offset
        /// like `+02:00` follows).
        #[arg(long, value_name = "TIME")]
        closes_at: Option<String>,
    },
    /// Vote (again): the option numbers you choose, replacing your earlier vote.
    Vote {
        r#where: String,
        /// The poll: the start of its id (`boucle poll list` shows it).
        poll: String,
        /// Option numbers, from 1.
        #[arg(required_unless_present = "withdraw")]
        choices: Vec<u16>,
        /// Take your vote back.
        #[arg(long, conflicts_with = "choices")]
        withdraw: bool,
    },
    /// Close a poll (its author or an admin): later votes do not count.
    Close { r#where: String, poll: String },
    /// Show a poll: options, counts and who voted what.
    Show { r#where: String, poll: String },
    /// List the polls of a conversation, newest first.
    List { r#where: String },
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
            question,
            options,
            multiple,
            closes_in,
            closes_at,
        } => {
            let conversation = conversation(engine, &r#where)?;
            let closes_at = match (closes_in, closes_at) {
                (Some(minutes), _) => Some(now_ms() + minutes.saturating_mul(60_000)),
                (None, Some(text)) => Some(crate::cmd::event::parse_time(&text)?),
                (None, None) => None,
            };
            let view =
                engine.create_poll(conversation, &question, &options, multiple, closes_at)?;
            engine.sync(SEND_WAIT).await;
            let poll = engine.poll(conversation, view.id)?;
            show(globals, &poll, "asked");
        }
        Command::Vote {
            r#where,
            poll,
            choices,
            withdraw,
        } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_poll(engine, conversation, &poll)?;
            let choices = if withdraw {
                Vec::new()
            } else {
                choices
                    .iter()
                    .map(|&n| {
                        n.checked_sub(1)
                            .and_then(|i| u8::try_from(i).ok())
                            .with_context(|| format!("{n} is not an option number"))
                    })
                    .collect::<anyhow::Result<Vec<u8>>>()?
            };
            let view = engine.vote(conversation, id, &choices)?;
            engine.sync(SEND_WAIT).await;
            show(
                globals,
                &view,
                if withdraw { "vote taken back" } else { "voted" },
            );
        }
        Command::Close { r#where, poll } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_poll(engine, conversation, &poll)?;
            let view = engine.close_poll(conversation, id)?;
            engine.sync(SEND_WAIT).await;
            show(globals, &view, "closed");
        }
        Command::Show { r#where, poll } => {
            let conversation = conversation(engine, &r#where)?;
            let id = find_poll(engine, conversation, &poll)?;
            show(globals, &engine.poll(conversation, id)?, "");
        }
        Command::List { r#where } => {
            let conversation = conversation(engine, &r#where)?;
            let polls = engine.polls(conversation)?;
            if polls.is_empty() && !globals.json {
                outln!("No polls here yet: `boucle poll create`.");
            }
            for poll in &polls {
                if globals.json {
                    json_line(&poll_json(poll));
                } else {
                    outln!("{}", summary_line(poll));
                }
            }
        }
    }
    Ok(())
}

/// A loop or a contact, by name or id prefix. A loop and a contact with the same name
/// need the id.
pub fn conversation(engine: &Engine, query: &str) -> anyhow::Result<ConversationId> {
    let as_loop = engine.find_loop(query).ok();
    let as_contact = engine.find_contact(query).ok();
    match (as_loop, as_contact) {
        (Some(id), None) => Ok(ConversationId::Loop(id)),
        (None, Some(id)) => Ok(ConversationId::Contact(id)),
        (Some(_), Some(_)) => {
            refuse!("{query:?} names both a loop and a contact; give the start of the id instead")
        }
        (None, None) => refuse!("no loop or contact matches {query:?}"),
    }
}

/// A poll of a conversation, by the start of its id.
fn find_poll(
    engine: &Engine,
    conversation: ConversationId,
    prefix: &str,
) -> anyhow::Result<MessageId> {
    let ids: Vec<MessageId> = engine
        .polls(conversation)?
        .into_iter()
        .map(|p| p.id)
        .collect();
    pick(&ids, prefix, "poll")
}

/// The one id starting with `prefix` (hexadecimal).
pub fn pick(ids: &[MessageId], prefix: &str, what: &str) -> anyhow::Result<MessageId> {
    let prefix = prefix.trim().to_lowercase();
    if prefix.len() < 4 {
        refuse!("give at least 4 characters of the {what}'s id");
    }
    let found: Vec<&MessageId> = ids
        .iter()
        .filter(|id| hex::encode(id.0).starts_with(&prefix))
        .collect();
    match found.as_slice() {
        [one] => Ok(**one),
        [] => refuse!("no {what} here has an id starting with {prefix}"),
        _ => refuse!("more than one {what} has an id starting with {prefix}; give more of it"),
    }
}

fn show(globals: &Globals, poll: &PollView, what: &str) {
    if globals.json {
        json_line(&poll_json(poll));
        return;
    }
    if !what.is_empty() {
        outln!("{what}:");
    }
    outln!("{}", summary_line(poll));
    let width = poll
        .options
        .iter()
        .map(|o| o.text.chars().count())
        .max()
        .unwrap_or(0);
    for option in &poll.options {
        let names: Vec<String> = option.voters.iter().map(person).collect();
        let line = format!(
            "  {:>2}. {:<width$}  {:>3}  {}{}",
            option.index + 1,
            option.text,
            option.votes,
            names.join(", "),
            if option.mine { "  ← your choice" } else { "" },
        );
        outln!("{}", line.trim_end());
    }
}

fn summary_line(poll: &PollView) -> String {
    let state = if poll.closed {
        match poll.ended_at {
            Some(at) => format!("closed {}", utc_time(at)),
            None => "closed".to_owned(),
        }
    } else {
        match poll.closes_at {
            Some(at) => format!("open until {}", utc_time(at)),
            None => "open".to_owned(),
        }
    };
    format!(
        "{}  {}  (by {}; {}; {}; {} voter{})",
        short_message(&poll.id),
        poll.question,
        person(&poll.author),
        if poll.multiple {
            "several choices"
        } else {
            "one choice"
        },
        state,
        poll.voters.len(),
        if poll.voters.len() == 1 { "" } else { "s" },
    )
}

fn person(p: &Participant) -> String {
    if p.me {
        "you".to_owned()
    } else {
        p.name.clone()
    }
}

pub fn participant_json(p: &Participant) -> serde_json::Value {
    serde_json::json!({ "id": p.id, "name": p.name, "me": p.me })
}

/// `contact` or `loop`: the conversation, as the other commands' JSON names it.
pub fn conversation_json(conversation: ConversationId) -> (Option<String>, Option<String>) {
    (
        contact_of(conversation).map(|id| id.to_hex()),
        loop_of(conversation).map(|id| hex::encode(id.0)),
    )
}

fn poll_json(poll: &PollView) -> serde_json::Value {
    let (contact, loop_id) = conversation_json(poll.conversation);
    serde_json::json!({
        "id": hex::encode(poll.id.0),
        "contact": contact,
        "loop": loop_id,
        "author": participant_json(&poll.author),
        "created_at": poll.created_at,
        "question": poll.question,
        "multiple": poll.multiple,
        "closes_at": poll.closes_at,
        "closed": poll.closed,
        "ended_at": poll.ended_at,
        "options": poll.options.iter().map(|o| serde_json::json!({
            "number": u16::from(o.index) + 1,
            "text": o.text,
            "votes": o.votes,
            "voters": o.voters.iter().map(participant_json).collect::<Vec<_>>(),
            "mine": o.mine,
        })).collect::<Vec<_>>(),
        "voters": poll.voters.iter().map(participant_json).collect::<Vec<_>>(),
        "my_choices": poll.my_choices.iter().map(|&c| u16::from(c) + 1).collect::<Vec<_>>(),
        "can_close": poll.can_close,
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
