//! The deadlines that bound what a client proving nothing can hold (relay-protocol §2.4),
//! with time passed in.

use std::time::{Duration, Instant};

use boucle_proto::{CloseReason, Request, ServerConnection, ServerSettings};
use boucle_wire::{
    Challenge, ClientFrame, Command, PublicKey, ReceiveId, RelayLimits, Reply, RequestId,
    Signature, frame_bytes, subscribe_proof,
};
use ed25519_dalek::{Signer, SigningKey};

const SEC: Duration = Duration::from_secs(1);

fn relay(now: Instant) -> ServerConnection {
    let limits = RelayLimits {
        max_body: 1024,
        max_header: 64,
        max_batch: 8,
        max_in_flight: 8,
        token_required: false,
    };
    ServerConnection::new(
        Challenge::from_bytes([3; 32]),
        ServerSettings::new(limits),
        now,
    )
}

fn frame(request: u32, command: Command) -> Vec<u8> {
    frame_bytes(&ClientFrame {
        request: RequestId(request),
        command,
    })
    .unwrap()
}

fn step(conn: &mut ServerConnection, now: Instant, bytes: &[u8]) -> Vec<Request> {
    conn.handle_bytes(now, bytes);
    let mut requests = Vec::new();
    while let Some(request) = conn.poll_request() {
        requests.push(request);
    }
    conn.take_transmit();
    requests
}

#[test]
fn the_hello_deadline_covers_the_whole_hello_frame() {
    let t = Instant::now();
    let mut conn = relay(t);
    let hello = frame(0, Command::Hello);
    // One byte of a hello, then nothing: the stream is open but no hello ever completes.
    step(&mut conn, t + SEC, &hello[..1]);
    assert_eq!(conn.poll_timeout(), Some(t + 10 * SEC));
    conn.handle_timeout(t + 9 * SEC);
    assert!(!conn.is_finished());
    conn.handle_timeout(t + 10 * SEC);
    assert_eq!(conn.close_reason(), Some(CloseReason::HelloTimeout));
}

#[test]
fn quic_pings_do_not_keep_an_unsubscribed_connection_but_frames_do() {
    let t = Instant::now();
    let mut conn = relay(t);
    step(&mut conn, t, &frame(0, Command::Hello));
    // A ping frame at 50 s resets the clock; nothing else arrives (QUIC PINGs never
    // reach the state machine).
    step(&mut conn, t + 50 * SEC, &frame(1, Command::Ping));
    conn.handle_timeout(t + 109 * SEC);
    assert!(!conn.is_finished());
    assert_eq!(conn.poll_timeout(), Some(t + 110 * SEC));
    conn.handle_timeout(t + 110 * SEC);
    assert_eq!(conn.close_reason(), Some(CloseReason::Idle));
}

#[test]
fn a_request_in_flight_or_a_subscription_keeps_a_connection() {
    let t = Instant::now();
    let mut conn = relay(t);
    step(&mut conn, t, &frame(0, Command::Hello));
    let owner = SigningKey::from_bytes(&[9; 32]);
    let receive_id = ReceiveId::from_bytes([4; 16]);
    let proof = owner.sign(&subscribe_proof(
        &Challenge::from_bytes([3; 32]),
        &receive_id,
    ));
    let requests = step(
        &mut conn,
        t + SEC,
        &frame(
            1,
            Command::Subscribe {
                receive_id,
                signature: Signature::from_bytes(proof.to_bytes()),
            },
        ),
    );
    // The store takes 100 s to answer: the connection waits for it.
    conn.handle_timeout(t + 100 * SEC);
    assert!(!conn.is_finished());
    let Some(Request::Subscribe { request, claim }) = requests.into_iter().next() else {
        panic!("a subscribe request");
    };
    let owner_key = PublicKey::from_bytes(owner.verifying_key().to_bytes());
    let result = conn
        .verify_claim(claim, &owner_key)
        .map(|_| Reply::Subscribed { stored: 0 });
    conn.reply(request, result);
    assert!(conn.has_proven());
    // Subscribed: it may idle (clients keep it with QUIC keep-alives).
    conn.handle_timeout(t + 10_000 * SEC);
    assert!(!conn.is_finished());
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn a_frame_left_incomplete_is_closed_after_the_frame_timeout() {
    let t = Instant::now();
    let mut conn = relay(t);
    step(&mut conn, t, &frame(0, Command::Hello));
    let ping = frame(1, Command::Ping);
    step(&mut conn, t + 5 * SEC, &ping[..ping.len() - 1]);
    // Unsubscribed idle (60 s) would come later; the frame's own deadline is 30 s.
    assert_eq!(conn.poll_timeout(), Some(t + 35 * SEC));
    conn.handle_timeout(t + 35 * SEC);
    assert_eq!(conn.close_reason(), Some(CloseReason::FrameTimeout));
    assert!(!conn.has_proven());
}

#[test]
fn input_memory_follows_what_arrived_not_what_a_prefix_claims() {
    let t = Instant::now();
    let mut conn = relay(t);
    step(&mut conn, t, &frame(0, Command::Hello));
    // A prefix announcing 512 KiB, and 10 bytes of it.
    let mut bytes = (512u32 * 1024).to_be_bytes().to_vec();
    bytes.extend([1u8; 10]);
    assert!(conn.input_growth_for(bytes.len()) <= boucle_proto::INPUT_STEP);
    step(&mut conn, t, &bytes);
    conn.trim_input();
    assert!(conn.input_memory() <= boucle_proto::INPUT_STEP);
    assert_eq!(conn.input_buffered(), 14);
}
