//! `crypto-bench`: the figures the issue asks for.
//!
//! Run with `cargo run --release -p boucle-crypto --bin crypto-bench`.
//! CPU time is the calling thread's on-CPU time from
//! `/proc/thread-self/schedstat` (falls back to wall time elsewhere); every
//! measurement is single-threaded.

use std::time::{Duration, Instant};

/// The bench's errors: whatever a step reports, printed by `main`.
type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;
use boucle_crypto::*;

fn cpu_now() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs `f` and returns (CPU time, result).
fn cpu<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let (c0, w0) = (cpu_now(), Instant::now());
    let out = f();
    let d = match (c0, cpu_now()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => w0.elapsed(),
    };
    (d, out)
}

/// Repeats `f` until at least 300 ms of CPU time and returns the CPU time
/// per call.
fn per_op(mut f: impl FnMut() -> Result<()>) -> (Duration, Result<()>) {
    let mut n = 0u32;
    let (d, r) = cpu(|| -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(300) || n < 3 {
            f()?;
            n += 1;
        }
        Ok(())
    });
    (d / n.max(1), r)
}

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn text(rng: &mut impl rand::CryptoRng, s: &str) -> Message {
    Message {
        id: MessageId::random(rng),
        sent_at: T0,
        content: Content::Text(s.to_owned()),
    }
}

struct Member {
    account: Account,
    card: ContactCard,
}

fn member(i: usize, rng: &mut impl rand::CryptoRng) -> Member {
    let mut account = Account::new();
    let mailbox = MailboxKeys::generate(rng);
    let card = account.member_card(
        mailbox.seal_key(),
        MailboxAddress(format!("mbx-{i}").into_bytes()),
    );
    Member { account, card }
}

fn pairwise(rng: &mut impl rand::CryptoRng) -> Result<()> {
    let mut alice = Account::new();
    let mut bob = Account::new();
    let bob_mbx = MailboxKeys::generate(rng);
    let alice_mbx = MailboxKeys::generate(rng);
    let card = bob.contact_card(bob_mbx.seal_key(), MailboxAddress(b"bob".to_vec()));
    let mut a = PairwiseSession::outbound(&alice, &card)?;
    let first = a.encrypt(&text(rng, "hi"))?;
    let env = seal_pairwise(rng, &alice.sender_proof(), &first, card.seal_key())?;
    let (mut b, _) =
        PairwiseSession::inbound(&mut bob, &open(&bob_mbx, &[], &env.header, &env.body)?)?;
    let reply = b.encrypt(&text(rng, "hello"))?;
    a.decrypt_ciphertext(&mut alice, &reply)?;
    let msg = text(
        rng,
        "a typical short chat message, about sixty bytes long....",
    );

    let n = 30_000;
    let (d, r) = cpu(|| -> Result<()> {
        for _ in 0..n {
            let ct = a.encrypt(&msg)?;
            b.decrypt_ciphertext(&mut bob, &ct)?;
        }
        Ok(())
    });
    r?;
    println!(
        "pairwise Olm encrypt+decrypt, one direction: {:>8.0} msg/s",
        n as f64 / d.as_secs_f64()
    );

    let n = 5_000;
    let (d, r) = cpu(|| -> Result<()> {
        for i in 0..n {
            let (s, r, acct) = if i % 2 == 0 {
                (&mut a, &mut b, &mut bob)
            } else {
                (&mut b, &mut a, &mut alice)
            };
            let ct = s.encrypt(&msg)?;
            r.decrypt_ciphertext(acct, &ct)?;
        }
        Ok(())
    });
    r?;
    println!(
        "pairwise Olm encrypt+decrypt, ping-pong:     {:>8.0} msg/s (a DH ratchet step each)",
        n as f64 / d.as_secs_f64()
    );

    let n = 3_000;
    let proof = alice.sender_proof();
    let (d, r) = cpu(|| -> Result<()> {
        for _ in 0..n {
            let ct = a.encrypt(&msg)?;
            let env = seal_pairwise(rng, &proof, &ct, card.seal_key())?;
            let opened = open(&bob_mbx, &[], &env.header, &env.body)?;
            b.decrypt(&mut bob, &opened)?;
        }
        Ok(())
    });
    r?;
    let _ = alice_mbx;
    println!(
        "pairwise sealed (encrypt+seal+open+decrypt):  {:>8.0} msg/s (HPKE both ends)",
        n as f64 / d.as_secs_f64()
    );
    Ok(())
}

fn loops(rng: &mut impl rand::CryptoRng) -> Result<()> {
    println!();
    println!("loop message (200-character text), sender side = Megolm encrypt + seal_loop:");
    let sender = member(0, rng);
    let mut everyone: Vec<Member> = Vec::new();
    for i in 1..1000 {
        everyone.push(member(i, rng));
    }
    let msg = text(rng, &"x".repeat(200));
    for size in [10usize, 100, 1000] {
        let others: Vec<ContactCard> = everyone[..size - 1]
            .iter()
            .map(|m| m.card.clone())
            .collect();
        let (mut l, _) = LoopSession::create(
            &sender.account,
            LoopId::random(rng),
            "bench",
            sender.card.clone(),
            others,
            T0,
        )?;
        l.rotate(rng, T0)?;
        let recipients = l.recipients();
        let mut upload = 0;
        let mut body = 0;
        let (per, r) = per_op(|| -> Result<()> {
            let ct = l.encrypt(&msg, T0)?;
            let env = seal_loop(rng, &sender.account.identity_keys(), &ct, &recipients)?;
            upload = env.upload_len();
            body = env.body.len();
            // Stay below the rotation threshold while measuring.
            if l.rotation_due(T0) {
                l.rotate(rng, T0)?;
            }
            Ok(())
        });
        r?;
        println!(
            "  {size:>4} members: {:>8.3} ms sender CPU, {upload:>7} B uploaded (body {body} B + {} x {} B headers)",
            per.as_secs_f64() * 1e3,
            size - 1,
            HEADER_LEN,
        );
    }

    // Receiver side for 1000 members: the header is tried against 999 keys.
    let size = 1000;
    let mut members: Vec<(Account, MailboxKeys, ContactCard)> = Vec::new();
    let admin = member(0, rng);
    for i in 1..size {
        let mut a = Account::new();
        let m = MailboxKeys::generate(rng);
        let c = a.member_card(m.seal_key(), MailboxAddress(format!("r-{i}").into_bytes()));
        members.push((a, m, c));
    }
    let cards: Vec<ContactCard> = members.iter().map(|m| m.2.clone()).collect();
    let (mut l, create) = LoopSession::create(
        &admin.account,
        LoopId::random(rng),
        "bench",
        admin.card.clone(),
        cards.clone(),
        T0,
    )?;
    // The receiver measurement must not cross a rotation.
    l.set_policy(RotationPolicy {
        max_messages: u32::MAX,
        ..RotationPolicy::default()
    });

    // Key rotation for 1000 members: new Megolm session + 999 key shares,
    // each Olm-encrypted and sealed (HPKE) to the member's mailbox.
    let mut sessions: Vec<PairwiseSession> = cards
        .iter()
        .map(|c| PairwiseSession::outbound(&admin.account, c))
        .collect::<Result<_, _>>()?;
    let proof = admin.account.sender_proof();
    let mut upload = 0usize;
    let mut shares_for_first = None;
    let (d, r) = cpu(|| -> Result<()> {
        let share = l.rotate(rng, T0)?;
        let m = Message {
            id: MessageId::random(rng),
            sent_at: T0,
            content: Content::KeyShare(share),
        };
        for (i, (s, c)) in sessions.iter_mut().zip(&cards).enumerate() {
            let ct = s.encrypt(&m)?;
            let env = seal_pairwise(rng, &proof, &ct, c.seal_key())?;
            upload += env.header.len() + env.body.len();
            if i == 0 {
                shares_for_first = Some(env);
            }
        }
        Ok(())
    });
    r?;
    println!();
    println!(
        "key rotation, 1000 members: {:>8.1} ms sender CPU, {} B uploaded (999 pairwise envelopes)",
        d.as_secs_f64() * 1e3,
        upload
    );

    // One receiver joins, takes the share and reads a message.
    let (mut acct, mbx, _) = members.remove(0);
    let mut mine = LoopSession::join(acct.identity_keys(), &create, RotationPolicy::default())?;
    if let Some(env) = shares_for_first {
        let opened = open(&mbx, &[], &env.header, &env.body)?;
        let (_, msg) = PairwiseSession::inbound(&mut acct, &opened)?;
        if let Content::KeyShare(ks) = msg.content {
            mine.accept_key_share(&admin.account.identity_keys(), &ks)?;
        }
    }
    // Give the receiver 998 other senders' header keys to try first.
    for (other_acct, _, _) in members.iter().take(998) {
        let mut tmp = LoopSession::join(
            other_acct.identity_keys(),
            &create,
            RotationPolicy::default(),
        )?;
        let ks = tmp.rotate(rng, T0)?;
        mine.accept_key_share(&other_acct.identity_keys(), &ks)?;
    }
    let recipients = l.recipients();
    let mut recv_total = Duration::ZERO;
    let mut recv_n = 0u32;
    let idx = recipients
        .iter()
        .position(|r| r == cards[0].mailbox())
        .unwrap_or(0);
    let (per, r) = per_op(|| -> Result<()> {
        let ct = l.encrypt(&msg, T0)?;
        let env = seal_loop(rng, &admin.account.identity_keys(), &ct, &recipients)?;
        let (_, h) = &env.headers[idx];
        let (c, r) = cpu(|| -> Result<()> {
            let opened = open(&mbx, &[&mine], h, &env.body)?;
            mine.decrypt(&opened)?;
            Ok(())
        });
        recv_total += c;
        recv_n += 1;
        if l.rotation_due(T0) {
            l.rotate(rng, T0)?;
        }
        r
    });
    r?;
    let _ = per;
    let d = recv_total / recv_n.max(1);
    println!(
        "loop receive, 1000 members (header tried against 999 keys): {:>6.3} ms per message",
        d.as_secs_f64() * 1e3
    );
    Ok(())
}

fn main() -> Result<()> {
    let mut rng = rand::rng();
    println!("boucle-crypto bench (single thread)");
    pairwise(&mut rng)?;
    loops(&mut rng)?;
    Ok(())
}
