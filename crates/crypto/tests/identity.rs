//! Contact cards and safety numbers.

use boucle_crypto::*;

fn card(account: &mut Account) -> ContactCard {
    let mut rng = rand::rng();
    let mbx = MailboxKeys::generate(&mut rng);
    account.contact_card(
        mbx.seal_key(),
        MailboxAddress(b"boucle-mailbox://x".to_vec()),
    )
}

#[test]
fn cards_round_trip_and_tampering_is_detected() {
    let mut alice = Account::new();
    let c = card(&mut alice);
    let bytes = c.to_bytes();
    let back = ContactCard::from_bytes(&bytes).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.identity(), &alice.identity_keys());
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x04;
        assert!(ContactCard::from_bytes(&bad).is_err(), "byte {i}");
    }
    assert_eq!(
        ContactCard::from_bytes(&bytes[..10]),
        Err(KeyError::MalformedCard)
    );
    // Each contact card carries a fresh one-time key; member cards reuse the fallback key.
    let c2 = card(&mut alice);
    assert_ne!(c2.to_bytes()[..130], bytes[..130]);
    let mut rng = rand::rng();
    let mbx = MailboxKeys::generate(&mut rng);
    let m1 = alice.member_card(mbx.seal_key(), MailboxAddress(vec![1]));
    let m2 = alice.member_card(mbx.seal_key(), MailboxAddress(vec![1]));
    assert_eq!(m1, m2);
}

#[test]
fn safety_numbers_agree_on_both_sides_and_differ_otherwise() {
    let (a, b, c) = (Account::new(), Account::new(), Account::new());
    let ab = SafetyNumber::new(&a.identity_keys(), &b.identity_keys());
    let ba = SafetyNumber::new(&b.identity_keys(), &a.identity_keys());
    let ac = SafetyNumber::new(&a.identity_keys(), &c.identity_keys());
    assert_eq!(ab, ba);
    assert_ne!(ab, ac);
    assert_eq!(ab.digits().len(), 60);
    assert!(ab.digits().bytes().all(|d| d.is_ascii_digit()));
    assert_eq!(ab.digit_groups().len(), 12);
    assert!(ab.digit_groups().iter().all(|g| g.len() == 5));
    assert_eq!(ab.qr_payload().len(), 65);
    assert!(ab.matches_qr(ba.qr_payload()));
    assert!(!ab.matches_qr(ac.qr_payload()));
    assert!(!ab.matches_qr(&ab.qr_payload()[..64]));
}
