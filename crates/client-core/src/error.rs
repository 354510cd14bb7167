//! The engine's errors: each says what happened in a sentence a person can act on.

use boucle_relay_client::ClientError;

use crate::invite::InvitationError;
use crate::store::StoreError;

/// Why an engine operation failed. Nothing was changed unless the variant says so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The profile store failed (wrong passphrase, damaged file, in use, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A relay could not be used.
    #[error("relay {relay}: {reason}")]
    Relay {
        /// The relay, as `host:port`.
        relay: String,
        /// What happened (said in the message, so not a separate cause).
        reason: ClientError,
    },
    /// The relay address is not valid (the message says why).
    #[error("{0}")]
    RelayAddress(boucle_wire::WireError),
    /// The text given as an access token is not one.
    #[error("this is not an access token: {0}")]
    InvalidToken(&'static str),
    /// The relay lets only holders of an access token create mailboxes, and we have none.
    #[error(
        "the relay {relay} lets only people with an access token create mailboxes, and this profile has none: ask its operator for one"
    )]
    TokenRequired {
        /// The relay, as `host:port`.
        relay: String,
    },
    /// The relay does not accept our access token.
    #[error(
        "the relay {relay} does not accept this access token (it is unknown or was revoked): ask its operator for a new one"
    )]
    TokenRefused {
        /// The relay, as `host:port`.
        relay: String,
    },
    /// The invitation could not be read.
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    /// The invitation is one of our own.
    #[error("this is your own invitation: send it to the person you want to talk with")]
    OwnInvitation,
    /// We already have this person as a contact.
    #[error("{0} is already one of your contacts")]
    AlreadyContact(String),
    /// No such contact.
    #[error("no contact matches {0:?}")]
    UnknownContact(String),
    /// More than one contact matches.
    #[error("{0:?} matches more than one contact; use the contact id")]
    AmbiguousContact(String),
    /// No such loop.
    #[error("no loop matches {0:?}")]
    UnknownLoop(String),
    /// More than one loop matches.
    #[error("{0:?} matches more than one loop; use the loop id")]
    AmbiguousLoop(String),
    /// We are not (or no longer) a member of this loop.
    #[error("you are not a member of this loop")]
    NotInLoop,
    /// Only admins may do this.
    #[error("only an admin of the loop can do this")]
    NotAdmin,
    /// The loop change was refused.
    #[error("the loop change was refused: {0}")]
    LoopChange(String),
    /// No such message in this conversation.
    #[error("no such message in this conversation")]
    UnknownMessage,
    /// Only the author can edit or delete a message.
    #[error("only its author can edit or delete a message")]
    NotYours,
    /// The contact is blocked.
    #[error("you blocked this contact: unblock them to write to them")]
    Blocked,
    /// The message is too long to send in one envelope.
    #[error("the message is too long ({0} bytes); the limit is about 60,000 bytes")]
    MessageTooLong(usize),
    /// A cryptographic operation failed (a bug, or damaged session state).
    #[error("encryption failed: {0}")]
    Crypto(String),
    /// The engine has been shut down.
    #[error("the profile is locked")]
    Locked,
    /// No such poll in this conversation.
    #[error("no poll with this id in this conversation")]
    UnknownPoll,
    /// No such event in this conversation.
    #[error("no event with this id in this conversation")]
    UnknownEvent,
    /// The poll cannot be created as given.
    #[error("this poll cannot be created: {0}")]
    InvalidPoll(String),
    /// The vote does not fit the poll.
    #[error("this vote is not valid: {0}")]
    InvalidVote(String),
    /// The event's details are not acceptable.
    #[error("this event is not valid: {0}")]
    InvalidEvent(String),
    /// Voting is over.
    #[error("this poll is closed: votes no longer count")]
    PollClosed,
    /// The event was cancelled; it cannot be answered or changed any more.
    #[error("this event is cancelled")]
    EventCancelled,
    /// Only the poll's or event's author, or an admin, may close, edit or cancel it.
    #[error("only whoever created it, or an admin of the loop, can do this")]
    NotOrganizer,
    /// An announcement loop: only its admins post (members still react).
    #[error("only admins can post in this loop")]
    NotAllowedToPost,
    /// A disappearing-messages timer other than the ones offered.
    #[error("disappearing messages can be off, 1 hour, 1 day, 1 week or 4 weeks (not {0} seconds)")]
    InvalidTimer(u32),
    /// The contact's shareable card has not arrived yet.
    #[error(
        "{0} cannot be shared yet: their shareable card arrives once they have been online since you met"
    )]
    NoShareableCard(String),
    /// Sharing a contact into the conversation with that same contact.
    #[error("this is the conversation with {0}: share them with someone else")]
    SharedWithThemselves(String),
    /// The message does not share a contact.
    #[error("this message does not share a contact")]
    NotASharedContact,
    /// The shared card is our own.
    #[error("this is your own contact card")]
    OwnCard,
    /// The file is larger than attachments may be.
    #[error("the file is too large ({size} bytes); files of at most 64 MiB can be sent")]
    FileTooLarge {
        /// Its size in bytes.
        size: u64,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The message carries no file (or it was deleted).
    #[error("this message has no file attached")]
    NoAttachment,
    /// The attached file cannot be opened, or not yet.
    #[error("the file is not available: {0}")]
    AttachmentUnavailable(String),
}

impl EngineError {
    /// What a relay operation's failure means: a refused token is said as such.
    pub(crate) fn relay(relay: &boucle_wire::RelayAddress, reason: ClientError) -> EngineError {
        let relay = relay.authority();
        match reason.code() {
            Some(boucle_wire::ErrorCode::AccessTokenRequired) => {
                EngineError::TokenRequired { relay }
            }
            Some(boucle_wire::ErrorCode::AccessTokenInvalid) => EngineError::TokenRefused { relay },
            _ => EngineError::Relay { relay, reason },
        }
    }

    /// Whether the relay could not be reached at all (as opposed to a refusal, or a
    /// failure here): trying again later may work.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            EngineError::Relay {
                reason: ClientError::Connect(_)
                    | ClientError::Resolve { .. }
                    | ClientError::Timeout
                    | ClientError::Closed(_),
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cause of an error, in the order `{:#}` would print them.
    fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut out = vec![error.to_string()];
        let mut next = error.source();
        while let Some(cause) = next {
            out.push(cause.to_string());
            next = cause.source();
        }
        out
    }

    #[test]
    fn relay_errors_name_the_relay_with_its_port_and_say_each_cause_once() {
        let address: boucle_wire::RelayAddress =
            "boucle-relay://127.0.0.1:4433/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"
                .parse()
                .unwrap();
        let error = EngineError::relay(&address, ClientError::Timeout);
        assert_eq!(
            chain(&error),
            ["relay 127.0.0.1:4433: the relay did not answer in time"]
        );
        let error = "boucle-relay://nowhere"
            .parse::<boucle_wire::RelayAddress>()
            .map_err(EngineError::RelayAddress)
            .unwrap_err();
        let text = chain(&error).join(": ");
        assert_eq!(text.matches("invalid relay address").count(), 1, "{text}");
        let refused = EngineError::relay(
            &address,
            ClientError::Refused(boucle_wire::ErrorCode::AccessTokenRequired),
        );
        assert!(
            matches!(refused, EngineError::TokenRequired { ref relay } if relay == "127.0.0.1:4433")
        );
    }
}
