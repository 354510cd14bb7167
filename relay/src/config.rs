//! The relay's TOML configuration, with documented defaults.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::RelayError;

/// When a send is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Acknowledged only after the envelope is committed and fsynced (group commit).
    #[default]
    Fsync,
    /// Acknowledged after the commit reaches the operating system, before fsync. For
    /// comparison only: a power failure can lose acknowledged envelopes.
    OsBuffered,
}

/// Everything an operator can set. Every key is optional in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// Host name or IP written into the relay address that clients use. Defaults to the
    /// listen IP (or 127.0.0.1 when listening on all interfaces).
    pub public_host: Option<String>,
    /// When sends are acknowledged.
    pub durability: Durability,
    /// Whether creating a mailbox needs an access token (sending never does).
    pub require_access_token: bool,
    /// Debug option: write peer IP addresses in logs. Off by default.
    pub log_peer_addresses: bool,
    /// Limits.
    pub limits: Limits,
}

/// Size, count and time limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest envelope body accepted, in bytes (at most 65536).
    pub max_body_bytes: u32,
    /// Largest envelope header accepted, in bytes (at most 256).
    pub max_header_bytes: u32,
    /// Most recipients in one batch send (at most 1024).
    pub max_batch_recipients: u32,
    /// Most envelopes a mailbox holds.
    pub mailbox_max_envelopes: u32,
    /// Most bytes a mailbox holds.
    pub mailbox_max_bytes: u64,
    /// Envelopes older than this are deleted undelivered.
    pub envelope_expiry_secs: u64,
    /// How often expired envelopes are swept.
    pub expiry_sweep_secs: u64,
    /// Most simultaneous connections (handshakes in progress included).
    pub max_connections: u32,
    /// Most of those held by connections that have proved nothing yet (no mailbox proven,
    /// no request succeeded). When a new connection would pass this or
    /// `max_connections`, the oldest such connection is closed to make room.
    pub max_unproven_connections: u32,
    /// Most simultaneous connections from one source address (IPv4 address or IPv6 /64).
    pub max_connections_per_address: u32,
    /// Handshakes allowed per second from one source address, sustained.
    pub handshakes_per_address_per_sec: u32,
    /// Handshakes allowed from one source address in a burst.
    pub handshake_burst_per_address: u32,
    /// While more handshakes than this are in progress, a new client must first prove its
    /// address with a QUIC Retry (one more round trip; costs the relay no state).
    pub retry_above_handshakes: u32,
    /// Memory for received bytes not yet decoded (partial frames), all connections
    /// together. When it is spent, the connection holding the most is closed.
    pub max_partial_input_bytes: u64,
    /// Most mailboxes one connection may prove and subscribe.
    pub max_mailboxes_per_connection: u32,
    /// Most unanswered requests per connection before the relay stops reading it.
    pub max_requests_in_flight: u32,
    /// Most envelopes delivered to one subscription and not yet acknowledged.
    pub delivery_window: u32,
    /// A connection silent for this long is closed.
    pub idle_timeout_secs: u64,
    /// A connection whose QUIC handshake and complete `Hello` frame have not arrived by
    /// then is closed.
    pub handshake_timeout_secs: u64,
    /// A connection with nothing subscribed and nothing in flight that completes no frame
    /// for this long is closed (QUIC keep-alives do not count; a `Ping` frame does).
    pub unsubscribed_idle_secs: u64,
    /// A frame whose first byte has arrived must be complete within this long.
    pub frame_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4433)),
            public_host: None,
            durability: Durability::Fsync,
            require_access_token: true,
            log_peer_addresses: false,
            limits: Limits::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 65_536,
            max_header_bytes: 256,
            max_batch_recipients: 1_024,
            mailbox_max_envelopes: 10_000,
            // Room for a few of the largest attachments (64 MiB each, about 68 MiB once
            // padded into envelopes) for a member who is offline, besides messages.
            mailbox_max_bytes: 256 << 20,
            envelope_expiry_secs: 21 * 24 * 3600,
            expiry_sweep_secs: 3600,
            max_connections: 1_024,
            max_unproven_connections: 768,
            max_connections_per_address: 64,
            handshakes_per_address_per_sec: 10,
            handshake_burst_per_address: 40,
            retry_above_handshakes: 64,
            max_partial_input_bytes: 32 << 20,
            max_mailboxes_per_connection: 1_000,
            max_requests_in_flight: 256,
            delivery_window: 512,
            idle_timeout_secs: 60,
            handshake_timeout_secs: 10,
            unsubscribed_idle_secs: 60,
            frame_timeout_secs: 30,
        }
    }
}

impl Limits {
    /// Envelope expiry.
    pub fn expiry(&self) -> Duration {
        Duration::from_secs(self.envelope_expiry_secs)
    }
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, RelayError> {
        let text = std::fs::read_to_string(path).map_err(|e| RelayError::io(path, e))?;
        let config: Config = toml::from_str(&text).map_err(|e| RelayError::Config {
            path: path.to_owned(),
            reason: toml_reason(&text, &e),
        })?;
        config.validate().map_err(|reason| RelayError::Config {
            path: path.to_owned(),
            reason,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let l = &self.limits;
        if l.max_body_bytes as usize > boucle_wire::MAX_BODY_LEN {
            return Err(format!(
                "limits.max_body_bytes may be at most {}",
                boucle_wire::MAX_BODY_LEN
            ));
        }
        if l.max_header_bytes as usize > boucle_wire::MAX_HEADER_LEN {
            return Err(format!(
                "limits.max_header_bytes may be at most {}",
                boucle_wire::MAX_HEADER_LEN
            ));
        }
        if l.max_batch_recipients == 0
            || l.max_batch_recipients as usize > boucle_wire::MAX_BATCH_RECIPIENTS
        {
            return Err(format!(
                "limits.max_batch_recipients must be between 1 and {}",
                boucle_wire::MAX_BATCH_RECIPIENTS
            ));
        }
        if l.max_requests_in_flight == 0 || l.delivery_window == 0 {
            return Err(
                "limits.max_requests_in_flight and limits.delivery_window must be at least 1"
                    .into(),
            );
        }
        if l.expiry_sweep_secs == 0 {
            return Err("limits.expiry_sweep_secs must be at least 1".into());
        }
        if l.max_connections == 0
            || l.max_unproven_connections == 0
            || l.max_unproven_connections > l.max_connections
        {
            return Err(
                "limits.max_unproven_connections must be between 1 and limits.max_connections"
                    .into(),
            );
        }
        if l.max_connections_per_address == 0
            || l.handshakes_per_address_per_sec == 0
            || l.handshake_burst_per_address == 0
        {
            return Err("limits.max_connections_per_address, limits.handshakes_per_address_per_sec and limits.handshake_burst_per_address must be at least 1".into());
        }
        let least_input = 2 * (boucle_wire::MAX_FRAME_LEN + boucle_proto::INPUT_STEP) as u64;
        if l.max_partial_input_bytes < least_input {
            return Err(format!(
                "limits.max_partial_input_bytes must be at least {least_input} (two of the largest frames)"
            ));
        }
        if l.handshake_timeout_secs == 0
            || l.unsubscribed_idle_secs == 0
            || l.frame_timeout_secs == 0
        {
            return Err("limits.handshake_timeout_secs, limits.unsubscribed_idle_secs and limits.frame_timeout_secs must be at least 1".into());
        }
        Ok(())
    }

    /// The host to put in the relay address.
    pub fn address_host(&self) -> String {
        match &self.public_host {
            Some(host) => host.clone(),
            None if self.listen.ip().is_unspecified() => "127.0.0.1".into(),
            None => self.listen.ip().to_string(),
        }
    }

    /// The file written by `init`: every key with its default and a comment.
    pub fn commented_toml(&self) -> String {
        let l = &self.limits;
        let public_host = match &self.public_host {
            Some(host) => format!("public_host = {host:?}"),
            None => "# public_host = \"relay.example.org\"   # host clients use; defaults to the listen IP".into(),
        };
        let durability = match self.durability {
            Durability::Fsync => "fsync",
            Durability::OsBuffered => "os-buffered",
        };
        format!(
            r#"# Boucle relay configuration. Every key is optional; the values shown are in force.

# UDP address to listen on. Use "0.0.0.0:4433" (or "[::]:4433") to accept clients from other machines.
listen = "{listen}"
{public_host}

# "fsync": a send is acknowledged only once the envelope is on disk (group commit).
# "os-buffered": acknowledged before fsync; for comparison only, a power cut can lose acknowledged envelopes.
durability = "{durability}"

# Creating a mailbox needs an access token (see `boucle-relay token create`). Sending never does.
require_access_token = {require_access_token}

# Debug only: write peer IP addresses into logs. Ids and content are never logged.
log_peer_addresses = {log_peer_addresses}

[limits]
max_body_bytes = {max_body}            # largest envelope body (at most 65536)
max_header_bytes = {max_header}            # largest per-recipient header (at most 256)
max_batch_recipients = {max_batch}       # recipients per batch send (at most 1024)
mailbox_max_envelopes = {mbx_count}      # per-mailbox quota: envelopes
mailbox_max_bytes = {mbx_bytes}       # per-mailbox quota: bytes
envelope_expiry_secs = {expiry}     # undelivered envelopes are deleted after this (21 days)
expiry_sweep_secs = {sweep}          # how often expired envelopes are swept
max_connections = {max_conn}            # simultaneous connections (handshakes in progress included)
max_unproven_connections = {max_unproven}    # of which, held by clients that proved nothing yet; the oldest makes room for a new one
max_connections_per_address = {per_address}   # per IPv4 address or IPv6 /64
handshakes_per_address_per_sec = {hs_rate} # sustained handshake rate per address
handshake_burst_per_address = {hs_burst}   # handshakes per address in a burst
retry_above_handshakes = {retry}        # past this many handshakes in progress, clients first prove their address (QUIC Retry)
max_partial_input_bytes = {partial} # memory for partially received frames, all connections; when spent the biggest holder is closed
max_mailboxes_per_connection = {max_mbx} # mailboxes one connection may subscribe
max_requests_in_flight = {in_flight}      # unanswered requests per connection
delivery_window = {window}             # unacknowledged deliveries per subscription
idle_timeout_secs = {idle}             # silent connections (no QUIC packet at all) are closed after this
handshake_timeout_secs = {handshake}        # the QUIC handshake and the complete Hello frame must arrive within this
unsubscribed_idle_secs = {unsub_idle}        # a connection with nothing subscribed must send a frame this often (QUIC pings do not count)
frame_timeout_secs = {frame_timeout}            # a frame must be complete within this of its first byte
"#,
            listen = self.listen,
            require_access_token = self.require_access_token,
            log_peer_addresses = self.log_peer_addresses,
            max_body = l.max_body_bytes,
            max_header = l.max_header_bytes,
            max_batch = l.max_batch_recipients,
            mbx_count = l.mailbox_max_envelopes,
            mbx_bytes = l.mailbox_max_bytes,
            expiry = l.envelope_expiry_secs,
            sweep = l.expiry_sweep_secs,
            max_conn = l.max_connections,
            max_unproven = l.max_unproven_connections,
            per_address = l.max_connections_per_address,
            hs_rate = l.handshakes_per_address_per_sec,
            hs_burst = l.handshake_burst_per_address,
            retry = l.retry_above_handshakes,
            partial = l.max_partial_input_bytes,
            max_mbx = l.max_mailboxes_per_connection,
            in_flight = l.max_requests_in_flight,
            window = l.delivery_window,
            idle = l.idle_timeout_secs,
            handshake = l.handshake_timeout_secs,
            unsub_idle = l.unsubscribed_idle_secs,
            frame_timeout = l.frame_timeout_secs,
        )
    }
}

/// A TOML error in one line (its Display quotes the file over several): `line 3: …`.
fn toml_reason(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", error.message().trim_end())
        }
        None => error.message().trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_file_parses_back_to_the_defaults() {
        let config = Config::default();
        let parsed: Config = toml::from_str(&config.commented_toml()).unwrap();
        assert_eq!(format!("{parsed:?}"), format!("{config:?}"));
    }

    #[test]
    fn unknown_keys_are_refused_in_one_line() {
        let text = "durability = \"fsync\"\nlistne = \"1.2.3.4:5\"\n";
        let error = toml::from_str::<Config>(text).unwrap_err();
        let reason = toml_reason(text, &error);
        assert!(
            reason.starts_with("line 2: unknown field `listne`"),
            "{reason}"
        );
        assert!(!reason.contains('\n'), "{reason}");
    }
}
