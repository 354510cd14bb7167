//! The malformed-frame corpus (`protocol-spec/vectors/wire/malformed.json`) fed to a
//! relay-side connection after a hello: each frame gets the error the corpus names, and
//! the connection keeps serving (a ping after it is answered) unless the corpus says it
//! must close.

use std::path::PathBuf;

use boucle_proto::{Request, ServerConnection, ServerSettings};
use boucle_wire::{
    Challenge, ClientFrame, Command, ErrorCode, FrameDecoder, MAX_BATCH_RECIPIENTS, MAX_BODY_LEN,
    MAX_HEADER_LEN, RelayLimits, Reply, RequestId, ServerFrame, frame_bytes,
};
use serde_json::Value;

const PING_ID: u32 = 9_999;

fn corpus() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocol-spec/vectors/wire/malformed.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text).expect("valid JSON");
    value.as_array().expect("a JSON array").clone()
}

fn relay() -> ServerConnection {
    let limits = RelayLimits {
        max_body: MAX_BODY_LEN as u32,
        max_header: MAX_HEADER_LEN as u32,
        max_batch: MAX_BATCH_RECIPIENTS as u32,
        max_in_flight: 256,
        token_required: false,
    };
    ServerConnection::new(
        Challenge::from_bytes([5; 32]),
        ServerSettings::new(limits),
        std::time::Instant::now(),
    )
}

fn frame(request: u32, command: Command) -> Vec<u8> {
    frame_bytes(&ClientFrame {
        request: RequestId(request),
        command,
    })
    .unwrap()
}

/// Runs the connection like a relay that knows no mailbox, and returns what it sent.
fn step(conn: &mut ServerConnection, input: &[u8]) -> Vec<ServerFrame> {
    conn.handle_bytes(std::time::Instant::now(), input);
    while let Some(request) = conn.poll_request() {
        match request {
            Request::Send { request, .. } => conn.reply(request, Err(ErrorCode::UnknownMailbox)),
            Request::Subscribe { request, .. } => {
                conn.reply(request, Err(ErrorCode::UnknownMailbox))
            }
            other => panic!("the connection let through {other:?}"),
        }
    }
    let mut decoder = FrameDecoder::default();
    decoder.extend(&conn.take_transmit());
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode::<ServerFrame>().unwrap() {
        frames.push(frame);
    }
    frames
}

fn code_name(code: ErrorCode) -> String {
    format!("{code:?}")
}

#[test]
fn every_malformed_frame_gets_the_expected_answer() {
    let vectors = corpus();
    assert!(vectors.len() >= 20);
    for vector in &vectors {
        let name = vector["name"].as_str().unwrap();
        let bytes = hex::decode(vector["hex"].as_str().unwrap()).unwrap();
        let expect = vector["expect"].as_str().unwrap();
        let before_hello = vector["before_hello"].as_bool().unwrap_or(false);

        let mut conn = relay();
        if !before_hello {
            let greeting = step(&mut conn, &frame(0, Command::Hello));
            assert!(
                matches!(greeting[..], [ServerFrame::Hello { .. }]),
                "{name}"
            );
        }
        let answer = step(&mut conn, &bytes);

        if expect == "close" {
            assert_eq!(
                answer,
                vec![ServerFrame::ProtocolError {
                    code: ErrorCode::FrameTooLarge
                }],
                "{name}"
            );
            assert!(conn.is_finished(), "{name}: connection must close");
            assert!(!conn.wants_input(), "{name}");
            assert!(step(&mut conn, &frame(PING_ID, Command::Ping)).is_empty());
            continue;
        }

        match expect.split_once(':') {
            Some(("protocol_error", code)) => match &answer[..] {
                [ServerFrame::ProtocolError { code: actual }] => {
                    assert_eq!(code_name(*actual), code, "{name}")
                }
                other => panic!("{name}: expected a protocol error, got {other:?}"),
            },
            Some(("reply_error", code)) => {
                let request = RequestId(vector["request"].as_u64().unwrap() as u32);
                match &answer[..] {
                    [
                        ServerFrame::Reply {
                            request: actual,
                            result: Err(error),
                        },
                    ] => {
                        assert_eq!(*actual, request, "{name}");
                        assert_eq!(code_name(*error), code, "{name}");
                    }
                    other => panic!("{name}: expected an error reply, got {other:?}"),
                }
            }
            _ => panic!("{name}: unknown expectation {expect}"),
        }
        assert!(!conn.is_finished(), "{name}: connection must stay open");

        // The connection goes on: after a frame sent before the hello, the hello still
        // works; after any other, a ping is answered.
        if before_hello {
            let greeting = step(&mut conn, &frame(0, Command::Hello));
            assert!(
                matches!(greeting[..], [ServerFrame::Hello { .. }]),
                "{name}"
            );
        }
        let pong = step(&mut conn, &frame(PING_ID, Command::Ping));
        assert_eq!(
            pong,
            vec![ServerFrame::Reply {
                request: RequestId(PING_ID),
                result: Ok(Reply::Pong)
            }],
            "{name}: connection must keep serving"
        );
    }
}

/// The whole corpus sent back to back on one connection, then a ping: every non-fatal
/// frame is answered in order and the stream never loses sync.
#[test]
fn the_corpus_in_one_burst_keeps_the_stream_in_sync() {
    let mut conn = relay();
    step(&mut conn, &frame(0, Command::Hello));
    let mut burst = Vec::new();
    let mut expected = 0;
    for vector in corpus() {
        let fatal = vector["expect"] == "close";
        let before_hello = vector["before_hello"].as_bool().unwrap_or(false);
        if fatal || before_hello {
            continue;
        }
        burst.extend(hex::decode(vector["hex"].as_str().unwrap()).unwrap());
        expected += 1;
    }
    burst.extend(frame(PING_ID, Command::Ping));
    // Fed in small pieces, as a stream would deliver them.
    let mut answers = Vec::new();
    for piece in burst.chunks(997) {
        answers.extend(step(&mut conn, piece));
    }
    assert_eq!(answers.len(), expected + 1);
    assert_eq!(
        answers.last(),
        Some(&ServerFrame::Reply {
            request: RequestId(PING_ID),
            result: Ok(Reply::Pong)
        })
    );
}
