//! Device identities, the [`Account`] that holds their secrets, and the
//! signed [`ContactCard`] an invitation carries.

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};
use vodozemac::olm::{
    Account as OlmAccount, AccountPickle, InboundCreationResult, PreKeyMessage, SessionConfig,
};
use vodozemac::{Curve25519PublicKey, Ed25519PublicKey, Ed25519Signature};

use crate::error::{KeyError, PairwiseError, PickleError};
use crate::hexfmt::Hex;
use crate::mailbox::SealKey;
use crate::pickle::{self, PickleKey, StateKind};

/// Domain separation for the card signature.
const CARD_LABEL: &[u8] = b"boucle/e2ee/v1/card";
/// Domain separation for the sender proof carried inside sealed bodies.
const SENDER_LABEL: &[u8] = b"boucle/e2ee/v1/sender";

/// The public identity of a device: a Curve25519 key (Olm key agreement) and
/// an Ed25519 key (signatures).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdentityKeys {
    /// Curve25519 identity key, used by Olm's triple Diffie-Hellman.
    pub curve25519: [u8; 32],
    /// Ed25519 identity key, used to sign cards, proofs and loop changes.
    pub ed25519: [u8; 32],
}

impl fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeys")
            .field("curve25519", &Hex(&self.curve25519))
            .field("ed25519", &Hex(&self.ed25519))
            .finish()
    }
}

impl IdentityKeys {
    pub(crate) fn curve(&self) -> Curve25519PublicKey {
        Curve25519PublicKey::from_bytes(self.curve25519)
    }

    /// Verifies an Ed25519 `signature` over `message` by this identity.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = Ed25519PublicKey::from_slice(&self.ed25519) else {
            return false;
        };
        let Ok(sig) = Ed25519Signature::from_slice(signature) else {
            return false;
        };
        key.verify(message, &sig).is_ok()
    }

    fn from_olm(keys: vodozemac::olm::IdentityKeys) -> Self {
        Self {
            curve25519: keys.curve25519.to_bytes(),
            ed25519: *keys.ed25519.as_bytes(),
        }
    }
}

/// The opaque address of a mailbox on a relay. Its format belongs to the wire
/// layer; this crate only carries it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MailboxAddress(pub Vec<u8>);

impl fmt::Debug for MailboxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxAddress({:?})", Hex(&self.0))
    }
}

/// Proof, carried inside every sealed pairwise body, that the Ed25519 key
/// and the Curve25519 key of the sender belong together. It is static (it says
/// nothing about any conversation), so it costs no deniability.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SenderProof {
    pub(crate) identity: IdentityKeys,
    pub(crate) signature: [u8; 64],
}

impl fmt::Debug for SenderProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderProof")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl SenderProof {
    /// The identity this proof is for.
    pub fn identity(&self) -> &IdentityKeys {
        &self.identity
    }

    pub(crate) fn message(identity: &IdentityKeys) -> Vec<u8> {
        [
            SENDER_LABEL,
            &identity.curve25519[..],
            &identity.ed25519[..],
        ]
        .concat()
    }

    /// Rebuilds a proof from its parts, checking the signature.
    pub fn from_parts(identity: IdentityKeys, signature: [u8; 64]) -> Result<Self, KeyError> {
        let proof = Self {
            identity,
            signature,
        };
        if proof.verify() {
            Ok(proof)
        } else {
            Err(KeyError::BadCardSignature)
        }
    }

    /// The Ed25519 signature over `"boucle/e2ee/v1/sender" || curve25519 || ed25519`.
    pub fn signature(&self) -> [u8; 64] {
        self.signature
    }

    /// Whether the signature binds the two keys.
    pub fn verify(&self) -> bool {
        self.identity
            .verify(&Self::message(&self.identity), &self.signature)
    }
}

/// What a contact needs to write to us: identity keys, a prekey (a one-time
/// key, or the fallback key for loop members), the mailbox's seal key and
/// address. Signed by the identity's Ed25519 key.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactCard {
    body: CardBody,
    signature: [u8; 64],
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CardBody {
    version: u8,
    identity: IdentityKeys,
    prekey: [u8; 32],
    seal_key: [u8; 32],
    mailbox: MailboxAddress,
}

impl fmt::Debug for ContactCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactCard")
            .field("identity", &self.body.identity)
            .field("prekey", &Hex(&self.body.prekey))
            .field("seal_key", &Hex(&self.body.seal_key))
            .field("mailbox", &self.body.mailbox)
            .finish()
    }
}

impl ContactCard {
    /// Decodes and verifies a card: `postcard(body) || signature[64]`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let split = bytes.len().checked_sub(64).ok_or(KeyError::MalformedCard)?;
        let (body_bytes, sig) = bytes.split_at(split);
        let body: CardBody =
            postcard::from_bytes(body_bytes).map_err(|_| KeyError::MalformedCard)?;
        if body.version != 1 || postcard::to_allocvec(&body).ok().as_deref() != Some(body_bytes) {
            return Err(KeyError::MalformedCard);
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(sig);
        let card = Self { body, signature };
        card.verify()?;
        Ok(card)
    }

    /// Encodes the card: `postcard(body) || signature[64]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = encode_body(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Checks the signature against the card's own identity.
    pub fn verify(&self) -> Result<(), KeyError> {
        let msg = [CARD_LABEL, &encode_body(&self.body)].concat();
        if self.body.identity.verify(&msg, &self.signature) {
            Ok(())
        } else {
            Err(KeyError::BadCardSignature)
        }
    }

    /// The card owner's identity keys.
    pub fn identity(&self) -> &IdentityKeys {
        &self.body.identity
    }

    /// The mailbox seal key to seal envelopes to.
    pub fn seal_key(&self) -> SealKey {
        SealKey(self.body.seal_key)
    }

    /// The mailbox address to deliver to.
    pub fn mailbox(&self) -> &MailboxAddress {
        &self.body.mailbox
    }

    pub(crate) fn prekey(&self) -> Curve25519PublicKey {
        Curve25519PublicKey::from_bytes(self.body.prekey)
    }
}

fn encode_body(body: &CardBody) -> Vec<u8> {
    // Serializing a plain struct of arrays and a Vec into a Vec cannot fail.
    postcard::to_allocvec(body).unwrap_or_default()
}

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
        let body = CardBody {
            version: 1,
            identity: self.identity_keys(),
            prekey,
            seal_key: seal_key.0,
            mailbox,
        };
        let signature = self.sign(&[CARD_LABEL, &encode_body(&body)].concat());
        ContactCard { body, signature }
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

impl Serialize for ContactCard {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> Deserialize<'de> for ContactCard {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = serde_bytes_vec(deserializer)?;
        ContactCard::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

fn serde_bytes_vec<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("contact card bytes")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_bytes(V)
}
