//! Relay and mailbox addresses, as text and as postcard bytes: parsing never panics,
//! and a parsed text address prints back to text that parses to the same address.
#![no_main]

use boucle_wire::{MailboxAddress, RelayAddress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(address) = text.parse::<RelayAddress>() {
            let printed = address.to_string();
            assert_eq!(printed.parse::<RelayAddress>().as_ref(), Ok(&address), "{printed}");
        }
        if let Ok(address) = text.parse::<MailboxAddress>() {
            let printed = address.to_string();
            assert_eq!(printed.parse::<MailboxAddress>().as_ref(), Ok(&address), "{printed}");
        }
    }
    // The binary forms (as stored in contact cards) must not panic either.
    let _ = postcard::from_bytes::<RelayAddress>(data).map(|a| a.to_string());
    let _ = postcard::from_bytes::<MailboxAddress>(data).map(|a| a.to_string());
});
