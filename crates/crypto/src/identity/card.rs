//! The signed contact card an invitation carries.

use std::fmt;

use serde::{Deserialize, Serialize};
use vodozemac::Curve25519PublicKey;

use super::{Account, IdentityKeys, MailboxAddress};
use crate::error::KeyError;
use crate::hexfmt::Hex;
use crate::mailbox::SealKey;

/// Domain separation for the card signature.
const CARD_LABEL: &[u8] = b"boucle/e2ee/v1/card";

/// What a contact needs to write to us: identity keys, a prekey (a one-time
/// key, or the fallback key for loop members), the mailbox's seal key and
/// address. Signed by the identity's Ed25519 key.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactCard {
    body: CardBody,
    signature: [u8; 64],
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CardBody {
    version: u8,
    identity: IdentityKeys,
    prekey: [u8; 32],
    seal_key: [u8; 32],
    mailbox: MailboxAddress,
}

impl fmt::Debug for ContactCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactCard")
            .field("identity", &self.body.identity)
            .field("prekey", &Hex(&self.body.prekey))
            .field("seal_key", &Hex(&self.body.seal_key))
            .field("mailbox", &self.body.mailbox)
            .finish()
    }
}

impl ContactCard {
    /// Decodes and verifies a card: `postcard(body) || signature[64]`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let split = bytes.len().checked_sub(64).ok_or(KeyError::MalformedCard)?;
        let (body_bytes, sig) = bytes.split_at(split);
        let body: CardBody =
            postcard::from_bytes(body_bytes).map_err(|_| KeyError::MalformedCard)?;
        if body.version != 1 || postcard::to_allocvec(&body).ok().as_deref() != Some(body_bytes) {
            return Err(KeyError::MalformedCard);
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(sig);
        let card = Self { body, signature };
        card.verify()?;
        Ok(card)
    }

    /// Encodes the card: `postcard(body) || signature[64]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = encode_body(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Checks the signature against the card's own identity.
    pub fn verify(&self) -> Result<(), KeyError> {
        let msg = [CARD_LABEL, &encode_body(&self.body)].concat();
        if self.body.identity.verify(&msg, &self.signature) {
            Ok(())
        } else {
            Err(KeyError::BadCardSignature)
        }
    }

    /// The card owner's identity keys.
    pub fn identity(&self) -> &IdentityKeys {
        &self.body.identity
    }

    /// The mailbox seal key to seal envelopes to.
    pub fn seal_key(&self) -> SealKey {
        SealKey(self.body.seal_key)
    }

    /// The mailbox address to deliver to.
    pub fn mailbox(&self) -> &MailboxAddress {
        &self.body.mailbox
    }

    pub(crate) fn prekey(&self) -> Curve25519PublicKey {
        Curve25519PublicKey::from_bytes(self.body.prekey)
    }
}

fn encode_body(body: &CardBody) -> Vec<u8> {
    // Serializing a plain struct of arrays and a Vec into a Vec cannot fail.
    postcard::to_allocvec(body).unwrap_or_default()
}

impl ContactCard {
    /// Issues a card signed by `account` with the given prekey.
    pub(super) fn issue(
        account: &Account,
        prekey: [u8; 32],
        seal_key: SealKey,
        mailbox: MailboxAddress,
    ) -> Self {
        let body = CardBody {
            version: 1,
            identity: account.identity_keys(),
            prekey,
            seal_key: seal_key.0,
            mailbox,
        };
        let signature = account.sign(&[CARD_LABEL, &encode_body(&body)].concat());
        Self { body, signature }
    }
}

impl Serialize for ContactCard {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> Deserialize<'de> for ContactCard {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde_bytes_vec(deserializer)?;
        ContactCard::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

fn serde_bytes_vec<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("contact card bytes")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_bytes(V)
}
