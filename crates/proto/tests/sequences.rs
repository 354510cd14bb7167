//! The connection fuzz harness (`support/harness.rs`) run by `cargo test`: the checked-in
//! seed corpus of the cargo-fuzz target, then bounded random sequences. Longer runs:
//! `.ci/fuzz-relay` (cargo fuzz, see `fuzz/README.md`).

#[path = "support/harness.rs"]
mod harness;

use proptest::prelude::*;

#[test]
fn the_seed_corpus_holds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/connection");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).expect("the seed corpus is checked in") {
        let path = entry.expect("a corpus entry").path();
        harness::run(&std::fs::read(&path).expect("a seed"));
        seeds += 1;
    }
    assert!(seeds >= 8, "only {seeds} seeds in {}", dir.display());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_stream_events_keeps_the_invariants(
        data in proptest::collection::vec(any::<u8>(), 0..2_048)
    ) {
        harness::run(&data);
    }

    #[test]
    fn sequences_of_mostly_frames_and_time(
        ops in proptest::collection::vec((1u8..=4, any::<[u8; 6]>()), 0..200)
    ) {
        let data: Vec<u8> = ops
            .into_iter()
            .flat_map(|(op, args)| std::iter::once(op).chain(args))
            .collect();
        harness::run(&data);
    }
}
