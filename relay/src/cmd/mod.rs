//! One module per subcommand, and what they share: logging, exit statuses, the help
//! text's common sections, times and the "works only on this machine" check.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use boucle_relay::{Config, RelayError};

pub(crate) mod address;
pub(crate) mod init;
pub(crate) mod serve;
pub(crate) mod stats;
pub(crate) mod token;

/// Logs to stderr; `RUST_LOG` overrides the default level (info). Colours only on a
/// terminal, and never when `NO_COLOR` is set to anything but the empty string
/// (journald and log files get plain text).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,quinn=warn,rustls=warn"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_target(false)
        .try_init();
}

/// The command could not run as asked (exit status 2): the command line, or the state of
/// the data directory, does not allow it. Its message is the whole sentence.
#[derive(Debug)]
pub(crate) struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error, as an `anyhow::Error`.
pub(crate) fn usage(sentence: impl Into<String>) -> anyhow::Error {
    Usage(sentence.into()).into()
}

/// Exit status 2: a usage error (clap uses 2 for command-line mistakes too).
const EXIT_USAGE: u8 = 2;
/// Exit status 1: a failure while doing the work.
const EXIT_FAILURE: u8 = 1;

/// Prints `error: <sentence>` on stderr (each cause once, never a backtrace) and picks the
/// exit status documented in `--help`.
pub(crate) fn report(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    let usage = error.chain().any(|cause| {
        cause.is::<Usage>()
            || matches!(
                cause.downcast_ref::<RelayError>(),
                Some(RelayError::NotInitialized(_) | RelayError::AlreadyInitialized(_))
            )
    });
    ExitCode::from(if usage { EXIT_USAGE } else { EXIT_FAILURE })
}

/// The data directory must be initialized (a usage error otherwise).
pub(crate) fn require_initialized(data_dir: &Path) -> Result<(), RelayError> {
    if boucle_relay::datadir::is_initialized(data_dir) {
        Ok(())
    } else {
        Err(RelayError::NotInitialized(data_dir.to_owned()))
    }
}

/// When a configuration listens on all interfaces but names no public host, the relay
/// address falls back to 127.0.0.1, which works only on the relay's own machine. What to
/// tell the operator then.
pub(crate) fn loopback_only_warning(config: &Config, config_path: &Path) -> Option<String> {
    if config.public_host.is_some() || !config.listen.ip().is_unspecified() {
        return None;
    }
    Some(format!(
        "the relay listens on all interfaces ({listen}) but its address names {host}, which \
         works only on this machine: set public_host in {path} to the DNS name or IP address \
         clients reach this server at",
        listen = config.listen,
        host = config.address_host(),
        path = config_path.display(),
    ))
}

/// A unix time in seconds, as people read it: `2026-05-04 09:30:00 UTC`.
pub(crate) fn utc_seconds(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| format!("{unix} (unix time)"), utc)
}

/// A unix time in milliseconds, as people read it (to the second).
pub(crate) fn utc_millis(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or_else(|| format!("{unix_ms} (unix time, ms)"), utc)
}

fn utc(timestamp: jiff::Timestamp) -> String {
    timestamp.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The `--help` sections every command shares, after its own examples; `notes` (one
/// paragraph, may be empty) follow the exit statuses.
pub(crate) fn long_help(examples: &str, notes: &str) -> String {
    let mut text = format!("EXAMPLES\n{examples}\n\n{ENVIRONMENT}\n\n{EXIT_STATUS}\n\n");
    for paragraph in [notes, ERRORS] {
        if !paragraph.is_empty() {
            text.push_str(&wrap(paragraph, HELP_WIDTH));
            text.push_str("\n\n");
        }
    }
    text.truncate(text.trim_end().len());
    text
}

const HELP_WIDTH: usize = 88;

const ERRORS: &str = "Errors are one line on stderr, `error: <what happened>`, never a backtrace.";

/// Greedy word wrap at `width` columns.
fn wrap(paragraph: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in paragraph.split_whitespace() {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

const ENVIRONMENT: &str = "\
ENVIRONMENT
  BOUCLE_RELAY_DATA  the data directory, like --data-dir (default: ./relay-data)
  RUST_LOG           which log lines go to stderr, e.g. warn, info (the default), debug
  NO_COLOR           if set and not empty, logs carry no colour codes (logs are coloured
                     only when stderr is a terminal in any case)";

const EXIT_STATUS: &str = "\
EXIT STATUS
  0  done (serve: stopped by SIGTERM or Ctrl-C, after finishing in-flight work)
  1  failed while doing it: a file could not be read or written, the store failed, the
     address could not be bound...
  2  could not run as asked: a mistake on the command line, or the data directory is not
     in the state the command needs (not initialized, already initialized, no such token...)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_notes_are_wrapped() {
        let text = wrap(&"word ".repeat(50), 20);
        assert!(text.lines().all(|l| l.len() <= 20), "{text}");
        assert_eq!(text.split_whitespace().count(), 50);
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(utc_seconds(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_millis(1_700_000_000_999), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc_seconds(u64::MAX), format!("{} (unix time)", u64::MAX));
    }

    #[test]
    fn only_an_unspecified_listen_address_without_a_public_host_is_loopback_only() {
        let path = Path::new("relay-data/config.toml");
        let mut config = Config::default();
        assert_eq!(loopback_only_warning(&config, path), None);
        config.listen = "0.0.0.0:4433".parse().unwrap();
        let warning = loopback_only_warning(&config, path).unwrap();
        assert!(warning.contains("0.0.0.0:4433") && warning.contains("127.0.0.1"));
        config.listen = "[::]:4433".parse().unwrap();
        assert!(loopback_only_warning(&config, path).is_some());
        config.public_host = Some("relay.example.org".into());
        assert_eq!(loopback_only_warning(&config, path), None);
    }
}
