//! A fuzz harness for the relay's side of a connection: a byte string is read as a
//! sequence of stream events — raw bytes in arbitrary chunks, well-formed frames of every
//! command (split anywhere), a FIN, time passing, replies from a fake store in any order,
//! deliveries, trims — driven into a [`ServerConnection`] the way the relay drives it.
//! After every event it checks what must always hold:
//! - nothing panics, and everything the connection writes decodes as server frames;
//! - requests in flight never exceed `max_in_flight`, and only requests handed out are
//!   answered;
//! - input memory never exceeds what [`ServerConnection::input_growth_for`] promised, nor
//!   one frame and two growth steps, and is all given back once nothing is buffered;
//! - once a deadline has passed and `handle_timeout` ran, the connection is finished or
//!   its next deadline is later; a connection with nothing subscribed, nothing in flight
//!   and no frame completed for `unsubscribed_idle` is finished; so is one without a
//!   hello after `hello_timeout`.
//!
//! Used by `tests/sequences.rs` (proptest, bounded, in `cargo test`) and by the
//! cargo-fuzz target in `fuzz/` (longer runs).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use boucle_proto::{INPUT_STEP, Request, ServerConnection, ServerSettings};
use boucle_wire::{
    BatchRecipient, Body, Challenge, ClientFrame, Command, Envelope, ErrorCode, FrameDecoder,
    Header, MAX_FRAME_LEN, MailboxStatus, PublicKey, ReceiveId, RelayLimits, Reply, RequestId,
    SendId, Seq, ServerFrame, Signature, encode_frame, subscribe_proof,
};
use ed25519_dalek::{Signer, SigningKey};

const CHALLENGE: [u8; 32] = [0x5a; 32];

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// Runs one sequence. Panics (with a message) if an invariant breaks.
pub fn run(data: &[u8]) {
    let owner = SigningKey::from_bytes(&[7; 32]);
    let owner_key = PublicKey::from_bytes(owner.verifying_key().to_bytes());
    let limits = RelayLimits {
        max_body: 2_048,
        max_header: 64,
        max_batch: 4,
        max_in_flight: 8,
        token_required: false,
    };
    let mut settings = ServerSettings::new(limits);
    settings.delivery_window = 4;
    settings.max_proven = 2;
    settings.hello_timeout = Duration::from_secs(10);
    settings.unsubscribed_idle = Duration::from_secs(30);
    settings.frame_timeout = Duration::from_secs(20);
    let start = Instant::now();
    let mut now = start;
    let mut conn = ServerConnection::new(Challenge::from_bytes(CHALLENGE), settings, now);
    let mut pending: VecDeque<(RequestId, Option<ReceiveId>)> = VecDeque::new();
    let mut out = FrameDecoder::default();
    let mut next_request = 1u32;
    let mut fin = false;
    let mut hello_seen = false;
    let mut next_seq = 0u64;
    let mut input = Input(data);

    while let Some(op) = input.byte() {
        match op % 9 {
            // Raw bytes, in a chunk of arbitrary size.
            0 => {
                let n = usize::from(input.byte().unwrap_or(0)) * 4;
                let chunk = input.bytes(n).to_vec();
                feed(&mut conn, now, &chunk, fin);
            }
            // A well-formed frame, split at an arbitrary point.
            1 | 2 => {
                let kind = input.byte().unwrap_or(0);
                let frame = frame(kind, &mut input, &owner, next_request);
                next_request = next_request.wrapping_add(1);
                let mut bytes = Vec::new();
                if encode_frame(&frame, &mut bytes).is_err() {
                    continue;
                }
                let cut = usize::from(input.byte().unwrap_or(255)) * bytes.len() / 255;
                feed(&mut conn, now, &bytes[..cut], fin);
                feed(&mut conn, now, &bytes[cut..], fin);
            }
            // Time passes.
            3 => {
                let step = Duration::from_millis(u64::from(input.byte().unwrap_or(0)) * 250);
                now += step;
                let due = conn.poll_timeout();
                conn.handle_timeout(now);
                if let Some(due) = due
                    && due <= now
                {
                    assert!(
                        conn.is_finished() || conn.poll_timeout().is_some_and(|next| next > now),
                        "a deadline passed and nothing happened"
                    );
                }
            }
            // The store answers a pending request (oldest or newest first).
            4 => {
                let newest = input.byte().unwrap_or(0) % 2 == 1;
                let code = input.byte().unwrap_or(0);
                let next = if newest {
                    pending.pop_back()
                } else {
                    pending.pop_front()
                };
                if let Some((request, _)) = next {
                    conn.reply(request, reply_for(code));
                }
            }
            // The store delivers an envelope to a subscribed mailbox.
            5 => {
                let ids: Vec<ReceiveId> = conn.subscribed().copied().collect();
                if let Some(receive_id) = ids.first() {
                    let room = conn.window(receive_id).map(|w| w.room).unwrap_or(0);
                    let delivered =
                        conn.deliver(*receive_id, Seq(next_seq), &Header::default(), &body(16));
                    assert_eq!(delivered, room > 0, "deliver honours the window");
                    next_seq += 1;
                }
            }
            // The client half-closes.
            6 => fin = true,
            // The relay shuts down.
            7 if input.byte().unwrap_or(0) == 0 => conn.shut_down(),
            _ => {}
        }
        // The driver's part after every event, as the relay does it.
        while let Some(request) = conn.poll_request() {
            hello_seen = true;
            match request {
                Request::Subscribe { request, claim } => {
                    let result = conn
                        .verify_claim(claim, &owner_key)
                        .map(|_| Reply::Subscribed { stored: 0 });
                    conn.reply(request, result);
                }
                Request::Ack { .. } => {}
                Request::CreateMailbox { request, .. }
                | Request::Send { request, .. }
                | Request::SendBatch { request, .. }
                | Request::Status { request, .. }
                | Request::SetSenderKey { request, .. } => pending.push_back((request, None)),
                Request::Unsubscribe { request, mailbox }
                | Request::DeleteMailbox { request, mailbox } => {
                    pending.push_back((request, Some(*mailbox.receive_id())));
                }
                _ => {}
            }
            assert!(conn.in_flight() <= 8, "in flight beyond max_in_flight");
        }
        assert_eq!(conn.in_flight(), pending.len(), "in-flight bookkeeping");
        conn.trim_input();
        if conn.input_buffered() == 0 {
            assert_eq!(conn.input_memory(), 0, "input memory given back");
        }
        assert!(
            conn.input_memory() <= MAX_FRAME_LEN + 4 + 2 * INPUT_STEP,
            "input memory {} beyond a frame and two steps",
            conn.input_memory()
        );
        out.extend(&conn.take_transmit());
        loop {
            match out.decode::<ServerFrame>() {
                Ok(Some(ServerFrame::Hello { .. })) => hello_seen = true,
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => panic!("the connection wrote an undecodable frame: {error}"),
            }
        }
        if !conn.is_finished() {
            conn.handle_timeout(now);
        }
        if !hello_seen && now >= start + Duration::from_secs(10) {
            assert!(conn.is_finished(), "no hello after the hello timeout");
        }
    }
}

/// Feeds bytes the way the relay does: only while the connection wants input, never more
/// memory than it said a read could take.
fn feed(conn: &mut ServerConnection, now: Instant, bytes: &[u8], fin: bool) {
    if fin {
        return;
    }
    for piece in bytes.chunks(1_500) {
        if !conn.wants_input() {
            return;
        }
        let promised = conn.input_growth_for(piece.len());
        let before = conn.input_memory();
        conn.handle_bytes(now, piece);
        assert!(
            conn.input_memory() <= before + promised,
            "input grew by {} though {promised} was promised",
            conn.input_memory() - before
        );
    }
}

fn body(n: usize) -> Body {
    Body::new(vec![0xab; n]).unwrap_or_default()
}

fn id16(input: &mut Input<'_>) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[0] = input.byte().unwrap_or(0) % 4;
    id
}

fn frame(kind: u8, input: &mut Input<'_>, owner: &SigningKey, request: u32) -> ClientFrame {
    let request = RequestId(request);
    let receive_id = ReceiveId::from_bytes(id16(input));
    let command = match kind % 12 {
        0 => Command::Hello,
        1 => Command::Ping,
        2 => Command::CreateMailbox {
            owner_key: PublicKey::from_bytes(owner.verifying_key().to_bytes()),
            access_token: None,
        },
        3 => {
            // A valid proof for this connection's challenge, or garbage.
            let valid = !input.byte().unwrap_or(0).is_multiple_of(4);
            let signature = if valid {
                owner
                    .sign(&subscribe_proof(
                        &Challenge::from_bytes(CHALLENGE),
                        &receive_id,
                    ))
                    .to_bytes()
            } else {
                [1u8; 64]
            };
            Command::Subscribe {
                receive_id,
                signature: Signature::from_bytes(signature),
            }
        }
        4 => Command::Unsubscribe { receive_id },
        5 => Command::DeleteMailbox { receive_id },
        6 => Command::SetSenderKey {
            receive_id,
            sender_key: None,
        },
        7 | 8 => {
            let size = usize::from(input.byte().unwrap_or(0)) * 16;
            Command::Send {
                send_id: SendId::from_bytes(id16(input)),
                envelope: Envelope {
                    header: Header::default(),
                    body: body(size),
                },
                sender_signature: None,
            }
        }
        9 => {
            let n = usize::from(input.byte().unwrap_or(0) % 6);
            Command::SendBatch {
                body: body(64),
                recipients: (0..n)
                    .map(|_| BatchRecipient {
                        send_id: SendId::from_bytes(id16(input)),
                        header: Header::default(),
                        sender_signature: None,
                    })
                    .collect(),
            }
        }
        10 => Command::Ack {
            receive_id,
            seq: Seq(u64::from(input.byte().unwrap_or(0))),
        },
        _ => Command::Status { receive_id },
    };
    ClientFrame { request, command }
}

fn reply_for(code: u8) -> Result<Reply, ErrorCode> {
    match code % 6 {
        0 => Ok(Reply::Stored),
        1 => Ok(Reply::Done),
        2 => Ok(Reply::BatchStored {
            outcomes: vec![Ok(()), Err(ErrorCode::QuotaExceeded)],
        }),
        3 => Ok(Reply::Status(MailboxStatus {
            envelopes: 1,
            bytes: 16,
            max_envelopes: 10,
            max_bytes: 1_000,
            sender_key_required: false,
        })),
        4 => Err(ErrorCode::UnknownMailbox),
        _ => Err(ErrorCode::StorageFailure),
    }
}
