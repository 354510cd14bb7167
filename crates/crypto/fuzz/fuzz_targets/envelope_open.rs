//! Envelope opening: header (first 81 bytes) and body (the rest), with and
//! without a loop's header keys. Never panics; only typed errors.
#![no_main]

use std::sync::OnceLock;

use boucle_crypto::{
    Account, LoopId, LoopSession, MailboxAddress, MailboxKeys, RotationPolicy, SignedControl,
    Timestamp, open,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    mailbox: MailboxKeys,
    lp: LoopSession,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mailbox = MailboxKeys::derive(&[7; 32]);
        let mut a = Account::new();
        let mut b = Account::new();
        let ca = a.member_card(mailbox.seal_key(), MailboxAddress(b"a".to_vec()));
        let cb = b.member_card(mailbox.seal_key(), MailboxAddress(b"b".to_vec()));
        let (mut la, create): (LoopSession, SignedControl) =
            LoopSession::create(&a, LoopId([1; 16]), "fuzz", ca, vec![cb], Timestamp(0)).unwrap();
        let mut lp = LoopSession::join(b.identity_keys(), &create, RotationPolicy::default()).unwrap();
        let share = la.rotate(&mut rand::rng(), Timestamp(0)).unwrap();
        lp.accept_key_share(&a.identity_keys(), &share).unwrap();
        Fixture { mailbox, lp }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let split = data.len().min(81);
    let (header, body) = data.split_at(split);
    let _ = open(&f.mailbox, &[], header, body);
    let _ = open(&f.mailbox, &[&f.lp], header, body);
});
