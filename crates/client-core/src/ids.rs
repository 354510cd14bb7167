//! Local identifiers. Random, so that using them as plaintext store keys reveals nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A contact in this profile.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContactId(pub [u8; 16]);

impl ContactId {
    pub(crate) fn random() -> ContactId {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        ContactId(bytes)
    }

    /// Short hexadecimal form (8 characters) for people and command lines.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// Full hexadecimal form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContactId({})", self.short())
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

/// A conversation: a 1:1 chat with a contact, or a loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConversationId {
    /// The chat with a contact.
    Contact(ContactId),
    /// A loop (group conversation).
    Loop(LoopId),
}

impl ConversationId {
    /// The 16-byte prefix of this conversation's message keys in the store (random ids:
    /// contacts and loops never collide in practice).
    pub(crate) fn key(&self) -> [u8; 16] {
        match self {
            ConversationId::Contact(id) => id.0,
            ConversationId::Loop(id) => id.0,
        }
    }
}

/// A loop, as its creator identified it (the same for every member).
pub use boucle_crypto::LoopId;

/// A message, as its sender identified it (the same on every device).
pub use boucle_crypto::MessageId;

/// A loop member, or a contact, by the Ed25519 key of their identity: what loop state,
/// roles, blocking, sender labels and member sessions are keyed by.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct MemberKey(pub [u8; 32]);

impl MemberKey {
    /// The member key of an identity.
    pub(crate) fn of(identity: &boucle_crypto::IdentityKeys) -> MemberKey {
        MemberKey(identity.ed25519)
    }

    /// Short hexadecimal form (8 characters), as members are named when unknown.
    pub(crate) fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberKey({}…)", self.short())
    }
}
