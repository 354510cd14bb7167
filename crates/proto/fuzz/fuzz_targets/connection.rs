//! Sequences of stream events (bytes in arbitrary chunks, well-formed frames split
//! anywhere, FIN, time passing, store replies in any order, deliveries) driven into the
//! relay's `ServerConnection`; the invariants are those of the shared harness.

#![no_main]

#[path = "../../tests/support/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
