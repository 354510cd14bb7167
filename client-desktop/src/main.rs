//! `boucle-desktop [--profile DIR]`: the Boucle desktop app.
//!
//! The profile directory comes from `--profile`, else `BOUCLE_PROFILE`, else
//! `~/.local/share/boucle`. `BOUCLE_RELAY` (and `BOUCLE_RELAY_TOKEN`) prefill the relay
//! on the first-run screen; `BOUCLE_INSECURE_FAST_KDF=1` makes passphrase hashing cheap
//! (tests and demos only).

use std::path::PathBuf;

use anyhow::{Context, bail};
use boucle_client_core::store::KdfParams;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOUCLE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let config = boucle_desktop::app::Config {
        profile: profile_dir()?,
        kdf: if std::env::var("BOUCLE_INSECURE_FAST_KDF").is_ok_and(|v| v == "1") {
            KdfParams::for_tests()
        } else {
            KdfParams::recommended()
        },
        relay: std::env::var("BOUCLE_RELAY").ok().filter(|s| !s.is_empty()),
        token: std::env::var("BOUCLE_RELAY_TOKEN")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    boucle_desktop::run(config).context("the window could not be opened")
}

fn profile_dir() -> anyhow::Result<PathBuf> {
    let mut args = std::env::args().skip(1);
    if let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => {
                return args
                    .next()
                    .map(PathBuf::from)
                    .context("--profile needs a directory");
            }
            "-h" | "--help" => {
                println!("usage: boucle-desktop [--profile DIR]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (usage: boucle-desktop [--profile DIR])"),
        }
    }
    if let Some(dir) = std::env::var_os("BOUCLE_PROFILE") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find a place for the profile: set --profile, BOUCLE_PROFILE or HOME")?;
    Ok(PathBuf::from(home).join(".local/share/boucle"))
}
