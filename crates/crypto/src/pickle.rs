//! Encrypted pickles: every piece of state exports as
//! `version(1) || kind(1) || nonce(24) || XChaCha20-Poly1305(key, JSON state)`
//! with AAD `"boucle/e2ee/v1/pickle" || version || kind`.
//!
//! Import never mutates anything: it returns a new value or a typed error.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::PickleError;

/// The pickle format version.
const VERSION: u8 = 1;
/// AAD label for pickles.
const LABEL: &[u8] = b"boucle/e2ee/v1/pickle";

/// A 32-byte key the caller supplies to encrypt exported state (typically
/// derived from a passphrase with Argon2id by the client). Wiped on drop;
/// no `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PickleKey([u8; 32]);

impl PickleKey {
    /// Wraps raw key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// Which state a pickle holds; the byte is authenticated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateKind {
    Account = 1,
    Pairwise = 2,
    Loop = 3,
    Mailbox = 4,
}

impl StateKind {
    fn name(self) -> &'static str {
        match self {
            StateKind::Account => "account",
            StateKind::Pairwise => "pairwise session",
            StateKind::Loop => "loop session",
            StateKind::Mailbox => "mailbox key",
        }
    }
}

fn aad(kind: StateKind) -> Vec<u8> {
    [LABEL, &[VERSION, kind as u8][..]].concat()
}

pub(crate) fn seal<T: Serialize>(
    kind: StateKind,
    state: &T,
    key: &PickleKey,
    rng: &mut impl rand::CryptoRng,
) -> Vec<u8> {
    // vodozemac pickles are designed for JSON; serializing them cannot fail.
    let plain = Zeroizing::new(serde_json::to_vec(state).unwrap_or_default());
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(&key.0.into());
    let ct = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad(kind),
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(2 + 24 + ct.len());
    out.extend_from_slice(&[VERSION, kind as u8]);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

pub(crate) fn open<T: DeserializeOwned>(
    kind: StateKind,
    bytes: &[u8],
    key: &PickleKey,
) -> Result<T, PickleError> {
    if bytes.len() < 2 + 24 + 16 || bytes[0] != VERSION || bytes[1] != kind as u8 {
        return Err(PickleError::WrongKind {
            expected: kind.name(),
        });
    }
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&bytes[2..26]);
    let cipher = XChaCha20Poly1305::new(&key.0.into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &bytes[26..],
                    aad: &aad(kind),
                },
            )
            .map_err(|_| PickleError::WrongKeyOrCorrupted)?,
    );
    serde_json::from_slice(&plain).map_err(|_| PickleError::Malformed)
}
