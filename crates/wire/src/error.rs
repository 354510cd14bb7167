//! Decoding errors, and the error codes a relay puts in its replies.

use serde::{Deserialize, Serialize};

/// Why bytes could not be turned into a wire value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A frame announced more bytes than the limit allows.
    #[error("frame of {actual} bytes is larger than the limit of {max} bytes")]
    FrameTooLarge {
        /// Limit in force.
        max: usize,
        /// Length the frame announced.
        actual: usize,
    },
    /// A frame had a length of zero: it cannot even hold a version byte.
    #[error("empty frame: a frame must at least carry a version byte")]
    EmptyFrame,
    /// A frame was written in a protocol version this implementation does not speak.
    #[error("unsupported protocol version {0} (this side speaks version {current})", current = crate::PROTOCOL_VERSION)]
    UnsupportedVersion(u8),
    /// The frame's payload is not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A fixed-size value had the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    WrongLength {
        /// What was being parsed.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A variable-size value was longer than allowed.
    #[error("{what} of {actual} bytes is longer than the limit of {max} bytes")]
    TooLong {
        /// What was being parsed.
        what: &'static str,
        /// Limit.
        max: usize,
        /// Actual length.
        actual: usize,
    },
    /// A batch named more recipients than allowed, or none.
    #[error("a batch must name between 1 and {max} recipients, got {actual}")]
    BadBatchSize {
        /// Limit.
        max: usize,
        /// Actual count.
        actual: usize,
    },
    /// An address string could not be parsed.
    #[error("invalid {what}: {reason}")]
    InvalidAddress {
        /// Relay address or mailbox address.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The reason a relay refused a command. Encoded as a `u16` on the wire; codes unknown
/// to this version decode as [`ErrorCode::Unknown`] so that a newer relay never breaks an
/// older client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u16", into = "u16")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame could not be decoded.
    Malformed,
    /// The frame's version byte is not one the relay speaks.
    UnsupportedVersion,
    /// The frame exceeded the relay's frame limit; the relay closes the connection.
    FrameTooLarge,
    /// The envelope body or header exceeded the relay's limit.
    EnvelopeTooLarge,
    /// No mailbox has this id.
    UnknownMailbox,
    /// The signature does not verify with the mailbox's key.
    BadSignature,
    /// The command needs ownership of the mailbox proven on this connection first.
    NotProven,
    /// Creating a mailbox on this relay needs an access token.
    AccessTokenRequired,
    /// The access token is unknown or revoked.
    AccessTokenInvalid,
    /// The mailbox is full (count or bytes).
    QuotaExceeded,
    /// Too many requests in flight, subscriptions or mailboxes for this connection.
    LimitReached,
    /// The relay could not store the data (for example: its disk is full). Nothing was
    /// stored; try again later.
    StorageFailure,
    /// The relay is shutting down.
    ShuttingDown,
    /// The command must be preceded by a hello, or a second hello was sent.
    OutOfOrder,
    /// The mailbox requires a sender signature and none (or a wrong one) was given.
    SenderNotAllowed,
    /// A code this version does not know.
    Unknown(u16),
}

impl ErrorCode {
    /// A sentence for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Malformed => "the relay could not decode the request",
            Self::UnsupportedVersion => "the relay does not speak this protocol version",
            Self::FrameTooLarge => "the request was larger than the relay accepts",
            Self::EnvelopeTooLarge => "the message is larger than the relay accepts",
            Self::UnknownMailbox => "no such mailbox on this relay",
            Self::BadSignature => "the mailbox key did not match",
            Self::NotProven => "this connection has not proven it owns the mailbox",
            Self::AccessTokenRequired => "this relay needs an access token to create mailboxes",
            Self::AccessTokenInvalid => "the access token is unknown or has been revoked",
            Self::QuotaExceeded => "the mailbox is full",
            Self::LimitReached => "a per-connection limit of the relay was reached",
            Self::StorageFailure => "the relay could not store the data; nothing was stored",
            Self::ShuttingDown => "the relay is shutting down",
            Self::OutOfOrder => "the request came out of order",
            Self::SenderNotAllowed => "the mailbox does not accept messages from this sender",
            Self::Unknown(_) => {
                "the relay refused the request for a reason this version does not know"
            }
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl From<ErrorCode> for u16 {
    fn from(code: ErrorCode) -> u16 {
        match code {
            ErrorCode::Malformed => 1,
            ErrorCode::UnsupportedVersion => 2,
            ErrorCode::FrameTooLarge => 3,
            ErrorCode::EnvelopeTooLarge => 4,
            ErrorCode::UnknownMailbox => 5,
            ErrorCode::BadSignature => 6,
            ErrorCode::NotProven => 7,
            ErrorCode::AccessTokenRequired => 8,
            ErrorCode::AccessTokenInvalid => 9,
            ErrorCode::QuotaExceeded => 10,
            ErrorCode::LimitReached => 11,
            ErrorCode::StorageFailure => 12,
            ErrorCode::ShuttingDown => 13,
            ErrorCode::OutOfOrder => 14,
            ErrorCode::SenderNotAllowed => 15,
            ErrorCode::Unknown(code) => code,
        }
    }
}

impl From<u16> for ErrorCode {
    fn from(code: u16) -> ErrorCode {
        match code {
            1 => Self::Malformed,
            2 => Self::UnsupportedVersion,
            3 => Self::FrameTooLarge,
            4 => Self::EnvelopeTooLarge,
            5 => Self::UnknownMailbox,
            6 => Self::BadSignature,
            7 => Self::NotProven,
            8 => Self::AccessTokenRequired,
            9 => Self::AccessTokenInvalid,
            10 => Self::QuotaExceeded,
            11 => Self::LimitReached,
            12 => Self::StorageFailure,
            13 => Self::ShuttingDown,
            14 => Self::OutOfOrder,
            15 => Self::SenderNotAllowed,
            other => Self::Unknown(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for n in 0..40u16 {
            assert_eq!(u16::from(ErrorCode::from(n)), n);
        }
    }
}
