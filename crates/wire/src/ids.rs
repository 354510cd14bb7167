//! Fixed-size identifiers and keys that cross the wire.
//!
//! Each is a distinct newtype so that a send id can never be passed where a receive id
//! is expected. Their `Debug` shows only the first bytes: ids are metadata, and a
//! full id in a log line would let a log reader link activity to a mailbox.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::WireError;

macro_rules! fixed_bytes {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(#[serde(with = "serde_bytes_array")] [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Parses exactly [`Self::LEN`] bytes.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, WireError> {
                let array: [u8; $len] = bytes.try_into().map_err(|_| WireError::WrongLength {
                    what: stringify!($name),
                    expected: $len,
                    actual: bytes.len(),
                })?;
                Ok(Self(array))
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    concat!(stringify!($name), "({:02x}{:02x}{:02x}\u{2026})"),
                    self.0[0], self.0[1], self.0[2]
                )
            }
        }
    };
}

fixed_bytes!(
    /// The id a mailbox owner subscribes, acknowledges and manages with. Only the owner
    /// knows it; it never appears in an invitation.
    ReceiveId,
    16
);
fixed_bytes!(
    /// The id senders address envelopes to. Different from the receive id, so that the
    /// relay's two sides of a mailbox cannot be matched by anyone who sees only one.
    SendId,
    16
);
fixed_bytes!(
    /// An Ed25519 public key: the mailbox owner key, or the optional per-mailbox sender key.
    PublicKey,
    32
);
fixed_bytes!(
    /// An Ed25519 signature.
    Signature,
    64
);
fixed_bytes!(
    /// The per-connection random challenge a relay sends in its hello. Owners sign it to
    /// prove they hold a mailbox's owner key on this connection and no other.
    Challenge,
    32
);
fixed_bytes!(
    /// An operator-issued access token that allows creating mailboxes on a relay.
    AccessToken,
    32
);
fixed_bytes!(
    /// The SHA-256 fingerprint of a relay's self-signed certificate.
    CertFingerprint,
    32
);
fixed_bytes!(
    /// The X25519 public key senders seal envelopes to. The relay never uses it; it
    /// travels in mailbox addresses only.
    SealKey,
    32
);

/// A client-chosen request number, echoed in the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u32);

/// The relay-assigned position of an envelope in its mailbox. Strictly increasing per
/// mailbox, never reused, including across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Seq(pub u64);

/// Serde for `[u8; N]` as a byte string (postcard: length then bytes), checking the length.
mod serde_bytes_array {
    use serde::{
        Deserializer, Serializer,
        de::{Error, Visitor},
    };

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        deserializer.deserialize_bytes(ArrayVisitor::<N>)
    }

    struct ArrayVisitor<const N: usize>;

    impl<const N: usize> Visitor<'_> for ArrayVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a byte string of length {N}")
        }

        fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<[u8; N], E> {
            <[u8; N]>::try_from(bytes).map_err(|_| E::invalid_length(bytes.len(), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_a_prefix() {
        let id = ReceiveId::from_bytes([0xab; 16]);
        assert_eq!(format!("{id:?}"), "ReceiveId(ababab\u{2026})");
    }

    #[test]
    fn from_slice_checks_length() {
        assert!(SendId::from_slice(&[1; 15]).is_err());
        assert!(SendId::from_slice(&[1; 16]).is_ok());
    }
}
