//! `boucle sync`: receive everything pending, send the outbox, exit.

use std::time::Duration;

use crate::output::json_line;
use crate::profile::Globals;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds to wait for the relays before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    wait: u64,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    globals
        .with_engine(|engine| async move {
            let done = engine.sync(Duration::from_secs(args.wait)).await;
            let queued = engine.outbox_len()?;
            let unread: u64 = engine.contacts()?.iter().map(|c| u64::from(c.unread)).sum();
            if globals.json {
                json_line(&serde_json::json!({
                    "synced": done,
                    "queued": queued,
                    "unread": unread,
                }));
            } else if done {
                outln!("Up to date. {unread} unread.");
            } else {
                outln!(
                    "Not everything got through ({queued} queued): a relay is unreachable; the rest goes on the next run. {unread} unread."
                );
            }
            Ok(())
        })
        .await
}
