//! Test fixtures: real relay processes on 127.0.0.1.
//!
//! [`RelayProcess::start`] runs the `boucle-relay` binary built by cargo (or the one named
//! by `BOUCLE_RELAY_BIN`) on a fresh data directory, listening on 127.0.0.1 port 0, and
//! reads the relay address it prints. It can be stopped gracefully (SIGTERM), killed
//! (SIGKILL) and restarted on the same data directory and port. Dropping it kills the
//! process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use boucle_wire::{AccessToken, RelayAddress};

/// Where cargo put the workspace's binaries (next to the running test executable).
pub fn target_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/test-binary -> target/<profile>/
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_dir.join(name)
}

/// The relay binary under test.
pub fn relay_binary() -> PathBuf {
    std::env::var_os("BOUCLE_RELAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_binary("boucle-relay"))
}

/// How to start a relay.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Let anyone create mailboxes (no token).
    pub open: bool,
    /// `[limits]` keys to set in the config file, e.g. `("mailbox_max_envelopes", 5)`.
    pub limits: Vec<(&'static str, i64)>,
    /// Top-level config keys to set (string values), e.g. `("durability", "os-buffered")`.
    pub settings: Vec<(&'static str, String)>,
    /// Where to create the data directory (default: the system's temporary directory),
    /// e.g. on a small file system to fill. The relay's log is then kept elsewhere.
    pub data_dir_in: Option<PathBuf>,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            open: true,
            limits: Vec::new(),
            settings: Vec::new(),
            data_dir_in: None,
        }
    }
}

/// A running (or stopped) relay process and its data directory.
#[derive(Debug)]
pub struct RelayProcess {
    child: Option<Child>,
    data_dir: tempfile::TempDir,
    address: RelayAddress,
    port: u16,
    /// The access token printed by `init` (when the relay is not open).
    pub token: Option<AccessToken>,
    stderr_log: PathBuf,
    _log_dir: Option<tempfile::TempDir>,
}

impl RelayProcess {
    /// Initializes a data directory and starts the relay on 127.0.0.1, port 0.
    pub fn start(options: RelayOptions) -> anyhow::Result<RelayProcess> {
        let binary = relay_binary();
        if !binary.is_file() {
            bail!(
                "relay binary not found at {} (build it with `cargo build -p boucle-relay`, or set BOUCLE_RELAY_BIN)",
                binary.display()
            );
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix("boucle-relay-test");
        let data_dir = match &options.data_dir_in {
            Some(parent) => builder.tempdir_in(parent)?,
            None => builder.tempdir()?,
        };
        let log_dir = match options.data_dir_in {
            Some(_) => Some(builder.tempdir()?),
            None => None,
        };
        let mut init = Command::new(&binary);
        init.arg("--data-dir")
            .arg(data_dir.path())
            .args(["init", "--listen", "127.0.0.1:0"]);
        if options.open {
            init.arg("--open");
        }
        let output = init.output().context("running boucle-relay init")?;
        if !output.status.success() {
            bail!("init failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let token = stdout
            .lines()
            .find_map(|l| l.strip_prefix("access token: "))
            .and_then(parse_token);
        edit_config(&data_dir.path().join("config.toml"), &options)?;
        let stderr_log = log_dir
            .as_ref()
            .map_or(data_dir.path(), |d| d.path())
            .join("relay-stderr.log");
        let mut relay = RelayProcess {
            child: None,
            address: RelayAddress::new(
                "127.0.0.1",
                0,
                boucle_wire::CertFingerprint::from_bytes([0; 32]),
            )?,
            port: 0,
            token,
            data_dir,
            stderr_log,
            _log_dir: log_dir,
        };
        relay.spawn("127.0.0.1:0")?;
        Ok(relay)
    }

    fn spawn(&mut self, listen: &str) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_log)?;
        let mut child = Command::new(relay_binary())
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(["serve", "--listen", listen])
            .env("RUST_LOG", "debug,quinn=warn,rustls=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting boucle-relay serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("relay address: ") {
                        self.address = address.parse()?;
                        self.port = self.address.port();
                        return Ok(());
                    }
                }
                Err(_) => bail!(
                    "the relay did not print its address; its log:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// The relay address clients use.
    pub fn address(&self) -> &RelayAddress {
        &self.address
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the relay wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most 30 s) for the process to exit.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("the relay is not running")?;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the relay did not exit within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL (no chance to clean up).
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        let mut child = self.child.take().context("the relay is not running")?;
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Starts the relay again on the same data directory and port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("the relay is still running");
        }
        let listen = format!("127.0.0.1:{}", self.port);
        self.spawn(&listen)
    }

    /// Runs another `boucle-relay` subcommand on this data directory; returns stdout.
    pub fn admin(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = Command::new(relay_binary())
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(args)
            .output()?;
        if !output.status.success() {
            bail!(
                "boucle-relay {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Parses the text form of an access token (base64url, as the relay prints it).
pub fn parse_token(text: &str) -> Option<AccessToken> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()?;
    AccessToken::from_slice(&bytes).ok()
}

fn edit_config(path: &Path, options: &RelayOptions) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut table: toml::Table = text.parse()?;
    for (key, value) in &options.settings {
        table.insert((*key).to_owned(), toml::Value::String(value.clone()));
    }
    let limits = table
        .entry("limits")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(limits) = limits {
        for (key, value) in &options.limits {
            limits.insert((*key).to_owned(), toml::Value::Integer(*value));
        }
    }
    std::fs::write(path, toml::to_string(&table)?)?;
    Ok(())
}

/// A small file system of its own (a tmpfs of a fixed size), to fill up. Mounting needs
/// root; where it is refused, [`SmallDisk::mount`] gives `None` and the test says it was
/// skipped. Unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// A tmpfs of `bytes` bytes, or `None` where this machine does not allow it.
    pub fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::Builder::new()
            .prefix("boucle-disk")
            .tempdir()
            .ok()?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        output.status.success().then_some(SmallDisk { dir })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills it with files of `chunk` bytes under `ballast/` until it is full, then frees
    /// `keep` bytes of them: what is left is about `keep` bytes of room.
    pub fn fill_leaving(&self, keep: u64, chunk: usize) -> std::io::Result<()> {
        let ballast = self.dir.path().join("ballast");
        std::fs::create_dir_all(&ballast)?;
        let mut files = Vec::new();
        for n in 0.. {
            let path = ballast.join(n.to_string());
            match std::fs::write(&path, vec![0u8; chunk]) {
                Ok(()) => files.push(path),
                Err(error) if error.kind() == std::io::ErrorKind::StorageFull => {
                    let _ = std::fs::remove_file(&path);
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        let mut freed = 0u64;
        while freed < keep {
            let Some(path) = files.pop() else { break };
            std::fs::remove_file(path)?;
            freed += chunk as u64;
        }
        Ok(())
    }

    /// Frees what [`SmallDisk::fill_leaving`] took.
    pub fn free_ballast(&self) -> std::io::Result<()> {
        let ballast = self.dir.path().join("ballast");
        match std::fs::remove_dir_all(ballast) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
