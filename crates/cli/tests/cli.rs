//! The real `boucle` binary against a real relay process on 127.0.0.1.
//!
//! Needs the relay binary built next to it (`cargo build -p boucle-relay`, or
//! `BOUCLE_RELAY_BIN`). Each run of `boucle` holds its profile exclusively, so the runs
//! of one user are sequential.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail, ensure};
use boucle_test_support::{RelayOptions, RelayProcess};
use serde_json::Value;

const PASSPHRASE: &str = "correct horse battery staple";
/// How many times a reader syncs before giving up on a message.
const ATTEMPTS: usize = 20;

/// One user: a profile directory driven through the binary.
struct User {
    _dir: tempfile::TempDir,
    profile: PathBuf,
}

impl User {
    fn new(name: &str) -> anyhow::Result<User> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("boucle-cli-{name}"))
            .tempdir()?;
        let profile = dir.path().join("profile");
        Ok(User { _dir: dir, profile })
    }

    fn init(name: &str, relay: &RelayProcess) -> anyhow::Result<User> {
        let user = User::new(name)?;
        let relay = relay.address().to_string();
        user.ok(&["init", "--name", name, "--relay", &relay])?;
        Ok(user)
    }

    /// Runs `boucle` with this profile and the test passphrase.
    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.run_with(args, PASSPHRASE)
    }

    fn run_with(&self, args: &[&str], passphrase: &str) -> anyhow::Result<Output> {
        Command::new(env!("CARGO_BIN_EXE_boucle"))
            .args(args)
            .env("BOUCLE_PROFILE", &self.profile)
            .env("BOUCLE_PASSPHRASE", passphrase)
            .env("BOUCLE_INSECURE_FAST_KDF", "1")
            .env_remove("BOUCLE_NEW_PASSPHRASE")
            .stdin(Stdio::null())
            .output()
            .context("running boucle")
    }

    /// Runs `boucle`, requires success, returns stdout.
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

    /// Runs `boucle --json`, requires success, parses each line.
    fn json(&self, args: &[&str]) -> anyhow::Result<Vec<Value>> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all)?;
        stdout
            .lines()
            .map(|line| serde_json::from_str(line).with_context(|| format!("not JSON: {line}")))
            .collect()
    }

    /// Syncs until `pick` finds something in the JSON output of `args`.
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

fn relay() -> anyhow::Result<RelayProcess> {
    RelayProcess::start(RelayOptions::default())
}

/// Alice invites Bob; both end up with each other as a contact.
fn introduce(alice: &User, bob: &User) -> anyhow::Result<()> {
    let invite = alice.json(&["invite"])?;
    let link = invite[0]["link"].as_str().context("no link")?.to_owned();
    ensure!(link.starts_with("boucle:invite/"), "{link}");
    let accepted = bob.json(&["accept", &link])?;
    ensure!(accepted[0]["name"] == "alice", "{accepted:?}");
    alice.until(&["contacts"], |contacts| {
        contacts.iter().find(|c| c["name"] == "bob").map(|_| ())
    })
}

fn text_of(messages: &[Value], text: &str) -> Option<Value> {
    messages.iter().find(|m| m["text"] == text).cloned()
}

#[test]
fn two_users_talk_both_ways() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;

    // The human form of an invitation carries the link and a QR code.
    let shown = alice.ok(&["invite"])?;
    ensure!(
        shown.contains("boucle:invite/1/") && shown.contains('█'),
        "{shown}"
    );
    introduce(&alice, &bob)?;

    let sent = bob.ok(&["send", "alice", "hello alice"])?;
    ensure!(sent.starts_with("sent to alice"), "{sent}");

    let hello = alice.until(&["read", "bob"], |m| text_of(m, "hello alice"))?;
    ensure!(
        hello["from_me"] == false && hello["sender"] == "bob",
        "{hello}"
    );
    let id = hello["id"].as_str().context("no id")?.to_owned();
    let people = alice.ok(&["read", "bob"])?;
    ensure!(people.contains("bob: hello alice"), "{people}");

    let reply = alice.json(&["send", "bob", "hi bob", "--reply-to", &id[..8]])?;
    ensure!(reply[0]["state"] == "sent", "{reply:?}");
    let got = bob.until(&["read", "alice"], |m| text_of(m, "hi bob"))?;
    ensure!(got["reply_to"] == id.as_str(), "{got}");
    let people = bob.ok(&["read", "alice"])?;
    ensure!(
        people.contains(&format!("alice: ↪ {} hi bob", &id[..8])),
        "{people}"
    );

    // Alice's receipt reaches Bob: his first message becomes delivered.
    bob.until(&["read", "alice"], |m| {
        text_of(m, "hello alice").filter(|m| m["state"] == "delivered")
    })?;

    // Both sides see the same safety number; confirming marks the contact verified.
    let a = alice.json(&["verify", "bob"])?;
    let b = bob.json(&["verify", "alice", "--confirm"])?;
    ensure!(
        a[0]["safety_number"] == b[0]["safety_number"],
        "{a:?} {b:?}"
    );
    let groups = a[0]["safety_number"].as_str().context("no number")?;
    ensure!(groups.split(' ').count() == 12, "{groups}");
    ensure!(a[0]["verified"] == false && b[0]["verified"] == true);
    let contacts = bob.json(&["contacts"])?;
    ensure!(
        contacts.len() == 1 && contacts[0]["verified"] == true,
        "{contacts:?}"
    );
    ensure!(
        contacts[0]["unread"] == 0,
        "reading marks read: {contacts:?}"
    );
    Ok(())
}

#[test]
fn contacts_json_lists_each_contact() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    ensure!(alice.json(&["contacts"])?.is_empty());
    let bob = User::init("bob", &relay)?;
    let carol = User::init("carol", &relay)?;
    introduce(&alice, &bob)?;
    let link = alice.json(&["invite"])?[0]["link"]
        .as_str()
        .context("no link")?
        .to_owned();
    carol.ok(&["accept", &link])?;
    let contacts = alice.until(&["contacts"], |c| (c.len() == 2).then(|| c.to_vec()))?;
    for contact in &contacts {
        ensure!(contact["id"].as_str().is_some_and(|id| id.len() == 32));
        ensure!(
            contact["relay"]
                .as_str()
                .is_some_and(|r| r.starts_with("127.0.0.1:"))
        );
    }
    let mut names: Vec<_> = contacts.iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort();
    ensure!(names == ["bob", "carol"], "{names:?}");
    Ok(())
}

#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let output = alice.run_with(&["contacts"], "not the passphrase")?;
    ensure!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(stderr.contains("wrong passphrase"), "{stderr}");
    alice.ok(&["contacts"])?;
    Ok(())
}

#[test]
fn a_garbage_invitation_gets_a_clear_error() -> anyhow::Result<()> {
    let relay = relay()?;
    let bob = User::init("bob", &relay)?;
    for (garbage, says) in [
        ("hello", "not a Boucle invitation"),
        ("boucle:invite/1/AAAA", "damaged"),
    ] {
        let output = bob.run(&["accept", garbage])?;
        ensure!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(stderr.contains(says), "{stderr}");
    }
    ensure!(bob.json(&["contacts"])?.is_empty());
    Ok(())
}

#[test]
fn unknown_contacts_and_missing_profiles_are_named() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let output = alice.run(&["send", "nobody", "hi"])?;
    ensure!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(stderr.contains("no contact matches"), "{stderr}");

    let nobody = User::new("nobody")?;
    let output = nobody.run(&["contacts"])?;
    ensure!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(stderr.contains("no profile"), "{stderr}");
    Ok(())
}

#[test]
fn a_message_written_while_the_relay_is_down_is_sent_later() -> anyhow::Result<()> {
    let mut relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;
    introduce(&alice, &bob)?;
    relay.kill9()?;
    let output = bob.run(&["send", "alice", "written offline", "--wait", "1"])?;
    ensure!(
        output.status.code() == Some(3),
        "a message left queued: exit status 3"
    );
    let queued = String::from_utf8(output.stdout)?;
    ensure!(
        queued.starts_with("queued: the relay is unreachable, it will be sent on the next run"),
        "{queued}"
    );
    relay.restart()?;
    let synced = bob.json(&["sync"])?;
    ensure!(synced[0]["queued"] == 0, "{synced:?}");
    alice.until(&["read", "bob"], |m| text_of(m, "written offline"))?;
    Ok(())
}

#[test]
fn the_passphrase_can_be_changed() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let output = Command::new(env!("CARGO_BIN_EXE_boucle"))
        .arg("passwd")
        .env("BOUCLE_PROFILE", &alice.profile)
        .env("BOUCLE_PASSPHRASE", PASSPHRASE)
        .env("BOUCLE_NEW_PASSPHRASE", "a new passphrase")
        .env("BOUCLE_INSECURE_FAST_KDF", "1")
        .stdin(Stdio::null())
        .output()?;
    ensure!(output.status.success(), "{output:?}");
    let old = alice.run(&["contacts"])?;
    ensure!(!old.status.success());
    ensure!(String::from_utf8_lossy(&old.stderr).contains("wrong passphrase"));
    let new = alice.run_with(&["contacts"], "a new passphrase")?;
    ensure!(new.status.success(), "{new:?}");
    Ok(())
}

#[test]
fn three_users_talk_in_a_loop() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;
    let carol = User::init("carol", &relay)?;
    introduce(&alice, &bob)?;
    introduce(&alice, &carol)?;
    let created = alice.json(&["loop", "create", "assembly", "bob", "carol"])?;
    ensure!(created[0]["admin"] == true, "{created:?}");
    let joined = |loops: &[Value]| {
        loops
            .iter()
            .find(|l| l["name"] == "assembly" && l["member"] == true && l["members"] == 3)
            .map(|_| ())
    };
    // Joining takes the admin too (it adds each member when their answer arrives), and
    // each CLI run is short: everyone syncs in turn until all three are members.
    let mut all_joined = false;
    for _ in 0..ATTEMPTS {
        let mut done = 0;
        for user in [&bob, &carol, &alice] {
            user.pump()?;
            if joined(&user.json(&["loop", "list"])?).is_some() {
                done += 1;
            }
        }
        if done == 3 {
            all_joined = true;
            break;
        }
    }
    ensure!(all_joined, "the three never all became members");
    alice.ok(&["loop", "send", "assembly", "from alice"])?;
    bob.ok(&["loop", "send", "assembly", "from bob"])?;
    let messages = carol.until(&["loop", "read", "assembly"], |m| {
        (text_of(m, "from alice").is_some() && text_of(m, "from bob").is_some()).then(|| m.to_vec())
    })?;
    ensure!(text_of(&messages, "from alice").is_some_and(|m| m["sender"] == "alice"));
    let members = carol.json(&["loop", "members", "assembly"])?;
    ensure!(members.len() == 3, "{members:?}");
    ensure!(members.iter().filter(|m| m["admin"] == true).count() == 1);
    Ok(())
}

#[test]
fn a_contact_is_shared_and_added_and_timers_and_policies_are_set() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;
    let carol = User::init("carol", &relay)?;
    introduce(&alice, &bob)?;
    introduce(&alice, &carol)?;
    // Bob's shareable card reaches Alice once Bob has synced.
    bob.pump()?;
    alice.until(&["contacts"], |contacts| {
        contacts
            .iter()
            .find(|c| c["name"] == "bob" && c["can_share"] == true)
            .map(|_| ())
    })?;
    let shared = alice.json(&["share", "carol", "bob"])?;
    ensure!(shared[0]["shared_contact"]["name"] == "bob", "{shared:?}");

    let message = carol.until(&["read", "alice"], |messages| {
        messages
            .iter()
            .find(|m| m["shared_contact"]["name"] == "bob")
            .cloned()
    })?;
    ensure!(message["shared_contact"]["already_contact"] == false);
    let id = message["id"].as_str().context("no id")?;
    let people = carol.ok(&["read", "alice"])?;
    ensure!(
        people.contains(&format!("boucle add-shared {}", &id[..8])),
        "{people}"
    );
    let added = carol.json(&["add-shared", &id[..8]])?;
    ensure!(added[0]["name"] == "bob", "{added:?}");
    ensure!(added[0]["introduced_by"] == "alice", "{added:?}");
    let again = carol.ok(&["add-shared", &id[..8]])?;
    ensure!(again.contains("already one of your contacts"), "{again}");
    bob.until(&["contacts"], |contacts| {
        contacts
            .iter()
            .find(|c| c["name"] == "carol" && c["introduced_by"] == "alice")
            .map(|_| ())
    })?;

    // Disappearing messages in the new chat, seen from both sides.
    let set = carol.json(&["timer", "bob", "1d"])?;
    ensure!(set[0]["timer_seconds"] == 86_400, "{set:?}");
    bob.until(&["timer", "carol"], |shown| {
        (shown[0]["timer"] == "1d").then_some(())
    })?;
    let line = bob.ok(&["read", "carol"])?;
    ensure!(
        line.contains("set disappearing messages to 1 day"),
        "{line}"
    );
    let refused = carol.run(&["timer", "bob", "2h"])?;
    ensure!(!refused.status.success());

    // An announcement loop.
    alice.json(&["loop", "create", "news", "bob"])?;
    let both = |loops: &[Value]| {
        loops
            .iter()
            .any(|l| l["name"] == "news" && l["member"] == true && l["members"] == 2)
    };
    let mut joined = false;
    for _ in 0..ATTEMPTS {
        bob.pump()?;
        alice.pump()?;
        if both(&alice.json(&["loop", "list"])?) && both(&bob.json(&["loop", "list"])?) {
            joined = true;
            break;
        }
    }
    ensure!(joined, "Bob never joined the loop");
    let policy = alice.json(&["loop", "policy", "news", "--admins-only-post"])?;
    ensure!(policy[0]["admins_only_post"] == true, "{policy:?}");
    ensure!(policy[0]["members_invite"] == false, "{policy:?}");
    bob.until(&["loop", "list"], |loops| {
        loops
            .iter()
            .find(|l| l["name"] == "news" && l["may_post"] == false)
            .map(|_| ())
    })?;
    let refused = bob.run(&["loop", "send", "news", "hello"])?;
    ensure!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    ensure!(error.contains("only admins can post"), "{error}");
    Ok(())
}

#[test]
fn a_file_goes_through_send_file_and_save_file() -> anyhow::Result<()> {
    let relay = relay()?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;
    introduce(&alice, &bob)?;
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let path = alice._dir.path().join("minutes.pdf");
    std::fs::write(&path, &content)?;
    let path = path.to_str().context("path")?;

    let sent = alice.json(&["send-file", "bob", path])?;
    ensure!(
        sent[0]["state"] == "complete" && sent[0]["name"] == "minutes.pdf",
        "{sent:?}"
    );
    ensure!(sent[0]["media_type"] == "application/pdf", "{sent:?}");
    let message = bob.until(&["read", "alice"], |m| {
        m.iter()
            .find(|m| m["file"]["name"] == "minutes.pdf")
            .cloned()
    })?;
    ensure!(message["file"]["size"] == 200_000, "{message}");
    let id = message["id"].as_str().context("no id")?.to_owned();
    let people = bob.ok(&["read", "alice"])?;
    ensure!(
        people.contains("[file minutes.pdf, application/pdf, 195.3 KiB]"),
        "{people}"
    );

    let dest = bob._dir.path().join("saved.pdf");
    let dest_text = dest.to_str().context("path")?;
    let saved = bob.json(&["save-file", "alice", &id[..8], dest_text])?;
    ensure!(saved[0]["path"] == dest_text, "{saved:?}");
    ensure!(std::fs::read(&dest)? == content, "byte-identical");
    // It is not replaced without --force; with it, it is.
    let again = bob.run(&["save-file", "alice", &id[..8], dest_text])?;
    ensure!(!again.status.success());
    ensure!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{again:?}"
    );
    bob.ok(&["save-file", "alice", &id[..8], dest_text, "--force"])?;
    // A directory as destination: saved under the sender's name.
    let into = bob._dir.path();
    bob.ok(&[
        "save-file",
        "alice",
        &id[..8],
        into.to_str().context("path")?,
    ])?;
    ensure!(std::fs::read(into.join("minutes.pdf"))? == content);
    // The sender can save what it sent.
    let sent_id = sent[0]["id"].as_str().context("no id")?;
    let own = alice._dir.path().join("copy.pdf");
    alice.ok(&[
        "save-file",
        "bob",
        &sent_id[..8],
        own.to_str().context("path")?,
    ])?;
    ensure!(std::fs::read(&own)? == content);
    // Someone who is neither a contact nor a loop.
    let nobody = alice.run(&["send-file", "zoe", path])?;
    ensure!(
        String::from_utf8_lossy(&nobody.stderr).contains("no contact or loop matches"),
        "{nobody:?}"
    );
    Ok(())
}

/// A full mailbox is not an outage: `send` says whose mailbox is full and on which relay,
/// and the message goes out once there is room (issue 12).
#[test]
fn a_full_mailbox_is_named_not_called_unreachable() -> anyhow::Result<()> {
    const QUOTA: usize = 3;
    let relay = RelayProcess::start(RelayOptions {
        limits: vec![("mailbox_max_envelopes", QUOTA as i64)],
        ..RelayOptions::default()
    })?;
    let alice = User::init("alice", &relay)?;
    let bob = User::init("bob", &relay)?;
    introduce(&alice, &bob)?;
    // Bob has read everything (his receipts and the introduction are drained).
    bob.ok(&["sync"])?;
    let host_port = format!("127.0.0.1:{}", relay.address().port());
    let mut said = Vec::new();
    for n in 0..QUOTA + 2 {
        said.push(alice.ok(&["send", "bob", &format!("note {n}"), "--wait", "2"])?);
    }
    let last = said.last().context("sent")?;
    ensure!(
        last.starts_with(&format!(
            "waiting: bob's mailbox on relay {host_port} is full;"
        )),
        "{said:?}"
    );
    ensure!(!said.iter().any(|s| s.contains("unreachable")), "{said:?}");
    // Bob reads; Alice's next sync sends the rest, in order, once.
    for _ in 0..ATTEMPTS {
        bob.ok(&["sync", "--wait", "2"])?;
        let synced = alice.json(&["sync", "--wait", "2"])?;
        if synced[0]["queued"] == 0 {
            break;
        }
    }
    let messages = bob.until(&["read", "alice"], |m| {
        (m.iter()
            .filter(|m| m["text"].as_str().is_some_and(|t| t.starts_with("note ")))
            .count()
            == QUOTA + 2)
            .then(|| m.to_vec())
    })?;
    let texts: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.starts_with("note "))
        .collect();
    let expected: Vec<String> = (0..QUOTA + 2).map(|n| format!("note {n}")).collect();
    ensure!(texts == expected, "{texts:?}");
    Ok(())
}
