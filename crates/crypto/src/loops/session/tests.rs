//! Unit tests that need the Megolm sessions inside a [`LoopSession`].

use super::*;
use crate::content::{Content, MessageId};
use crate::mailbox::MailboxKeys;

#[test]
fn read_prefix_is_ratcheted_away_not_just_refused() {
    let mut rng = rand::rng();
    let (mut alice, mut bob) = (Account::new(), Account::new());
    let mbx = MailboxKeys::generate(&mut rng);
    let a_card = alice.member_card(mbx.seal_key(), MailboxAddress(b"a".to_vec()));
    let b_card = bob.member_card(mbx.seal_key(), MailboxAddress(b"b".to_vec()));
    let t = Timestamp(0);
    let (mut a, create) =
        LoopSession::create(&alice, LoopId([1; 16]), "t", a_card, vec![b_card], t).unwrap();
    let mut b = LoopSession::join(bob.identity_keys(), &create, RotationPolicy::default()).unwrap();
    let share = a.rotate(&mut rng, t).unwrap();
    b.accept_key_share(&alice.identity_keys(), &share).unwrap();
    let mut sent = Vec::new();
    for i in 0..4u8 {
        let m = Message {
            id: MessageId([i; 16]),
            sent_at: t,
            content: Content::Text("x".into()),
        };
        let ct = a.encrypt(&m, t).unwrap();
        let env = crate::seal_loop(&mut rng, &alice.identity_keys(), &ct, &a.recipients()).unwrap();
        let opened = crate::open(&mbx, &[&b], &env.headers[0].1, &env.body).unwrap();
        b.decrypt(&opened).unwrap();
        sent.push(ct.message);
    }
    for session in b.inbound_sessions() {
        assert_eq!(session.first_known_index(), 4);
        for m in &sent {
            assert!(matches!(
                session.decrypt(m),
                Err(DecryptionError::UnknownMessageIndex(4, _))
            ));
        }
    }
}
