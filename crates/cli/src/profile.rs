//! The profile a command works on: where it is, how to unlock it, and the open-sync-run-
//! lock sequence every connecting command follows.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use boucle_client_core::store::KdfParams;
use boucle_client_core::{Engine, EngineOptions};

/// Environment variable holding the passphrase (else it is asked on the terminal).
pub const PASSPHRASE_ENV: &str = "BOUCLE_PASSPHRASE";
/// Environment variable holding the new passphrase for `passwd`.
pub const NEW_PASSPHRASE_ENV: &str = "BOUCLE_NEW_PASSPHRASE";
/// For tests only: `1` makes passphrase hashing nearly free, and so offers no protection.
pub const INSECURE_FAST_KDF_ENV: &str = "BOUCLE_INSECURE_FAST_KDF";

/// How long a command waits, after unlocking, for what the relays hold to be processed.
pub const STARTUP_SYNC: Duration = Duration::from_secs(3);

/// Options every command shares.
#[derive(Debug)]
pub struct Globals {
    /// The profile directory.
    pub profile: PathBuf,
    /// Print JSON lines instead of text.
    pub json: bool,
}

impl Globals {
    pub fn new(profile: Option<PathBuf>, json: bool) -> anyhow::Result<Globals> {
        let profile = match profile {
            Some(dir) => dir,
            None => default_profile()?,
        };
        Ok(Globals { profile, json })
    }

    /// Engine settings: the recommended passphrase hashing, unless the tests-only
    /// variable asks otherwise.
    pub fn options(&self) -> EngineOptions {
        EngineOptions {
            kdf: kdf(),
            ..EngineOptions::default()
        }
    }

    /// Unlocks the profile (passphrase from the environment or the terminal).
    pub async fn unlock(&self) -> anyhow::Result<Engine> {
        let passphrase = crate::tty::passphrase(PASSPHRASE_ENV, "Passphrase: ")?;
        Ok(Engine::unlock(&self.profile, &passphrase, self.options()).await?)
    }

    /// Unlocks the profile, lets it catch up with its relays for a moment, runs `body`,
    /// and locks the profile again whatever `body` returned.
    pub async fn with_engine<F, Fut>(&self, body: F) -> anyhow::Result<()>
    where
        F: FnOnce(Engine) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let engine = self.unlock().await?;
        if !engine.sync(STARTUP_SYNC).await {
            eprintln!(
                "note: not everything could be exchanged with the relays yet (is one unreachable?)"
            );
        }
        let result = body(engine.clone()).await;
        engine.lock().await;
        result
    }
}

/// Passphrase hashing parameters: recommended, or for tests only when
/// `BOUCLE_INSECURE_FAST_KDF=1`.
pub fn kdf() -> KdfParams {
    if std::env::var(INSECURE_FAST_KDF_ENV).is_ok_and(|v| v == "1") {
        KdfParams::for_tests()
    } else {
        KdfParams::recommended()
    }
}

fn default_profile() -> anyhow::Result<PathBuf> {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(data).join("boucle"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot find a place for the profile: set --profile, BOUCLE_PROFILE or HOME")?;
    Ok(PathBuf::from(home).join(".local/share/boucle"))
}
