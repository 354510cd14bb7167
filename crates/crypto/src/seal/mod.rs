//! Sealed envelopes (sealed sender): what the relay stores.
//!
//! A body is `ChaCha20-Poly1305(ck, nonce = 0^12, aad = "boucle/e2ee/v1/body" || 0x01,
//! pad(payload))`, exactly one bucket long, under a fresh 32-byte content key
//! `ck`. Each recipient gets an 81-byte header that yields `ck` (see
//! [`header`]). The payload names the sender; it is only inside the body, so
//! the relay never sees who wrote.
//!
//! Payload layout (all fixed-size fields raw bytes):
//! - pairwise: `0x01 | sender curve25519[32] | sender ed25519[32] | proof sig[64] | olm type u8 | olm message`
//! - loop: `0x02 | sender curve25519[32] | sender ed25519[32] | loop id[16] | session id[32] | megolm message`

mod header;
mod padding;

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use vodozemac::megolm::MegolmMessage;
use vodozemac::olm::OlmMessage;
use zeroize::Zeroizing;

pub(crate) use header::keyed_cipher;
pub use header::{ENVELOPE_VERSION, HEADER_LEN, HPKE_INFO, HeaderKey, KEYED_LABEL};
pub use padding::{BUCKETS, MAX_PAYLOAD, bucket_for};

use crate::error::EnvelopeError;
use crate::identity::{IdentityKeys, MailboxAddress, SenderProof};
use crate::loops::{LoopCiphertext, LoopId, LoopSession};
use crate::mailbox::{MailboxKeys, SealKey};
use crate::pairwise::PairwiseCiphertext;
use header::ContentKey;

/// AAD label of bodies.
pub const BODY_LABEL: &[u8] = b"boucle/e2ee/v1/body";
const KIND_PAIRWISE: u8 = 1;
const KIND_LOOP: u8 = 2;

/// One recipient's envelope: the relay stores `header` and `body` opaque.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// 81 bytes, at most 128 by contract.
    pub header: Vec<u8>,
    /// Exactly one of [`BUCKETS`] long.
    pub body: Vec<u8>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("header_len", &self.header.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A loop message: one body stored once, plus one header per recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct LoopEnvelope {
    /// The shared body.
    pub body: Vec<u8>,
    /// One header per recipient mailbox.
    pub headers: Vec<(MailboxAddress, Vec<u8>)>,
}

impl LoopEnvelope {
    /// Bytes uploaded for this message: the body once plus every header.
    pub fn upload_len(&self) -> usize {
        self.body.len() + self.headers.iter().map(|(_, h)| h.len()).sum::<usize>()
    }

    /// The envelope one recipient reads.
    pub fn for_recipient(&self, index: usize) -> Option<Envelope> {
        let (_, header) = self.headers.get(index)?;
        Some(Envelope {
            header: header.clone(),
            body: self.body.clone(),
        })
    }
}

impl fmt::Debug for LoopEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopEnvelope")
            .field("body_len", &self.body.len())
            .field("recipients", &self.headers.len())
            .finish()
    }
}

/// An opened envelope: the (claimed) sender and the still-encrypted inner
/// message. Pass it to [`crate::PairwiseSession::decrypt`],
/// [`crate::PairwiseSession::inbound`] or [`LoopSession::decrypt`], which
/// authenticate the sender.
pub struct Opened {
    /// The sender's identity as written inside the sealed body.
    pub sender: IdentityKeys,
    pub(crate) inner: Inner,
}

pub(crate) enum Inner {
    Pairwise {
        proof: [u8; 64],
        message: OlmMessage,
    },
    Loop {
        loop_id: LoopId,
        session_id: [u8; 32],
        message: MegolmMessage,
    },
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Pairwise { .. } => "pairwise",
            Inner::Loop { .. } => "loop",
        };
        f.debug_struct("Opened")
            .field("sender", &self.sender)
            .field("kind", &kind)
            .finish()
    }
}

impl Opened {
    /// The inner ciphertext as carried in the body: `olm type || Olm
    /// message` for pairwise messages, the Megolm message for loops.
    pub fn ciphertext_bytes(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Pairwise { message, .. } => {
                let (kind, bytes) = message.to_parts();
                [&[u8::from(kind != 0)][..], &bytes].concat()
            }
            Inner::Loop { message, .. } => message.to_bytes(),
        }
    }

    /// The loop this message belongs to, if it is a loop message.
    pub fn loop_id(&self) -> Option<LoopId> {
        match &self.inner {
            Inner::Loop { loop_id, .. } => Some(*loop_id),
            Inner::Pairwise { .. } => None,
        }
    }
}

/// Seals a pairwise ciphertext to one mailbox.
pub fn seal_pairwise(
    rng: &mut impl rand::CryptoRng,
    sender: &SenderProof,
    ciphertext: &PairwiseCiphertext,
    to: SealKey,
) -> Result<Envelope, EnvelopeError> {
    let (olm_type, olm) = ciphertext.message.to_parts();
    let mut payload = Vec::with_capacity(1 + 64 + 64 + 1 + olm.len());
    payload.push(KIND_PAIRWISE);
    payload.extend_from_slice(&sender.identity.curve25519);
    payload.extend_from_slice(&sender.identity.ed25519);
    payload.extend_from_slice(&sender.signature);
    payload.push(if olm_type == 0 { 0 } else { 1 });
    payload.extend_from_slice(&olm);
    let ck = random_key(rng);
    let body = seal_body(&ck, &payload)?;
    let header = header::seal_to_mailbox(&ck, to, rng)?;
    Ok(Envelope { header, body })
}

/// Seals a loop ciphertext once, with one keyed header per recipient.
pub fn seal_loop(
    rng: &mut impl rand::CryptoRng,
    sender: &IdentityKeys,
    ciphertext: &LoopCiphertext,
    recipients: &[MailboxAddress],
) -> Result<LoopEnvelope, EnvelopeError> {
    let megolm = ciphertext.message.to_bytes();
    let mut payload = Vec::with_capacity(1 + 64 + 48 + megolm.len());
    payload.push(KIND_LOOP);
    payload.extend_from_slice(&sender.curve25519);
    payload.extend_from_slice(&sender.ed25519);
    payload.extend_from_slice(&ciphertext.loop_id.0);
    payload.extend_from_slice(&ciphertext.session_id);
    payload.extend_from_slice(&megolm);
    let ck = random_key(rng);
    let body = seal_body(&ck, &payload)?;
    let cipher = header::keyed_cipher(&ciphertext.header_key);
    let headers = recipients
        .iter()
        .map(|to| (to.clone(), header::seal_keyed(&ck, &cipher, rng)))
        .collect();
    Ok(LoopEnvelope { body, headers })
}

/// Opens an envelope addressed to `mailbox`. Loop headers are tried with the
/// header keys of `loops` (pass the loops this mailbox serves), then the
/// mailbox's own HPKE key.
pub fn open(
    mailbox: &MailboxKeys,
    loops: &[&LoopSession],
    header: &[u8],
    body: &[u8],
) -> Result<Opened, EnvelopeError> {
    header::check(header)?;
    if !BUCKETS.contains(&body.len()) {
        return Err(EnvelopeError::BadBodyLength(body.len()));
    }
    let ck = loops
        .iter()
        .flat_map(|l| l.header_ciphers())
        .find_map(|c| header::open_keyed(header, c))
        .or_else(|| header::open_sealed(header, mailbox))
        .ok_or(EnvelopeError::NotForUs)?;
    let cipher = ChaCha20Poly1305::new(&(*ck).into());
    let padded = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::default(),
                Payload {
                    msg: body,
                    aad: &body_aad(),
                },
            )
            .map_err(|_| EnvelopeError::BodyTampered)?,
    );
    parse_payload(padding::unpad(&padded)?)
}

fn parse_payload(p: &[u8]) -> Result<Opened, EnvelopeError> {
    let short = EnvelopeError::MalformedBody("truncated");
    let (&kind, rest) = p.split_first().ok_or(short.clone())?;
    let (sender, rest) = take::<64>(rest).ok_or(short.clone())?;
    let mut identity = IdentityKeys {
        curve25519: [0; 32],
        ed25519: [0; 32],
    };
    identity.curve25519.copy_from_slice(&sender[..32]);
    identity.ed25519.copy_from_slice(&sender[32..]);
    let inner = match kind {
        KIND_PAIRWISE => {
            let (proof, rest) = take::<64>(rest).ok_or(short.clone())?;
            let (&olm_type, olm) = rest.split_first().ok_or(short)?;
            let message = OlmMessage::from_parts(usize::from(olm_type), olm)
                .map_err(|_| EnvelopeError::MalformedBody("not an Olm message"))?;
            Inner::Pairwise { proof, message }
        }
        KIND_LOOP => {
            let (loop_id, rest) = take::<16>(rest).ok_or(short.clone())?;
            let (session_id, megolm) = take::<32>(rest).ok_or(short)?;
            let message = MegolmMessage::from_bytes(megolm)
                .map_err(|_| EnvelopeError::MalformedBody("not a Megolm message"))?;
            Inner::Loop {
                loop_id: LoopId(loop_id),
                session_id,
                message,
            }
        }
        _ => return Err(EnvelopeError::MalformedBody("unknown payload kind")),
    };
    Ok(Opened {
        sender: identity,
        inner,
    })
}

fn take<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let head: [u8; N] = bytes.get(..N)?.try_into().ok()?;
    Some((head, &bytes[N..]))
}

fn random_key(rng: &mut impl rand::CryptoRng) -> ContentKey {
    let mut k = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut k[..]);
    k
}

fn body_aad() -> Vec<u8> {
    [BODY_LABEL, &[ENVELOPE_VERSION][..]].concat()
}

fn seal_body(ck: &ContentKey, payload: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let padded = Zeroizing::new(padding::pad(payload)?);
    let cipher = ChaCha20Poly1305::new(&(**ck).into());
    cipher
        .encrypt(
            &Nonce::default(),
            Payload {
                msg: &padded,
                aad: &body_aad(),
            },
        )
        .map_err(|_| EnvelopeError::SealFailed)
}
