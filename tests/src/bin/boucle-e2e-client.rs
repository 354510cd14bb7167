//! A minimal client process for the end-to-end tests: opens a profile with the engine
//! API, does one thing and exits. Tests kill it (SIGKILL) mid-way to check that the
//! engine's outbox survives a crash.
//!
//! ```text
//! boucle-e2e-client --profile DIR --passphrase P send --to CONTACT --count N --prefix TEXT
//! boucle-e2e-client --profile DIR --passphrase P sync --wait SECS
//! ```
//!
//! `send` queues N texts `"{TEXT}{i:05}"` (i = 0..N) to the contact (id in hex, a prefix
//! of it, or a name), prints `queued N`, then waits (at most 120 s) until they are all
//! sent and prints `synced`. `sync` unlocks, lets the outbox and the inbox catch up for at
//! most SECS seconds, prints `synced` or `not synced` and `outbox N`, and exits non-zero
//! if it did not get there. Profiles use the test passphrase hashing cost
//! (`KdfParams::for_tests`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use boucle_client_core::store::KdfParams;
use boucle_client_core::{ConversationId, Engine, EngineOptions};

enum Command {
    Send {
        to: String,
        count: u32,
        prefix: String,
    },
    Sync {
        wait: u64,
    },
}

struct Args {
    profile: PathBuf,
    passphrase: String,
    command: Command,
}

fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut profile = None;
    let mut passphrase = None;
    let mut command = None;
    let mut to = None;
    let mut count = None;
    let mut prefix = None;
    let mut wait = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--profile" => profile = Some(PathBuf::from(value("--profile")?)),
            "--passphrase" => passphrase = Some(value("--passphrase")?),
            "--to" => to = Some(value("--to")?),
            "--count" => count = Some(value("--count")?.parse::<u32>()?),
            "--prefix" => prefix = Some(value("--prefix")?),
            "--wait" => wait = Some(value("--wait")?.parse::<u64>()?),
            "send" | "sync" if command.is_none() => command = Some(arg),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let command = match command.as_deref() {
        Some("send") => Command::Send {
            to: to.context("send needs --to")?,
            count: count.context("send needs --count")?,
            prefix: prefix.unwrap_or_default(),
        },
        Some("sync") => Command::Sync {
            wait: wait.unwrap_or(30),
        },
        _ => bail!(
            "usage: --profile DIR --passphrase P (send --to C --count N --prefix T | sync --wait SECS)"
        ),
    };
    Ok(Args {
        profile: profile.context("--profile is required")?,
        passphrase: passphrase.context("--passphrase is required")?,
        command,
    })
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = parse(std::env::args().skip(1))?;
    let options = EngineOptions {
        kdf: KdfParams::for_tests(),
        ..EngineOptions::default()
    };
    let engine = Engine::unlock(&args.profile, &args.passphrase, options).await?;
    let ok = match args.command {
        Command::Send { to, count, prefix } => {
            let contact = engine.find_contact(&to)?;
            let conversation = ConversationId::Contact(contact);
            for i in 0..count {
                engine.send_text(conversation, &format!("{prefix}{i:05}"))?;
            }
            say(&format!("queued {count}"));
            engine.sync(Duration::from_secs(120)).await
        }
        Command::Sync { wait } => engine.sync(Duration::from_secs(wait)).await,
    };
    say(if ok { "synced" } else { "not synced" });
    say(&format!("outbox {}", engine.outbox_len()?));
    engine.lock().await;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
