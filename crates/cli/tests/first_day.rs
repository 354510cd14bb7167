//! What a new user meets on the first day (issue 11), with the real `boucle` binary
//! against real relay processes: a relay that needs an access token (init checks it, a
//! token can be set later), errors said once with the relay's port, exit statuses a
//! script can rely on, and `--help` that says them.
//!
//! Needs the relay binary built next to it (`cargo build -p boucle-relay`, or
//! `BOUCLE_RELAY_BIN`).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, ensure};
use boucle_test_support::{RelayOptions, RelayProcess};
use serde_json::Value;

const PASSPHRASE: &str = "correct horse battery staple";

struct User {
    _dir: tempfile::TempDir,
    profile: PathBuf,
}

/// A finished run: its status, and what it printed.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl User {
    fn new(name: &str) -> anyhow::Result<User> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("boucle-cli-{name}"))
            .tempdir()?;
        let profile = dir.path().join("profile");
        Ok(User { _dir: dir, profile })
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Ran> {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(env!("CARGO_BIN_EXE_boucle"))
            .args(args)
            .env("BOUCLE_PROFILE", &self.profile)
            .env("BOUCLE_PASSPHRASE", PASSPHRASE)
            .env("BOUCLE_INSECURE_FAST_KDF", "1")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .output()
            .context("running boucle")?;
        Ok(Ran {
            status: status.code(),
            stdout: String::from_utf8(stdout)?,
            stderr: String::from_utf8(stderr)?,
        })
    }

    fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let ran = self.run(args)?;
        ensure!(
            ran.status == Some(0),
            "boucle {args:?} failed: {}",
            ran.stderr
        );
        Ok(ran.stdout)
    }
}

/// The one error line of a failed run: `error: ...`, each cause once, no backtrace.
fn error_line(ran: &Ran) -> anyhow::Result<&str> {
    let lines: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| !l.starts_with("note:"))
        .collect();
    ensure!(lines.len() == 1, "one line on stderr: {:?}", ran.stderr);
    let line = lines[0]
        .strip_prefix("error: ")
        .context("it starts with `error: `")?;
    // No cause is said twice: no part of it between ": " repeats.
    let parts: Vec<&str> = line.split(": ").collect();
    for (i, part) in parts.iter().enumerate() {
        ensure!(
            !parts[i + 1..].contains(part),
            "{part:?} is said twice in {line:?}"
        );
    }
    Ok(line)
}

fn closed_relay() -> anyhow::Result<(RelayProcess, String)> {
    let relay = RelayProcess::start(RelayOptions {
        open: false,
        ..RelayOptions::default()
    })?;
    let token = relay.admin(&["token", "create", "--label", "first day"])?;
    let token = token
        .lines()
        .find_map(|l| l.strip_prefix("access token: "))
        .context("token create prints the token")?
        .trim()
        .to_owned();
    Ok((relay, token))
}

#[test]
fn on_a_relay_that_needs_a_token_init_checks_it_and_a_token_can_be_set_later() -> anyhow::Result<()>
{
    let (relay, token) = closed_relay()?;
    let address = relay.address().to_string();
    let authority = format!("127.0.0.1:{}", relay.address().port());
    let alice = User::new("alice")?;

    // Without a token: refused, said in a sentence, nothing created.
    let ran = alice.run(&["init", "--name", "Alice", "--relay", &address])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    let line = error_line(&ran)?;
    ensure!(
        line.contains(&format!(
            "the relay {authority} lets only people with an access token"
        )) && line.contains("--token"),
        "{line}"
    );
    ensure!(
        !alice.profile.join("profile.redb").exists(),
        "nothing created"
    );
    // With a token the relay does not know: refused too.
    let ran = alice.run(&[
        "init",
        "--name",
        "Alice",
        "--relay",
        &address,
        "--token",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    ensure!(
        error_line(&ran)?.contains("does not accept this access token"),
        "{}",
        ran.stderr
    );
    ensure!(!alice.profile.join("profile.redb").exists());

    // With the right one, a profile that can invite.
    alice.ok(&[
        "init", "--name", "Alice", "--relay", &address, "--token", &token,
    ])?;
    alice.ok(&["invite"])?;
    // init again says the profile is there, and changes nothing.
    let ran = alice.run(&["init", "--name", "Other", "--relay", &address])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    let line = error_line(&ran)?;
    ensure!(
        line.contains("a profile already exists") && line.contains("boucle token set"),
        "{line}"
    );

    // The operator revokes the token: invitations fail, saying why and what to do.
    let ids: Vec<String> = relay
        .admin(&["token", "list", "--json"])?
        .lines()
        .map(serde_json::from_str::<Value>)
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect();
    ensure!(ids.len() == 2, "the token of init and ours: {ids:?}");
    for id in &ids {
        relay.admin(&["token", "revoke", id])?;
    }
    let ran = alice.run(&["invite"])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    let line = error_line(&ran)?;
    ensure!(
        line.contains("does not accept this access token") && line.contains("boucle token set"),
        "{line}"
    );
    // A token the relay refuses changes nothing; a new one works at once.
    let ran = alice.run(&["token", "set", &token])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    ensure!(
        error_line(&ran)?.contains("the profile was not changed"),
        "{}",
        ran.stderr
    );
    let fresh = relay.admin(&["token", "create"])?;
    let fresh = fresh
        .lines()
        .find_map(|l| l.strip_prefix("access token: "))
        .context("a token")?
        .trim()
        .to_owned();
    let set = alice.ok(&["token", "set", &fresh])?;
    ensure!(set.contains("accepts this token"), "{set}");
    let invite = alice.ok(&["--json", "invite"])?;
    ensure!(invite.contains("boucle:invite/1/"), "{invite}");
    Ok(())
}

#[test]
fn errors_say_each_cause_once_and_name_the_relay_with_its_port() -> anyhow::Result<()> {
    let user = User::new("carol")?;
    let ran = user.run(&[
        "init",
        "--name",
        "Carol",
        "--relay",
        "boucle-relay://nowhere",
    ])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    let line = error_line(&ran)?;
    ensure!(line.matches("invalid relay address").count() == 1, "{line}");
    // A relay that is gone: named with its port, the cause said once, status 3.
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let address = relay.address().to_string();
    let port = relay.address().port();
    relay.terminate()?;
    let ran = user.run(&["init", "--name", "Carol", "--relay", &address])?;
    ensure!(
        ran.status == Some(3),
        "status {:?}: {}",
        ran.status,
        ran.stderr
    );
    let line = error_line(&ran)?;
    ensure!(line.contains(&format!("relay 127.0.0.1:{port}:")), "{line}");
    ensure!(!ran.stderr.contains("stack backtrace"), "{}", ran.stderr);
    Ok(())
}

#[test]
fn sync_tells_a_script_whether_everything_got_through() -> anyhow::Result<()> {
    let mut relay = RelayProcess::start(RelayOptions::default())?;
    let dave = User::new("dave")?;
    dave.ok(&[
        "init",
        "--name",
        "Dave",
        "--relay",
        &relay.address().to_string(),
    ])?;
    let ran = dave.run(&["--json", "sync"])?;
    ensure!(ran.status == Some(0), "status {:?}", ran.status);
    let synced: Value = serde_json::from_str(ran.stdout.trim())?;
    ensure!(
        synced["synced"] == true && synced["queued"] == 0,
        "{synced}"
    );
    ensure!(synced["waiting_for_members"]["messages"] == 0, "{synced}");

    relay.kill9()?;
    let ran = dave.run(&["--json", "sync", "--wait", "1"])?;
    ensure!(
        ran.status == Some(3),
        "a relay down: status 3, not {:?}",
        ran.status
    );
    let synced: Value = serde_json::from_str(ran.stdout.trim())?;
    ensure!(synced["synced"] == false, "{synced}");
    let ran = dave.run(&["sync", "--wait", "1"])?;
    ensure!(ran.status == Some(3), "status {:?}", ran.status);
    ensure!(
        ran.stdout.starts_with("Not everything got through"),
        "{}",
        ran.stdout
    );
    relay.restart()?;
    dave.ok(&["sync"])?;

    // A command-line mistake is status 2, as clap's own.
    let ran = dave.run(&["send", "nobody", "hi"])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    let ran = dave.run(&["sync", "--no-such-option"])?;
    ensure!(ran.status == Some(2), "status {:?}", ran.status);
    Ok(())
}

#[test]
fn help_has_examples_the_environment_and_exit_statuses() -> anyhow::Result<()> {
    let user = User::new("help")?;
    for args in [
        &["--help"][..],
        &["sync", "--help"],
        &["init", "--help"],
        &["token", "--help"],
    ] {
        let help = user.ok(args)?;
        for section in [
            "EXAMPLES",
            "ENVIRONMENT",
            "EXIT STATUS",
            "BOUCLE_PASSPHRASE",
        ] {
            ensure!(help.contains(section), "{args:?}: no {section}:\n{help}");
        }
        ensure!(help.contains("  3  a relay could not be reached"), "{help}");
    }
    let help = user.ok(&["--help"])?;
    for command in ["policy", "timer", "share", "add-shared", "token"] {
        ensure!(help.contains(command), "{command} in --help");
    }
    Ok(())
}

/// Issue 11, item 1, as it was met: `loop create`, then at once a poll and an event in
/// the loop before Bob has run anything. Alice's `sync` says they wait for Bob to join
/// (not "synced" with nothing queued), and once Bob has joined he gets both and can vote.
#[test]
fn a_poll_and_an_event_made_right_after_loop_create_reach_the_member_who_joins_later()
-> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let address = relay.address().to_string();
    let alice = User::new("alice")?;
    let bob = User::new("bob")?;
    alice.ok(&["init", "--name", "Alice", "--relay", &address])?;
    bob.ok(&["init", "--name", "Bob", "--relay", &address])?;
    let invite: Value = serde_json::from_str(alice.ok(&["--json", "invite"])?.trim())?;
    let link = invite["link"].as_str().context("a link")?.to_owned();
    bob.ok(&["accept", &link])?;
    alice.ok(&["sync"])?;
    alice.ok(&["loop", "create", "North group", "Bob"])?;
    let poll: Value = serde_json::from_str(
        alice
            .ok(&[
                "--json",
                "poll",
                "create",
                "North group",
                "Which day?",
                "Saturday",
                "Sunday",
            ])?
            .trim(),
    )?;
    let poll_id = poll["id"].as_str().context("a poll id")?.to_owned();
    alice.ok(&[
        "event",
        "create",
        "North group",
        "Assembly",
        "--start",
        "2027-01-09 18:00+01:00",
    ])?;
    let synced: Value = serde_json::from_str(alice.ok(&["--json", "sync"])?.trim())?;
    ensure!(
        synced["waiting_for_members"]["messages"].as_u64() >= Some(2),
        "the poll and the event are counted as waiting for Bob: {synced}"
    );
    // Bob joins on his next run; Alice adds him and sends what he missed.
    let mut got = false;
    for _ in 0..20 {
        bob.run(&["sync", "--wait", "2"])?;
        alice.run(&["sync", "--wait", "2"])?;
        let polls = bob.run(&["poll", "list", "North group"])?;
        let events = bob.run(&["event", "list", "North group"])?;
        if polls.stdout.contains("Which day?") && events.stdout.contains("Assembly") {
            got = true;
            break;
        }
    }
    ensure!(got, "Bob never got the poll and the event");
    bob.ok(&["poll", "vote", "North group", &poll_id[..8], "2"])?;
    let synced: Value = serde_json::from_str(alice.ok(&["--json", "sync"])?.trim())?;
    ensure!(
        synced["waiting_for_members"]["messages"] == 0 && synced["queued"] == 0,
        "{synced}"
    );
    let read = alice.ok(&["loop", "read", "North group"])?;
    ensure!(!read.contains("queued"), "still queued for Alice: {read}");
    Ok(())
}
