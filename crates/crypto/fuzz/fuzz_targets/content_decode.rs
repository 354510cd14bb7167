//! Message frames: decoding never panics; known kinds round-trip.
#![no_main]

use boucle_crypto::{Content, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::from_bytes(data) {
        let again = Message::from_bytes(&m.to_bytes());
        if !matches!(m.content, Content::Unsupported { .. }) {
            assert_eq!(again.ok(), Some(m));
        }
    }
});
