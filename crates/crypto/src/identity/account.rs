//! The [`Account`]: the secret side of a device identity.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use vodozemac::olm::{
    Account as OlmAccount, AccountPickle, InboundCreationResult, PreKeyMessage, SessionConfig,
};

use super::{ContactCard, IdentityKeys, MailboxAddress, SenderProof};
use crate::error::{PairwiseError, PickleError};
use crate::mailbox::SealKey;
use crate::pickle::{self, PickleKey, StateKind};

/// The secret side of a device identity: identity keys, one-time keys and the
/// fallback key (an Olm account). Not `Debug`, not `Serialize`: export it only
/// with [`Account::pickle`].
///
/// Randomness: key generation happens inside vodozemac, which draws from the
/// operating system's generator (`getrandom`); it cannot take an RNG.
pub struct Account {
    pub(crate) olm: OlmAccount,
    fallback: Option<[u8; 32]>,
    /// Ids of sessions created from incoming pre-key messages, newest last,
    /// so that a replayed first message (the fallback key is reusable) is
    /// refused instead of creating a second session.
    accepted: VecDeque<String>,
}

/// How many accepted inbound session ids an account remembers.
pub const REMEMBERED_INBOUND_SESSIONS: usize = 4096;

#[derive(Serialize, Deserialize)]
struct AccountRecord {
    olm: AccountPickle,
    fallback: Option<[u8; 32]>,
    accepted: VecDeque<String>,
}

impl Default for Account {
    fn default() -> Self {
        Self::new()
    }
}

impl Account {
    /// A fresh device identity (randomness from the OS, inside vodozemac).
    pub fn new() -> Self {
        Self {
            olm: OlmAccount::new(),
            fallback: None,
            accepted: VecDeque::new(),
        }
    }

    /// The public identity keys.
    pub fn identity_keys(&self) -> IdentityKeys {
        IdentityKeys::from_olm(self.olm.identity_keys())
    }

    /// Signs `message` with the Ed25519 identity key.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.olm.sign(message).to_bytes()
    }

    /// The proof binding our two identity keys, placed in sealed bodies.
    pub fn sender_proof(&self) -> SenderProof {
        let identity = self.identity_keys();
        SenderProof {
            identity,
            signature: self.sign(&SenderProof::message(&identity)),
        }
    }

    /// A card for one contact, with a fresh one-time key (single use: the
    /// first session established from it consumes the key).
    pub fn contact_card(&mut self, seal_key: SealKey, mailbox: MailboxAddress) -> ContactCard {
        let created = self.olm.generate_one_time_keys(1).created;
        self.olm.mark_keys_as_published();
        match created.first() {
            Some(key) => self.card_with(key.to_bytes(), seal_key, mailbox),
            None => self.member_card(seal_key, mailbox),
        }
    }

    /// A reusable card with the fallback key as prekey: what loop members
    /// publish, since many members establish sessions from the same card.
    pub fn member_card(&mut self, seal_key: SealKey, mailbox: MailboxAddress) -> ContactCard {
        let prekey = match self.fallback {
            Some(key) => key,
            None => self.rotate_fallback_key(),
        };
        self.card_with(prekey, seal_key, mailbox)
    }

    /// Replaces the fallback key (the previous one keeps working until the
    /// next rotation, as in Olm) and returns the new public key.
    pub fn rotate_fallback_key(&mut self) -> [u8; 32] {
        let _ = self.olm.generate_fallback_key();
        let key = self
            .olm
            .fallback_key()
            .values()
            .next()
            .map(|k| k.to_bytes());
        self.olm.mark_keys_as_published();
        let key = key.unwrap_or_else(|| self.olm.curve25519_key().to_bytes());
        self.fallback = Some(key);
        key
    }

    fn card_with(
        &self,
        prekey: [u8; 32],
        seal_key: SealKey,
        mailbox: MailboxAddress,
    ) -> ContactCard {
        ContactCard::issue(self, prekey, seal_key, mailbox)
    }

    /// Number of one-time keys still held (unused).
    pub fn one_time_key_count(&self) -> usize {
        self.olm.stored_one_time_key_count()
    }

    /// Exports the account encrypted under `key` (XChaCha20-Poly1305).
    pub fn pickle(&self, key: &PickleKey, rng: &mut impl rand::CryptoRng) -> Vec<u8> {
        let record = AccountRecord {
            olm: self.olm.pickle(),
            fallback: self.fallback,
            accepted: self.accepted.clone(),
        };
        pickle::seal(StateKind::Account, &record, key, rng)
    }

    /// Imports an account exported by [`Account::pickle`].
    pub fn from_pickle(bytes: &[u8], key: &PickleKey) -> Result<Self, PickleError> {
        let record: AccountRecord = pickle::open(StateKind::Account, bytes, key)?;
        Ok(Self {
            olm: OlmAccount::from_pickle(record.olm),
            fallback: record.fallback,
            accepted: record.accepted,
        })
    }

    /// Creates an inbound Olm session from a pre-key message, refusing one
    /// whose session was already created before (a replay).
    pub(crate) fn accept_prekey(
        &mut self,
        their: &IdentityKeys,
        prekey: &PreKeyMessage,
    ) -> Result<InboundCreationResult, PairwiseError> {
        let id = prekey.session_id();
        if self.accepted.contains(&id) {
            return Err(PairwiseError::AlreadyReadOrExpired);
        }
        let created =
            self.olm
                .create_inbound_session(SessionConfig::version_1(), their.curve(), prekey)?;
        self.accepted.push_back(id);
        if self.accepted.len() > REMEMBERED_INBOUND_SESSIONS {
            self.accepted.pop_front();
        }
        Ok(created)
    }
}
