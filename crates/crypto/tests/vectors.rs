//! Test vectors from `protocol-spec/vectors/e2ee/*.json`.
//!
//! `cargo test -p boucle-crypto --test vectors -- --ignored regenerate`
//! rewrites them (new random identities; the checks below must still pass).

use std::convert::Infallible;
use std::path::PathBuf;

use boucle_crypto::*;
use serde_json::{Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol-spec/vectors/e2ee")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn h32(v: &Value) -> [u8; 32] {
    h(v).try_into().unwrap()
}

fn identity(v: &Value) -> IdentityKeys {
    IdentityKeys {
        curve25519: h32(&v["curve25519"]),
        ed25519: h32(&v["ed25519"]),
    }
}

fn identity_json(i: &IdentityKeys) -> Value {
    json!({ "curve25519": hex::encode(i.curve25519), "ed25519": hex::encode(i.ed25519) })
}

/// An RNG that replays the bytes recorded in a vector.
struct Replay(Vec<u8>, usize);

impl rand::TryRng for Replay {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.copy_from_slice(&self.0[self.1..self.1 + dst.len()]);
        self.1 += dst.len();
        Ok(())
    }
}

impl rand::TryCryptoRng for Replay {}

#[test]
fn padding() {
    let v = load("padding.json");
    let buckets: Vec<usize> = serde_json::from_value(v["buckets"].clone()).unwrap();
    assert_eq!(buckets, BUCKETS);
    for case in v["cases"].as_array().unwrap() {
        let len = case["payload_len"].as_u64().unwrap() as usize;
        let body = case["body_len"].as_u64().map(|b| b as usize);
        assert_eq!(bucket_for(len), body, "payload {len}");
    }
}

#[test]
fn content() {
    for case in load("content.json")["cases"].as_array().unwrap() {
        let frame = h(&case["frame"]);
        let m = Message::from_bytes(&frame).unwrap();
        if case["unsupported"].as_bool() == Some(true) {
            assert!(
                matches!(m.content, Content::Unsupported { .. }),
                "{}",
                case["name"]
            );
        } else {
            assert_eq!(m.to_bytes(), frame, "{}", case["name"]);
        }
        if let Some(text) = case["text"].as_str() {
            assert_eq!(m.content, Content::Text(text.to_owned()));
        }
    }
}

#[test]
fn safety_number() {
    let v = load("safety-number.json");
    let (a, b) = (identity(&v["a"]), identity(&v["b"]));
    for sn in [SafetyNumber::new(&a, &b), SafetyNumber::new(&b, &a)] {
        assert_eq!(sn.digits(), v["digits"].as_str().unwrap());
        assert_eq!(sn.qr_payload(), &h(&v["qr"])[..]);
        assert!(sn.matches_qr(&h(&v["qr"])));
    }
}

#[test]
fn control() {
    let v = load("control.json");
    let create = SignedControl::from_bytes(&h(&v["create"])).unwrap();
    let mut state = LoopState::from_create(&create).unwrap();
    let me = identity(&v["member"]);
    let parse = |k: &str| SignedControl::from_bytes(&h(&v[k])).unwrap();
    assert_eq!(
        state.apply(&parse("rename_by_non_admin"), &me),
        Err(ControlError::NotAdmin)
    );
    assert_eq!(
        state.apply(&parse("forged"), &me),
        Err(ControlError::BadSignature)
    );
    state.apply(&parse("rename_by_admin"), &me).unwrap();
    assert_eq!(state.name(), v["name_after"].as_str().unwrap());
    assert_eq!(state.version(), 2);
}

#[test]
fn envelope_pairwise() {
    let v = load("envelope-pairwise.json");
    let mailbox = MailboxKeys::derive(&h32(&v["mailbox_ikm"]));
    assert_eq!(mailbox.seal_key().0, h32(&v["seal_key"]));
    let (header, body) = (h(&v["header"]), h(&v["body"]));
    let opened = open(&mailbox, &[], &header, &body).unwrap();
    let sender = identity(&v["sender"]);
    assert_eq!(opened.sender, sender);
    assert_eq!(opened.ciphertext_bytes(), h(&v["ciphertext"]));
    // Sealing again with the recorded randomness gives the same bytes.
    let proof = SenderProof::from_parts(sender, h(&v["proof"]).try_into().unwrap()).unwrap();
    let ct = PairwiseCiphertext::from_bytes(&h(&v["ciphertext"])).unwrap();
    let mut rng = Replay(h(&v["random"]), 0);
    let env = seal_pairwise(&mut rng, &proof, &ct, mailbox.seal_key()).unwrap();
    assert_eq!((env.header, env.body), (header, body));
}

#[test]
fn envelope_loop() {
    let v = load("envelope-loop.json");
    let me = identity(&v["recipient"]);
    let create = SignedControl::from_bytes(&h(&v["create"])).unwrap();
    let mut l = LoopSession::join(me, &create, RotationPolicy::default()).unwrap();
    let share = Message::from_bytes(&h(&v["key_share"])).unwrap();
    let Content::KeyShare(ks) = share.content else {
        panic!("not a key share")
    };
    let sender = identity(&v["sender"]);
    l.accept_key_share(&sender, &ks).unwrap();
    let mailbox = MailboxKeys::derive(&[0; 32]);
    let opened = open(&mailbox, &[&l], &h(&v["header"]), &h(&v["body"])).unwrap();
    let (from, m) = l.decrypt(&opened).unwrap();
    assert_eq!(from, sender);
    assert_eq!(
        m.content,
        Content::Text(v["text"].as_str().unwrap().to_owned())
    );
}

#[test]
fn pickle() {
    let v = load("pickle.json");
    let bytes = h(&v["mailbox_pickle"]);
    let key = PickleKey::new(h32(&v["key"]));
    assert_eq!(
        MailboxKeys::from_pickle(&bytes, &key).unwrap().seal_key().0,
        h32(&v["seal_key"])
    );
    let wrong = PickleKey::new([0xee; 32]);
    assert_eq!(
        MailboxKeys::from_pickle(&bytes, &wrong).err(),
        Some(PickleError::WrongKeyOrCorrupted)
    );
}

fn write(name: &str, v: Value) {
    std::fs::create_dir_all(dir()).unwrap();
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    std::fs::write(dir().join(name), text).unwrap();
}

fn fixed(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
#[ignore = "rewrites the vector files"]
fn regenerate() {
    let t = Timestamp(1_700_000_000_000);
    let mut rng = Replay(fixed(1 << 16, 7), 0);

    let cases: Vec<Value> = [
        0usize, 1, 236, 237, 1004, 1005, 4076, 4077, 16364, 16365, 65516, 65517,
    ]
    .iter()
    .map(|&n| json!({ "payload_len": n, "body_len": bucket_for(n) }))
    .collect();
    write(
        "padding.json",
        json!({
            "description": "body length for a sealed payload of payload_len bytes: smallest bucket >= payload_len + 4 (length) + 16 (tag); null = too large",
            "buckets": BUCKETS, "cases": cases,
        }),
    );

    let id = MessageId([0x11; 16]);
    let msg = |content| Message {
        id,
        sent_at: t,
        content,
    };
    let mut cases = vec![
        json!({ "name": "text", "frame": hex::encode(msg(Content::Text("héllo".into())).to_bytes()), "text": "héllo" }),
    ];
    for (name, c) in [
        (
            "reply",
            Content::Reply {
                to: MessageId([2; 16]),
                text: "yes".into(),
            },
        ),
        (
            "reaction",
            Content::Reaction {
                to: MessageId([3; 16]),
                emoji: "👍".into(),
                remove: false,
            },
        ),
        (
            "edit",
            Content::Edit {
                target: MessageId([4; 16]),
                text: "fixed".into(),
            },
        ),
        (
            "delete",
            Content::Delete {
                target: MessageId([5; 16]),
            },
        ),
        (
            "receipt",
            Content::Receipt {
                ids: vec![MessageId([6; 16])],
                read: true,
            },
        ),
        (
            "attachment",
            Content::Attachment(AttachmentRef {
                locator: b"blob/1".to_vec(),
                key: [7; 32],
                sha256: [8; 32],
                size: 1234,
                media_type: "image/png".into(),
                name: "cat.png".into(),
            }),
        ),
    ] {
        cases.push(json!({ "name": name, "frame": hex::encode(msg(c).to_bytes()) }));
    }
    let mut unknown = vec![2u8];
    unknown.extend_from_slice(&[0x11; 16]);
    unknown.extend_from_slice(&t.0.to_le_bytes());
    unknown.extend_from_slice(&999u16.to_le_bytes());
    unknown.extend_from_slice(b"from the future");
    cases.push(json!({ "name": "unknown kind 999 from version 2", "frame": hex::encode(unknown), "unsupported": true }));
    write(
        "content.json",
        json!({ "description": "message frames: version u8 | id[16] | sent_at u64 LE | kind u16 LE | postcard payload", "cases": cases }),
    );

    let a = IdentityKeys {
        curve25519: [0xa1; 32],
        ed25519: [0xa2; 32],
    };
    let b = IdentityKeys {
        curve25519: [0xb1; 32],
        ed25519: [0xb2; 32],
    };
    let sn = SafetyNumber::new(&a, &b);
    write(
        "safety-number.json",
        json!({
            "a": identity_json(&a), "b": identity_json(&b),
            "digits": sn.digits(), "qr": hex::encode(sn.qr_payload()),
        }),
    );

    // Control messages.
    let mut admin = Account::new();
    let mut member = Account::new();
    let mbx = MailboxKeys::derive(&[1; 32]);
    let admin_card = admin.member_card(mbx.seal_key(), MailboxAddress(b"admin".to_vec()));
    let member_card = member.member_card(mbx.seal_key(), MailboxAddress(b"member".to_vec()));
    let loop_id = LoopId([0x42; 16]);
    let (mut admin_loop, create) =
        LoopSession::create(&admin, loop_id, "vectors", admin_card, vec![member_card], t).unwrap();
    let body = |author: IdentityKeys, name: &str| ControlBody {
        loop_id,
        version: 2,
        author,
        issued_at: t,
        op: ControlOp::Rename(name.into()),
    };
    let by_admin = SignedControl::sign(&admin, body(admin.identity_keys(), "renamed"));
    let by_member = SignedControl::sign(&member, body(member.identity_keys(), "hijacked"));
    let mut forged = by_admin.to_bytes();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    write(
        "control.json",
        json!({
            "description": "signed loop control messages: postcard(ControlBody) || ed25519 signature",
            "create": hex::encode(create.to_bytes()),
            "member": identity_json(&member.identity_keys()),
            "rename_by_admin": hex::encode(by_admin.to_bytes()),
            "rename_by_non_admin": hex::encode(by_member.to_bytes()),
            "forged": hex::encode(forged),
            "name_after": "renamed",
        }),
    );

    // Pairwise envelope.
    let ikm = [0x5a; 32];
    let bob_mbx = MailboxKeys::derive(&ikm);
    let mut bob = Account::new();
    let card = bob.contact_card(bob_mbx.seal_key(), MailboxAddress(b"bob".to_vec()));
    let mut s = PairwiseSession::outbound(&admin, &card).unwrap();
    let ct = s.encrypt(&msg(Content::Text("hello Bob".into()))).unwrap();
    let random = fixed(64, 99);
    let env = seal_pairwise(
        &mut Replay(random.clone(), 0),
        &admin.sender_proof(),
        &ct,
        bob_mbx.seal_key(),
    )
    .unwrap();
    write(
        "envelope-pairwise.json",
        json!({
            "description": "sealed pairwise envelope; random = content key (32) then HPKE ephemeral ikm (32)",
            "mailbox_ikm": hex::encode(ikm), "seal_key": hex::encode(bob_mbx.seal_key().0),
            "sender": identity_json(&admin.identity_keys()),
            "proof": hex::encode(admin.sender_proof().signature()),
            "ciphertext": hex::encode(ct.to_bytes()),
            "random": hex::encode(random),
            "header": hex::encode(&env.header), "body": hex::encode(&env.body),
        }),
    );

    // Loop envelope.
    let share = admin_loop.rotate(&mut rng, t).unwrap();
    let share_frame = msg(Content::KeyShare(share)).to_bytes();
    let text = "hello loop";
    let ct = admin_loop
        .encrypt(&msg(Content::Text(text.into())), t)
        .unwrap();
    let env = seal_loop(
        &mut rng,
        &admin.identity_keys(),
        &ct,
        &admin_loop.recipients(),
    )
    .unwrap();
    write(
        "envelope-loop.json",
        json!({
            "description": "loop envelope with a keyed header; key_share is the message frame the sender sent pairwise",
            "create": hex::encode(create.to_bytes()),
            "recipient": identity_json(&member.identity_keys()),
            "sender": identity_json(&admin.identity_keys()),
            "key_share": hex::encode(share_frame),
            "header": hex::encode(&env.headers[0].1), "body": hex::encode(&env.body),
            "text": text,
        }),
    );

    let key = [0x33; 32];
    write(
        "pickle.json",
        json!({
            "description": "MailboxKeys pickle: version 1 | kind 4 | nonce[24] | XChaCha20-Poly1305(JSON)",
            "key": hex::encode(key),
            "mailbox_pickle": hex::encode(bob_mbx.pickle(&PickleKey::new(key), &mut rng)),
            "seal_key": hex::encode(bob_mbx.seal_key().0),
        }),
    );
}
