//! `boucle-relay serve`: run the relay until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use boucle_relay::{Durability, Relay, datadir};

use super::usage;

/// Options of `serve`. Those that override the configuration apply to this run only:
/// `config.toml` is never changed by `serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Listen here for this run only, instead of the configured address (config.toml is
    /// not changed); 127.0.0.1:0 picks a free port.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Override the configured durability for this run (for comparison runs only).
    #[arg(long, value_enum)]
    durability: Option<DurabilityArg>,
    /// When this run creates the data directory: let anyone create mailboxes, without an
    /// access token. On a relay that requires tokens, serve refuses to start with --open.
    #[arg(long)]
    open: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DurabilityArg {
    Fsync,
    OsBuffered,
}

pub(crate) fn long_help() -> String {
    super::long_help(
        "  # Run the relay of /var/lib/boucle (as a systemd service, say):
  boucle-relay --data-dir /var/lib/boucle serve

  # Try Boucle on this machine: the first run creates ./relay-data, where anyone may
  # create mailboxes, and prints the address to use:
  boucle-relay serve --open

  # A test relay on a free port; its address is printed, and `address` prints it too:
  boucle-relay --data-dir /tmp/relay serve --listen 127.0.0.1:0",
        "On start, serve prints `listening on <socket address>` and `relay address: <address>` \
         on stdout (scripts may read them), and refuses (status 2) --open on a relay that \
         requires access tokens.",
    )
}

pub(crate) fn run(data_dir: &Path, args: Args) -> anyhow::Result<()> {
    let config_path = data_dir.join(datadir::CONFIG_FILE);
    if datadir::is_initialized(data_dir) {
        let config = datadir::load_config(data_dir)?;
        if args.open && config.require_access_token {
            return Err(usage(format!(
                "this relay requires access tokens ({path} says require_access_token = true) and \
                 --open does not change that: to let anyone create mailboxes, set \
                 require_access_token = false there and start it again",
                path = config_path.display()
            )));
        }
    } else {
        // The configured defaults (and --open); --listen stays an override of this run.
        let init = super::init::Args {
            open: args.open,
            ..Default::default()
        };
        let initialized =
            datadir::init(data_dir, &init.config()).context("cannot initialize the relay")?;
        super::init::print_initialized(data_dir, &initialized, false);
    }
    let mut config = datadir::load_config(data_dir)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    match args.durability {
        Some(DurabilityArg::Fsync) => config.durability = Durability::Fsync,
        Some(DurabilityArg::OsBuffered) => config.durability = Durability::OsBuffered,
        None => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Listen for SIGTERM and Ctrl-C before the address is printed: a signal sent as
        // soon as a script has read it must stop the relay gracefully, not kill it.
        let shutdown = shutdown_signal()?;
        let relay = Relay::bind(config.clone(), data_dir)
            .with_context(|| format!("cannot start the relay from {}", data_dir.display()))?;
        let local = relay.local_addr()?;
        // Published before it is printed: once a script has read the line, `boucle-relay
        // address` prints the same. Removed again when the relay stops.
        let _published = datadir::LiveAddress::publish(data_dir, relay.address())
            .context("cannot record the relay address")?;
        // Scripts and tests read these two lines.
        println!("listening on {local}");
        println!("relay address: {}", relay.address());
        if let Some(warning) = super::loopback_only_warning(&config, &config_path) {
            tracing::warn!("{warning}");
        }
        if config.durability == Durability::OsBuffered {
            tracing::warn!(
                "durability = os-buffered: acknowledged envelopes can be lost on power failure"
            );
        }
        tracing::info!("relay started");
        relay.serve(shutdown).await?;
        Ok(())
    })
}

/// Completes on SIGTERM or SIGINT (Ctrl-C). The handlers are installed now, not when the
/// future is first polled.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
