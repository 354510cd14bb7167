//! Signed control messages: the only way a loop's state changes.
//!
//! Encoding: `postcard(ControlBody) || signature[64]`, the Ed25519 signature
//! of the author's identity key over `"boucle/e2ee/v1/control" || postcard(ControlBody)`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::LoopId;
use crate::error::ControlError;
use crate::identity::{Account, ContactCard, IdentityKeys};
use crate::time::Timestamp;

/// Domain separation for control signatures.
pub const CONTROL_LABEL: &[u8] = b"boucle/e2ee/v1/control";

/// What a control message does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ControlOp {
    /// Creates the loop (version 1): name, members (their cards), admins
    /// (Ed25519 identity keys).
    Create {
        /// The loop's name.
        name: String,
        /// Every member's card, the author included.
        members: Vec<ContactCard>,
        /// Ed25519 keys of the admins, the author included.
        admins: Vec<[u8; 32]>,
    },
    /// Adds a member.
    AddMember(ContactCard),
    /// Removes a member (by Ed25519 key). A member may remove itself (leave).
    RemoveMember([u8; 32]),
    /// Makes a member an admin.
    AddAdmin([u8; 32]),
    /// Takes admin rights away (the last admin cannot be removed).
    RemoveAdmin([u8; 32]),
    /// Renames the loop.
    Rename(String),
    /// Sets who may post and who may invite.
    SetPolicy(LoopPolicy),
    /// Sets the disappearing-messages timer in seconds (0: off). Every message stored
    /// after this change is deleted by every member that long after it was sent.
    SetTimer(u32),
}

/// Who may post in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Posting {
    /// Every member (the default).
    #[default]
    Everyone,
    /// Admins only: an announcement loop. Members still react, vote and answer events.
    Admins,
}

/// Who may add members to a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Inviting {
    /// Admins only (the default).
    #[default]
    Admins,
    /// Every member.
    Members,
}

/// A loop's rules on roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoopPolicy {
    /// Who may post.
    pub posting: Posting,
    /// Who may invite.
    pub inviting: Inviting,
}

/// The signed part of a control message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlBody {
    /// The loop it applies to.
    pub loop_id: LoopId,
    /// The loop version after applying it (current version + 1).
    pub version: u64,
    /// The author's identity.
    pub author: IdentityKeys,
    /// The author's clock (informational).
    pub issued_at: Timestamp,
    /// The change.
    pub op: ControlOp,
}

/// A control message with its author's signature. Decoding checks the
/// layout only; [`super::LoopState::apply`] checks signature and rights.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedControl {
    body: ControlBody,
    body_bytes: Vec<u8>,
    signature: [u8; 64],
}

impl fmt::Debug for SignedControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedControl")
            .field("loop_id", &self.body.loop_id)
            .field("version", &self.body.version)
            .field("op", &op_name(&self.body.op))
            .finish_non_exhaustive()
    }
}

fn op_name(op: &ControlOp) -> &'static str {
    match op {
        ControlOp::Create { .. } => "Create",
        ControlOp::AddMember(_) => "AddMember",
        ControlOp::RemoveMember(_) => "RemoveMember",
        ControlOp::AddAdmin(_) => "AddAdmin",
        ControlOp::RemoveAdmin(_) => "RemoveAdmin",
        ControlOp::Rename(_) => "Rename",
        ControlOp::SetPolicy(_) => "SetPolicy",
        ControlOp::SetTimer(_) => "SetTimer",
    }
}

impl SignedControl {
    /// Signs `body` with the account's identity key. The author field must
    /// be the account's identity (it is overwritten to make sure).
    pub fn sign(account: &Account, mut body: ControlBody) -> Self {
        body.author = account.identity_keys();
        let body_bytes = postcard::to_allocvec(&body).unwrap_or_default();
        let signature = account.sign(&[CONTROL_LABEL, &body_bytes].concat());
        Self {
            body,
            body_bytes,
            signature,
        }
    }

    /// The signed content.
    pub fn body(&self) -> &ControlBody {
        &self.body
    }

    /// Whether the signature verifies under the claimed author's key.
    pub fn signature_valid(&self) -> bool {
        self.body
            .author
            .verify(&[CONTROL_LABEL, &self.body_bytes].concat(), &self.signature)
    }

    /// Verifies the signature, or [`ControlError::BadSignature`].
    pub(crate) fn verified(&self) -> Result<&ControlBody, ControlError> {
        if self.signature_valid() {
            Ok(&self.body)
        } else {
            Err(ControlError::BadSignature)
        }
    }

    /// Encodes `postcard(body) || signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.body_bytes[..], &self.signature[..]].concat()
    }

    /// Decodes (without verifying; see [`SignedControl::signature_valid`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ControlError> {
        let split = bytes.len().checked_sub(64).ok_or(ControlError::Malformed)?;
        let (body_bytes, sig) = bytes.split_at(split);
        let (body, rest) = postcard::take_from_bytes::<ControlBody>(body_bytes)
            .map_err(|_| ControlError::Malformed)?;
        if !rest.is_empty() {
            return Err(ControlError::Malformed);
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(sig);
        Ok(Self {
            body,
            body_bytes: body_bytes.to_vec(),
            signature,
        })
    }
}
