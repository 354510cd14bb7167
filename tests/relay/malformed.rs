//! The malformed-frame corpus of protocol-spec/vectors/wire/malformed.json, sent to the
//! real relay while another client keeps working.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use boucle_e2e::{connect, drain, mailboxes, numbered};
use boucle_relay_client::{ClientOptions, RawStream};
use boucle_test_support::{RelayOptions, RelayProcess};
use boucle_wire::{
    ClientFrame, Command, ErrorCode, FrameDecoder, RequestId, ServerFrame, encode_frame,
};

const WAIT: Duration = Duration::from_secs(10);

struct Case {
    name: String,
    bytes: Vec<u8>,
    expect: String,
    before_hello: bool,
}

fn corpus() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol-spec/vectors/wire/malformed.json"
    );
    let text = std::fs::read_to_string(path).expect("the corpus");
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).expect("valid JSON");
    cases
        .into_iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            bytes: hex::decode(c["hex"].as_str().unwrap()).unwrap(),
            expect: c["expect"].as_str().unwrap().to_owned(),
            before_hello: c["before_hello"].as_bool().unwrap_or(false),
        })
        .collect()
}

struct Raw {
    stream: RawStream,
    decoder: FrameDecoder,
}

impl Raw {
    async fn open(relay: &RelayProcess, hello: bool) -> anyhow::Result<Raw> {
        let stream = RawStream::open(relay.address(), &ClientOptions::default()).await?;
        let mut raw = Raw {
            stream,
            decoder: FrameDecoder::default(),
        };
        if hello {
            let mut bytes = Vec::new();
            encode_frame(
                &ClientFrame {
                    request: RequestId(0),
                    command: Command::Hello,
                },
                &mut bytes,
            )?;
            raw.write(&bytes).await?;
            assert!(matches!(raw.next().await?, Some(ServerFrame::Hello { .. })));
        }
        Ok(raw)
    }

    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.send.write_all(bytes).await?;
        Ok(())
    }

    /// The next frame, or `None` if the relay closed the stream.
    async fn next(&mut self) -> anyhow::Result<Option<ServerFrame>> {
        loop {
            if let Some(frame) = self.decoder.decode::<ServerFrame>()? {
                return Ok(Some(frame));
            }
            let chunk =
                tokio::time::timeout(WAIT, self.stream.recv.read_chunk(65_536, true)).await?;
            match chunk {
                Ok(Some(chunk)) => self.decoder.extend(&chunk.bytes),
                Ok(None) | Err(_) => return Ok(None),
            }
        }
    }
}

fn code_named(name: &str) -> ErrorCode {
    (0..64u16)
        .map(ErrorCode::from)
        .find(|c| format!("{c:?}") == name)
        .unwrap_or_else(|| panic!("unknown code {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_frame_gets_an_error_and_other_clients_keep_working() -> anyhow::Result<()>
{
    let relay = RelayProcess::start(RelayOptions::default())?;

    // A well-behaved client sends steadily the whole time.
    let healthy = connect(relay.address()).await?;
    let mailbox = mailboxes(&healthy, 1).await?.remove(0);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU32::new(0));
    let background = {
        let (healthy, stop, sent) = (healthy.clone(), stop.clone(), sent.clone());
        let send_id = mailbox.ids.send_id;
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 5_000 {
                healthy.send(send_id, numbered(0, n, 128)).await?;
                sent.fetch_add(1, Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            anyhow::Ok(())
        })
    };

    let cases = corpus();
    assert!(cases.len() >= 20, "the corpus is loaded");
    let mut shared = Raw::open(&relay, true).await?;
    for case in &cases {
        let outcome = if case.before_hello || case.expect == "close" {
            let mut own = Raw::open(&relay, !case.before_hello).await?;
            own.write(&case.bytes).await?;
            check(&mut own, case).await
        } else {
            shared.write(&case.bytes).await?;
            check(&mut shared, case).await
        };
        outcome.map_err(|e| anyhow::anyhow!("case {:?}: {e}", case.name))?;
    }
    // After the whole corpus, the shared connection still answers a ping.
    let mut ping = Vec::new();
    encode_frame(
        &ClientFrame {
            request: RequestId(999),
            command: Command::Ping,
        },
        &mut ping,
    )?;
    shared.write(&ping).await?;
    assert!(matches!(
        shared.next().await?,
        Some(ServerFrame::Reply {
            request: RequestId(999),
            result: Ok(_)
        })
    ));

    stop.store(true, Ordering::Relaxed);
    background.await??;
    let delivered = drain(&healthy, &mailbox, WAIT).await?;
    assert_eq!(delivered.len() as u32, sent.load(Ordering::Relaxed));
    assert!(!delivered.is_empty());
    Ok(())
}

async fn check(raw: &mut Raw, case: &Case) -> anyhow::Result<()> {
    let frame = raw.next().await?;
    if case.expect == "close" {
        // The relay says why, then closes the connection: the frame saying why must
        // reach the client (closing at once used to discard it).
        match frame {
            Some(ServerFrame::ProtocolError { code }) => {
                anyhow::ensure!(code == ErrorCode::FrameTooLarge, "got {code:?}");
            }
            other => anyhow::bail!("expected ProtocolError{{FrameTooLarge}}, got {other:?}"),
        }
        let after = raw.next().await?;
        anyhow::ensure!(after.is_none(), "the connection stayed open: {after:?}");
        return Ok(());
    }
    let (kind, name) = case.expect.split_once(':').expect("kind:code");
    let want = code_named(name);
    match (kind, frame) {
        ("protocol_error", Some(ServerFrame::ProtocolError { code })) if code == want => Ok(()),
        (
            "reply_error",
            Some(ServerFrame::Reply {
                result: Err(code), ..
            }),
        ) if code == want => Ok(()),
        (_, other) => anyhow::bail!("expected {}, got {other:?}", case.expect),
    }
}

/// A client that sends its last requests and half-closes the stream (FIN) gets every
/// answer before the relay closes: closing at once used to discard the unacknowledged
/// `Stored` reply of an envelope the relay had stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sent_before_fin_are_all_answered() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let owner = connect(relay.address()).await?;
    let mailbox = mailboxes(&owner, 1).await?.remove(0);
    for round in 0..5u32 {
        let mut raw = Raw::open(&relay, false).await?;
        let mut bytes = Vec::new();
        encode_frame(
            &ClientFrame {
                request: RequestId(0),
                command: Command::Hello,
            },
            &mut bytes,
        )?;
        for n in 0..3u32 {
            let envelope = numbered(0, round * 3 + n, 1_000);
            encode_frame(
                &ClientFrame {
                    request: RequestId(1 + n),
                    command: Command::Send {
                        send_id: mailbox.ids.send_id,
                        envelope,
                        sender_signature: None,
                    },
                },
                &mut bytes,
            )?;
        }
        raw.write(&bytes).await?;
        raw.stream.send.finish()?;
        assert!(matches!(raw.next().await?, Some(ServerFrame::Hello { .. })));
        let mut stored = Vec::new();
        while let Some(frame) = raw.next().await? {
            match frame {
                ServerFrame::Reply {
                    request,
                    result: Ok(boucle_wire::Reply::Stored),
                } => stored.push(request.0),
                other => anyhow::bail!("round {round}: unexpected {other:?}"),
            }
        }
        stored.sort_unstable();
        assert_eq!(stored, vec![1, 2, 3], "round {round}: every Send answered");
    }
    assert_eq!(drain(&owner, &mailbox, WAIT).await?.len(), 15);
    Ok(())
}
