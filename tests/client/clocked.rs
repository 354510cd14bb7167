//! Users whose engines run on manual clocks, for the scenarios that need real relay
//! processes and control over time (the invited). The poll and agenda scenarios moved
//! to the in-memory net of engines (`crates/client-core/src/pair/`).

use boucle_client_core::{Clock, Engine, EngineOptions};
use boucle_test_support::RelayProcess;

use crate::support::{PASSPHRASE, User, options};

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
