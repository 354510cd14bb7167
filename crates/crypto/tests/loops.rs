//! Loops: a loop of 5 with a removal, control-message rules, rotation,
//! forward secrecy and the upload size of one loop message.

mod common;

use boucle_crypto::*;
use common::*;

fn five(rng: &mut rand::rngs::StdRng) -> Vec<Party> {
    let mut parties: Vec<Party> = ["ann", "ben", "cat", "dan", "eve"]
        .iter()
        .map(|n| Party::new(n, rng))
        .collect();
    make_loop(rng, &mut parties);
    parties
}

/// Sends a loop message from `from` and returns (recipient index, result).
fn broadcast(
    rng: &mut rand::rngs::StdRng,
    parties: &mut [Party],
    from: usize,
    msg: &Message,
    now: Timestamp,
) -> Vec<(usize, Result<Received, String>)> {
    let shares = parties[from].share_loop_key(rng, 0, now);
    deliver_all(parties, shares);
    let env = parties[from].send_loop(rng, 0, msg, now);
    assert!(env.upload_len() <= 16384 + 128 * env.headers.len());
    let mut out = Vec::new();
    for (to, header) in &env.headers {
        let i = parties.iter().position(|p| p.card.mailbox() == to).unwrap();
        out.push((i, parties[i].receive(header, &env.body)));
    }
    out
}

#[test]
fn loop_of_five_with_one_member_removed() {
    let mut rng = rng(10);
    let mut parties = five(&mut rng);
    for from in 0..5 {
        let m = text(&mut rng, &format!("hello from {from}"));
        for (to, r) in broadcast(&mut rng, &mut parties, from, &m, T0) {
            assert_ne!(to, from);
            let r = r.unwrap();
            assert_eq!(r.message(), &m);
            assert_eq!(r.sender(), &parties[from].id());
        }
    }
    // The admin (ann) removes dan, announced in the loop (dan reads that one).
    let dan = parties[3].id();
    let removal = SignedControl::sign(
        &parties[0].account,
        ControlBody {
            loop_id: parties[0].loops[0].state().id(),
            version: 2,
            author: parties[0].id(),
            issued_at: T0,
            op: ControlOp::RemoveMember(dan.ed25519),
        },
    );
    // Sent under the current session (dan reads it), then applied locally.
    let m = Message {
        id: MessageId::random(&mut rng),
        sent_at: T0,
        content: Content::Control(removal.clone()),
    };
    let env = parties[0].send_loop(&mut rng, 0, &m, T0);
    parties[0].loops[0].apply_control(&removal).unwrap();
    // Dan is worst case: he never applies his removal (a malicious client
    // would ignore it) and keeps every key he had.
    for (to, header) in &env.headers {
        let i = parties.iter().position(|p| p.card.mailbox() == to).unwrap();
        if i != 3 {
            parties[i].receive(header, &env.body).unwrap();
        }
    }
    for (i, p) in parties.iter().enumerate().filter(|(i, _)| *i != 3) {
        assert_eq!(p.loops[0].state().version(), 2, "party {i}");
        assert_eq!(p.loops[0].state().members().count(), 4);
        assert!(p.loops[0].state().member(&dan).is_none());
    }

    // Every later message: the four read it, dan cannot, even if the relay
    // hands him the body with a header meant for someone else.
    let later = Timestamp(T0.0 + 1000);
    for round in 0..3 {
        for from in [0usize, 1, 2, 4] {
            let m = text(&mut rng, &format!("after removal {round} from {from}"));
            let shares = parties[from].share_loop_key(&mut rng, 0, later);
            assert!(shares.iter().all(|(to, _)| to != parties[3].card.mailbox()));
            deliver_all(&mut parties, shares);
            let env = parties[from].send_loop(&mut rng, 0, &m, later);
            assert_eq!(env.headers.len(), 3);
            for (to, header) in &env.headers {
                let i = parties.iter().position(|p| p.card.mailbox() == to).unwrap();
                assert_eq!(parties[i].receive(header, &env.body).unwrap().message(), &m);
                let stolen = parties[3].receive(header, &env.body);
                assert!(stolen.is_err(), "dan read a message after removal");
            }
        }
    }
    // Once dan applies the removal, his client knows it is out.
    parties[3].loops[0].apply_control(&removal).unwrap();
    let m = text(&mut rng, "still here?");
    assert!(matches!(
        parties[3].loops[0].encrypt(&m, later),
        Err(LoopError::Removed)
    ));
}

#[test]
fn forged_and_non_admin_changes_are_rejected_the_same_everywhere() {
    let mut rng = rng(11);
    let mut parties = five(&mut rng);
    let loop_id = parties[0].loops[0].state().id();
    let body = |author: IdentityKeys, op: ControlOp| ControlBody {
        loop_id,
        version: 2,
        author,
        issued_at: T0,
        op,
    };
    // Non-admin ben renames the loop.
    let by_ben = SignedControl::sign(
        &parties[1].account,
        body(parties[1].id(), ControlOp::Rename("ben's".into())),
    );
    // Ben signs but claims to be ann (forged author).
    let mut bytes = SignedControl::sign(
        &parties[1].account,
        body(parties[1].id(), ControlOp::Rename("x".into())),
    )
    .to_bytes();
    let ann = parties[0].id();
    let ben = parties[1].id();
    let pos = bytes.windows(32).position(|w| w == ben.ed25519).unwrap();
    bytes[pos..pos + 32].copy_from_slice(&ann.ed25519);
    let posc = bytes.windows(32).position(|w| w == ben.curve25519).unwrap();
    bytes[posc..posc + 32].copy_from_slice(&ann.curve25519);
    let forged = SignedControl::from_bytes(&bytes).unwrap();
    // Wrong version from the real admin.
    let skip = SignedControl::sign(
        &parties[0].account,
        ControlBody {
            version: 5,
            ..body(ann, ControlOp::Rename("later".into()))
        },
    );
    // Removing the last admin.
    let last = SignedControl::sign(
        &parties[0].account,
        body(ann, ControlOp::RemoveAdmin(ann.ed25519)),
    );
    for p in parties.iter_mut() {
        let l = &mut p.loops[0];
        assert_eq!(l.apply_control(&by_ben), Err(ControlError::NotAdmin));
        assert_eq!(l.apply_control(&forged), Err(ControlError::BadSignature));
        assert_eq!(
            l.apply_control(&skip),
            Err(ControlError::WrongVersion {
                expected: 2,
                got: 5
            })
        );
        assert!(matches!(
            l.apply_control(&last),
            Err(ControlError::Invalid(_))
        ));
        assert_eq!(l.state().version(), 1);
        assert_eq!(l.state().name(), "loop");
    }
    // Valid sequence: promote ben, ben renames; everybody ends in the same state.
    let promote = SignedControl::sign(
        &parties[0].account,
        body(ann, ControlOp::AddAdmin(ben.ed25519)),
    );
    let rename = SignedControl::sign(
        &parties[1].account,
        ControlBody {
            version: 3,
            ..body(ben, ControlOp::Rename("renamed".into()))
        },
    );
    for p in parties.iter_mut() {
        p.loops[0].apply_control(&promote).unwrap();
        p.loops[0].apply_control(&rename).unwrap();
        // Replaying an applied change is refused.
        assert!(p.loops[0].apply_control(&rename).is_err());
    }
    let first = parties[0].loops[0].state().clone();
    assert_eq!(first.name(), "renamed");
    assert!(parties.iter().all(|p| p.loops[0].state() == &first));
}

#[test]
fn policy_and_timer_are_admin_changes_that_every_member_applies_alike() {
    let mut rng = rng(14);
    let mut parties = five(&mut rng);
    let loop_id = parties[0].loops[0].state().id();
    let (ann, ben) = (parties[0].id(), parties[1].id());
    let body = |author: IdentityKeys, version: u64, op: ControlOp| ControlBody {
        loop_id,
        version,
        author,
        issued_at: T0,
        op,
    };
    let announcement = LoopPolicy {
        posting: Posting::Admins,
        inviting: Inviting::Members,
    };
    // A member cannot change the rules or the timer.
    let by_ben = SignedControl::sign(
        &parties[1].account,
        body(ben, 2, ControlOp::SetPolicy(announcement)),
    );
    let timer_by_ben =
        SignedControl::sign(&parties[1].account, body(ben, 2, ControlOp::SetTimer(3600)));
    let too_long = SignedControl::sign(
        &parties[0].account,
        body(ann, 2, ControlOp::SetTimer(MAX_TIMER_SECS + 1)),
    );
    let policy = SignedControl::sign(
        &parties[0].account,
        body(ann, 2, ControlOp::SetPolicy(announcement)),
    );
    let timer = SignedControl::sign(&parties[0].account, body(ann, 3, ControlOp::SetTimer(3600)));
    for p in parties.iter_mut() {
        let l = &mut p.loops[0];
        assert!(l.state().may_post(&ben.ed25519));
        assert!(!l.state().may_invite(&ben.ed25519));
        assert_eq!(l.apply_control(&by_ben), Err(ControlError::NotAdmin));
        assert_eq!(l.apply_control(&timer_by_ben), Err(ControlError::NotAdmin));
        assert!(matches!(
            l.apply_control(&too_long),
            Err(ControlError::Invalid(_))
        ));
        l.apply_control(&policy).unwrap();
        l.apply_control(&timer).unwrap();
        assert_eq!(l.state().policy(), announcement);
        assert_eq!(l.state().timer_secs(), 3600);
        assert!(l.state().may_post(&ann.ed25519));
        assert!(!l.state().may_post(&ben.ed25519));
        assert!(l.state().may_invite(&ben.ed25519));
    }
    // With members inviting, ben (not an admin) adds a newcomer.
    let newcomer = Party::new("fay", &mut rng);
    let add = SignedControl::sign(
        &parties[1].account,
        body(ben, 4, ControlOp::AddMember(newcomer.card.clone())),
    );
    for p in parties.iter_mut() {
        p.loops[0].apply_control(&add).unwrap();
        assert_eq!(p.loops[0].state().members().count(), 6);
    }
    let first = parties[0].loops[0].state().clone();
    assert!(parties.iter().all(|p| p.loops[0].state() == &first));
}

#[test]
fn rotation_after_n_messages_and_after_t() {
    let mut rng = rng(12);
    let mut parties = five(&mut rng);
    let policy = RotationPolicy::default();
    let mut now = T0;
    for i in 0..policy.max_messages {
        assert!(!parties[0].loops[0].rotation_due(now), "due after {i}");
        let m = text(&mut rng, "x");
        parties[0].send_loop(&mut rng, 0, &m, now);
    }
    assert!(parties[0].loops[0].rotation_due(now));
    let m = text(&mut rng, "x");
    assert!(matches!(
        parties[0].loops[0].encrypt(&m, now),
        Err(LoopError::RotationRequired)
    ));
    let shares = parties[0].share_loop_key(&mut rng, 0, now);
    assert_eq!(shares.len(), 4);
    deliver_all(&mut parties, shares);
    assert!(!parties[0].loops[0].rotation_due(now));
    now = Timestamp(now.0 + policy.max_age_ms);
    assert!(parties[0].loops[0].rotation_due(now));
}

#[test]
fn loop_snapshot_after_message_n_cannot_read_earlier_ones() {
    let mut rng = rng(13);
    let mut parties = five(&mut rng);
    let key = PickleKey::new([3; 32]);
    let msgs: Vec<_> = (0..6).map(|i| text(&mut rng, &format!("m{i}"))).collect();
    let envs: Vec<_> = msgs
        .iter()
        .map(|m| parties[0].send_loop(&mut rng, 0, m, T0))
        .collect();
    let (_, header) = envs[0]
        .headers
        .iter()
        .find(|(to, _)| to == parties[1].card.mailbox())
        .unwrap()
        .clone();
    let _ = header;
    for env in &envs {
        let (_, h) = env
            .headers
            .iter()
            .find(|(to, _)| to == parties[1].card.mailbox())
            .unwrap();
        parties[1].receive(h, &env.body).unwrap();
    }
    let snap = parties[1].loops[0].pickle(&key, &mut rng);
    for env in &envs {
        let (_, h) = env
            .headers
            .iter()
            .find(|(to, _)| to == parties[1].card.mailbox())
            .unwrap();
        let mut l = LoopSession::from_pickle(&snap, &key).unwrap();
        let opened = open(&parties[1].mailbox, &[&l], h, &env.body).unwrap();
        assert!(matches!(
            l.decrypt(&opened),
            Err(LoopError::AlreadyReadOrExpired)
        ));
    }
    // A message sent after the snapshot is still readable from it.
    let m = text(&mut rng, "new");
    let env = parties[0].send_loop(&mut rng, 0, &m, T0);
    let (_, h) = env
        .headers
        .iter()
        .find(|(to, _)| to == parties[1].card.mailbox())
        .unwrap();
    let mut l = LoopSession::from_pickle(&snap, &key).unwrap();
    let opened = open(&parties[1].mailbox, &[&l], h, &env.body).unwrap();
    assert_eq!(l.decrypt(&opened).unwrap().1, m);
}

#[test]
fn loop_envelope_hides_sender_and_fits_the_budget() {
    let mut rng = rng(14);
    let mut parties = five(&mut rng);
    let id = parties[2].id();
    let m = text(&mut rng, "who wrote this?");
    let env = parties[2].send_loop(&mut rng, 0, &m, T0);
    assert_eq!(env.headers.len(), 4);
    assert_eq!(env.body.len(), 1024);
    for (_, h) in &env.headers {
        assert_eq!(h.len(), HEADER_LEN);
        for hay in [&h[..], &env.body[..]] {
            for key in [&id.curve25519[..8], &id.ed25519[..8]] {
                assert!(!hay.windows(8).any(|w| w == key));
            }
        }
    }
    // Tampering with the shared body is caught for every recipient.
    let mut body = env.body.clone();
    body[100] ^= 1;
    let (to, h) = &env.headers[0];
    let i = parties.iter().position(|p| p.card.mailbox() == to).unwrap();
    let loops: Vec<&LoopSession> = parties[i].loops.iter().collect();
    assert_eq!(
        open(&parties[i].mailbox, &loops, h, &body).unwrap_err(),
        EnvelopeError::BodyTampered
    );
}
