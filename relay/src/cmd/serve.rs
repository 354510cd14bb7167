use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use boucle_relay::{Durability, Relay, datadir};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Listen here instead of the configured address (for example 127.0.0.1:0).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Override the configured durability (for comparison runs only).
    #[arg(long, value_enum)]
    durability: Option<DurabilityArg>,
    /// On first run: let anyone create mailboxes, without an access token.
    #[arg(long)]
    open: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DurabilityArg {
    Fsync,
    OsBuffered,
}

pub(crate) fn run(data_dir: &Path, args: Args) -> anyhow::Result<()> {
    if !datadir::is_initialized(data_dir) {
        let init = super::init::Args {
            listen: args.listen,
            public_host: None,
            open: args.open,
        };
        let initialized = datadir::init(data_dir, &init.config())
            .with_context(|| format!("cannot initialize {}", data_dir.display()))?;
        super::init::print_initialized(data_dir, &initialized);
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
        let relay = Relay::bind(config.clone(), data_dir)
            .with_context(|| format!("cannot start the relay from {}", data_dir.display()))?;
        let local = relay.local_addr()?;
        // Scripts and tests read these two lines.
        println!("listening on {local}");
        println!("relay address: {}", relay.address());
        if config.durability == Durability::OsBuffered {
            tracing::warn!(
                "durability = os-buffered: acknowledged envelopes can be lost on power failure"
            );
        }
        tracing::info!("relay started");
        relay.serve(boucle_relay::shutdown_signal()).await?;
        Ok(())
    })
}
