//! Any bytes given to the client's frame decoder: it never panics, and whatever it
//! accepts re-encodes to a frame that decodes to the same value. (Byte equality is not
//! asserted: postcard accepts over-long varints such as `80 00` for 0, so a v1 decoder
//! admits more than one encoding of a value; encoders always write the shortest one,
//! see protocol-spec/wire-format.md.)
#![no_main]

use boucle_wire::{ServerFrame, decode_payload, frame_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `data` is a frame's content: version byte and payload.
    if let Ok(frame) = decode_payload::<ServerFrame>(data) {
        let bytes = frame_bytes(&frame).expect("a decoded frame re-encodes");
        assert!(bytes.len() <= data.len() + 4, "re-encoding grew the frame");
        let again = decode_payload::<ServerFrame>(&bytes[4..]).expect("re-encoding decodes");
        assert_eq!(again, frame);
        assert_eq!(frame_bytes(&again).expect("encodes"), bytes, "encoding is not stable");
    }
});
