//! One-time invitation links: `boucle:invite/1/<base64url(payload)>`, and their QR code.
//!
//! The payload (postcard) carries the inviter's display name and a signed contact card:
//! identity keys, a one-time key, and the mailbox (relay address, send id, seal key)
//! created for whoever accepts. See `protocol-spec/client-protocol.md`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use boucle_crypto::ContactCard;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "boucle:invite/";
const VERSION: &str = "1";
/// Longest invitation text accepted (a card is ~300 bytes; this leaves room).
const MAX_LINK_LEN: usize = 4096;
/// Longest display name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Why an invitation could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// Not a Boucle invitation at all.
    #[error("this is not a Boucle invitation (it should start with {PREFIX})")]
    NotAnInvitation,
    /// From a newer version of Boucle.
    #[error("this invitation was made by a newer version of Boucle; update to accept it")]
    UnsupportedVersion,
    /// Damaged: truncated, altered, or badly copied.
    #[error("this invitation is damaged (was it copied completely?)")]
    Damaged,
    /// The card's signature does not verify: altered, or forged.
    #[error("this invitation has been altered: its signature does not match")]
    BadSignature,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    name: String,
    card: Vec<u8>,
}

/// An invitation: who is inviting, and their card.
#[derive(Clone)]
pub struct Invitation {
    /// The inviter's display name (as they chose it; unverified).
    pub name: String,
    /// The inviter's signed contact card.
    pub card: ContactCard,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation").finish_non_exhaustive()
    }
}

impl Invitation {
    /// The link to share.
    pub fn to_link(&self) -> String {
        let payload = Payload {
            name: self.name.clone(),
            card: self.card.to_bytes(),
        };
        // A struct of a string and bytes always encodes.
        let bytes = postcard::to_allocvec(&payload).unwrap_or_default();
        format!("{PREFIX}{VERSION}/{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a link (surrounding whitespace is ignored) and checks the card's signature.
    pub fn from_link(text: &str) -> Result<Invitation, InvitationError> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err(InvitationError::Damaged);
        }
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or(InvitationError::NotAnInvitation)?;
        let (version, encoded) = rest.split_once('/').ok_or(InvitationError::Damaged)?;
        if version != VERSION {
            return Err(
                if version.bytes().all(|b| b.is_ascii_digit()) && !version.is_empty() {
                    InvitationError::UnsupportedVersion
                } else {
                    InvitationError::Damaged
                },
            );
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| InvitationError::Damaged)?;
        let payload: Payload =
            postcard::from_bytes(&bytes).map_err(|_| InvitationError::Damaged)?;
        let card = ContactCard::from_bytes(&payload.card).map_err(|error| match error {
            boucle_crypto::KeyError::BadCardSignature => InvitationError::BadSignature,
            _ => InvitationError::Damaged,
        })?;
        Ok(Invitation {
            name: clean_name(&payload.name),
            card,
        })
    }
}

/// A display name made safe to show: control characters removed, length capped.
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_LEN)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        "(no name)".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Renders data (a link, or a safety number's QR payload) as a QR code drawn with Unicode
/// half blocks (two rows per line), for a terminal. `None` if it is too long for one.
pub fn qr_text(data: impl AsRef<[u8]>) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(data.as_ref(), qrcode::EcLevel::L).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use boucle_crypto::{Account, MailboxAddress, MailboxKeys};

    fn invitation() -> Invitation {
        let mut account = Account::new();
        let keys = MailboxKeys::generate(&mut rand::rng());
        Invitation {
            name: "Nadia".into(),
            card: account.contact_card(keys.seal_key(), MailboxAddress(b"box".to_vec())),
        }
    }

    #[test]
    fn a_link_round_trips() {
        let invitation = invitation();
        let link = invitation.to_link();
        assert!(link.starts_with("boucle:invite/1/"));
        let back = Invitation::from_link(&format!("  {link}\n")).unwrap();
        assert_eq!(back.name, "Nadia");
        assert_eq!(back.card, invitation.card);
        assert!(qr_text(&link).is_some_and(|q| q.lines().count() > 10));
    }

    #[test]
    fn garbage_gets_a_reason() {
        let link = invitation().to_link();
        assert_eq!(
            Invitation::from_link("hello").unwrap_err(),
            InvitationError::NotAnInvitation
        );
        assert_eq!(
            Invitation::from_link("boucle:invite/9/AAAA").unwrap_err(),
            InvitationError::UnsupportedVersion
        );
        assert_eq!(
            Invitation::from_link(&link[..link.len() - 20]).unwrap_err(),
            InvitationError::Damaged
        );
        assert_eq!(
            Invitation::from_link("boucle:invite/1/!!!").unwrap_err(),
            InvitationError::Damaged
        );
    }

    #[test]
    fn an_altered_card_is_refused() {
        let invitation = invitation();
        let mut bytes = invitation.card.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let payload = Payload {
            name: "x".into(),
            card: bytes,
        };
        let link = format!(
            "{PREFIX}{VERSION}/{}",
            URL_SAFE_NO_PAD.encode(postcard::to_allocvec(&payload).unwrap())
        );
        assert_eq!(
            Invitation::from_link(&link).unwrap_err(),
            InvitationError::BadSignature
        );
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  Ana\u{7}\n "), "Ana");
        assert_eq!(clean_name(""), "(no name)");
        assert_eq!(clean_name(&"x".repeat(100)).len(), MAX_NAME_LEN);
    }
}
