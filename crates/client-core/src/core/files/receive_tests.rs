//! The receiving rules on a real store, without a network: order, duplicates, other
//! senders, damage, deletion.

use std::collections::HashMap;

use boucle_crypto::{Account, AttachmentRef, Content, LoopId, Message, MessageId, Timestamp};
use boucle_wire::{CertFingerprint, RelayAddress};

use super::blob::{self, Locator, MIN_CHUNK_SIZE};
use super::{
    ATTACHMENTS, AttachmentRecord, FILE_CHUNKS, ORPHAN_CHUNKS, Stored, delete_attachment_data,
    on_message,
};
use crate::core::Core;
use crate::ids::ConversationId;
use crate::model::{Counters, ProfileRecord};
use crate::store::{KdfParams, ProfileStore};

const SENDER: [u8; 32] = [7; 32];
const OTHER: [u8; 32] = [8; 32];

fn conversation() -> ConversationId {
    ConversationId::Loop(LoopId([3; 16]))
}

fn core(dir: &std::path::Path) -> Core {
    let store = ProfileStore::create(dir, "pass", KdfParams::for_tests()).unwrap();
    Core {
        pickle_key: store.pickle_key(),
        store,
        account: Account::new(),
        profile: ProfileRecord {
            name: "Test".into(),
            home_relay: String::new(),
            access_token: None,
            created_at: 0,
        },
        home: RelayAddress::new("127.0.0.1", 1, CertFingerprint::from_bytes([0; 32])).unwrap(),
        counters: Counters::default(),
        sessions: HashMap::new(),
        mailboxes: HashMap::new(),
        loops: HashMap::new(),
        member_sessions: HashMap::new(),
        now: 1_000,
        rng: std::cell::RefCell::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7)),
        names: Default::default(),
        kept: Vec::new(),
        send_keys: HashMap::new(),
    }
}

/// A file of three chunks, its reference and its chunk messages.
struct File {
    plain: Vec<u8>,
    reference: Message,
    chunks: Vec<Message>,
}

fn file() -> File {
    let plain: Vec<u8> = (0..2 * MIN_CHUNK_SIZE as usize + 100)
        .map(|i| (i % 253) as u8)
        .collect();
    let sealed = blob::seal(&plain, MIN_CHUNK_SIZE, zeroize::Zeroizing::new([9; 32])).unwrap();
    let id = MessageId([9; 16]);
    let reference = Message {
        id,
        sent_at: Timestamp(1),
        content: Content::Attachment(AttachmentRef {
            locator: sealed.locator.to_bytes(),
            key: *sealed.key,
            sha256: sealed.sha256,
            size: plain.len() as u64,
            media_type: "application/pdf".into(),
            name: "../tract.pdf".into(),
        }),
    };
    let chunks = (0u32..)
        .zip(sealed.chunks)
        .map(|(index, data)| Message {
            id: MessageId([10 + index as u8; 16]),
            sent_at: Timestamp(2),
            content: Content::FileChunk {
                attachment: id,
                index,
                data,
            },
        })
        .collect();
    File {
        plain,
        reference,
        chunks,
    }
}

/// Applies a message as the inbound path does; returns the number of events.
fn deliver(core: &Core, from: &[u8; 32], message: &Message) -> usize {
    let effects = on_message(core, conversation(), from, message, false).unwrap();
    core.store.write(|batch| effects.write(batch)).unwrap();
    effects.events.len()
}

fn state(core: &Core, id: &MessageId) -> Stored {
    core.store
        .get_value::<AttachmentRecord>(ATTACHMENTS, &id.0)
        .unwrap()
        .unwrap()
        .state
}

fn bytes(core: &Core, f: &File) -> Vec<u8> {
    let record: AttachmentRecord = core
        .store
        .get_value(ATTACHMENTS, &f.reference.id.0)
        .unwrap()
        .unwrap();
    let tag = super::chunk_tag(conversation(), &record.sender, &f.reference.id);
    let chunks = core
        .store
        .scan(FILE_CHUNKS, &super::chunk_prefix(&f.reference.id, &tag))
        .unwrap();
    let locator = record.locator.unwrap();
    blob::open(
        &record.key,
        record.size,
        &locator,
        chunks.iter().map(|(_, d)| d.as_slice()),
    )
    .unwrap()
    .to_vec()
}

fn tampered(message: &Message, f: impl FnOnce(&mut Vec<u8>)) -> Message {
    let mut message = message.clone();
    if let Content::FileChunk { data, .. } = &mut message.content {
        f(data);
    }
    message
}

#[test]
fn in_order_with_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let f = file();
    deliver(&core, &SENDER, &f.reference);
    let record: AttachmentRecord = core
        .store
        .get_value(ATTACHMENTS, &f.reference.id.0)
        .unwrap()
        .unwrap();
    assert_eq!(record.name, "tract.pdf");
    for chunk in &f.chunks {
        deliver(&core, &SENDER, chunk);
        assert_eq!(
            deliver(&core, &SENDER, chunk),
            0,
            "a duplicate does nothing"
        );
    }
    assert_eq!(state(&core, &f.reference.id), Stored::Complete);
    assert_eq!(bytes(&core, &f), f.plain);
}

#[test]
fn chunks_before_their_reference_are_kept_and_other_senders_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let f = file();
    // Someone else sends a forged chunk 0 under the same id first, then the real ones.
    let forged = tampered(&f.chunks[0], |d| d[0] ^= 1);
    deliver(&core, &OTHER, &forged);
    deliver(&core, &SENDER, &f.chunks[2]);
    deliver(&core, &SENDER, &f.chunks[0]);
    assert!(core.store.count(ORPHAN_CHUNKS, b"").unwrap() == 1);
    deliver(&core, &SENDER, &f.reference);
    assert_eq!(core.store.count(ORPHAN_CHUNKS, b"").unwrap(), 0);
    assert_eq!(
        core.store.count(FILE_CHUNKS, b"").unwrap(),
        2,
        "the forged chunk is gone"
    );
    // After the reference, another sender's chunks are ignored.
    deliver(&core, &OTHER, &f.chunks[1]);
    assert_eq!(core.store.count(FILE_CHUNKS, b"").unwrap(), 2);
    assert!(matches!(state(&core, &f.reference.id), Stored::Receiving));
    deliver(&core, &SENDER, &f.chunks[1]);
    assert_eq!(state(&core, &f.reference.id), Stored::Complete);
    assert_eq!(bytes(&core, &f), f.plain);
}

#[test]
fn a_damaged_chunk_fails_the_file_and_drops_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let f = file();
    deliver(&core, &SENDER, &f.reference);
    deliver(&core, &SENDER, &f.chunks[0]);
    deliver(&core, &SENDER, &tampered(&f.chunks[1], |d| d[3] ^= 0x40));
    deliver(&core, &SENDER, &f.chunks[2]);
    let Stored::Failed(reason) = state(&core, &f.reference.id) else {
        panic!("should have failed");
    };
    assert!(reason.contains("checksum"), "{reason}");
    assert_eq!(core.store.count(FILE_CHUNKS, b"").unwrap(), 0);
    // A late correct chunk changes nothing.
    assert_eq!(deliver(&core, &SENDER, &f.chunks[1]), 0);
    assert_eq!(core.store.count(FILE_CHUNKS, b"").unwrap(), 0);
}

#[test]
fn a_chunk_of_the_wrong_size_fails_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let f = file();
    deliver(&core, &SENDER, &f.reference);
    deliver(&core, &SENDER, &tampered(&f.chunks[0], |d| d.push(0)));
    assert!(matches!(state(&core, &f.reference.id), Stored::Failed(_)));
}

#[test]
fn a_wrong_key_fails_the_file_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let mut f = file();
    if let Content::Attachment(reference) = &mut f.reference.content {
        reference.key = [1; 32];
    }
    deliver(&core, &SENDER, &f.reference);
    for chunk in &f.chunks {
        deliver(&core, &SENDER, chunk);
    }
    let Stored::Failed(reason) = state(&core, &f.reference.id) else {
        panic!("should have failed");
    };
    assert!(reason.contains("decrypt"), "{reason}");
}

#[test]
fn an_invalid_reference_is_recorded_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let mut f = file();
    if let Content::Attachment(reference) = &mut f.reference.content {
        reference.locator = Locator::for_size(10, MIN_CHUNK_SIZE).to_bytes();
        reference.size = blob::MAX_FILE_SIZE + 1;
    }
    deliver(&core, &SENDER, &f.chunks[0]);
    deliver(&core, &SENDER, &f.reference);
    let Stored::Failed(reason) = state(&core, &f.reference.id) else {
        panic!("should have failed");
    };
    assert!(reason.contains("64 MiB"), "{reason}");
    assert_eq!(core.store.count(FILE_CHUNKS, b"").unwrap(), 0);
}

#[test]
fn deleting_removes_the_data_and_later_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let f = file();
    deliver(&core, &SENDER, &f.reference);
    deliver(&core, &SENDER, &f.chunks[0]);
    core.store
        .write(|batch| {
            assert!(delete_attachment_data(batch, &f.reference.id)?);
            Ok(())
        })
        .unwrap();
    assert_eq!(core.store.count(FILE_CHUNKS, b"").unwrap(), 0);
    assert_eq!(state(&core, &f.reference.id), Stored::Deleted);
    deliver(&core, &SENDER, &f.chunks[1]);
    assert_eq!(core.store.count(FILE_CHUNKS, b"").unwrap(), 0);
    // Not an attachment: nothing to do.
    core.store
        .write(|batch| {
            assert!(!delete_attachment_data(batch, &MessageId([42; 16]))?);
            Ok(())
        })
        .unwrap();
}

/// The largest chunk, with the largest index, fits one envelope: as a first (pre-key)
/// pairwise message and as a loop message.
#[test]
fn a_full_chunk_fits_the_largest_envelope() {
    use boucle_crypto::{
        LoopSession, MailboxAddress, MailboxKeys, PairwiseSession, seal_loop, seal_pairwise,
    };
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(11);
    let chunk = Message {
        id: MessageId([1; 16]),
        sent_at: Timestamp(u64::MAX),
        content: Content::FileChunk {
            attachment: MessageId([2; 16]),
            index: u32::MAX,
            data: vec![0xa5; blob::CHUNK_SIZE as usize + blob::TAG_LEN],
        },
    };
    let alice = Account::new();
    let mut bob = Account::new();
    let mailbox = MailboxKeys::generate(&mut rng);
    let address = MailboxAddress(vec![0xff; 200]);
    let card = bob.member_card(mailbox.seal_key(), address.clone());
    let mut session = PairwiseSession::outbound(&alice, &card).unwrap();
    let ciphertext = session.encrypt(&chunk).unwrap();
    let envelope = seal_pairwise(
        &mut rng,
        &alice.sender_proof(),
        &ciphertext,
        card.seal_key(),
    )
    .expect("a chunk fits a pairwise envelope");
    assert_eq!(envelope.body.len(), 65_536);

    let mut alice = alice;
    let mine = alice.member_card(MailboxKeys::generate(&mut rng).seal_key(), address);
    let (mut group, _) = LoopSession::create(
        &alice,
        LoopId([5; 16]),
        "loop",
        mine,
        vec![card.clone()],
        Timestamp(1),
    )
    .unwrap();
    group.rotate_if_needed(&mut rng, Timestamp(1)).unwrap();
    let ciphertext = group.encrypt(&chunk, Timestamp(1)).unwrap();
    let sealed = seal_loop(
        &mut rng,
        &alice.identity_keys(),
        &ciphertext,
        &[card.mailbox().clone()],
    )
    .expect("a chunk fits a loop envelope");
    assert_eq!(sealed.body.len(), 65_536);
}
