//! Pickle import: arbitrary bytes under a fixed key, and arbitrary JSON
//! correctly encrypted under that key (to reach the state decoders).
#![no_main]

use boucle_crypto::{Account, LoopSession, MailboxKeys, PairwiseSession, PickleKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [0x42; 32];

fn import_all(bytes: &[u8]) {
    let key = PickleKey::new(KEY);
    let _ = Account::from_pickle(bytes, &key);
    let _ = PairwiseSession::from_pickle(bytes, &key);
    let _ = LoopSession::from_pickle(bytes, &key);
    let _ = MailboxKeys::from_pickle(bytes, &key);
}

fuzz_target!(|data: &[u8]| {
    import_all(data);
    // Layout from protocol-spec/e2ee.md: version | kind | nonce[24] | ciphertext.
    if let Some((&kind, json)) = data.split_first() {
        let kind = 1 + kind % 4;
        let aad = [&b"boucle/e2ee/v1/pickle"[..], &[1, kind]].concat();
        let nonce = [0u8; 24];
        let cipher = XChaCha20Poly1305::new(&KEY.into());
        if let Ok(ct) = cipher.encrypt(&XNonce::from(nonce), Payload { msg: json, aad: &aad }) {
            let mut pickle = vec![1, kind];
            pickle.extend_from_slice(&nonce);
            pickle.extend_from_slice(&ct);
            import_all(&pickle);
        }
    }
});
