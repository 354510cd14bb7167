use std::time::Duration;

use boucle_client_core::store::KdfParams;
use boucle_client_core::{
    Contact, ContactId, ConversationId, Engine, EngineOptions, Event, LoopId, MessageId,
    MessageView,
};
use boucle_test_support::RelayProcess;
use tokio::sync::broadcast;

pub const WAIT: Duration = Duration::from_secs(30);
pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn options() -> EngineOptions {
    EngineOptions {
        kdf: KdfParams::for_tests(),
        ..EngineOptions::default()
    }
}

/// A user: a profile directory and its running engine.
pub struct User {
    pub dir: tempfile::TempDir,
    pub engine: Engine,
    pub events: broadcast::Receiver<Event>,
}

impl User {
    pub async fn new(name: &str, relay: &RelayProcess) -> anyhow::Result<User> {
        User::with_options(name, relay, options()).await
    }

    /// A user whose engine has these options (e.g. a manual clock).
    pub async fn with_options(
        name: &str,
        relay: &RelayProcess,
        options: EngineOptions,
    ) -> anyhow::Result<User> {
        User::create(name, relay, options, None).await
    }

    /// A user whose profile directory is made inside `parent` (e.g. a small disk).
    pub async fn with_profile_in(
        name: &str,
        relay: &RelayProcess,
        parent: &std::path::Path,
    ) -> anyhow::Result<User> {
        User::create(name, relay, options(), Some(parent)).await
    }

    async fn create(
        name: &str,
        relay: &RelayProcess,
        options: EngineOptions,
        parent: Option<&std::path::Path>,
    ) -> anyhow::Result<User> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let prefix = format!("boucle-{name}");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        let dir = match parent {
            Some(parent) => builder.tempdir_in(parent)?,
            None => builder.tempdir()?,
        };
        let engine = Engine::create(
            &dir.path().join("profile"),
            PASSPHRASE,
            name,
            &relay.address().to_string(),
            None,
            options,
        )
        .await?;
        let events = engine.events();
        Ok(User {
            dir,
            engine,
            events,
        })
    }

    /// The user of a profile locked earlier, unlocked again (as after a restart).
    pub async fn reopen(dir: tempfile::TempDir) -> anyhow::Result<User> {
        let engine = Engine::unlock(&dir.path().join("profile"), PASSPHRASE, options()).await?;
        let events = engine.events();
        Ok(User {
            dir,
            engine,
            events,
        })
    }

    pub fn profile(&self) -> std::path::PathBuf {
        self.dir.path().join("profile")
    }

    /// Waits for an event matching `pick`, skipping others.
    pub async fn wait_for<T>(
        &mut self,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv()).await??;
            if let Some(found) = pick(&event) {
                return Ok(found);
            }
        }
    }

    /// Waits until `check` returns something, re-checking after every event (and at
    /// least every 100 ms). For state that events may have announced already.
    pub async fn until<T>(
        &mut self,
        mut check: impl FnMut(&Engine) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(found) = check(&self.engine) {
                return Ok(found);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the expected state never came"
            );
            let _ = tokio::time::timeout(Duration::from_millis(100), self.events.recv()).await;
        }
    }

    pub async fn next_message(&mut self) -> anyhow::Result<MessageView> {
        self.wait_for(|e| match e {
            Event::MessageReceived(view) => Some(view.clone()),
            _ => None,
        })
        .await
    }

    /// Waits until a contact named `name` exists.
    pub async fn contact_named(&mut self, name: &str) -> anyhow::Result<Contact> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(contact) = self.engine.contacts()?.into_iter().find(|c| c.name == name) {
                return Ok(contact);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{name} never became a contact"
            );
            let _ = tokio::time::timeout(Duration::from_millis(100), self.events.recv()).await;
        }
    }
}

/// Alice invites, Bob accepts; returns each one's id for the other once both hold the
/// other's shareable card (so nothing of the introduction is still in flight).
pub async fn introduce(alice: &mut User, bob: &mut User) -> anyhow::Result<(ContactId, ContactId)> {
    let invitation = alice.engine.invite().await?;
    let alice_for_bob = bob.engine.accept(&invitation.to_link()).await?;
    let bob_name = bob.engine.name()?;
    let bob_for_alice = alice.contact_named(&bob_name).await?;
    let (a, b) = (bob_for_alice.id, alice_for_bob.id);
    alice
        .until(|e| e.contact(a).ok().filter(|c| c.can_share))
        .await?;
    bob.until(|e| e.contact(b).ok().filter(|c| c.can_share))
        .await?;
    // Bob moves from the invitation's mailbox to a locked one of his own; once that is
    // done on both sides, nothing of the introduction is left in either outbox.
    let used = invitation.card.mailbox().0.clone();
    bob.until(|e| {
        let now = postcard::to_allocvec(&e.contact_address(b).ok()?).ok()?;
        (now != used).then_some(())
    })
    .await?;
    for _ in 0..2 {
        anyhow::ensure!(alice.engine.sync(WAIT).await, "Alice did not sync");
        anyhow::ensure!(bob.engine.sync(WAIT).await, "Bob did not sync");
    }
    Ok((a, b))
}

pub fn text(view: &MessageView) -> String {
    match &view.body {
        boucle_client_core::MessageBody::Text(text) => text.clone(),
        other => format!("{other:?}"),
    }
}

/// The current view of a message of a conversation.
pub fn message(
    engine: &Engine,
    conversation: ConversationId,
    id: MessageId,
) -> Option<MessageView> {
    engine
        .history(conversation, None, 10_000)
        .ok()?
        .into_iter()
        .find(|m| m.id == id)
}

/// Polls `check` (every 10 ms) until it returns something or `timeout` passes.
pub async fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return Ok(found);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One counter of `boucle-relay stats --json` (live counters, refreshed every few
/// seconds while the relay runs; `updated_unix_ms` says when).
pub fn relay_stat(relay: &RelayProcess, name: &str) -> Option<u64> {
    let stats = relay.admin(&["stats", "--json"]).ok()?;
    let stats: serde_json::Value = serde_json::from_str(stats.trim()).ok()?;
    stats.get(name)?.as_u64()
}

/// The relay's envelope count (see [`relay_stat`]).
pub fn relay_envelopes(relay: &RelayProcess) -> Option<u64> {
    relay_stat(relay, "envelopes")
}

/// Number of received (not ours) messages in a conversation.
pub fn received_count(engine: &Engine, conversation: ConversationId) -> usize {
    engine
        .history(conversation, None, 100_000)
        .map(|h| h.iter().filter(|m| !m.from_me).count())
        .unwrap_or(0)
}

/// Checks that the received messages of a conversation are exactly
/// `"{prefix}{i:05}"` for i in 0..n, in order, each once.
pub fn assert_exactly_once_in_order(
    engine: &Engine,
    conversation: ConversationId,
    prefix: &str,
    n: usize,
) -> anyhow::Result<()> {
    let received: Vec<MessageView> = engine
        .history(conversation, None, 100_000)?
        .into_iter()
        .filter(|m| !m.from_me)
        .collect();
    let ids: std::collections::HashSet<MessageId> = received.iter().map(|m| m.id).collect();
    anyhow::ensure!(
        ids.len() == received.len(),
        "{} messages shown twice",
        received.len() - ids.len()
    );
    let texts: Vec<String> = received.iter().map(text).collect();
    let expected: Vec<String> = (0..n).map(|i| format!("{prefix}{i:05}")).collect();
    if texts != expected {
        let first_wrong = texts
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(texts.len().min(expected.len()));
        anyhow::bail!(
            "got {} messages, expected {n}; first difference at {first_wrong}: {:?} vs {:?}",
            texts.len(),
            texts.get(first_wrong),
            expected.get(first_wrong)
        );
    }
    Ok(())
}

/// The number of members of a loop as `engine` knows it, while it is a member.
pub fn member_count(engine: &Engine, id: LoopId) -> Option<usize> {
    engine
        .loops()
        .ok()?
        .into_iter()
        .find(|l| l.id == id && l.member)
        .map(|l| l.members)
}

/// Waits until each of `users` counts `n` members in the loop.
pub async fn until_members(users: [&mut User; 3], id: LoopId, n: usize) -> anyhow::Result<()> {
    for user in users {
        user.until(|e| (member_count(e, id) == Some(n)).then_some(()))
            .await?;
    }
    Ok(())
}
