//! Pairwise sessions: Olm (X3DH-style triple Diffie-Hellman + Double Ratchet)
//! between two devices.

use std::fmt;

use serde::{Deserialize, Serialize};
use vodozemac::olm::{DecryptionError, OlmMessage, Session, SessionConfig, SessionPickle};

use crate::content::Message;
use crate::error::{PairwiseError, PickleError};
use crate::identity::{Account, ContactCard, IdentityKeys, SenderProof};
use crate::pickle::{self, PickleKey, StateKind};
use crate::seal::{Inner, Opened};

/// How many parallel Olm sessions are kept per contact (simultaneous starts
/// create more than one; the oldest is dropped).
pub const MAX_SESSIONS: usize = 4;

/// An Olm ciphertext ready for [`crate::seal_pairwise`].
pub struct PairwiseCiphertext {
    pub(crate) message: OlmMessage,
}

impl fmt::Debug for PairwiseCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairwiseCiphertext")
            .field("prekey", &matches!(self.message, OlmMessage::PreKey(_)))
            .finish_non_exhaustive()
    }
}

impl PairwiseCiphertext {
    /// `olm type (0 pre-key, 1 normal) || Olm message bytes`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (kind, bytes) = self.message.to_parts();
        let mut out = Vec::with_capacity(1 + bytes.len());
        out.push(u8::from(kind != 0));
        out.extend_from_slice(&bytes);
        out
    }

    /// Parses [`PairwiseCiphertext::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PairwiseError> {
        let (&kind, rest) = bytes.split_first().ok_or(PairwiseError::Malformed)?;
        let message = OlmMessage::from_parts(usize::from(kind), rest)
            .map_err(|_| PairwiseError::Malformed)?;
        Ok(Self { message })
    }
}

/// The encrypted channel with one contact's device. Survives loss,
/// reordering and duplicates (Olm keeps skipped message keys); a message is
/// decrypted at most once. No `Debug`, no `Serialize`: use
/// [`PairwiseSession::pickle`].
pub struct PairwiseSession {
    their: IdentityKeys,
    /// Most recently used first.
    sessions: Vec<Session>,
}

#[derive(Serialize, Deserialize)]
struct PairwiseRecord {
    their: IdentityKeys,
    sessions: Vec<SessionPickle>,
}

fn config() -> SessionConfig {
    SessionConfig::version_1()
}

impl PairwiseSession {
    /// Starts a session from a contact's (verified) card. Our first messages
    /// are Olm pre-key messages until the contact answers.
    pub fn outbound(account: &Account, card: &ContactCard) -> Result<Self, PairwiseError> {
        card.verify()?;
        let session = account.olm.create_outbound_session(
            config(),
            card.identity().curve(),
            card.prekey(),
        )?;
        Ok(Self {
            their: *card.identity(),
            sessions: vec![session],
        })
    }

    /// Accepts a session started by someone else, from their first (pre-key)
    /// message; consumes the one-time key it used. The sender proof inside the
    /// envelope binds their Ed25519 key to their Curve25519 key.
    pub fn inbound(
        account: &mut Account,
        opened: &Opened,
    ) -> Result<(Self, Message), PairwiseError> {
        let Inner::Pairwise { proof, message } = &opened.inner else {
            return Err(PairwiseError::NotPairwise);
        };
        let OlmMessage::PreKey(prekey) = message else {
            return Err(PairwiseError::NoMatchingSession);
        };
        if !(SenderProof {
            identity: opened.sender,
            signature: *proof,
        })
        .verify()
        {
            return Err(PairwiseError::BadSenderProof);
        }
        let created = account.accept_prekey(&opened.sender, prekey)?;
        let message = Message::from_bytes(&created.plaintext)?;
        Ok((
            Self {
                their: opened.sender,
                sessions: vec![created.session],
            },
            message,
        ))
    }

    /// The contact's identity this session is bound to.
    pub fn their_identity(&self) -> &IdentityKeys {
        &self.their
    }

    /// Encrypts a message (randomness for ratchet steps comes from the OS,
    /// inside vodozemac).
    pub fn encrypt(&mut self, message: &Message) -> Result<PairwiseCiphertext, PairwiseError> {
        let session = self
            .sessions
            .first_mut()
            .ok_or(PairwiseError::NoMatchingSession)?;
        let message = session
            .encrypt(message.to_bytes())
            .map_err(|_| PairwiseError::Encrypt)?;
        Ok(PairwiseCiphertext { message })
    }

    /// Decrypts an opened envelope from this contact. A pre-key message for a
    /// session we do not have yet (both sides started at once) creates it.
    pub fn decrypt(
        &mut self,
        account: &mut Account,
        opened: &Opened,
    ) -> Result<Message, PairwiseError> {
        let Inner::Pairwise { message, .. } = &opened.inner else {
            return Err(PairwiseError::NotPairwise);
        };
        if opened.sender != self.their {
            return Err(PairwiseError::WrongSender);
        }
        self.decrypt_olm(account, message)
    }

    /// Decrypts a ciphertext that reached us by another authenticated path
    /// than a sealed envelope (and in benchmarks). Olm still authenticates it
    /// against this session.
    pub fn decrypt_ciphertext(
        &mut self,
        account: &mut Account,
        ciphertext: &PairwiseCiphertext,
    ) -> Result<Message, PairwiseError> {
        self.decrypt_olm(account, &ciphertext.message)
    }

    fn decrypt_olm(
        &mut self,
        account: &mut Account,
        message: &OlmMessage,
    ) -> Result<Message, PairwiseError> {
        let (index, plaintext) = match message {
            OlmMessage::PreKey(prekey) => {
                let id = prekey.session_id();
                match self.sessions.iter().position(|s| s.session_id() == id) {
                    Some(i) => (i, self.sessions[i].decrypt(message).map_err(map_err)?),
                    None => {
                        let created = account.accept_prekey(&self.their, prekey)?;
                        self.sessions.push(created.session);
                        (self.sessions.len() - 1, created.plaintext)
                    }
                }
            }
            OlmMessage::Normal(_) => self.decrypt_normal(message)?,
        };
        if index != 0 {
            let session = self.sessions.remove(index);
            self.sessions.insert(0, session);
            self.sessions.truncate(MAX_SESSIONS);
        }
        Ok(Message::from_bytes(&plaintext)?)
    }

    fn decrypt_normal(&mut self, message: &OlmMessage) -> Result<(usize, Vec<u8>), PairwiseError> {
        let mut last = PairwiseError::NoMatchingSession;
        for (i, session) in self.sessions.iter_mut().enumerate() {
            match session.decrypt(message) {
                Ok(plaintext) => return Ok((i, plaintext)),
                Err(e) => {
                    let e = map_err(e);
                    if !matches!(last, PairwiseError::AlreadyReadOrExpired) {
                        last = e;
                    }
                }
            }
        }
        Err(last)
    }

    /// Exports the session encrypted under `key`.
    pub fn pickle(&self, key: &PickleKey, rng: &mut impl rand::CryptoRng) -> Vec<u8> {
        let record = PairwiseRecord {
            their: self.their,
            sessions: self.sessions.iter().map(Session::pickle).collect(),
        };
        pickle::seal(StateKind::Pairwise, &record, key, rng)
    }

    /// Imports a session exported by [`PairwiseSession::pickle`].
    pub fn from_pickle(bytes: &[u8], key: &PickleKey) -> Result<Self, PickleError> {
        let record: PairwiseRecord = pickle::open(StateKind::Pairwise, bytes, key)?;
        Ok(Self {
            their: record.their,
            sessions: record
                .sessions
                .into_iter()
                .map(Session::from_pickle)
                .collect(),
        })
    }
}

fn map_err(e: DecryptionError) -> PairwiseError {
    match e {
        DecryptionError::MissingMessageKey(_) => PairwiseError::AlreadyReadOrExpired,
        other => PairwiseError::Decrypt(other),
    }
}
