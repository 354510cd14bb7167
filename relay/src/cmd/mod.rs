//! One module per subcommand.

pub(crate) mod init;
pub(crate) mod serve;
pub(crate) mod stats;
pub(crate) mod token;

/// Logs to stderr; `RUST_LOG` overrides the default level (info).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,quinn=warn,rustls=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
