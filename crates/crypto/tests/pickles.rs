//! Encrypted pickles: round trips of every state; a wrong key is a typed
//! error and leaves everything as it was.

mod common;

use boucle_crypto::*;
use common::*;

#[test]
fn every_state_round_trips_and_refuses_a_wrong_key() {
    let mut rng = rng(20);
    let mut parties: Vec<Party> = (0..3)
        .map(|i| Party::new(&format!("p{i}"), &mut rng))
        .collect();
    make_loop(&mut rng, &mut parties);
    let key = PickleKey::new([1; 32]);
    let wrong = PickleKey::new([2; 32]);
    let p = &parties[1];
    let peer = parties[0].id();

    let account = p.account.pickle(&key, &mut rng);
    let mailbox = p.mailbox.pickle(&key, &mut rng);
    let session = p.pairwise[&peer.ed25519].pickle(&key, &mut rng);
    let lp = p.loops[0].pickle(&key, &mut rng);

    for bytes in [&account, &mailbox, &session, &lp] {
        let before = bytes.clone();
        assert_eq!(
            Account::from_pickle(bytes, &wrong).err(),
            Some(expect_err(bytes, 1))
        );
        assert_eq!(
            MailboxKeys::from_pickle(bytes, &wrong).err(),
            Some(expect_err(bytes, 4))
        );
        assert_eq!(
            PairwiseSession::from_pickle(bytes, &wrong).err(),
            Some(expect_err(bytes, 2))
        );
        assert_eq!(
            LoopSession::from_pickle(bytes, &wrong).err(),
            Some(expect_err(bytes, 3))
        );
        assert_eq!(bytes, &before, "input untouched");
    }
    // The right key still works after the failures, and restores equal state.
    let a = Account::from_pickle(&account, &key).unwrap();
    assert_eq!(a.identity_keys(), p.account.identity_keys());
    let m = MailboxKeys::from_pickle(&mailbox, &key).unwrap();
    assert_eq!(m.seal_key(), p.mailbox.seal_key());
    let s = PairwiseSession::from_pickle(&session, &key).unwrap();
    assert_eq!(s.their_identity(), &peer);
    let l = LoopSession::from_pickle(&lp, &key).unwrap();
    assert_eq!(l.state(), p.loops[0].state());

    // Corruption anywhere is the same typed error.
    for i in [0, 1, 2, 30, lp.len() - 1] {
        let mut bad = lp.clone();
        bad[i] ^= 0x80;
        assert!(LoopSession::from_pickle(&bad, &key).is_err());
    }
    assert!(LoopSession::from_pickle(&[], &key).is_err());
}

fn expect_err(bytes: &[u8], kind: u8) -> PickleError {
    if bytes[1] == kind {
        PickleError::WrongKeyOrCorrupted
    } else {
        let expected = match kind {
            1 => "account",
            2 => "pairwise session",
            3 => "loop session",
            _ => "mailbox key",
        };
        PickleError::WrongKind { expected }
    }
}

#[test]
fn restored_parties_keep_talking() {
    let mut rng = rng(21);
    let mut parties: Vec<Party> = (0..3)
        .map(|i| Party::new(&format!("p{i}"), &mut rng))
        .collect();
    make_loop(&mut rng, &mut parties);
    let key = PickleKey::new([7; 32]);
    // Party 2 saves everything and restarts.
    let p = &parties[2];
    let saved = (
        p.account.pickle(&key, &mut rng),
        p.mailbox.pickle(&key, &mut rng),
        p.pairwise
            .iter()
            .map(|(k, s)| (*k, s.pickle(&key, &mut rng)))
            .collect::<Vec<_>>(),
        p.loops[0].pickle(&key, &mut rng),
    );
    let p = &mut parties[2];
    p.account = Account::from_pickle(&saved.0, &key).unwrap();
    p.mailbox = MailboxKeys::from_pickle(&saved.1, &key).unwrap();
    p.pairwise = saved
        .2
        .iter()
        .map(|(k, b)| (*k, PairwiseSession::from_pickle(b, &key).unwrap()))
        .collect();
    p.loops = vec![LoopSession::from_pickle(&saved.3, &key).unwrap()];
    let m = text(&mut rng, "still there?");
    let env = parties[0].send_loop(&mut rng, 0, &m, T0);
    let (_, h) = env
        .headers
        .iter()
        .find(|(to, _)| to == parties[2].card.mailbox())
        .unwrap();
    assert_eq!(parties[2].receive(h, &env.body).unwrap().message(), &m);
    let card = parties[0].card.clone();
    let env = parties[2].send_pairwise(&mut rng, &card, &m);
    assert_eq!(
        parties[0]
            .receive(&env.header, &env.body)
            .unwrap()
            .message(),
        &m
    );
}
