//! Test parties that hold an account, a mailbox, pairwise sessions and loops.
#![allow(dead_code)]

use std::collections::HashMap;

use boucle_crypto::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub const T0: Timestamp = Timestamp(1_700_000_000_000);

pub fn text(rng: &mut StdRng, s: &str) -> Message {
    Message {
        id: MessageId::random(rng),
        sent_at: T0,
        content: Content::Text(s.to_owned()),
    }
}

/// What a party got out of one envelope.
#[derive(Debug)]
pub enum Received {
    Pairwise(IdentityKeys, Message),
    Loop(IdentityKeys, Message),
}

impl Received {
    pub fn message(&self) -> &Message {
        match self {
            Received::Pairwise(_, m) | Received::Loop(_, m) => m,
        }
    }
    pub fn sender(&self) -> &IdentityKeys {
        match self {
            Received::Pairwise(s, _) | Received::Loop(s, _) => s,
        }
    }
}

pub struct Party {
    pub name: String,
    pub account: Account,
    pub mailbox: MailboxKeys,
    pub card: ContactCard,
    pub pairwise: HashMap<[u8; 32], PairwiseSession>,
    pub loops: Vec<LoopSession>,
}

impl Party {
    pub fn new(name: &str, rng: &mut StdRng) -> Self {
        let mut account = Account::new();
        let mailbox = MailboxKeys::generate(rng);
        let card =
            account.member_card(mailbox.seal_key(), MailboxAddress(name.as_bytes().to_vec()));
        Self {
            name: name.to_owned(),
            account,
            mailbox,
            card,
            pairwise: HashMap::new(),
            loops: Vec::new(),
        }
    }

    pub fn id(&self) -> IdentityKeys {
        self.account.identity_keys()
    }

    /// Encrypts and seals `msg` to the owner of `to`, starting a session if needed.
    pub fn send_pairwise(&mut self, rng: &mut StdRng, to: &ContactCard, msg: &Message) -> Envelope {
        let key = to.identity().ed25519;
        if !self.pairwise.contains_key(&key) {
            let s = PairwiseSession::outbound(&self.account, to).unwrap();
            self.pairwise.insert(key, s);
        }
        let ct = self.pairwise.get_mut(&key).unwrap().encrypt(msg).unwrap();
        seal_pairwise(rng, &self.account.sender_proof(), &ct, to.seal_key()).unwrap()
    }

    /// Opens and decrypts; key shares and control messages are applied to
    /// the matching loop (and still returned).
    pub fn receive(&mut self, header: &[u8], body: &[u8]) -> Result<Received, String> {
        let opened = {
            let loops: Vec<&LoopSession> = self.loops.iter().collect();
            open(&self.mailbox, &loops, header, body).map_err(|e| format!("open: {e}"))?
        };
        if let Some(loop_id) = opened.loop_id() {
            let l = self
                .loops
                .iter_mut()
                .find(|l| l.state().id() == loop_id)
                .ok_or("unknown loop")?;
            let (from, msg) = l.decrypt(&opened).map_err(|e| format!("loop: {e:?}"))?;
            if let Content::Control(c) = &msg.content {
                l.apply_control(c).map_err(|e| format!("control: {e}"))?;
            }
            return Ok(Received::Loop(from, msg));
        }
        let key = opened.sender.ed25519;
        let msg = match self.pairwise.get_mut(&key) {
            Some(s) => s
                .decrypt(&mut self.account, &opened)
                .map_err(|e| format!("pairwise: {e:?}"))?,
            None => {
                let (s, msg) = PairwiseSession::inbound(&mut self.account, &opened)
                    .map_err(|e| format!("inbound: {e:?}"))?;
                self.pairwise.insert(key, s);
                msg
            }
        };
        let from = *self.pairwise[&key].their_identity();
        match &msg.content {
            Content::KeyShare(ks) => {
                if let Some(l) = self
                    .loops
                    .iter_mut()
                    .find(|l| l.state().id() == ks.loop_id())
                {
                    l.accept_key_share(&from, ks)
                        .map_err(|e| format!("key share: {e}"))?;
                }
            }
            Content::Control(c) => {
                let create = matches!(c.body().op, ControlOp::Create { .. });
                if create {
                    let l = LoopSession::join(self.id(), c, RotationPolicy::default())
                        .map_err(|e| format!("join: {e}"))?;
                    self.loops.push(l);
                } else if let Some(l) = self
                    .loops
                    .iter_mut()
                    .find(|l| l.state().id() == c.body().loop_id)
                {
                    l.apply_control(c).map_err(|e| format!("control: {e}"))?;
                }
            }
            _ => {}
        }
        Ok(Received::Pairwise(from, msg))
    }

    /// Rotates the loop's outbound session if due; returns pairwise key-share
    /// envelopes addressed to every other member (mailbox, envelope).
    pub fn share_loop_key(
        &mut self,
        rng: &mut StdRng,
        loop_index: usize,
        now: Timestamp,
    ) -> Vec<(MailboxAddress, Envelope)> {
        let Some(share) = self.loops[loop_index].rotate_if_needed(rng, now).unwrap() else {
            return Vec::new();
        };
        let others: Vec<ContactCard> = self.loops[loop_index].others().cloned().collect();
        let msg = Message {
            id: MessageId::random(rng),
            sent_at: now,
            content: Content::KeyShare(share),
        };
        others
            .iter()
            .map(|c| (c.mailbox().clone(), self.send_pairwise(rng, c, &msg)))
            .collect()
    }

    /// Encrypts and seals a loop message (rotation must already be done).
    pub fn send_loop(
        &mut self,
        rng: &mut StdRng,
        loop_index: usize,
        msg: &Message,
        now: Timestamp,
    ) -> LoopEnvelope {
        let l = &mut self.loops[loop_index];
        let ct = l.encrypt(msg, now).unwrap();
        let recipients = l.recipients();
        seal_loop(rng, &self.account.identity_keys(), &ct, &recipients).unwrap()
    }
}

/// Delivers each (mailbox, envelope) to the party whose mailbox it names.
pub fn deliver_all(parties: &mut [Party], envs: Vec<(MailboxAddress, Envelope)>) {
    for (to, env) in envs {
        let p = parties
            .iter_mut()
            .find(|p| p.card.mailbox() == &to)
            .unwrap();
        p.receive(&env.header, &env.body).unwrap();
    }
}

/// Creates a loop owned by parties[0] with every party in it, delivering the
/// Create control and everyone's key shares reliably.
pub fn make_loop(rng: &mut StdRng, parties: &mut [Party]) {
    let cards: Vec<ContactCard> = parties[1..].iter().map(|p| p.card.clone()).collect();
    let (l, create) = LoopSession::create(
        &parties[0].account,
        LoopId::random(rng),
        "loop",
        parties[0].card.clone(),
        cards.clone(),
        T0,
    )
    .unwrap();
    parties[0].loops.push(l);
    let msg = Message {
        id: MessageId::random(rng),
        sent_at: T0,
        content: Content::Control(create),
    };
    let envs: Vec<_> = cards
        .iter()
        .map(|c| (c.mailbox().clone(), parties[0].send_pairwise(rng, c, &msg)))
        .collect();
    deliver_all(parties, envs);
    for i in 0..parties.len() {
        let envs = parties[i].share_loop_key(rng, 0, T0);
        deliver_all(parties, envs);
    }
}
