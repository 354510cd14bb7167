//! Safety numbers: a short, symmetric fingerprint of two identities that two
//! people compare (as digits or by scanning a QR code) to rule out a
//! man-in-the-middle.
//!
//! Per identity: `h_0 = SHA-512(0x00 0x01 || ed25519 || curve25519 || "boucle/e2ee/v1/safety")`,
//! `h_{i+1} = SHA-512(h_i || ed25519 || curve25519)`, 5200 iterations; the first
//! 30 bytes of the result are six 5-byte big-endian chunks, each `mod 100000`,
//! giving 30 digits. The safety number is the two 30-digit strings in
//! ascending order (60 digits, shown as 12 groups of 5), so both sides see the
//! same. The QR payload is `0x01 || fp_low[32] || fp_high[32]` (the first 32
//! bytes of each final hash, same order).

use std::fmt;

use sha2::{Digest, Sha512};

use crate::identity::IdentityKeys;

/// Iterations of SHA-512 per identity (as in Signal's numeric fingerprint).
pub const ITERATIONS: usize = 5200;
const LABEL: &[u8] = b"boucle/e2ee/v1/safety";
/// Version byte of the QR payload.
pub const QR_VERSION: u8 = 1;

/// The safety number of two identities; equal on both sides.
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    digits: String,
    qr: Vec<u8>,
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SafetyNumber")
            .field(&self.digit_groups().join(" "))
            .finish()
    }
}

struct Fingerprint {
    digits: String,
    hash: [u8; 32],
}

fn fingerprint(keys: &IdentityKeys) -> Fingerprint {
    let mut h = Sha512::new();
    h.update([0u8, 1]);
    h.update(keys.ed25519);
    h.update(keys.curve25519);
    h.update(LABEL);
    let mut hash = h.finalize();
    for _ in 1..ITERATIONS {
        let mut h = Sha512::new();
        h.update(hash);
        h.update(keys.ed25519);
        h.update(keys.curve25519);
        hash = h.finalize();
    }
    let mut digits = String::with_capacity(30);
    for chunk in hash[..30].chunks(5) {
        let n = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        digits.push_str(&format!("{:05}", n % 100_000));
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&hash[..32]);
    Fingerprint { digits, hash: out }
}

impl SafetyNumber {
    /// Computes the safety number of `mine` and `theirs` (order does not matter).
    pub fn new(mine: &IdentityKeys, theirs: &IdentityKeys) -> Self {
        let mut a = fingerprint(mine);
        let mut b = fingerprint(theirs);
        if b.digits < a.digits || (b.digits == a.digits && b.hash < a.hash) {
            std::mem::swap(&mut a, &mut b);
        }
        let digits = format!("{}{}", a.digits, b.digits);
        let mut qr = Vec::with_capacity(65);
        qr.push(QR_VERSION);
        qr.extend_from_slice(&a.hash);
        qr.extend_from_slice(&b.hash);
        Self { digits, qr }
    }

    /// The 60 digits.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The digits as 12 groups of 5, for display.
    pub fn digit_groups(&self) -> Vec<&str> {
        (0..self.digits.len() / 5)
            .filter_map(|i| self.digits.get(i * 5..i * 5 + 5))
            .collect()
    }

    /// The bytes to encode in a QR code (65 bytes).
    pub fn qr_payload(&self) -> &[u8] {
        &self.qr
    }

    /// Whether a scanned QR payload matches (constant time).
    pub fn matches_qr(&self, scanned: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        scanned.len() == self.qr.len() && bool::from(self.qr.ct_eq(scanned))
    }
}
