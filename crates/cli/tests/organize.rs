//! `boucle poll` and `boucle event` with the real binary against a real relay: a poll and
//! an event in a 1:1 conversation, answered from the other side, and the `.ics` export.
//!
//! Needs the relay binary built next to it (`cargo build -p boucle-relay`, or
//! `BOUCLE_RELAY_BIN`).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail, ensure};
use boucle_test_support::{RelayOptions, RelayProcess};
use serde_json::Value;

const PASSPHRASE: &str = "correct horse battery staple";
const ATTEMPTS: usize = 20;

struct User {
    dir: tempfile::TempDir,
    profile: PathBuf,
}

impl User {
    fn init(name: &str, relay: &RelayProcess) -> anyhow::Result<User> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("boucle-cli-{name}"))
            .tempdir()?;
        let profile = dir.path().join("profile");
        let user = User { dir, profile };
        let relay = relay.address().to_string();
        user.ok(&["init", "--name", name, "--relay", &relay])?;
        Ok(user)
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        Command::new(env!("CARGO_BIN_EXE_boucle"))
            .args(args)
            .env("BOUCLE_PROFILE", &self.profile)
            .env("BOUCLE_PASSPHRASE", PASSPHRASE)
            .env("BOUCLE_INSECURE_FAST_KDF", "1")
            .stdin(Stdio::null())
            .output()
            .context("running boucle")
    }

    fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.run(args)?;
        ensure!(
            output.status.success(),
            "boucle {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?)
    }

    /// `boucle sync --wait 2`, to let messages move: done (0), or not everything yet
    /// (3, a relay busy or slow); anything else fails.
    fn pump(&self) -> anyhow::Result<()> {
        let output = self.run(&["sync", "--wait", "2"])?;
        ensure!(
            matches!(output.status.code(), Some(0 | 3)),
            "boucle sync failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    fn json(&self, args: &[&str]) -> anyhow::Result<Vec<Value>> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all)?
            .lines()
            .map(|line| serde_json::from_str(line).with_context(|| format!("not JSON: {line}")))
            .collect()
    }

    fn until<T>(
        &self,
        args: &[&str],
        mut pick: impl FnMut(&[Value]) -> Option<T>,
    ) -> anyhow::Result<T> {
        let mut last = Vec::new();
        for _ in 0..ATTEMPTS {
            last = self.json(args)?;
            if let Some(found) = pick(&last) {
                return Ok(found);
            }
            self.pump()?;
        }
        bail!("boucle {args:?} never showed what was expected; last: {last:?}")
    }
}

#[test]
fn a_poll_and_an_event_from_the_command_line() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;
    let invite = alice.json(&["invite"])?;
    let link = invite[0]["link"].as_str().context("no link")?.to_owned();
    bob.json(&["accept", &link])?;
    alice.until(&["contacts"], |c| {
        c.iter().find(|c| c["name"] == "bob").map(|_| ())
    })?;

    // A poll: Alice asks, Bob votes for two options, Alice closes.
    let asked = alice.json(&[
        "poll",
        "create",
        "bob",
        "What do we bring?",
        "bread",
        "cheese",
        "fruit",
        "--multiple",
    ])?;
    let id = asked[0]["id"].as_str().context("no poll id")?.to_owned();
    ensure!(asked[0]["options"].as_array().map(Vec::len) == Some(3));
    let short = &id[..8];
    bob.until(&["poll", "list", "alice"], |polls| {
        polls.iter().find(|p| p["id"] == id.as_str()).map(|_| ())
    })?;
    let voted = bob.json(&["poll", "vote", "alice", short, "1", "3"])?;
    ensure!(
        voted[0]["my_choices"] == serde_json::json!([1, 3]),
        "{voted:?}"
    );
    let refused = bob.run(&["poll", "vote", "alice", short, "4"])?;
    ensure!(!refused.status.success());
    ensure!(String::from_utf8_lossy(&refused.stderr).contains("no option 4"));
    alice.until(&["poll", "show", "bob", short], |p| {
        (p[0]["voters"].as_array().map(Vec::len) == Some(1)).then_some(())
    })?;
    let closed = alice.json(&["poll", "close", "bob", short])?;
    ensure!(closed[0]["closed"] == true, "{closed:?}");
    let shown = alice.ok(&["poll", "show", "bob", short])?;
    ensure!(
        shown.contains("What do we bring?") && shown.contains("closed"),
        "{shown}"
    );

    // An event: Alice plans it, Bob answers, Alice cancels it; Bob exports his agenda.
    let planned = alice.json(&[
        "event",
        "create",
        "bob",
        "Assemblée, salle 2",
        // A clock in the event's zone (issue 13: this used to be read as UTC).
        "--start",
        "2031-05-01 18:00",
        "--end",
        "2031-05-01 20:00",
        "--tz",
        "Europe/Paris",
        "--place",
        "Maison du peuple",
    ])?;
    let event = planned[0]["id"].as_str().context("no event id")?.to_owned();
    ensure!(
        planned[0]["starts_at"] == 1_935_417_600_000u64,
        "{planned:?}"
    );
    bob.until(&["event", "list"], |events| {
        events
            .iter()
            .find(|e| e["id"] == event.as_str())
            .map(|_| ())
    })?;
    let answered = bob.json(&["event", "rsvp", "alice", &event[..8], "going"])?;
    ensure!(answered[0]["my_answer"] == "going", "{answered:?}");
    alice.until(&["event", "show", "bob", &event[..8]], |e| {
        (e[0]["going"].as_array().map(Vec::len) == Some(1)).then_some(())
    })?;
    alice.ok(&["event", "cancel", "bob", &event[..8]])?;
    bob.until(&["event", "show", "alice", &event[..8]], |e| {
        (e[0]["cancelled"] == true).then_some(())
    })?;
    let file = bob.dir.path().join("agenda.ics");
    let file_arg = file.to_str().context("path")?;
    bob.ok(&["event", "export", "--out", file_arg])?;
    let ics = std::fs::read_to_string(&file)?;
    ensure!(ics.contains(&format!("UID:{event}@boucle")), "{ics}");
    ensure!(ics.contains("SUMMARY:Assemblée\\, salle 2"), "{ics}");
    ensure!(ics.contains("DTSTART:20310501T160000Z"), "{ics}");
    ensure!(ics.contains("DTEND:20310501T180000Z"), "{ics}");
    ensure!(ics.contains("STATUS:CANCELLED"), "{ics}");
    // The history shows both items.
    let history = bob.ok(&["read", "alice"])?;
    ensure!(history.contains("poll: What do we bring?"), "{history}");
    ensure!(history.contains("event: Assemblée, salle 2"), "{history}");
    Ok(())
}
