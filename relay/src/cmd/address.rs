//! `boucle-relay address`: the relay address clients use, printed again.

use std::path::Path;
use std::time::{Duration, Instant};

use boucle_relay::datadir;

/// Options of `address`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Wait up to SECONDS for the relay to serve, then print the address it serves at
    /// (for a script that has just started `serve`, perhaps with a --listen override).
    #[arg(long, value_name = "SECONDS")]
    wait: Option<u64>,
}

pub(crate) fn long_help() -> String {
    super::long_help(
        "  boucle-relay --data-dir /var/lib/boucle address

  # In a script, with the relay started in the background on a free port:
  boucle-relay --data-dir /tmp/relay serve --listen 127.0.0.1:0 &
  address=$(boucle-relay --data-dir /tmp/relay address --wait 10)",
        "While the relay serves, `address` prints the address it serves at (the one `serve` \
         printed, port included); otherwise the configured one. It prints the address alone on \
         stdout, and fails (status 1) when the configured port is 0 and the relay is not \
         serving (the port is then chosen at each start), or when --wait runs out.",
    )
}

/// How often `--wait` looks again.
const POLL: Duration = Duration::from_millis(50);

pub(crate) fn run(data_dir: &Path, args: Args) -> anyhow::Result<()> {
    let config = datadir::load_config(data_dir)?;
    let config_path = data_dir.join(datadir::CONFIG_FILE);
    if let Some(warning) = super::loopback_only_warning(&config, &config_path) {
        eprintln!("warning: {warning}");
    }
    if let Some(secs) = args.wait {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(live) = datadir::live_address(data_dir)? {
                println!("{live}");
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "the relay of {} did not start serving within {secs} s",
                    data_dir.display()
                );
            }
            std::thread::sleep(POLL);
        }
    }
    if let Some(live) = datadir::live_address(data_dir)? {
        println!("{live}");
        return Ok(());
    }
    match datadir::configured_address(data_dir, &config)? {
        Some(address) => {
            println!("{address}");
            Ok(())
        }
        None => anyhow::bail!(
            "{path} sets listen port 0 (a free port chosen at each start), so the relay address \
             is known only while it serves: start `boucle-relay serve`, or set a fixed port in \
             `listen`",
            path = config_path.display()
        ),
    }
}
