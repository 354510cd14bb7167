//! Both state machines talking over an in-memory pipe, with a toy relay driver.

use std::collections::BTreeMap;

use boucle_proto::{ClientConnection, ClientEvent, Request, ServerConnection, ServerSettings};
use boucle_wire::{
    Body, Challenge, Envelope, ErrorCode, Header, PublicKey, ReceiveId, RelayLimits, Reply,
    RequestId, SendId, Seq,
};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

fn limits() -> RelayLimits {
    RelayLimits {
        max_body: 1024,
        max_header: 64,
        max_batch: 8,
        max_in_flight: 64,
        token_required: false,
    }
}

/// A relay with one mailbox held in memory.
struct ToyRelay {
    conn: ServerConnection,
    owner_key: PublicKey,
    receive_id: ReceiveId,
    send_id: SendId,
    stored: BTreeMap<Seq, Envelope>,
    next_seq: u64,
    cursor: u64,
}

impl ToyRelay {
    fn new(challenge: [u8; 32], owner: &SigningKey, window: usize) -> Self {
        let mut settings = ServerSettings::new(limits());
        settings.delivery_window = window;
        Self {
            conn: ServerConnection::new(
                Challenge::from_bytes(challenge),
                settings,
                std::time::Instant::now(),
            ),
            owner_key: PublicKey::from_bytes(owner.verifying_key().to_bytes()),
            receive_id: ReceiveId::from_bytes([1; 16]),
            send_id: SendId::from_bytes([2; 16]),
            stored: BTreeMap::new(),
            next_seq: 0,
            cursor: 0,
        }
    }

    fn step(&mut self, input: &[u8]) -> Vec<u8> {
        self.conn.handle_bytes(std::time::Instant::now(), input);
        while let Some(request) = self.conn.poll_request() {
            match request {
                Request::Subscribe { request, claim } => {
                    let result = if *claim.receive_id() == self.receive_id {
                        self.conn
                            .verify_claim(claim, &self.owner_key)
                            .map(|_| Reply::Subscribed {
                                stored: self.stored.len() as u32,
                            })
                    } else {
                        Err(ErrorCode::UnknownMailbox)
                    };
                    self.cursor = 0;
                    self.conn.reply(request, result);
                }
                Request::Send {
                    request,
                    send_id,
                    envelope,
                    ..
                } => {
                    let result = if send_id == self.send_id {
                        self.stored.insert(Seq(self.next_seq), envelope);
                        self.next_seq += 1;
                        Ok(Reply::Stored)
                    } else {
                        Err(ErrorCode::UnknownMailbox)
                    };
                    self.conn.reply(request, result);
                }
                Request::Ack { seq, .. } => {
                    self.stored.remove(&seq);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Deliver in order while the window allows.
        while let Some(window) = self.conn.window(&self.receive_id) {
            if window.room == 0 {
                break;
            }
            let Some((&seq, envelope)) = self.stored.range(Seq(self.cursor)..).next() else {
                break;
            };
            let envelope = envelope.clone();
            assert!(
                self.conn
                    .deliver(self.receive_id, seq, &envelope.header, &envelope.body)
            );
            self.cursor = seq.0 + 1;
        }
        self.conn.take_transmit()
    }
}

fn envelope(n: u8) -> Envelope {
    Envelope {
        header: Header::new(vec![n]).unwrap(),
        body: Body::new(vec![n; 32]).unwrap(),
    }
}

fn events(client: &mut ClientConnection) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn exchange(client: &mut ClientConnection, relay: &mut ToyRelay) -> Vec<ClientEvent> {
    let reply = relay.step(&client.take_transmit());
    client.handle_bytes(&reply).unwrap();
    events(client)
}

fn reply_of(events: &[ClientEvent], id: RequestId) -> Result<Reply, ErrorCode> {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::Reply {
                request, result, ..
            } if *request == id => Some(result.clone()),
            _ => None,
        })
        .expect("a reply for the request")
}

#[test]
fn send_subscribe_deliver_ack() {
    let owner = SigningKey::from_bytes(&[5; 32]);
    let mut relay = ToyRelay::new([9; 32], &owner, 16);
    let mut client = ClientConnection::new();
    assert!(matches!(
        exchange(&mut client, &mut relay)[0],
        ClientEvent::Ready { .. }
    ));

    let sent = client.send(relay.send_id, envelope(1), None).unwrap();
    assert_eq!(
        reply_of(&exchange(&mut client, &mut relay), sent),
        Ok(Reply::Stored)
    );

    let sub = client.subscribe(relay.receive_id, &owner).unwrap();
    let got = exchange(&mut client, &mut relay);
    assert_eq!(reply_of(&got, sub), Ok(Reply::Subscribed { stored: 1 }));
    let (seq, delivered) = got
        .iter()
        .find_map(|e| match e {
            ClientEvent::Delivery { seq, envelope, .. } => Some((*seq, envelope.clone())),
            _ => None,
        })
        .expect("a delivery");
    assert_eq!(delivered, envelope(1));
    client.ack(relay.receive_id, seq).unwrap();
    exchange(&mut client, &mut relay);
    assert!(relay.stored.is_empty());
}

#[test]
fn wrong_owner_key_is_refused() {
    let owner = SigningKey::from_bytes(&[5; 32]);
    let intruder = SigningKey::from_bytes(&[6; 32]);
    let mut relay = ToyRelay::new([9; 32], &owner, 16);
    let mut client = ClientConnection::new();
    exchange(&mut client, &mut relay);
    let sub = client.subscribe(relay.receive_id, &intruder).unwrap();
    assert_eq!(
        reply_of(&exchange(&mut client, &mut relay), sub),
        Err(ErrorCode::BadSignature)
    );
    // Without proof, acks and status are refused.
    let status = client.status(relay.receive_id).unwrap();
    assert_eq!(
        reply_of(&exchange(&mut client, &mut relay), status),
        Err(ErrorCode::NotProven)
    );
}

#[test]
fn a_proof_from_another_connection_cannot_be_replayed() {
    let owner = SigningKey::from_bytes(&[5; 32]);
    // First connection: record the subscribe frame the client wrote.
    let mut first = ToyRelay::new([1; 32], &owner, 16);
    let mut client = ClientConnection::new();
    exchange(&mut client, &mut first);
    client.subscribe(first.receive_id, &owner).unwrap();
    let recorded = client.take_transmit();

    // Second connection, different challenge: replay the recorded bytes after a hello.
    let mut second = ToyRelay::new([2; 32], &owner, 16);
    let mut attacker = ClientConnection::new();
    exchange(&mut attacker, &mut second);
    let reply = second.step(&recorded);
    let mut decoder = boucle_wire::FrameDecoder::default();
    decoder.extend(&reply);
    let frame: boucle_wire::ServerFrame = decoder.decode().unwrap().unwrap();
    assert!(matches!(
        frame,
        boucle_wire::ServerFrame::Reply {
            result: Err(ErrorCode::BadSignature),
            ..
        }
    ));
    assert!(
        second.conn.window(&second.receive_id).is_none(),
        "not subscribed"
    );
}

#[test]
fn oversized_envelope_and_garbage_get_errors_and_the_connection_goes_on() {
    let owner = SigningKey::from_bytes(&[5; 32]);
    let mut relay = ToyRelay::new([9; 32], &owner, 16);
    let mut client = ClientConnection::new();
    exchange(&mut client, &mut relay);

    let big = Envelope {
        header: Header::default(),
        body: Body::new(vec![0; 2048]).unwrap(),
    };
    let sent = client.send(relay.send_id, big, None).unwrap();
    assert_eq!(
        reply_of(&exchange(&mut client, &mut relay), sent),
        Err(ErrorCode::EnvelopeTooLarge)
    );

    // A frame of garbage, then a ping.
    let reply = relay.step(&[0, 0, 0, 4, 1, 0xff, 0xff, 0xff]);
    client.handle_bytes(&reply).unwrap();
    assert!(events(&mut client).contains(&ClientEvent::ProtocolError {
        code: ErrorCode::Malformed
    }));
    let ping = client.ping().unwrap();
    assert_eq!(
        reply_of(&exchange(&mut client, &mut relay), ping),
        Ok(Reply::Pong)
    );
}

#[test]
fn delivery_stops_at_the_window_and_resumes_on_ack() {
    let owner = SigningKey::from_bytes(&[5; 32]);
    let mut relay = ToyRelay::new([9; 32], &owner, 4);
    let mut client = ClientConnection::new();
    exchange(&mut client, &mut relay);
    for n in 0..10 {
        client.send(relay.send_id, envelope(n), None).unwrap();
    }
    exchange(&mut client, &mut relay);
    client.subscribe(relay.receive_id, &owner).unwrap();
    let mut received = Vec::new();
    let mut got = exchange(&mut client, &mut relay);
    for _ in 0..10 {
        let seqs: Vec<Seq> = got
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Delivery { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        assert!(seqs.len() <= 4, "window respected");
        for seq in &seqs {
            client.ack(relay.receive_id, *seq).unwrap();
        }
        received.extend(seqs);
        got = exchange(&mut client, &mut relay);
    }
    assert_eq!(received, (0..10).map(Seq).collect::<Vec<_>>());
}

proptest! {
    #[test]
    fn server_survives_any_bytes(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let owner = SigningKey::from_bytes(&[5; 32]);
        let mut relay = ToyRelay::new([9; 32], &owner, 4);
        for chunk in chunks {
            let _ = relay.step(&chunk);
        }
    }

    #[test]
    fn client_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut client = ClientConnection::new();
        let _ = client.handle_bytes(&bytes);
        while client.poll_event().is_some() {}
    }
}
