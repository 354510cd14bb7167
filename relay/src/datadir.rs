//! A relay's data directory: `config.toml`, `cert.der`, `key.der`, `tokens`,
//! `relay.redb`, the `stats` file and, while the relay serves, the `address` file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use boucle_relay_client::fingerprint_of;
use boucle_wire::{CertFingerprint, RelayAddress};

use crate::config::Config;
use crate::error::RelayError;
use crate::tls::Identity;
use crate::tokens::TokenFile;

/// Name of the configuration file.
pub const CONFIG_FILE: &str = "config.toml";

/// Name of the file holding the address of the relay serving the directory.
pub const ADDRESS_FILE: &str = "address";

/// What `init` produced.
#[derive(Debug)]
pub struct Initialized {
    /// The relay address, or `None` when the configured port is 0: the port is then
    /// chosen at each start, and the address is known only while the relay serves.
    pub address: Option<RelayAddress>,
    /// The first access token, if the relay requires tokens.
    pub token: Option<boucle_wire::AccessToken>,
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
/// Refuses to touch a directory that is already initialized, and checks the address it
/// would make before writing anything.
pub fn init(dir: &Path, config: &Config) -> Result<Initialized, RelayError> {
    if is_initialized(dir) {
        return Err(RelayError::AlreadyInitialized(dir.to_owned()));
    }
    let config_path = dir.join(CONFIG_FILE);
    let identity = Identity::generate()?;
    let address = address_from(config, identity.fingerprint(), &config_path)?;
    std::fs::create_dir_all(dir).map_err(|e| RelayError::io(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| RelayError::io(dir, e))?;
    }
    identity.save(dir)?;
    crate::fsutil::write_private(&config_path, config.commented_toml().as_bytes())?;
    let token = if config.require_access_token {
        Some(TokenFile::new(dir).create("created by init")?.1)
    } else {
        None
    };
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

/// The relay address `config` gives with the directory's certificate, or `None` when the
/// configured port is 0 (see [`live_address`] for the address of a serving relay).
pub fn configured_address(dir: &Path, config: &Config) -> Result<Option<RelayAddress>, RelayError> {
    let cert_path = dir.join("cert.der");
    let certificate = std::fs::read(&cert_path).map_err(|e| RelayError::io(&cert_path, e))?;
    address_from(config, fingerprint_of(&certificate), &dir.join(CONFIG_FILE))
}

fn address_from(
    config: &Config,
    fingerprint: CertFingerprint,
    config_path: &Path,
) -> Result<Option<RelayAddress>, RelayError> {
    let port = config.listen.port();
    let address = RelayAddress::new(&config.address_host(), port, fingerprint).map_err(|e| {
        RelayError::Config {
            path: config_path.to_owned(),
            reason: format!("public_host: {e}"),
        }
    })?;
    Ok((port != 0).then_some(address))
}

/// The address of the relay serving a data directory, published in its `address` file
/// for as long as this value lives.
///
/// The file holds one line, the relay address. The serving process keeps an exclusive
/// lock on it, which the system releases when the process ends however it ends, so
/// [`live_address`] can tell a serving relay's file from one left behind by a relay that
/// was killed. Dropping this value removes the file.
#[derive(Debug)]
pub struct LiveAddress {
    path: PathBuf,
    _file: File,
}

impl LiveAddress {
    /// Writes `address` to `dir`'s address file and locks it.
    pub fn publish(dir: &Path, address: &RelayAddress) -> Result<LiveAddress, RelayError> {
        let path = dir.join(ADDRESS_FILE);
        let io = |e| RelayError::io(&path, e);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // Waits only for a reader's brief shared lock: a second relay on the same
        // directory has already failed to open the store.
        file.lock().map_err(io)?;
        file.set_len(0).map_err(io)?;
        file.write_all(format!("{address}\n").as_bytes())
            .map_err(io)?;
        Ok(LiveAddress { path, _file: file })
    }
}

impl Drop for LiveAddress {
    fn drop(&mut self) {
        // Removed while still locked: a reader sees either the address or no file.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The address of the relay serving `dir` right now, or `None` when none serves it.
pub fn live_address(dir: &Path) -> Result<Option<RelayAddress>, RelayError> {
    let path = dir.join(ADDRESS_FILE);
    let io = |e| RelayError::io(&path, e);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    match file.try_lock_shared() {
        // Nobody holds it: left behind by a relay that did not stop cleanly.
        Ok(()) => return Ok(None),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // A relay serves. It writes the line right after taking the lock: give it a moment.
    for _ in 0..100 {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        if let Some(line) = text.strip_suffix('\n') {
            return line.parse().map(Some).map_err(|e| RelayError::Config {
                path: path.clone(),
                reason: format!("{e}"),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(RelayError::Config {
        path,
        reason: "the serving relay did not write its address".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(port: u16) -> RelayAddress {
        RelayAddress::new("127.0.0.1", port, CertFingerprint::from_bytes([7; 32])).unwrap()
    }

    #[test]
    fn a_published_address_is_read_back_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(live_address(dir.path()).unwrap(), None);
        let published = LiveAddress::publish(dir.path(), &address(4433)).unwrap();
        assert_eq!(live_address(dir.path()).unwrap(), Some(address(4433)));
        drop(published);
        assert_eq!(live_address(dir.path()).unwrap(), None);
        assert!(!dir.path().join(ADDRESS_FILE).exists());
    }

    #[test]
    fn an_unlocked_address_file_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ADDRESS_FILE), format!("{}\n", address(1))).unwrap();
        assert_eq!(live_address(dir.path()).unwrap(), None);
        // A new relay takes the file over.
        let _published = LiveAddress::publish(dir.path(), &address(2)).unwrap();
        assert_eq!(live_address(dir.path()).unwrap(), Some(address(2)));
    }

    #[test]
    fn init_checks_the_address_before_writing_anything() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("relay");
        let config = Config {
            public_host: Some("bad host".into()),
            ..Config::default()
        };
        assert!(matches!(
            init(&dir, &config),
            Err(RelayError::Config { .. })
        ));
        assert!(!dir.exists());
    }

    #[test]
    fn port_zero_has_no_address_until_it_serves() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Config::default()
        };
        let initialized = init(dir.path(), &config).unwrap();
        assert_eq!(initialized.address, None);
        assert_eq!(configured_address(dir.path(), &config).unwrap(), None);
        assert!(matches!(
            init(dir.path(), &config),
            Err(RelayError::AlreadyInitialized(_))
        ));
    }
}
