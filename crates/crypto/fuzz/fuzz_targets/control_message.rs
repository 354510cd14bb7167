//! Loop control messages: decoding, signature checks and application to a
//! fixed loop never panic, and a rejected change leaves the state unchanged.
#![no_main]

use std::sync::OnceLock;

use boucle_crypto::{
    Account, IdentityKeys, LoopId, LoopSession, LoopState, MailboxAddress, MailboxKeys,
    SignedControl, Timestamp,
};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static (LoopState, IdentityKeys) {
    static F: OnceLock<(LoopState, IdentityKeys)> = OnceLock::new();
    F.get_or_init(|| {
        let mailbox = MailboxKeys::derive(&[7; 32]);
        let mut a = Account::new();
        let mut b = Account::new();
        let ca = a.member_card(mailbox.seal_key(), MailboxAddress(b"a".to_vec()));
        let cb = b.member_card(mailbox.seal_key(), MailboxAddress(b"b".to_vec()));
        let (l, _) = LoopSession::create(&a, LoopId([1; 16]), "fuzz", ca, vec![cb], Timestamp(0)).unwrap();
        (l.state().clone(), b.identity_keys())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(control) = SignedControl::from_bytes(data) else {
        return;
    };
    assert_eq!(SignedControl::from_bytes(&control.to_bytes()).ok(), Some(control.clone()));
    let _ = control.signature_valid();
    let _ = LoopState::from_create(&control);
    let (state, me) = fixture();
    let mut s = state.clone();
    if s.apply(&control, me).is_err() {
        assert_eq!(&s, state);
    }
});
