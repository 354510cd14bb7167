//! `boucle sync`: receive everything pending, send the outbox, exit.

use std::time::Duration;

use crate::exit::NotAllSent;
use crate::output::{json_line, members};
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds to wait for the relays before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    wait: u64,
}

pub const EXAMPLES: &str = "  boucle --profile alice sync
  boucle --profile alice --json sync || echo \"not everything got through (status $?)\"";

pub const NOTES: &str = "Exit status 0 means everything the relays held was received and the outbox is \
empty; 3 means a relay could not be reached and messages are still queued (they go on the next run). \
Messages posted in a loop before the contacts invited joined it are not queued: they wait for them \
(`waiting_for_members` in --json), and are sent to each one when they join.";

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let done = engine.sync(Duration::from_secs(args.wait)).await;
            let queued = engine.outbox_len()?;
            let waiting = engine.awaiting_members()?;
            let unread: u64 = engine.contacts()?.iter().map(|c| u64::from(c.unread)).sum();
            let loops_unread: u64 = engine.loops()?.iter().map(|l| u64::from(l.unread)).sum();
            let unread = unread + loops_unread;
            let kept = (waiting.messages > 0).then(|| {
                format!(
                    " {} posted in loops {} for the {} invited to join.",
                    plural(waiting.messages, "message"),
                    if waiting.messages == 1 { "waits" } else { "wait" },
                    members(u32::try_from(waiting.members).unwrap_or(u32::MAX)),
                )
            });
            let kept = kept.unwrap_or_default();
            if globals.json {
                json_line(&serde_json::json!({
                    "synced": done,
                    "queued": queued,
                    "waiting_for_members": {
                        "messages": waiting.messages,
                        "members": waiting.members,
                    },
                    "unread": unread,
                }));
            } else if done {
                outln!("Up to date.{kept} {unread} unread.");
            } else {
                outln!(
                    "Not everything got through ({queued} queued): a relay is unreachable; the rest goes on the next run.{kept} {unread} unread."
                );
            }
            if done { Ok(()) } else { Err(NotAllSent.into()) }
        })
        .await
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
