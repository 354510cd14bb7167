//! The relay-visible envelope: an opaque header and an opaque body.
//!
//! The relay stores and forwards these bytes and never interprets them. A sealed
//! 1:1 message puts everything in the body; a loop message sent with a batch shares
//! one body among all recipients and gives each recipient its own small header.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::WireError;

/// The largest header the wire format admits, in bytes.
pub const MAX_HEADER_LEN: usize = 256;
/// The largest body the wire format admits, in bytes. A relay may set a lower limit.
pub const MAX_BODY_LEN: usize = 65_536;

/// A per-recipient opaque header, at most [`MAX_HEADER_LEN`] bytes (often empty).
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "ByteBuf")]
pub struct Header(Vec<u8>);

/// An opaque sealed body, at most [`MAX_BODY_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "ByteBuf")]
pub struct Body(Vec<u8>);

macro_rules! opaque_bytes {
    ($name:ident, $max:expr, $what:literal) => {
        impl $name {
            /// Wraps bytes, refusing more than the maximum length.
            pub fn new(bytes: Vec<u8>) -> Result<Self, WireError> {
                if bytes.len() > $max {
                    return Err(WireError::TooLong {
                        what: $what,
                        max: $max,
                        actual: bytes.len(),
                    });
                }
                Ok(Self(bytes))
            }

            /// The bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// Takes the bytes.
            pub fn into_bytes(self) -> Vec<u8> {
                self.0
            }

            /// Length in bytes.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether there are no bytes.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl TryFrom<ByteBuf> for $name {
            type Error = WireError;

            fn try_from(bytes: ByteBuf) -> Result<Self, WireError> {
                Self::new(bytes.into_vec())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // Never print opaque content, only its size.
                write!(f, concat!(stringify!($name), "({} bytes)"), self.0.len())
            }
        }
    };
}

opaque_bytes!(Header, MAX_HEADER_LEN, "envelope header");
opaque_bytes!(Body, MAX_BODY_LEN, "envelope body");

/// What a relay stores for a mailbox and hands to its owner.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// Per-recipient header (may be empty).
    pub header: Header,
    /// Sealed body.
    pub body: Body,
}

impl Envelope {
    /// Bytes this envelope counts against a mailbox quota.
    pub fn stored_len(&self) -> usize {
        self.header.len() + self.body.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_oversized() {
        assert!(Body::new(vec![0; MAX_BODY_LEN]).is_ok());
        assert!(matches!(
            Body::new(vec![0; MAX_BODY_LEN + 1]),
            Err(WireError::TooLong { .. })
        ));
        assert!(Header::new(vec![0; MAX_HEADER_LEN + 1]).is_err());
    }

    #[test]
    fn debug_hides_content() {
        let body = Body::new(b"secret".to_vec()).unwrap();
        assert_eq!(format!("{body:?}"), "Body(6 bytes)");
    }
}
