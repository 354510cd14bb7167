//! The normative test vectors of `protocol-spec/vectors/wire/`, checked against this crate.
//!
//! `frames.json` pins the encoding of every command and every relay frame: each hex
//! string must decode, its decoded value must serialize (with serde_json) to the vector's
//! `json`, and re-encoding must give back the same bytes. `malformed.json` lists frames a
//! relay must refuse; here we check what the decoder alone decides about each.

use std::path::PathBuf;

use boucle_wire::{ClientFrame, FrameDecoder, ServerFrame, WireError, encode_deliver, frame_bytes};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocol-spec/vectors/wire")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text).expect("vector file is valid JSON");
    value
        .as_array()
        .expect("vector file is a JSON array")
        .clone()
}

fn field<'a>(vector: &'a Value, key: &str) -> &'a str {
    vector[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector {vector} lacks the string field {key}"))
}

/// Decodes exactly one frame from `bytes`, insisting nothing is left over.
fn decode_one<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, WireError> {
    let mut decoder = FrameDecoder::default();
    decoder.extend(bytes);
    let frame = decoder.decode::<T>();
    if matches!(frame, Ok(Some(_))) {
        assert_eq!(decoder.buffered(), 0, "bytes left after the frame");
    }
    frame
}

fn check_round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    name: &str,
    bytes: &[u8],
    json: &Value,
) {
    let value: T = decode_one(bytes)
        .unwrap_or_else(|e| panic!("{name}: does not decode: {e}"))
        .unwrap_or_else(|| panic!("{name}: incomplete frame"));
    assert_eq!(
        &serde_json::to_value(&value).unwrap(),
        json,
        "{name}: decoded value differs from the vector's json"
    );
    assert_eq!(
        hex::encode(frame_bytes(&value).unwrap()),
        hex::encode(bytes),
        "{name}: re-encoding gives different bytes"
    );
    // Decoding byte by byte gives the same value.
    let mut decoder = FrameDecoder::default();
    let mut seen = None;
    for byte in bytes {
        assert!(
            seen.is_none(),
            "{name}: frame complete before its last byte"
        );
        decoder.extend(std::slice::from_ref(byte));
        seen = decoder.decode::<T>().unwrap();
    }
    assert_eq!(
        seen.as_ref(),
        Some(&value),
        "{name}: byte-wise decoding differs"
    );
}

/// The relay's copy-free `encode_deliver` writes the same bytes as the owned frame.
fn check_borrowed_deliver(name: &str, bytes: &[u8]) {
    if let Ok(Some(ServerFrame::Deliver {
        receive_id,
        seq,
        envelope,
    })) = decode_one::<ServerFrame>(bytes)
    {
        let mut out = Vec::new();
        encode_deliver(&receive_id, seq, &envelope.header, &envelope.body, &mut out).unwrap();
        assert_eq!(
            hex::encode(out),
            hex::encode(bytes),
            "{name}: encode_deliver"
        );
    }
}

#[test]
fn frames_decode_to_their_json_and_encode_to_their_hex() {
    let vectors = load("frames.json");
    let mut client = 0;
    let mut server = 0;
    for vector in &vectors {
        let name = field(vector, "name");
        let bytes = hex::decode(field(vector, "hex")).expect("hex");
        let json = &vector["json"];
        match field(vector, "direction") {
            "client" => {
                client += 1;
                check_round_trip::<ClientFrame>(name, &bytes, json);
            }
            "server" => {
                server += 1;
                check_round_trip::<ServerFrame>(name, &bytes, json);
                check_borrowed_deliver(name, &bytes);
            }
            other => panic!("{name}: unknown direction {other}"),
        }
    }
    assert!(
        client >= 11 && server >= 13,
        "too few vectors: {client} + {server}"
    );
}

#[test]
fn frames_cover_every_variant() {
    let vectors = load("frames.json");
    let variant = |json: &Value| match json {
        Value::String(s) => s.clone(),
        Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    for vector in &vectors {
        let json = &vector["json"];
        if field(vector, "direction") == "client" {
            seen.insert(format!("Command::{}", variant(&json["command"])));
        } else {
            let frame = variant(json);
            if frame == "Reply"
                && let Some(ok) = json["Reply"]["result"].get("Ok")
            {
                seen.insert(format!("Reply::{}", variant(ok)));
            }
            seen.insert(format!("ServerFrame::{frame}"));
        }
    }
    for expected in [
        "Command::Hello",
        "Command::CreateMailbox",
        "Command::Subscribe",
        "Command::Unsubscribe",
        "Command::DeleteMailbox",
        "Command::SetSenderKey",
        "Command::Send",
        "Command::SendBatch",
        "Command::Ack",
        "Command::Status",
        "Command::Ping",
        "ServerFrame::Hello",
        "ServerFrame::Reply",
        "ServerFrame::Deliver",
        "ServerFrame::Drained",
        "ServerFrame::SubscriptionEnded",
        "ServerFrame::ProtocolError",
        "Reply::MailboxCreated",
        "Reply::Subscribed",
        "Reply::Done",
        "Reply::Stored",
        "Reply::BatchStored",
        "Reply::Status",
        "Reply::Pong",
    ] {
        assert!(seen.contains(expected), "no vector for {expected}");
    }
}

/// What the decoder alone must say about a malformed vector.
#[test]
fn malformed_frames_are_refused_as_the_corpus_says() {
    let vectors = load("malformed.json");
    assert!(vectors.len() >= 20);
    for vector in &vectors {
        let name = field(vector, "name");
        let bytes = hex::decode(field(vector, "hex")).expect("hex");
        let expect = field(vector, "expect");
        let outcome = decode_one::<ClientFrame>(&bytes);
        match expect.split_once(':') {
            Some(("protocol_error", code)) => {
                let error = outcome.expect_err(name);
                assert!(!error.is_fatal(), "{name}: {error} must not be fatal");
                let actual = match error {
                    WireError::UnsupportedVersion(_) => "UnsupportedVersion",
                    _ => "Malformed",
                };
                assert_eq!(actual, code, "{name}: {error}");
            }
            // Well-formed: the relay refuses it by meaning, with a reply to its request id.
            Some(("reply_error", _)) => {
                let frame = outcome
                    .unwrap_or_else(|e| panic!("{name}: must decode, got {e}"))
                    .unwrap_or_else(|| panic!("{name}: incomplete frame"));
                assert_eq!(
                    Some(u64::from(frame.request.0)),
                    vector["request"].as_u64(),
                    "{name}: request id"
                );
            }
            _ if expect == "close" => {
                let error = outcome.expect_err(name);
                assert!(error.is_fatal(), "{name}: {error} must be fatal");
            }
            _ => panic!("{name}: unknown expectation {expect}"),
        }
    }
}

/// A non-fatal bad frame does not desynchronize the stream: the next frame decodes.
#[test]
fn the_frame_after_a_malformed_one_still_decodes() {
    let ping = hex::decode("0000000301070a").unwrap();
    for vector in load("malformed.json") {
        if field(&vector, "expect") == "close" {
            continue;
        }
        let mut decoder = FrameDecoder::default();
        decoder.extend(&hex::decode(field(&vector, "hex")).unwrap());
        decoder.extend(&ping);
        let _ = decoder.decode::<ClientFrame>();
        let next = decoder.decode::<ClientFrame>().unwrap().unwrap();
        assert_eq!(next.request.0, 7, "{}", field(&vector, "name"));
    }
}
