use boucle_wire::{ErrorCode, RequestId, WireError};

/// Why a connection cannot go on, or a command cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The peer sent bytes that are not a valid frame, and the stream cannot be resynced.
    #[error("the relay sent data that could not be decoded: {0}")]
    Undecodable(WireError),
    /// The relay answered a request that was never made, or with the wrong kind of reply.
    #[error("the relay answered request {0:?} with a reply that does not match it")]
    UnexpectedReply(RequestId),
    /// The relay reported an error that ends the connection.
    #[error("the relay closed the conversation: {0}")]
    Refused(ErrorCode),
    /// A command needs the relay's hello first (for its challenge).
    #[error("the relay has not greeted this connection yet")]
    NotReady,
    /// A message could not be encoded (for example: larger than a frame may be).
    #[error("the message cannot be sent: {0}")]
    Encode(WireError),
}
