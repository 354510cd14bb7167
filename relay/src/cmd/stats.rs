//! `boucle-relay stats`: mailboxes, stored envelopes and bytes.

use std::path::Path;

use anyhow::Context;
use boucle_relay::{RelayError, STATS_FILE, STORE_FILE, Store};

use super::{require_initialized, utc_millis};

/// Options of `stats`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// One JSON object with raw numbers (times in unix milliseconds), for scripts:
    /// `{"running":…,"mailboxes":…,"envelopes":…,…}`.
    #[arg(long)]
    json: bool,
}

pub(crate) fn long_help() -> String {
    super::long_help(
        "  boucle-relay --data-dir /var/lib/boucle stats
  boucle-relay --data-dir /var/lib/boucle stats --json",
        "On a stopped relay, stats reads the store; while the relay runs, the counters it \
         writes every 5 s to the data directory's `stats` file.",
    )
}

pub(crate) fn run(data_dir: &Path, args: Args) -> anyhow::Result<()> {
    require_initialized(data_dir)?;
    match Store::open(&data_dir.join(STORE_FILE)) {
        Ok(store) => {
            let stats = store.stats()?;
            if args.json {
                let line = serde_json::json!({
                    "running": false,
                    "mailboxes": stats.mailboxes,
                    "envelopes": stats.envelopes,
                    "envelope_bytes": stats.envelope_bytes,
                    "file_bytes": stats.file_bytes,
                });
                println!("{line}");
                return Ok(());
            }
            println!("mailboxes = {}", stats.mailboxes);
            println!("envelopes = {}", stats.envelopes);
            println!("envelope_bytes = {}", stats.envelope_bytes);
            println!("file_bytes = {}", stats.file_bytes);
            Ok(())
        }
        Err(RelayError::StoreInUse) => live(data_dir, args.json),
        Err(error) => Err(error.into()),
    }
}

/// The counters the running relay writes: `key = number` lines.
fn live(data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let path = data_dir.join(STATS_FILE);
    let unreadable = || {
        format!(
            "the relay is running and its stats file {} cannot be read",
            path.display()
        )
    };
    let text = std::fs::read_to_string(&path).with_context(unreadable)?;
    let counters: toml::Table = text.parse().with_context(unreadable)?;
    let updated_ms = counters
        .get("updated_unix_ms")
        .and_then(toml::Value::as_integer)
        .and_then(|ms| u64::try_from(ms).ok());
    if json {
        let mut line = serde_json::Map::new();
        line.insert("running".into(), true.into());
        for (key, value) in &counters {
            if let Some(number) = value.as_integer() {
                line.insert(key.clone(), number.into());
            }
        }
        println!("{}", serde_json::Value::Object(line));
        return Ok(());
    }
    match updated_ms {
        Some(ms) => println!(
            "# the relay is running: live counters as of {} (refreshed every 5 s)",
            utc_millis(ms)
        ),
        None => println!("# the relay is running: live counters (refreshed every 5 s)"),
    }
    // The usual order first, then anything newer relays write.
    let first = [
        "mailboxes",
        "envelopes",
        "envelope_bytes",
        "file_bytes",
        "connections",
    ];
    let rest = counters
        .keys()
        .map(String::as_str)
        .filter(|key| !first.contains(key) && *key != "updated_unix_ms");
    for key in first.into_iter().chain(rest) {
        if let Some(value) = counters.get(key) {
            println!("{key} = {value}");
        }
    }
    Ok(())
}
