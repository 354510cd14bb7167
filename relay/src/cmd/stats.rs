use std::path::Path;

use anyhow::{Context, bail};
use boucle_relay::{RelayError, STATS_FILE, STORE_FILE, Store, datadir};

pub(crate) fn run(data_dir: &Path) -> anyhow::Result<()> {
    if !datadir::is_initialized(data_dir) {
        bail!(
            "{} is not an initialized relay data directory (run `boucle-relay init` first)",
            data_dir.display()
        );
    }
    match Store::open(&data_dir.join(STORE_FILE)) {
        Ok(store) => {
            let stats = store.stats()?;
            println!("mailboxes = {}", stats.mailboxes);
            println!("envelopes = {}", stats.envelopes);
            println!("envelope_bytes = {}", stats.envelope_bytes);
            println!("file_bytes = {}", stats.file_bytes);
            Ok(())
        }
        Err(RelayError::StoreInUse) => {
            let path = data_dir.join(STATS_FILE);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "the relay is running and its stats file {} cannot be read",
                    path.display()
                )
            })?;
            println!("# the relay is running: live counters (updated every 5 s)");
            print!("{text}");
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
