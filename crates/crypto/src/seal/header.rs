//! The 81-byte per-recipient header: `version(1) || field(32) || ct(48)`.
//!
//! *Sealed* form (pairwise): `field` is the HPKE encapsulated key and `ct` the
//! HPKE ciphertext of the 32-byte content key, to the mailbox's seal key.
//! *Keyed* form (loops): `field` is a random salt and `ct` is
//! XChaCha20-Poly1305 of the content key under the sender's loop header key.
//! The two forms are indistinguishable to the relay.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::EnvelopeError;
use crate::mailbox::{Kem, MailboxKeys, SealKey};

/// The envelope format version (first byte of header).
pub const ENVELOPE_VERSION: u8 = 1;
/// Length of every header.
pub const HEADER_LEN: usize = 81;
/// HPKE `info` for sealed headers.
pub const HPKE_INFO: &[u8] = b"boucle/e2ee/v1/header";
/// AAD label for keyed headers.
pub const KEYED_LABEL: &[u8] = b"boucle/e2ee/v1/keyed-header";

type HpkeAead = hpke::aead::ChaCha20Poly1305;
type Kdf = hpke::kdf::HkdfSha256;

/// A single-use 32-byte key encrypting one body.
pub(crate) type ContentKey = Zeroizing<[u8; 32]>;

/// A sender's loop header key (shared with members in key shares). No Debug.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct HeaderKey(pub(crate) [u8; 32]);

impl HeaderKey {
    pub(crate) fn random(rng: &mut impl rand::CryptoRng) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Self(k)
    }
}

pub(crate) fn seal_to_mailbox(
    ck: &ContentKey,
    to: SealKey,
    rng: &mut impl rand::CryptoRng,
) -> Result<Vec<u8>, EnvelopeError> {
    let pk = to.to_hpke().map_err(|_| EnvelopeError::SealFailed)?;
    let (enc, ct) = hpke::single_shot_seal_with_rng::<HpkeAead, Kdf, Kem>(
        &OpModeS::Base,
        &pk,
        HPKE_INFO,
        &ck[..],
        &[ENVELOPE_VERSION],
        rng,
    )
    .map_err(|_| EnvelopeError::SealFailed)?;
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&ct);
    if out.len() != HEADER_LEN {
        return Err(EnvelopeError::SealFailed);
    }
    Ok(out)
}

pub(crate) fn seal_keyed(
    ck: &ContentKey,
    key: &XChaCha20Poly1305,
    rng: &mut impl rand::CryptoRng,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.push(ENVELOPE_VERSION);
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);
    out.extend_from_slice(&salt);
    let aad = [KEYED_LABEL, &out[..]].concat();
    let nonce = XNonce::from(first24(&salt));
    let ct = key
        .encrypt(
            &nonce,
            Payload {
                msg: &ck[..],
                aad: &aad,
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(&ct);
    out
}

pub(crate) fn keyed_cipher(key: &HeaderKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&key.0.into())
}

fn first24(salt: &[u8]) -> [u8; 24] {
    let mut n = [0u8; 24];
    n.copy_from_slice(&salt[..24]);
    n
}

/// Checks the fixed layout.
pub(crate) fn check(header: &[u8]) -> Result<(), EnvelopeError> {
    if header.len() != HEADER_LEN || header[0] != ENVELOPE_VERSION {
        return Err(EnvelopeError::MalformedHeader {
            expected: HEADER_LEN,
        });
    }
    Ok(())
}

pub(crate) fn open_keyed(header: &[u8], key: &XChaCha20Poly1305) -> Option<ContentKey> {
    let aad = [KEYED_LABEL, &header[..33]].concat();
    let nonce = XNonce::from(first24(&header[1..33]));
    let pt = Zeroizing::new(
        key.decrypt(
            &nonce,
            Payload {
                msg: &header[33..],
                aad: &aad,
            },
        )
        .ok()?,
    );
    to_key(&pt)
}

pub(crate) fn open_sealed(header: &[u8], mailbox: &MailboxKeys) -> Option<ContentKey> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&header[1..33]).ok()?;
    let pt = hpke::single_shot_open::<HpkeAead, Kdf, Kem>(
        &OpModeR::Base,
        mailbox.secret(),
        &enc,
        HPKE_INFO,
        &header[33..],
        &[ENVELOPE_VERSION],
    )
    .ok()?;
    to_key(&Zeroizing::new(pt))
}

fn to_key(pt: &[u8]) -> Option<ContentKey> {
    let arr: [u8; 32] = pt.try_into().ok()?;
    Some(Zeroizing::new(arr))
}
