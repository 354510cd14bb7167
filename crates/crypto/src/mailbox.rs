//! Mailbox seal keys: the HPKE X25519 keypair of a mailbox that others seal
//! envelopes to.

use std::fmt;

use hpke::{Deserializable, Kem as _, Serializable};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{KeyError, PickleError};
use crate::hexfmt::Hex;
use crate::pickle::{self, PickleKey, StateKind};

/// The HPKE KEM used for mailboxes: DHKEM(X25519, HKDF-SHA256).
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;

/// The public seal key of a mailbox (an X25519 public key, 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SealKey(pub [u8; 32]);

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealKey({:?})", Hex(&self.0))
    }
}

impl SealKey {
    pub(crate) fn to_hpke(self) -> Result<<Kem as hpke::Kem>::PublicKey, KeyError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0).map_err(|_| KeyError::InvalidKey("seal"))
    }
}

/// The secret side of one mailbox's seal key. No `Debug`, no `Serialize`.
pub struct MailboxKeys {
    secret: <Kem as hpke::Kem>::PrivateKey,
    public: SealKey,
}

#[derive(Serialize, Deserialize)]
struct MailboxRecord {
    secret: [u8; 32],
}

impl MailboxKeys {
    /// Generates a new mailbox keypair from `rng`.
    pub fn generate(rng: &mut impl rand::CryptoRng) -> Self {
        let (secret, public) = Kem::gen_keypair_with_rng(rng);
        Self::from_parts(secret, &public)
    }

    /// Derives the keypair from 32 bytes of input keying material with HPKE's
    /// `DeriveKeyPair` (used by the test vectors).
    pub fn derive(ikm: &[u8; 32]) -> Self {
        let (secret, public) = Kem::derive_keypair(ikm);
        Self::from_parts(secret, &public)
    }

    fn from_parts(
        secret: <Kem as hpke::Kem>::PrivateKey,
        public: &<Kem as hpke::Kem>::PublicKey,
    ) -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&public.to_bytes());
        Self {
            secret,
            public: SealKey(bytes),
        }
    }

    /// The public key others seal to.
    pub fn seal_key(&self) -> SealKey {
        self.public
    }

    pub(crate) fn secret(&self) -> &<Kem as hpke::Kem>::PrivateKey {
        &self.secret
    }

    /// Exports the keypair encrypted under `key`.
    pub fn pickle(&self, key: &PickleKey, rng: &mut impl rand::CryptoRng) -> Vec<u8> {
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&self.secret.to_bytes());
        let record = Zeroizing::new(MailboxRecordGuard(MailboxRecord { secret: *secret }));
        pickle::seal(StateKind::Mailbox, &record.0, key, rng)
    }

    /// Imports a keypair exported by [`MailboxKeys::pickle`].
    pub fn from_pickle(bytes: &[u8], key: &PickleKey) -> Result<Self, PickleError> {
        let record: MailboxRecord = pickle::open(StateKind::Mailbox, bytes, key)?;
        let secret = Zeroizing::new(record.secret);
        let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(&secret[..])
            .map_err(|_| PickleError::Malformed)?;
        let public = Kem::sk_to_pk(&secret);
        Ok(Self::from_parts(secret, &public))
    }
}

struct MailboxRecordGuard(MailboxRecord);

impl zeroize::Zeroize for MailboxRecordGuard {
    fn zeroize(&mut self) {
        self.0.secret.zeroize();
    }
}
