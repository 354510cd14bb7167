//! Keys: Argon2id from the passphrase to a key-encryption key, the wrapped data key,
//! and the subkeys derived from the data key.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::StoreError;

/// Length of the Argon2 salt.
pub(crate) const SALT_LEN: usize = 16;
/// Length of an XChaCha20Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Length of the wrapped data key: nonce, 32 key bytes, 16 tag bytes.
pub(crate) const WRAPPED_LEN: usize = NONCE_LEN + 32 + 16;

/// AAD of the data-key wrap.
const WRAP_AAD: &[u8] = b"boucle/store/v1/data-key";
/// Derivation labels: the 24-byte XChaCha20 nonce under which the data key's
/// keystream gives each subkey.
const RECORD_LABEL: &[u8; NONCE_LEN] = b"boucle/store/v1/records\0";
const PICKLE_LABEL: &[u8; NONCE_LEN] = b"boucle/store/v1/pickles\0";
const INDEX_LABEL: &[u8; NONCE_LEN] = b"boucle/store/v2/indexes\0";

/// Upper bounds accepted from a profile file, so a tampered file cannot make unlock
/// allocate unbounded memory or spin forever.
const MAX_M_COST_KIB: u32 = 4 * 1024 * 1024;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Argon2id cost parameters, stored in the profile so unlock uses what create used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// What a profile uses: 64 MiB, 3 passes, 1 lane (see `protocol-spec/client-store.md`).
    pub fn recommended() -> Self {
        Self {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }

    /// Tiny parameters for tests only: 8 KiB, 1 pass. Offers no protection.
    pub fn for_tests() -> Self {
        Self {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        }
    }

    fn argon2(self) -> Result<Argon2<'static>, StoreError> {
        if self.m_cost_kib > MAX_M_COST_KIB || self.t_cost > MAX_T_COST || self.p_cost > MAX_P_COST
        {
            return Err(StoreError::InvalidKdfParams(format!(
                "m={} KiB, t={}, p={} exceeds the limits (m <= {MAX_M_COST_KIB} KiB, t <= {MAX_T_COST}, p <= {MAX_P_COST})",
                self.m_cost_kib, self.t_cost, self.p_cost
            )));
        }
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| StoreError::InvalidKdfParams(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::recommended()
    }
}

/// The key-encryption key, derived from the passphrase. Wiped on drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Kek([u8; 32]);

impl Kek {
    /// Runs Argon2id over the passphrase and salt.
    pub(crate) fn derive(
        passphrase: &str,
        salt: &[u8; SALT_LEN],
        params: KdfParams,
    ) -> Result<Kek, StoreError> {
        let mut out = [0u8; 32];
        params
            .argon2()?
            .hash_password_into(passphrase.as_bytes(), salt, &mut out)
            .map_err(|e| StoreError::InvalidKdfParams(e.to_string()))?;
        let kek = Kek(out);
        out.zeroize();
        Ok(kek)
    }

    /// Seals the data key: `nonce(24) || XChaCha20Poly1305(kek, nonce, data_key, WRAP_AAD)`.
    pub(crate) fn wrap(&self, key: &DataKey) -> Result<[u8; WRAPPED_LEN], StoreError> {
        let nonce = random_nonce();
        let ct = XChaCha20Poly1305::new(&self.0.into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &key.0,
                    aad: WRAP_AAD,
                },
            )
            .map_err(|_| StoreError::Encode("could not wrap the data key".into()))?;
        let mut out = [0u8; WRAPPED_LEN];
        out[..NONCE_LEN].copy_from_slice(&nonce);
        if ct.len() != WRAPPED_LEN - NONCE_LEN {
            return Err(StoreError::Encode("unexpected wrapped key length".into()));
        }
        out[NONCE_LEN..].copy_from_slice(&ct);
        Ok(out)
    }

    /// Opens the wrapped data key; a failure means the passphrase is wrong (or the
    /// wrapped key was altered, which nobody can tell apart from a wrong passphrase).
    pub(crate) fn unwrap_key(&self, wrapped: &[u8; WRAPPED_LEN]) -> Result<DataKey, StoreError> {
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(nonce);
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&self.0.into())
                .decrypt(
                    &XNonce::from(nonce_bytes),
                    Payload {
                        msg: ct,
                        aad: WRAP_AAD,
                    },
                )
                .map_err(|_| StoreError::WrongPassphrase)?,
        );
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::WrongPassphrase)?;
        Ok(DataKey(bytes))
    }
}

/// The random key every record is sealed under (through [`DataKey::record_key`]).
/// Wiped on drop; no `Debug`, no `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh random data key.
    pub(crate) fn random() -> DataKey {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        DataKey(bytes)
    }

    /// The key that seals records.
    pub(crate) fn record_key(&self) -> RecordKey {
        RecordKey(self.derive(RECORD_LABEL))
    }

    /// The key that hides the ids in record keys.
    pub(crate) fn index_key(&self) -> IndexKey {
        IndexKey(self.derive(INDEX_LABEL))
    }

    /// The key for `boucle_crypto` pickles.
    pub(crate) fn pickle_key_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.derive(PICKLE_LABEL))
    }

    /// The first 32 bytes of the XChaCha20 keystream under the data key and a label
    /// nonce: a PRF of the label keyed by the data key, so each label gives an
    /// independent subkey. (Encrypting 32 bytes cannot fail; the AEAD API returns a
    /// `Result` only for messages beyond its length limit.)
    fn derive(&self, label: &[u8; NONCE_LEN]) -> [u8; 32] {
        let ct = Zeroizing::new(
            XChaCha20Poly1305::new(&self.0.into())
                .encrypt(
                    &XNonce::from(*label),
                    Payload {
                        msg: &[0u8; 32],
                        aad: b"",
                    },
                )
                .unwrap_or_default(),
        );
        let mut out = [0u8; 32];
        for (o, c) in out.iter_mut().zip(ct.iter()) {
            *o = *c;
        }
        out
    }

    /// Whether two data keys are the same key.
    pub(crate) fn same_as(&self, other: &DataKey) -> bool {
        self.0 == other.0
    }
}

/// The subkey that seals records. Wiped on drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct RecordKey(pub(super) [u8; 32]);

/// The subkey under which the ids in record keys are hashed. Wiped on drop; no `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct IndexKey([u8; 32]);

/// Length of a hashed id in a stored record key.
pub(crate) const HASHED_ID_LEN: usize = 16;

impl IndexKey {
    /// `HMAC-SHA256(index_key, table || 0x00 || part || id)[..16]`: what a record key
    /// holds in place of the id `id`, part number `part` of a key of `table`. Without
    /// the data key nobody can compute it from an id, or tell which id it stands for.
    pub(crate) fn hash_id(&self, table: &str, part: u8, id: &[u8]) -> [u8; HASHED_ID_LEN] {
        use hmac::{KeyInit as _, Mac as _};
        // HMAC pads a key shorter than the hash's block (64 bytes) with zeros: padding
        // it here gives the same HMAC, through the constructor that cannot fail.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&self.0);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new(&(*block).into());
        mac.update(table.as_bytes());
        mac.update(&[0, part]);
        mac.update(id);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; HASHED_ID_LEN];
        out.copy_from_slice(&full[..HASHED_ID_LEN]);
        out
    }
}

/// A fresh random 16-byte salt.
pub(crate) fn random_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rand::fill(&mut salt);
    salt
}

/// A fresh random 24-byte nonce.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    nonce
}
