//! A byte stream cut into random chunks: the streaming decoder yields the same sequence
//! of outcomes however the stream is split, never panics, and stops at a fatal error.
#![no_main]

use boucle_wire::{ClientFrame, FrameDecoder, WireError};
use libfuzzer_sys::fuzz_target;

/// Decodes `stream` fed in the given chunk sizes; returns each frame's outcome.
fn run(stream: &[u8], chunks: &[u8]) -> Vec<Result<ClientFrame, WireError>> {
    let mut decoder = FrameDecoder::default();
    let mut outcomes = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().map_or(rest.len(), |&s| usize::from(s).max(1));
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        decoder.extend(piece);
        loop {
            match decoder.decode::<ClientFrame>() {
                Ok(Some(frame)) => outcomes.push(Ok(frame)),
                Ok(None) => break,
                Err(error) => {
                    let fatal = error.is_fatal();
                    outcomes.push(Err(error));
                    if fatal {
                        return outcomes;
                    }
                }
            }
        }
    }
    outcomes
}

fuzz_target!(|data: &[u8]| {
    // First byte: how many of the following bytes describe chunk sizes.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (chunks, stream) = rest.split_at(usize::from(n % 16).min(rest.len()));
    let whole = run(stream, &[]);
    let chunked = run(stream, chunks);
    assert_eq!(whole, chunked, "outcomes depend on how the stream was split");
});
