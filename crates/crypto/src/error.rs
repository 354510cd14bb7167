//! One error enum per domain. Every variant names the violation in words a
//! user (or a support engineer reading a bug report) can act on.

use thiserror::Error;

/// A key, card or identity could not be parsed or verified.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes are not a valid public key of the expected kind.
    #[error("the {0} key is not a valid public key")]
    InvalidKey(&'static str),
    /// The contact card's signature does not match its identity key.
    #[error("the contact card is not signed by the identity it names")]
    BadCardSignature,
    /// The contact card could not be decoded.
    #[error("the contact card is malformed or uses an unknown version")]
    MalformedCard,
}

/// Sealing or opening an envelope failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The header has the wrong length or an unknown version byte.
    #[error("the envelope header is malformed (expected {expected} bytes, version 1)")]
    MalformedHeader {
        /// The only header length this version produces.
        expected: usize,
    },
    /// None of the supplied keys opens the header: the envelope is for someone
    /// else, was sent with keys we no longer hold, or was tampered with.
    #[error("the envelope is not addressed to any key we hold, or its header was altered")]
    NotForUs,
    /// The body is not exactly one of the padding buckets.
    #[error("the envelope body has a length ({0} bytes) that is not a padding bucket")]
    BadBodyLength(usize),
    /// The body failed authentication under the header's content key.
    #[error("the envelope body was altered or does not belong to this header")]
    BodyTampered,
    /// The authenticated body does not follow the sealed-payload layout.
    #[error("the envelope body is malformed: {0}")]
    MalformedBody(&'static str),
    /// The payload does not fit in the largest padding bucket.
    #[error("the message is too large to send ({0} bytes, at most {max} fit in an envelope)", max = crate::seal::MAX_PAYLOAD)]
    TooLarge(usize),
    /// The HPKE library refused to seal (should not happen with valid keys).
    #[error("sealing to the recipient's mailbox key failed")]
    SealFailed,
}

/// A pairwise (Olm) session operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PairwiseError {
    /// Establishing a session from a card or a first message failed.
    #[error("could not establish a session: {0}")]
    Establish(#[from] vodozemac::olm::SessionCreationError),
    /// The contact card is not valid.
    #[error("the contact card is invalid: {0}")]
    Card(#[from] KeyError),
    /// The envelope is not a pairwise message.
    #[error("this envelope is not a pairwise message")]
    NotPairwise,
    /// The envelope was sent by someone other than this session's contact.
    #[error("the message comes from a different identity than this session's contact")]
    WrongSender,
    /// A first message needs the sender's identity proof and it is invalid.
    #[error("the sender's identity proof is invalid")]
    BadSenderProof,
    /// The message is not a valid Olm message.
    #[error("the message is not a valid Olm message")]
    Malformed,
    /// The message was already decrypted (a duplicate or a replay), or its
    /// key has been discarded.
    #[error("this message was already read or its key is gone (duplicate, replay or too old)")]
    AlreadyReadOrExpired,
    /// Authentication of the message failed.
    #[error("the message failed authentication: {0}")]
    Decrypt(vodozemac::olm::DecryptionError),
    /// The session refused to encrypt (the contact's keys are degenerate).
    #[error("the session cannot encrypt: the contact's keys are unusable")]
    Encrypt,
    /// A normal message arrived for which no session exists.
    #[error("no session matches this message; the contact must start a new one")]
    NoMatchingSession,
    /// The decrypted plaintext is not a valid message.
    #[error("the decrypted message is malformed: {0}")]
    Content(#[from] ContentError),
}

/// A loop (group) operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoopError {
    /// The envelope is not a loop message, or not for this loop.
    #[error("this envelope is not a message of this loop")]
    WrongLoop,
    /// The sender has not shared the session this message uses (or we were
    /// removed and never received it).
    #[error("the key for this loop message was never shared with us")]
    UnknownSession,
    /// The message claims a sender other than the owner of its session.
    #[error("the loop message claims a sender that does not own its session")]
    WrongSender,
    /// The message was already read (a duplicate or replay), or its key was
    /// discarded for forward secrecy.
    #[error("this loop message was already read or its key was discarded")]
    AlreadyReadOrExpired,
    /// The Megolm message is malformed or failed authentication.
    #[error("the loop message failed authentication")]
    Decrypt,
    /// A key share came from someone who is not a member.
    #[error("a key share came from someone who is not a member of this loop")]
    NotAMember,
    /// The key share is malformed.
    #[error("the key share is malformed")]
    BadKeyShare,
    /// The outbound session must be rotated (and shared) before sending.
    #[error("the loop key must be rotated and shared before sending")]
    RotationRequired,
    /// We are no longer a member of this loop.
    #[error("you are no longer a member of this loop")]
    Removed,
    /// The decrypted plaintext is not a valid message.
    #[error("the decrypted message is malformed: {0}")]
    Content(#[from] ContentError),
}

/// A loop control message was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlError {
    /// The control message could not be decoded.
    #[error("the loop control message is malformed")]
    Malformed,
    /// The signature does not verify under the claimed author's key.
    #[error("the loop control message has an invalid signature (forged)")]
    BadSignature,
    /// The author is not an admin of the loop.
    #[error("the loop change was made by someone who is not an admin")]
    NotAdmin,
    /// The control message is for another loop.
    #[error("the loop change belongs to another loop")]
    WrongLoop,
    /// The version is not exactly the next one.
    #[error("the loop change has version {got}, expected {expected}")]
    WrongVersion {
        /// The version the loop expects next.
        expected: u64,
        /// The version the control message carries.
        got: u64,
    },
    /// The change makes no sense in the current state.
    #[error("the loop change is invalid: {0}")]
    Invalid(&'static str),
}

/// A message's content could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentError {
    /// The frame is shorter than its fixed header.
    #[error("the message is truncated")]
    Truncated,
    /// The version byte is zero, which no sender produces.
    #[error("the message has an invalid version byte")]
    BadVersion,
    /// A known kind carries a payload that does not decode.
    #[error("the message of kind {0} is malformed")]
    Malformed(u16),
}

/// An encrypted pickle could not be imported.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PickleError {
    /// The pickle is for another kind of state, or an unknown version.
    #[error("the saved state is not a {expected} or uses an unknown format version")]
    WrongKind {
        /// The kind of state the caller asked for.
        expected: &'static str,
    },
    /// The key is wrong or the pickle was altered.
    #[error("the saved state cannot be decrypted: wrong key or corrupted data")]
    WrongKeyOrCorrupted,
    /// The decrypted state does not decode.
    #[error("the saved state is damaged and cannot be read")]
    Malformed,
}
