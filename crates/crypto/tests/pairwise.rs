//! Alice and Bob: both directions, loss, reordering, duplicates, tampering,
//! forward secrecy, sealed sender.

mod common;

use boucle_crypto::*;
use common::*;

#[test]
fn alice_and_bob_both_ways() {
    let mut rng = rng(1);
    let mut alice = Party::new("alice", &mut rng);
    let mut bob = Party::new("bob", &mut rng);
    let bob_card = bob
        .account
        .contact_card(bob.mailbox.seal_key(), MailboxAddress(b"bob".to_vec()));
    for round in 0..5 {
        let m = text(&mut rng, &format!("a->b {round}"));
        let env = alice.send_pairwise(&mut rng, &bob_card, &m);
        let got = bob.receive(&env.header, &env.body).unwrap();
        assert_eq!(got.message(), &m);
        assert_eq!(got.sender(), &alice.id());
        let alice_card = alice.card.clone();
        let m = text(&mut rng, &format!("b->a {round}"));
        let env = bob.send_pairwise(&mut rng, &alice_card, &m);
        let got = alice.receive(&env.header, &env.body).unwrap();
        assert_eq!(got.message(), &m);
        assert_eq!(got.sender(), &bob.id());
    }
    // The one-time key of the card was consumed.
    assert_eq!(bob.account.one_time_key_count(), 0);
}

#[test]
fn loss_reordering_and_duplicates() {
    let mut rng = rng(2);
    let mut alice = Party::new("alice", &mut rng);
    let mut bob = Party::new("bob", &mut rng);
    let card = bob.card.clone();
    let msgs: Vec<_> = (0..6).map(|i| text(&mut rng, &format!("m{i}"))).collect();
    let envs: Vec<_> = msgs
        .iter()
        .map(|m| alice.send_pairwise(&mut rng, &card, m))
        .collect();
    // Deliver 3, 1, 5, 3 again, 0; drop 2 and 4.
    for (i, dup) in [(3, false), (1, false), (5, false), (3, true), (0, false)] {
        let r = bob.receive(&envs[i].header, &envs[i].body);
        if dup {
            assert!(r.unwrap_err().contains("AlreadyReadOrExpired"));
        } else {
            assert_eq!(r.unwrap().message(), &msgs[i]);
        }
    }
    // Bob answers; Alice reads it; Alice's later messages still reach Bob.
    let alice_card = alice.card.clone();
    let m = text(&mut rng, "reply");
    let env = bob.send_pairwise(&mut rng, &alice_card, &m);
    assert_eq!(alice.receive(&env.header, &env.body).unwrap().message(), &m);
    let m = text(&mut rng, "after");
    let env = alice.send_pairwise(&mut rng, &card, &m);
    assert_eq!(bob.receive(&env.header, &env.body).unwrap().message(), &m);
    // A late one from the first chain still decrypts, once.
    assert_eq!(
        bob.receive(&envs[4].header, &envs[4].body)
            .unwrap()
            .message(),
        &msgs[4]
    );
    assert!(bob.receive(&envs[4].header, &envs[4].body).is_err());
}

#[test]
fn tampering_anywhere_is_a_typed_error() {
    let mut rng = rng(3);
    let mut alice = Party::new("alice", &mut rng);
    let bob = Party::new("bob", &mut rng);
    let m = text(&mut rng, "do not touch");
    let env = alice.send_pairwise(&mut rng, &bob.card.clone(), &m);
    let mut positions: Vec<(bool, usize)> = (0..env.header.len()).map(|i| (true, i)).collect();
    positions.extend((0..env.body.len()).step_by(7).map(|i| (false, i)));
    positions.push((false, env.body.len() - 1));
    for (in_header, i) in positions {
        let mut e = env.clone();
        let buf = if in_header {
            &mut e.header
        } else {
            &mut e.body
        };
        buf[i] ^= 0x01;
        let err = open(&bob.mailbox, &[], &e.header, &e.body).unwrap_err();
        assert!(
            matches!(
                err,
                EnvelopeError::NotForUs
                    | EnvelopeError::BodyTampered
                    | EnvelopeError::MalformedHeader { .. }
            ),
            "{err:?}"
        );
    }
    let err = open(&bob.mailbox, &[], &env.header, &env.body[..1024 - 1]).unwrap_err();
    assert_eq!(err, EnvelopeError::BadBodyLength(1023));
    assert!(open(&bob.mailbox, &[], &env.header[..80], &env.body).is_err());
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn envelope_hides_the_sender() {
    let mut rng = rng(4);
    let mut alice = Party::new("alice", &mut rng);
    let bob = Party::new("bob", &mut rng);
    let id = alice.id();
    let seal = alice.mailbox.seal_key();
    for i in 0..3 {
        let m = text(&mut rng, &format!("{i}"));
        let env = alice.send_pairwise(&mut rng, &bob.card.clone(), &m);
        for hay in [&env.header, &env.body] {
            for key in [&id.curve25519[..], &id.ed25519[..], &seal.0[..]] {
                assert!(!contains(hay, key));
                assert!(!contains(hay, &key[..8]));
            }
        }
        assert!(env.header.len() <= 128);
        assert!(BUCKETS.contains(&env.body.len()));
    }
}

#[test]
fn snapshot_after_reading_cannot_read_earlier_messages() {
    let mut rng = rng(5);
    let mut alice = Party::new("alice", &mut rng);
    let mut bob = Party::new("bob", &mut rng);
    let card = bob.card.clone();
    let key = PickleKey::new([9; 32]);
    let msgs: Vec<_> = (0..5).map(|i| text(&mut rng, &format!("m{i}"))).collect();
    let envs: Vec<_> = msgs
        .iter()
        .map(|m| alice.send_pairwise(&mut rng, &card, m))
        .collect();
    for e in &envs {
        bob.receive(&e.header, &e.body).unwrap();
    }
    // Snapshot after message N = 4; every earlier message is undecryptable.
    let snap = bob.pairwise[&alice.id().ed25519].pickle(&key, &mut rng);
    let account_snap = bob.account.pickle(&key, &mut rng);
    for e in &envs {
        let mut s = PairwiseSession::from_pickle(&snap, &key).unwrap();
        let mut acct = Account::from_pickle(&account_snap, &key).unwrap();
        let opened = open(&bob.mailbox, &[], &e.header, &e.body).unwrap();
        assert!(matches!(
            s.decrypt(&mut acct, &opened),
            Err(PairwiseError::AlreadyReadOrExpired)
        ));
        assert!(PairwiseSession::inbound(&mut acct, &opened).is_err());
    }
}

#[test]
fn forged_sender_identity_is_refused() {
    let mut rng = rng(6);
    let mut alice = Party::new("alice", &mut rng);
    let mut bob = Party::new("bob", &mut rng);
    let mallory = Party::new("mallory", &mut rng);
    let m = text(&mut rng, "hi");
    let env = alice.send_pairwise(&mut rng, &bob.card.clone(), &m);
    bob.receive(&env.header, &env.body).unwrap();
    // Mallory seals an Alice ciphertext with her own proof: wrong sender.
    let ct = alice
        .pairwise
        .get_mut(&bob.id().ed25519)
        .unwrap()
        .encrypt(&m)
        .unwrap();
    let env = seal_pairwise(
        &mut rng,
        &mallory.account.sender_proof(),
        &ct,
        bob.mailbox.seal_key(),
    )
    .unwrap();
    let opened = open(&bob.mailbox, &[], &env.header, &env.body).unwrap();
    let err = PairwiseSession::inbound(&mut bob.account, &opened)
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            err,
            PairwiseError::Establish(_)
                | PairwiseError::NoMatchingSession
                | PairwiseError::AlreadyReadOrExpired
        ),
        "{err:?}"
    );
    // Bob's session with Alice refuses it too: the sender is not Alice.
    let s = bob.pairwise.get_mut(&alice.id().ed25519).unwrap();
    assert!(matches!(
        s.decrypt(&mut bob.account, &opened),
        Err(PairwiseError::WrongSender)
    ));
}
