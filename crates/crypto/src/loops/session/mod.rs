//! [`LoopSession`]: one member's view of a loop — its state, its own
//! outbound Megolm session, and the inbound sessions shared by the others.

use std::collections::HashMap;
use std::fmt;

use chacha20poly1305::XChaCha20Poly1305;
use serde::{Deserialize, Serialize};
use vodozemac::megolm::{
    DecryptionError, GroupSession, InboundGroupSession, MegolmMessage, SessionConfig, SessionKey,
};

use super::LoopId;
use super::control::{ControlBody, ControlOp, SignedControl};
use super::keyshare::KeyShare;
use super::state::{ControlEffect, LoopState};
use super::window::ReadWindow;
use crate::content::Message;
use crate::error::{ControlError, LoopError};
use crate::identity::{Account, ContactCard, IdentityKeys, MailboxAddress};
use crate::seal::{HeaderKey, Inner, Opened};
use crate::time::Timestamp;

/// When a sender replaces its outbound session even without membership
/// changes. Defaults: 100 messages or 7 days, as in Matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationPolicy {
    /// Messages per session.
    pub max_messages: u32,
    /// Session lifetime in milliseconds.
    pub max_age_ms: u64,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            max_messages: 100,
            max_age_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// A Megolm ciphertext ready for [`crate::seal_loop`].
pub struct LoopCiphertext {
    pub(crate) loop_id: LoopId,
    pub(crate) session_id: [u8; 32],
    pub(crate) message: MegolmMessage,
    pub(crate) header_key: HeaderKey,
}

impl fmt::Debug for LoopCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopCiphertext")
            .field("loop_id", &self.loop_id)
            .field("index", &self.message.message_index())
            .finish_non_exhaustive()
    }
}

struct Outbound {
    session: GroupSession,
    header_key: HeaderKey,
    created_at: Timestamp,
}

pub(crate) struct Inbound {
    owner: IdentityKeys,
    session: InboundGroupSession,
    header_key: HeaderKey,
    cipher: XChaCha20Poly1305,
    window: ReadWindow,
}

/// One member's state of a loop. No `Debug`, no `Serialize`: use
/// [`LoopSession::pickle`].
///
/// Sending: [`LoopSession::rotate_if_needed`] (send the returned
/// [`KeyShare`] over pairwise sessions to every other member), then
/// [`LoopSession::encrypt`] and [`crate::seal_loop`]. Receiving:
/// [`crate::open`] with this loop, then [`LoopSession::decrypt`]; key shares
/// arriving pairwise go to [`LoopSession::accept_key_share`], control
/// messages to [`LoopSession::apply_control`].
pub struct LoopSession {
    me: IdentityKeys,
    state: LoopState,
    policy: RotationPolicy,
    outbound: Option<Outbound>,
    inbound: HashMap<[u8; 32], Inbound>,
    must_rotate: bool,
    removed: bool,
}

mod persist;
#[cfg(test)]
mod tests;

fn config() -> SessionConfig {
    SessionConfig::version_1()
}

fn session_id_bytes(id: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(bytes) = vodozemac::base64_decode(id)
        && bytes.len() == 32
    {
        out.copy_from_slice(&bytes);
    }
    out
}

impl LoopSession {
    /// Creates a loop with us as its only admin; returns the `Create`
    /// control to send to the other members.
    pub fn create(
        account: &Account,
        id: LoopId,
        name: &str,
        my_card: ContactCard,
        others: Vec<ContactCard>,
        now: Timestamp,
    ) -> Result<(Self, SignedControl), ControlError> {
        let me = account.identity_keys();
        let mut members = vec![my_card];
        members.extend(others);
        let op = ControlOp::Create {
            name: name.to_owned(),
            members,
            admins: vec![me.ed25519],
        };
        let control = SignedControl::sign(
            account,
            ControlBody {
                loop_id: id,
                version: 1,
                author: me,
                issued_at: now,
                op,
            },
        );
        let session = Self::join(me, &control, RotationPolicy::default())?;
        Ok((session, control))
    }

    /// Joins a loop from its signed `Create` control; we must be a member.
    pub fn join(
        me: IdentityKeys,
        create: &SignedControl,
        policy: RotationPolicy,
    ) -> Result<Self, ControlError> {
        Self::join_history(me, std::slice::from_ref(create), policy)
    }

    /// Builds a member's session from a loop's whole signed history (its creation, then
    /// every change in version order): how a member added after the creation joins.
    /// Every change is checked as any member would check it.
    pub fn join_history(
        me: IdentityKeys,
        history: &[SignedControl],
        policy: RotationPolicy,
    ) -> Result<Self, ControlError> {
        let (create, changes) = history
            .split_first()
            .ok_or(ControlError::Invalid("the loop's history is empty"))?;
        let mut state = LoopState::from_create(create)?;
        for change in changes {
            state.apply(change, &me)?;
        }
        if state.member(&me).is_none() {
            return Err(ControlError::Invalid("you are not a member of this loop"));
        }
        Ok(Self {
            me,
            state,
            policy,
            outbound: None,
            inbound: HashMap::new(),
            must_rotate: true,
            removed: false,
        })
    }

    /// Replaces the rotation policy (the spec's defaults apply otherwise).
    pub fn set_policy(&mut self, policy: RotationPolicy) {
        self.policy = policy;
    }

    /// The loop's public state.
    pub fn state(&self) -> &LoopState {
        &self.state
    }

    /// Cards of every member except us (whom key shares and messages go to).
    pub fn others(&self) -> impl Iterator<Item = &ContactCard> {
        let me = self.me.ed25519;
        self.state
            .members()
            .filter(move |c| c.identity().ed25519 != me)
    }

    /// Mailbox addresses of every member except us, in [`Self::others`] order.
    pub fn recipients(&self) -> Vec<MailboxAddress> {
        self.others().map(|c| c.mailbox().clone()).collect()
    }

    /// Applies a signed control message. On a membership change our outbound
    /// session must be rotated before the next send and the removed members'
    /// inbound sessions are dropped.
    pub fn apply_control(
        &mut self,
        control: &SignedControl,
    ) -> Result<ControlEffect, ControlError> {
        let effect = self.state.apply(control, &self.me)?;
        if effect.membership_changed {
            self.must_rotate = true;
            let state = &self.state;
            self.inbound.retain(|_, i| state.member(&i.owner).is_some());
        }
        if effect.removed_me {
            self.removed = true;
            self.outbound = None;
            self.inbound.clear();
        }
        Ok(effect)
    }

    /// Whether [`Self::encrypt`] would refuse until a rotation.
    pub fn rotation_due(&self, now: Timestamp) -> bool {
        match &self.outbound {
            None => true,
            Some(o) => {
                self.must_rotate
                    || o.session.message_index() >= self.policy.max_messages
                    || now.since(o.created_at) >= self.policy.max_age_ms
            }
        }
    }

    /// Rotates our outbound session if due (membership change, message count
    /// or age) and returns the key share to send to [`Self::others`].
    /// The Megolm session's randomness comes from the OS inside vodozemac;
    /// the header key comes from `rng`.
    pub fn rotate_if_needed(
        &mut self,
        rng: &mut impl rand::CryptoRng,
        now: Timestamp,
    ) -> Result<Option<KeyShare>, LoopError> {
        if !self.rotation_due(now) {
            return Ok(None);
        }
        self.rotate(rng, now).map(Some)
    }

    /// Replaces our outbound session now and returns its key share.
    pub fn rotate(
        &mut self,
        rng: &mut impl rand::CryptoRng,
        now: Timestamp,
    ) -> Result<KeyShare, LoopError> {
        if self.removed {
            return Err(LoopError::Removed);
        }
        let session = GroupSession::new(config());
        let header_key = HeaderKey::random(rng);
        let share = KeyShare {
            loop_id: self.state.id(),
            session_key: session.session_key().to_bytes(),
            header_key: header_key.clone(),
        };
        self.outbound = Some(Outbound {
            session,
            header_key,
            created_at: now,
        });
        self.must_rotate = false;
        Ok(share)
    }

    /// Makes the next [`Self::rotate_if_needed`] rotate, whatever the policy says: after
    /// a session was shared with some members only (what a newcomer is sent of the
    /// messages they were invited before), the others get a fresh one.
    pub fn rotate_before_next_send(&mut self) {
        self.must_rotate = true;
    }

    /// Encrypts a message with our outbound session.
    pub fn encrypt(
        &mut self,
        message: &Message,
        now: Timestamp,
    ) -> Result<LoopCiphertext, LoopError> {
        if self.removed {
            return Err(LoopError::Removed);
        }
        if self.rotation_due(now) {
            return Err(LoopError::RotationRequired);
        }
        let out = self.outbound.as_mut().ok_or(LoopError::RotationRequired)?;
        let megolm = out.session.encrypt(message.to_bytes());
        Ok(LoopCiphertext {
            loop_id: self.state.id(),
            session_id: session_id_bytes(&out.session.session_id()),
            message: megolm,
            header_key: out.header_key.clone(),
        })
    }

    /// Stores a key share received over the pairwise session with `from`
    /// (whose identity that session authenticated). Idempotent.
    pub fn accept_key_share(
        &mut self,
        from: &IdentityKeys,
        share: &KeyShare,
    ) -> Result<(), LoopError> {
        if share.loop_id != self.state.id() {
            return Err(LoopError::WrongLoop);
        }
        if self.removed {
            return Err(LoopError::Removed);
        }
        if self.state.member(from).is_none() || *from == self.me {
            return Err(LoopError::NotAMember);
        }
        let key = SessionKey::from_bytes(&share.session_key).map_err(|_| LoopError::BadKeyShare)?;
        let session = InboundGroupSession::new(&key, config());
        let id = session_id_bytes(&session.session_id());
        if self.inbound.contains_key(&id) {
            return Ok(());
        }
        let window = ReadWindow::starting_at(session.first_known_index());
        let cipher = crate::seal::keyed_cipher(&share.header_key);
        self.inbound.insert(
            id,
            Inbound {
                owner: *from,
                session,
                header_key: share.header_key.clone(),
                cipher,
                window,
            },
        );
        Ok(())
    }

    /// Decrypts a loop message opened by [`crate::open`]; returns the
    /// authenticated sender and the message. Each message is accepted once.
    pub fn decrypt(&mut self, opened: &Opened) -> Result<(IdentityKeys, Message), LoopError> {
        let Inner::Loop {
            loop_id,
            session_id,
            message,
        } = &opened.inner
        else {
            return Err(LoopError::WrongLoop);
        };
        if *loop_id != self.state.id() {
            return Err(LoopError::WrongLoop);
        }
        if self.removed {
            return Err(LoopError::Removed);
        }
        let inbound = self
            .inbound
            .get_mut(session_id)
            .ok_or(LoopError::UnknownSession)?;
        if inbound.owner != opened.sender {
            return Err(LoopError::WrongSender);
        }
        let index = message.message_index();
        if !inbound.window.is_fresh(index) {
            return Err(LoopError::AlreadyReadOrExpired);
        }
        let decrypted = inbound.session.decrypt(message).map_err(|e| match e {
            DecryptionError::UnknownMessageIndex(..) => LoopError::AlreadyReadOrExpired,
            _ => LoopError::Decrypt,
        })?;
        let low = inbound.window.mark(index);
        inbound.session.advance_to(low);
        let message = Message::from_bytes(&decrypted.plaintext)?;
        Ok((inbound.owner, message))
    }

    /// Ciphers of the header keys of every inbound session (for `open`).
    pub(crate) fn header_ciphers(&self) -> impl Iterator<Item = &XChaCha20Poly1305> {
        self.inbound.values().map(|i| &i.cipher)
    }

    #[cfg(test)]
    pub(crate) fn inbound_sessions(&mut self) -> impl Iterator<Item = &mut InboundGroupSession> {
        self.inbound.values_mut().map(|i| &mut i.session)
    }
}
