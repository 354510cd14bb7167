//! Content frames: every kind round-trips; unknown kinds are kept as
//! `Unsupported`; malformed frames are typed errors.

use boucle_crypto::*;

fn id(b: u8) -> MessageId {
    MessageId([b; 16])
}

pub fn all_kinds() -> Vec<Content> {
    vec![
        Content::Text("héllo".into()),
        Content::Reply {
            to: id(1),
            text: "yes".into(),
        },
        Content::Reaction {
            to: id(2),
            emoji: "👍".into(),
            remove: false,
        },
        Content::Edit {
            target: id(3),
            text: "fixed".into(),
        },
        Content::Delete { target: id(4) },
        Content::Attachment(AttachmentRef {
            locator: b"blob/1".to_vec(),
            key: [5; 32],
            sha256: [6; 32],
            size: 1234,
            media_type: "image/png".into(),
            name: "cat.png".into(),
        }),
        Content::Receipt {
            ids: vec![id(7), id(8)],
            read: true,
        },
        Content::Poll(PollSpec {
            question: "Which day?".into(),
            options: vec!["Sat".into(), "Sun".into()],
            multiple: true,
            closes_at: Some(Timestamp(99)),
        }),
        Content::Vote {
            poll: id(11),
            choices: vec![0, 1],
        },
        Content::ClosePoll { poll: id(11) },
        Content::Event(event()),
        Content::EditEvent {
            event: id(12),
            spec: event(),
        },
        Content::CancelEvent { event: id(12) },
        Content::Rsvp {
            event: id(12),
            answer: RsvpAnswer::Maybe,
        },
        Content::FileChunk {
            attachment: id(13),
            index: 7,
            data: vec![1, 2, 3],
        },
        Content::Timer { seconds: 3600 },
    ]
}

fn event() -> EventSpec {
    EventSpec {
        title: "Assemblée".into(),
        starts_at: Timestamp(1_800_000_000_000),
        ends_at: Some(Timestamp(1_800_003_600_000)),
        time_zone: "Europe/Paris".into(),
        place: "Bourse du travail".into(),
        description: "ordre du jour".into(),
    }
}

#[test]
fn a_shared_contact_round_trips_with_its_card() {
    let mut account = Account::new();
    let mut rng = rand::rng();
    let keys = MailboxKeys::generate(&mut rng);
    let card = account.contact_card(keys.seal_key(), MailboxAddress(b"there".to_vec()));
    let m = Message {
        id: id(14),
        sent_at: Timestamp(8),
        content: Content::SharedContact {
            card,
            name: "Dana".into(),
        },
    };
    let back = Message::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    let Content::SharedContact { card: got, .. } = back.content else {
        panic!("a shared contact")
    };
    assert!(got.verify().is_ok());
    assert_eq!(got.identity(), &account.identity_keys());
}

#[test]
fn an_introduction_round_trips_with_its_card() {
    let mut account = Account::new();
    let mut rng = rand::rng();
    let keys = MailboxKeys::generate(&mut rng);
    let card = account.contact_card(keys.seal_key(), MailboxAddress(b"where".to_vec()));
    let m = Message {
        id: id(10),
        sent_at: Timestamp(7),
        content: Content::Introduction {
            card: card.clone(),
            name: "Aïcha".into(),
            sender_key: Some([7; 32]),
        },
    };
    let back = Message::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    let Content::Introduction { card: got, .. } = back.content else {
        panic!("an introduction")
    };
    assert!(got.verify().is_ok());
    assert_eq!(got.identity(), &account.identity_keys());
}

#[test]
fn an_introduction_without_a_sender_key_keeps_the_first_encoding() {
    let mut account = Account::new();
    let keys = MailboxKeys::generate(&mut rand::rng());
    let card = account.contact_card(keys.seal_key(), MailboxAddress(b"where".to_vec()));
    let without = Message {
        id: id(10),
        sent_at: Timestamp(7),
        content: Content::Introduction {
            card: card.clone(),
            name: "Aïcha".into(),
            sender_key: None,
        },
    };
    let with = Message {
        content: Content::Introduction {
            card,
            name: "Aïcha".into(),
            sender_key: Some([9; 32]),
        },
        ..without.clone()
    };
    let (old, new) = (without.to_bytes(), with.to_bytes());
    // The key is appended after the first version's payload, which is left as it was.
    assert_eq!(&new[..old.len()], &old[..]);
    assert_eq!(new.len(), old.len() + 33);
    assert_eq!(Message::from_bytes(&old).unwrap(), without);
    // A truncated key is an error, not a missing one.
    assert!(Message::from_bytes(&new[..new.len() - 1]).is_err());
}

#[test]
fn a_rehome_carries_its_card_and_key() {
    let mut account = Account::new();
    let keys = MailboxKeys::generate(&mut rand::rng());
    let card = account.member_card(keys.seal_key(), MailboxAddress(b"new place".to_vec()));
    for content in [
        Content::Rehome {
            card,
            sender_key: [3; 32],
        },
        Content::Rehomed,
    ] {
        let m = Message {
            id: id(11),
            sent_at: Timestamp(8),
            content,
        };
        let back = Message::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        assert!(!format!("{:?}", back.content).contains("3, 3"));
    }
}

#[test]
fn every_kind_round_trips() {
    for content in all_kinds() {
        let m = Message {
            id: id(9),
            sent_at: Timestamp(42),
            content,
        };
        assert_eq!(Message::from_bytes(&m.to_bytes()).unwrap(), m);
    }
}

#[test]
fn unknown_kind_from_a_newer_version_is_kept() {
    let mut frame = vec![7u8];
    frame.extend_from_slice(&[1; 16]);
    frame.extend_from_slice(&5u64.to_le_bytes());
    frame.extend_from_slice(&999u16.to_le_bytes());
    frame.extend_from_slice(b"future stuff");
    let m = Message::from_bytes(&frame).unwrap();
    assert_eq!(
        m.content,
        Content::Unsupported {
            version: 7,
            kind: 999,
            payload: b"future stuff".to_vec()
        }
    );
    // A newer version may append fields to a known kind.
    let mut text = Message {
        id: id(1),
        sent_at: Timestamp(1),
        content: Content::Text("hi".into()),
    }
    .to_bytes();
    text[0] = 2;
    text.extend_from_slice(b"new field");
    assert_eq!(
        Message::from_bytes(&text).unwrap().content,
        Content::Text("hi".into())
    );
}

#[test]
fn malformed_frames_are_typed_errors() {
    assert_eq!(
        Message::from_bytes(&[1, 2, 3]),
        Err(ContentError::Truncated)
    );
    let mut frame = vec![0u8; 27];
    assert_eq!(Message::from_bytes(&frame), Err(ContentError::BadVersion));
    frame[0] = 1;
    frame[25] = 1; // Text with an empty payload
    assert_eq!(Message::from_bytes(&frame), Err(ContentError::Malformed(1)));
    frame.extend_from_slice(&[5, 0xff, 0xfe]); // invalid UTF-8
    assert_eq!(Message::from_bytes(&frame), Err(ContentError::Malformed(1)));
}

#[test]
fn loop_invitations_and_joins_round_trip() {
    let mut rng = rand::rng();
    let mut admin = Account::new();
    let mut member = Account::new();
    let admin_keys = MailboxKeys::generate(&mut rng);
    let member_keys = MailboxKeys::generate(&mut rng);
    let admin_card = admin.member_card(admin_keys.seal_key(), MailboxAddress(b"a".to_vec()));
    let member_card = member.member_card(member_keys.seal_key(), MailboxAddress(b"m".to_vec()));
    let loop_id = LoopId::random(&mut rng);
    let (mut session, create) =
        LoopSession::create(&admin, loop_id, "north", admin_card, vec![], Timestamp(1)).unwrap();
    let add = SignedControl::sign(
        &admin,
        ControlBody {
            loop_id,
            version: 2,
            author: admin.identity_keys(),
            issued_at: Timestamp(2),
            op: ControlOp::AddMember(member_card.clone()),
        },
    );
    session.apply_control(&add).unwrap();
    for content in [
        Content::LoopInvitation {
            history: vec![create.clone(), add.clone()],
        },
        Content::LoopJoin {
            loop_id,
            card: member_card.clone(),
        },
    ] {
        let m = Message {
            id: id(11),
            sent_at: Timestamp(3),
            content,
        };
        assert_eq!(Message::from_bytes(&m.to_bytes()).unwrap(), m);
    }
    // A member added after the creation joins from the whole history...
    let joined = LoopSession::join_history(
        member.identity_keys(),
        &[create.clone(), add],
        RotationPolicy::default(),
    )
    .unwrap();
    assert_eq!(joined.state().version(), 2);
    // ...but not from the creation alone, which does not name it.
    assert!(
        LoopSession::join_history(member.identity_keys(), &[create], RotationPolicy::default())
            .is_err()
    );
}
