//! Boucle's relay: sealed store-and-forward over QUIC with an embedded durable store.
//!
//! A relay keeps envelopes for mailboxes it knows only by random ids, hands them to the
//! owner (who proves the mailbox's key on each connection), and forgets them once
//! acknowledged. It never reads an envelope's content and does not depend on Boucle's
//! cryptography crate: the build graph itself shows it only handles ciphertext.
//!
//! - [`Relay`]: bind to a socket ([`Relay::bind`]) and [`Relay::serve`] until a shutdown
//!   future completes;
//! - [`Store`]: the redb store, written only by a group-commit writer thread;
//! - [`Config`]: the operator's TOML configuration;
//! - [`datadir`]: `init` of a data directory (certificate, config, first token).
//!
//! The `boucle-relay` binary is a thin clap front end over this library; `relay-bench`
//! measures it.

pub mod config;
pub mod datadir;
mod error;
mod fsutil;
mod hub;
mod server;
mod store;
pub mod tls;
pub mod tokens;

pub use config::{Config, Durability, Limits};
pub use error::RelayError;
pub use server::{Relay, STATS_FILE};
pub use store::{STORE_FILE, Store, StoreStats};

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
