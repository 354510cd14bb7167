//! Relay and mailbox addresses, as text and as bytes.
//!
//! ```text
//! relay-address   = "boucle-relay://" host ":" port "/" fingerprint
//! mailbox-address = "boucle-mailbox://" host ":" port "/" fingerprint "/" send-id "/" seal-key
//! host            = DNS name / IPv4 / "[" IPv6 "]"
//! fingerprint     = base64url(SHA-256(relay certificate DER)), no padding (43 chars)
//! send-id         = base64url(16 bytes), no padding (22 chars)
//! seal-key        = base64url(32-byte X25519 public key), no padding (43 chars)
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::WireError;
use crate::ids::{CertFingerprint, SealKey, SendId};

const RELAY_SCHEME: &str = "boucle-relay://";
const MAILBOX_SCHEME: &str = "boucle-mailbox://";
const MAX_HOST_LEN: usize = 253;

/// Where a relay is and which certificate it must present.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedRelayAddress")]
pub struct RelayAddress {
    host: String,
    port: u16,
    fingerprint: CertFingerprint,
}

/// The serde shape of [`RelayAddress`], checked on the way in.
#[derive(Deserialize)]
struct UncheckedRelayAddress {
    host: String,
    port: u16,
    fingerprint: CertFingerprint,
}

impl TryFrom<UncheckedRelayAddress> for RelayAddress {
    type Error = WireError;

    fn try_from(raw: UncheckedRelayAddress) -> Result<Self, WireError> {
        RelayAddress::new(&raw.host, raw.port, raw.fingerprint)
    }
}

impl RelayAddress {
    /// Builds an address, checking the host.
    pub fn new(host: &str, port: u16, fingerprint: CertFingerprint) -> Result<Self, WireError> {
        validate_host(host)?;
        Ok(Self {
            host: host.to_owned(),
            port,
            fingerprint,
        })
    }

    /// DNS name or IP literal (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// UDP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Certificate fingerprint to pin.
    pub fn fingerprint(&self) -> &CertFingerprint {
        &self.fingerprint
    }

    /// Host and port, as people name the relay: `relay.example.org:4433`,
    /// `127.0.0.1:4433`, `[::1]:4433`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn write_authority(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for RelayAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(RELAY_SCHEME)?;
        self.write_authority(f)?;
        write!(
            f,
            "/{}",
            URL_SAFE_NO_PAD.encode(self.fingerprint.as_bytes())
        )
    }
}

impl fmt::Debug for RelayAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayAddress({self})")
    }
}

impl FromStr for RelayAddress {
    type Err = WireError;

    fn from_str(text: &str) -> Result<Self, WireError> {
        const WHAT: &str = "relay address";
        let rest = text
            .trim()
            .strip_prefix(RELAY_SCHEME)
            .ok_or(invalid(WHAT, "it must start with boucle-relay://"))?;
        let mut parts = rest.split('/');
        let (host, port) = parse_authority(parts.next().unwrap_or_default(), WHAT)?;
        let fingerprint = parse_b64(parts.next(), WHAT, "certificate fingerprint")?;
        if parts.next().is_some() {
            return Err(invalid(WHAT, "unexpected text after the fingerprint"));
        }
        RelayAddress::new(&host, port, CertFingerprint::from_bytes(fingerprint))
    }
}

/// Where to send envelopes for one mailbox, and the key to seal them to.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MailboxAddress {
    /// The relay holding the mailbox.
    pub relay: RelayAddress,
    /// The mailbox's send id.
    pub send_id: SendId,
    /// The public key envelopes are sealed to.
    pub seal_key: SealKey,
}

impl fmt::Display for MailboxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MAILBOX_SCHEME)?;
        self.relay.write_authority(f)?;
        write!(
            f,
            "/{}/{}/{}",
            URL_SAFE_NO_PAD.encode(self.relay.fingerprint.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.send_id.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.seal_key.as_bytes())
        )
    }
}

impl fmt::Debug for MailboxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxAddress({:?}, {:?})", self.relay, self.send_id)
    }
}

impl FromStr for MailboxAddress {
    type Err = WireError;

    fn from_str(text: &str) -> Result<Self, WireError> {
        const WHAT: &str = "mailbox address";
        let rest = text
            .trim()
            .strip_prefix(MAILBOX_SCHEME)
            .ok_or(invalid(WHAT, "it must start with boucle-mailbox://"))?;
        let mut parts = rest.split('/');
        let (host, port) = parse_authority(parts.next().unwrap_or_default(), WHAT)?;
        let fingerprint = parse_b64(parts.next(), WHAT, "certificate fingerprint")?;
        let send_id = parse_b64(parts.next(), WHAT, "send id")?;
        let seal_key = parse_b64(parts.next(), WHAT, "seal key")?;
        if parts.next().is_some() {
            return Err(invalid(WHAT, "unexpected text after the seal key"));
        }
        Ok(MailboxAddress {
            relay: RelayAddress::new(&host, port, CertFingerprint::from_bytes(fingerprint))?,
            send_id: SendId::from_bytes(send_id),
            seal_key: SealKey::from_bytes(seal_key),
        })
    }
}

fn invalid(what: &'static str, reason: &'static str) -> WireError {
    WireError::InvalidAddress { what, reason }
}

fn validate_host(host: &str) -> Result<(), WireError> {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return Err(invalid("relay address", "the host is empty or too long"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '[' | ']' | '@' | '#'))
    {
        return Err(invalid(
            "relay address",
            "the host contains a forbidden character",
        ));
    }
    Ok(())
}

fn parse_authority(authority: &str, what: &'static str) -> Result<(String, u16), WireError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, port) = rest
            .split_once("]:")
            .ok_or(invalid(what, "an IPv6 host must be written [host]:port"))?;
        (host, port)
    } else {
        authority
            .rsplit_once(':')
            .ok_or(invalid(what, "the port is missing"))?
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(what, "the port is not a number from 0 to 65535"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| invalid(what, "the port is not a number from 0 to 65535"))?;
    validate_host(host)?;
    Ok((host.to_owned(), port))
}

fn parse_b64<const N: usize>(
    part: Option<&str>,
    what: &'static str,
    field: &'static str,
) -> Result<[u8; N], WireError> {
    let text = part
        .filter(|p| !p.is_empty())
        .ok_or(WireError::InvalidAddress {
            what,
            reason: missing(field),
        })?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| invalid(what, not_base64(field)))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| invalid(what, wrong_length(field)))
}

fn missing(field: &'static str) -> &'static str {
    match field {
        "certificate fingerprint" => "the certificate fingerprint is missing",
        "send id" => "the send id is missing",
        _ => "the seal key is missing",
    }
}

fn not_base64(field: &'static str) -> &'static str {
    match field {
        "certificate fingerprint" => "the certificate fingerprint is not base64url",
        "send id" => "the send id is not base64url",
        _ => "the seal key is not base64url",
    }
}

fn wrong_length(field: &'static str) -> &'static str {
    match field {
        "certificate fingerprint" => "the certificate fingerprint has the wrong length",
        "send id" => "the send id has the wrong length",
        _ => "the seal key has the wrong length",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(host: &str) -> RelayAddress {
        RelayAddress::new(host, 4433, CertFingerprint::from_bytes([7; 32])).unwrap()
    }

    #[test]
    fn relay_address_round_trips() {
        for host in ["127.0.0.1", "relay.example.org", "::1"] {
            let address = relay(host);
            let text = address.to_string();
            assert_eq!(text.parse::<RelayAddress>().unwrap(), address, "{text}");
        }
        assert!(
            relay("::1")
                .to_string()
                .starts_with("boucle-relay://[::1]:4433/")
        );
    }

    #[test]
    fn a_relay_is_named_by_its_host_and_port() {
        assert_eq!(relay("127.0.0.1").authority(), "127.0.0.1:4433");
        assert_eq!(
            relay("relay.example.org").authority(),
            "relay.example.org:4433"
        );
        assert_eq!(relay("::1").authority(), "[::1]:4433");
    }

    #[test]
    fn mailbox_address_round_trips() {
        let address = MailboxAddress {
            relay: relay("10.0.0.1"),
            send_id: SendId::from_bytes([1; 16]),
            seal_key: SealKey::from_bytes([2; 32]),
        };
        let text = address.to_string();
        assert_eq!(text.parse::<MailboxAddress>().unwrap(), address);
    }

    #[test]
    fn binary_form_is_validated_too() {
        let good = postcard::to_allocvec(&relay("relay.example.org")).unwrap();
        assert!(postcard::from_bytes::<RelayAddress>(&good).is_ok());
        // The same bytes with the host replaced by "/".
        let mut bad = vec![1, b'/'];
        bad.extend_from_slice(&good[1 + "relay.example.org".len()..]);
        assert!(postcard::from_bytes::<RelayAddress>(&bad).is_err());
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for text in [
            "",
            "http://x:1/abc",
            "boucle-relay://host/abc",
            "boucle-relay://host:99999/abc",
            "boucle-relay://host:1/not base64",
            "boucle-relay://host:1/AAAA",
            "boucle-relay://:1/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
            "boucle-relay://host:+80/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
        ] {
            let err = text.parse::<RelayAddress>().unwrap_err();
            assert!(
                matches!(err, WireError::InvalidAddress { .. }),
                "{text}: {err}"
            );
        }
    }
}
