//! Users whose engines run on manual clocks, for the scenarios that need real relay
//! processes and control over time (the agenda, the invited). The poll scenarios moved
//! to the in-memory net of engines (`crates/client-core/src/pair/scenarios.rs`).

use boucle_client_core::{Clock, ContactId, Engine, EngineOptions, LoopId};
use boucle_test_support::RelayProcess;

use crate::support::{PASSPHRASE, User, introduce, options};

/// A fixed starting time for the users' manual clocks: 2030-03-17.
pub const T0: u64 = 1_900_000_000_000;

/// A user whose engine runs on `clock`.
pub async fn clocked_user(name: &str, relay: &RelayProcess, clock: &Clock) -> anyhow::Result<User> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("boucle-{name}"))
        .tempdir()?;
    let engine = Engine::create(
        &dir.path().join("profile"),
        PASSPHRASE,
        name,
        &relay.address().to_string(),
        None,
        clocked(clock),
    )
    .await?;
    let events = engine.events();
    Ok(User {
        dir,
        engine,
        events,
    })
}

fn clocked(clock: &Clock) -> EngineOptions {
    EngineOptions {
        clock: clock.clone(),
        ..options()
    }
}

/// Users on one relay, each with a manual clock at [`T0`], all in one loop the first one
/// created (and administers). Returns the users, their clocks, the loop and, for the
/// first user, the other users' contact ids.
pub async fn users_in_a_loop(
    names: &[&str],
    relay: &RelayProcess,
) -> anyhow::Result<(Vec<User>, Vec<Clock>, LoopId, Vec<ContactId>)> {
    let clocks: Vec<Clock> = names.iter().map(|_| Clock::manual(T0)).collect();
    let mut users = Vec::new();
    for (name, clock) in names.iter().zip(&clocks) {
        users.push(clocked_user(name, relay, clock).await?);
    }
    let (first, others) = users.split_first_mut().expect("at least one user");
    let mut contacts = Vec::new();
    for other in others.iter_mut() {
        let (for_first, _) = introduce(first, other).await?;
        contacts.push(for_first);
    }
    let id = first.engine.create_loop("Assemblée", &contacts).await?;
    for user in users.iter_mut() {
        user.until(|e| {
            e.loops()
                .ok()?
                .into_iter()
                .find(|l| l.id == id && l.member && l.members == names.len())
                .map(|_| ())
        })
        .await?;
    }
    Ok((users, clocks, id, contacts))
}
