//! A loop's public state and the deterministic rules for changing it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::LoopId;
use super::control::{ControlOp, Inviting, LoopPolicy, SignedControl};
use crate::error::ControlError;
use crate::identity::{ContactCard, IdentityKeys};

/// Longest loop name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Longest disappearing-messages timer accepted: 4 weeks.
pub const MAX_TIMER_SECS: u32 = 28 * 24 * 3600;

/// Members (by Ed25519 identity key, with their cards), admins, name and
/// version of a loop. Every member holds the same state once it has applied
/// the same control messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StateWire", from = "StateWire")]
pub struct LoopState {
    id: LoopId,
    name: String,
    version: u64,
    members: BTreeMap<[u8; 32], ContactCard>,
    admins: BTreeSet<[u8; 32]>,
    policy: LoopPolicy,
    timer_secs: u32,
}

/// Serialized form (JSON map keys must be strings, so maps become lists).
#[derive(Clone, Serialize, Deserialize)]
struct StateWire {
    id: LoopId,
    name: String,
    version: u64,
    members: Vec<ContactCard>,
    admins: Vec<[u8; 32]>,
    policy: LoopPolicy,
    timer_secs: u32,
}

impl From<LoopState> for StateWire {
    fn from(s: LoopState) -> Self {
        Self {
            id: s.id,
            name: s.name,
            version: s.version,
            members: s.members.into_values().collect(),
            admins: s.admins.into_iter().collect(),
            policy: s.policy,
            timer_secs: s.timer_secs,
        }
    }
}

impl From<StateWire> for LoopState {
    fn from(w: StateWire) -> Self {
        Self {
            id: w.id,
            name: w.name,
            version: w.version,
            members: w
                .members
                .into_iter()
                .map(|c| (c.identity().ed25519, c))
                .collect(),
            admins: w.admins.into_iter().collect(),
            policy: w.policy,
            timer_secs: w.timer_secs,
        }
    }
}

/// What applying a control message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlEffect {
    /// Members were added or removed (every sender must rotate).
    pub membership_changed: bool,
    /// We were removed from the loop.
    pub removed_me: bool,
}

impl LoopState {
    /// Builds the state from a signed `Create` (version 1). The author must be
    /// a listed admin and member, and every card must verify.
    pub fn from_create(control: &SignedControl) -> Result<Self, ControlError> {
        let body = control.verified()?;
        let ControlOp::Create {
            name,
            members,
            admins,
        } = &body.op
        else {
            return Err(ControlError::Invalid(
                "the first change of a loop must create it",
            ));
        };
        if body.version != 1 {
            return Err(ControlError::WrongVersion {
                expected: 1,
                got: body.version,
            });
        }
        check_name(name)?;
        let members: BTreeMap<_, _> = members
            .iter()
            .map(|c| (c.identity().ed25519, c.clone()))
            .collect();
        let admins: BTreeSet<_> = admins.iter().copied().collect();
        if !admins.contains(&body.author.ed25519) {
            return Err(ControlError::NotAdmin);
        }
        if members.get(&body.author.ed25519).map(|c| c.identity()) != Some(&body.author) {
            return Err(ControlError::Invalid("the creator must be a member"));
        }
        if !admins.iter().all(|a| members.contains_key(a)) {
            return Err(ControlError::Invalid("every admin must be a member"));
        }
        Ok(Self {
            id: body.loop_id,
            name: name.clone(),
            version: 1,
            members,
            admins,
            policy: LoopPolicy::default(),
            timer_secs: 0,
        })
    }

    /// Applies a signed change, or rejects it without changing anything.
    /// `me` is used to report [`ControlEffect::removed_me`].
    pub fn apply(
        &mut self,
        control: &SignedControl,
        me: &IdentityKeys,
    ) -> Result<ControlEffect, ControlError> {
        let body = control.body();
        if body.loop_id != self.id {
            return Err(ControlError::WrongLoop);
        }
        if body.version != self.version + 1 {
            return Err(ControlError::WrongVersion {
                expected: self.version + 1,
                got: body.version,
            });
        }
        let body = control.verified()?;
        let author = body.author.ed25519;
        if self.members.get(&author).map(|c| c.identity()) != Some(&body.author) {
            return Err(ControlError::NotAdmin);
        }
        let is_admin = self.admins.contains(&author);
        let mut next = self.clone();
        let mut effect = ControlEffect::default();
        match &body.op {
            ControlOp::Create { .. } => {
                return Err(ControlError::Invalid("the loop already exists"));
            }
            ControlOp::RemoveMember(who) if *who == author => {
                next.remove_member(who)?;
                effect.membership_changed = true;
            }
            ControlOp::AddMember(card) if is_admin || self.policy.inviting == Inviting::Members => {
                card.verify().map_err(|_| {
                    ControlError::Invalid("the new member's card is not validly signed")
                })?;
                let key = card.identity().ed25519;
                if next.members.insert(key, card.clone()).is_some() {
                    return Err(ControlError::Invalid("already a member"));
                }
                effect.membership_changed = true;
            }
            _ if !is_admin => return Err(ControlError::NotAdmin),
            ControlOp::RemoveMember(who) => {
                next.remove_member(who)?;
                effect.membership_changed = true;
            }
            ControlOp::AddAdmin(who) => {
                if !next.members.contains_key(who) {
                    return Err(ControlError::Invalid("only a member can become an admin"));
                }
                if !next.admins.insert(*who) {
                    return Err(ControlError::Invalid("already an admin"));
                }
            }
            ControlOp::RemoveAdmin(who) => {
                if !next.admins.remove(who) {
                    return Err(ControlError::Invalid("not an admin"));
                }
                if next.admins.is_empty() {
                    return Err(ControlError::Invalid("a loop must keep at least one admin"));
                }
            }
            ControlOp::Rename(name) => {
                check_name(name)?;
                next.name = name.clone();
            }
            ControlOp::SetPolicy(policy) => next.policy = *policy,
            ControlOp::SetTimer(secs) => {
                if *secs > MAX_TIMER_SECS {
                    return Err(ControlError::Invalid("the timer is longer than allowed"));
                }
                next.timer_secs = *secs;
            }
            ControlOp::AddMember(_) => return Err(ControlError::NotAdmin),
        }
        effect.removed_me =
            !next.members.contains_key(&me.ed25519) && self.members.contains_key(&me.ed25519);
        next.version = body.version;
        *self = next;
        Ok(effect)
    }

    fn remove_member(&mut self, who: &[u8; 32]) -> Result<(), ControlError> {
        if self.members.remove(who).is_none() {
            return Err(ControlError::Invalid("not a member"));
        }
        self.admins.remove(who);
        if self.admins.is_empty() && !self.members.is_empty() {
            return Err(ControlError::Invalid("a loop must keep at least one admin"));
        }
        Ok(())
    }

    /// The loop's id.
    pub fn id(&self) -> LoopId {
        self.id
    }

    /// The loop's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who may post and who may invite.
    pub fn policy(&self) -> LoopPolicy {
        self.policy
    }

    /// Whether this member may post (text, replies, files, polls, events).
    pub fn may_post(&self, ed25519: &[u8; 32]) -> bool {
        self.members.contains_key(ed25519)
            && (self.policy.posting == super::control::Posting::Everyone
                || self.admins.contains(ed25519))
    }

    /// Whether this member may add members.
    pub fn may_invite(&self, ed25519: &[u8; 32]) -> bool {
        self.members.contains_key(ed25519)
            && (self.policy.inviting == Inviting::Members || self.admins.contains(ed25519))
    }

    /// The disappearing-messages timer in seconds (0: off).
    pub fn timer_secs(&self) -> u32 {
        self.timer_secs
    }

    /// The version (number of changes applied, creation included).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Members' cards, ordered by Ed25519 key.
    pub fn members(&self) -> impl Iterator<Item = &ContactCard> {
        self.members.values()
    }

    /// The member with this identity, if any (both keys must match).
    pub fn member(&self, identity: &IdentityKeys) -> Option<&ContactCard> {
        self.members
            .get(&identity.ed25519)
            .filter(|c| c.identity() == identity)
    }

    /// Whether this Ed25519 key is an admin.
    pub fn is_admin(&self, ed25519: &[u8; 32]) -> bool {
        self.admins.contains(ed25519)
    }
}

fn check_name(name: &str) -> Result<(), ControlError> {
    if name.len() > MAX_NAME_LEN {
        return Err(ControlError::Invalid("the loop name is too long"));
    }
    Ok(())
}
