//! Device identities, the [`Account`] that holds their secrets, and the
//! signed [`ContactCard`] an invitation carries.

mod account;
mod card;

pub use account::{Account, REMEMBERED_INBOUND_SESSIONS};
pub use card::ContactCard;

use std::fmt;

use serde::{Deserialize, Serialize};
use vodozemac::{Curve25519PublicKey, Ed25519PublicKey, Ed25519Signature};

use crate::error::KeyError;
use crate::hexfmt::Hex;

/// Domain separation for the sender proof carried inside sealed bodies.
const SENDER_LABEL: &[u8] = b"boucle/e2ee/v1/sender";

/// The public identity of a device: a Curve25519 key (Olm key agreement) and
/// an Ed25519 key (signatures).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdentityKeys {
    /// Curve25519 identity key, used by Olm's triple Diffie-Hellman.
    pub curve25519: [u8; 32],
    /// Ed25519 identity key, used to sign cards, proofs and loop changes.
    pub ed25519: [u8; 32],
}

impl fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeys")
            .field("curve25519", &Hex(&self.curve25519))
            .field("ed25519", &Hex(&self.ed25519))
            .finish()
    }
}

impl IdentityKeys {
    pub(crate) fn curve(&self) -> Curve25519PublicKey {
        Curve25519PublicKey::from_bytes(self.curve25519)
    }

    /// Verifies an Ed25519 `signature` over `message` by this identity.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = Ed25519PublicKey::from_slice(&self.ed25519) else {
            return false;
        };
        let Ok(sig) = Ed25519Signature::from_slice(signature) else {
            return false;
        };
        key.verify(message, &sig).is_ok()
    }

    fn from_olm(keys: vodozemac::olm::IdentityKeys) -> Self {
        Self {
            curve25519: keys.curve25519.to_bytes(),
            ed25519: *keys.ed25519.as_bytes(),
        }
    }
}

/// The opaque address of a mailbox on a relay. Its format belongs to the wire
/// layer; this crate only carries it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MailboxAddress(pub Vec<u8>);

impl fmt::Debug for MailboxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxAddress({:?})", Hex(&self.0))
    }
}

/// Proof, carried inside every sealed pairwise body, that the Ed25519 key
/// and the Curve25519 key of the sender belong together. It is static (it says
/// nothing about any conversation), so it costs no deniability.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SenderProof {
    pub(crate) identity: IdentityKeys,
    pub(crate) signature: [u8; 64],
}

impl fmt::Debug for SenderProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderProof")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl SenderProof {
    /// The identity this proof is for.
    pub fn identity(&self) -> &IdentityKeys {
        &self.identity
    }

    pub(crate) fn message(identity: &IdentityKeys) -> Vec<u8> {
        [
            SENDER_LABEL,
            &identity.curve25519[..],
            &identity.ed25519[..],
        ]
        .concat()
    }

    /// Rebuilds a proof from its parts, checking the signature.
    pub fn from_parts(identity: IdentityKeys, signature: [u8; 64]) -> Result<Self, KeyError> {
        let proof = Self {
            identity,
            signature,
        };
        if proof.verify() {
            Ok(proof)
        } else {
            Err(KeyError::BadCardSignature)
        }
    }

    /// The Ed25519 signature over `"boucle/e2ee/v1/sender" || curve25519 || ed25519`.
    pub fn signature(&self) -> [u8; 64] {
        self.signature
    }

    /// Whether the signature binds the two keys.
    pub fn verify(&self) -> bool {
        self.identity
            .verify(&Self::message(&self.identity), &self.signature)
    }
}
