//! A relay's data directory: `config.toml`, `cert.der`, `key.der`, `tokens`,
//! `relay.redb` and the `stats` file.

use std::path::{Path, PathBuf};

use boucle_wire::{AccessToken, RelayAddress};

use crate::config::Config;
use crate::error::RelayError;
use crate::tls::Identity;
use crate::tokens::TokenFile;

/// Name of the configuration file.
pub const CONFIG_FILE: &str = "config.toml";

/// What `init` produced.
#[derive(Debug)]
pub struct Initialized {
    /// The relay address (with the configured port).
    pub address: RelayAddress,
    /// The first access token, if the relay requires tokens.
    pub token: Option<AccessToken>,
    /// The configuration file written.
    pub config_path: PathBuf,
}

/// Whether `dir` holds an initialized relay.
pub fn is_initialized(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file()
        && dir.join("cert.der").is_file()
        && dir.join("key.der").is_file()
}

/// Creates a data directory: a certificate, a commented config file, a first token.
/// Refuses to touch a directory that is already initialized.
pub fn init(dir: &Path, config: &Config) -> Result<Initialized, RelayError> {
    if is_initialized(dir) {
        return Err(RelayError::Config {
            path: dir.join(CONFIG_FILE),
            reason: "this data directory is already initialized; nothing was changed".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| RelayError::io(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| RelayError::io(dir, e))?;
    }
    let identity = Identity::generate()?;
    identity.save(dir)?;
    let config_path = dir.join(CONFIG_FILE);
    crate::fsutil::write_private(&config_path, config.commented_toml().as_bytes())?;
    let token = if config.require_access_token {
        Some(TokenFile::new(dir).create("created by init")?.1)
    } else {
        None
    };
    let address = RelayAddress::new(
        &config.address_host(),
        config.listen.port(),
        identity.fingerprint(),
    )
    .map_err(|e| RelayError::Config {
        path: config_path.clone(),
        reason: format!("public_host: {e}"),
    })?;
    Ok(Initialized {
        address,
        token,
        config_path,
    })
}

/// Reads the configuration of an initialized data directory.
pub fn load_config(dir: &Path) -> Result<Config, RelayError> {
    if !is_initialized(dir) {
        return Err(RelayError::NotInitialized(dir.to_owned()));
    }
    Config::load(&dir.join(CONFIG_FILE))
}
