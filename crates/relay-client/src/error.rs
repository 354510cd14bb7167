use boucle_wire::{CertFingerprint, ErrorCode};

/// Why a relay operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The relay presented a different certificate than its address names.
    #[error(
        "the relay's certificate does not match the fingerprint in its address: this is not the relay you asked for (or it was reinstalled); refusing to talk to it"
    )]
    FingerprintMismatch {
        /// Fingerprint of the certificate presented.
        presented: CertFingerprint,
    },
    /// The relay's host name could not be resolved.
    #[error("could not find the relay's host {host}: {reason}")]
    Resolve {
        /// Host name.
        host: String,
        /// Why.
        reason: String,
    },
    /// The relay could not be reached or the QUIC/TLS handshake failed.
    #[error("could not reach the relay: {0}")]
    Connect(String),
    /// The relay did not answer within the time allowed.
    #[error("the relay did not answer in time")]
    Timeout,
    /// The relay refused the request.
    #[error("the relay refused: {0}")]
    Refused(ErrorCode),
    /// The connection is closed.
    #[error("the connection to the relay was closed: {0}")]
    Closed(String),
    /// The relay broke the protocol.
    #[error("the relay broke the protocol: {0}")]
    Protocol(String),
    /// The request is invalid before it is even sent (for example: too large).
    #[error("the request cannot be sent: {0}")]
    Invalid(String),
}

impl ClientError {
    /// The relay's error code, if the relay refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused(code) => Some(*code),
            _ => None,
        }
    }
}
