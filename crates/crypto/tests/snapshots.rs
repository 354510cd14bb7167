//! The `Debug` of public types is pinned: it shows kinds, sizes and public
//! keys, never message text or secrets.

use boucle_crypto::*;

#[test]
fn debug_of_public_types() {
    let identity = IdentityKeys {
        curve25519: [0xc0; 32],
        ed25519: [0xed; 32],
    };
    let contents: Vec<Content> = vec![
        Content::Text("secret text".into()),
        Content::Reply {
            to: MessageId([1; 16]),
            text: "secret".into(),
        },
        Content::Reaction {
            to: MessageId([2; 16]),
            emoji: "x".into(),
            remove: true,
        },
        Content::Delete {
            target: MessageId([3; 16]),
        },
        Content::Receipt {
            ids: vec![MessageId([4; 16])],
            read: false,
        },
        Content::Unsupported {
            version: 9,
            kind: 300,
            payload: vec![1, 2, 3],
        },
    ];
    insta::assert_debug_snapshot!("identity_keys", identity);
    insta::assert_debug_snapshot!("contents", contents);
    insta::assert_debug_snapshot!("seal_key", SealKey([0x5e; 32]));
    insta::assert_debug_snapshot!("loop_id", LoopId([0x10; 16]));
    insta::assert_debug_snapshot!("mailbox", MailboxAddress(b"mbx".to_vec()));
    insta::assert_debug_snapshot!("policy", RotationPolicy::default());
    insta::assert_debug_snapshot!("timestamp", Timestamp(1_700_000_000_000));
    insta::assert_debug_snapshot!(
        "envelope",
        Envelope {
            header: vec![0; HEADER_LEN],
            body: vec![0; 256]
        }
    );
    insta::assert_debug_snapshot!(
        "safety_number",
        SafetyNumber::new(
            &identity,
            &IdentityKeys {
                curve25519: [1; 32],
                ed25519: [2; 32]
            }
        )
    );
    insta::assert_debug_snapshot!(
        "errors",
        (
            EnvelopeError::NotForUs,
            PickleError::WrongKeyOrCorrupted,
            ControlError::WrongVersion {
                expected: 2,
                got: 5
            },
            ContentError::Malformed(3),
        )
    );
}

#[test]
fn error_messages_read_well() {
    let msgs: Vec<String> = vec![
        EnvelopeError::NotForUs.to_string(),
        EnvelopeError::BodyTampered.to_string(),
        EnvelopeError::TooLarge(70000).to_string(),
        PickleError::WrongKeyOrCorrupted.to_string(),
        LoopError::Removed.to_string(),
        ControlError::NotAdmin.to_string(),
        PairwiseError::AlreadyReadOrExpired.to_string(),
    ];
    insta::assert_debug_snapshot!("error_messages", msgs);
}
