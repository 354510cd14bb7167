//! What a seized, locked laptop reveals: five users on a real relay build everything a
//! profile can hold (1:1 contacts, a loop with a member who is not a contact, files,
//! polls, events, a disappearing-messages timer, a shared contact, a blocked contact),
//! lock, and then every byte of every profile directory — the redb file read raw, and
//! each of its record keys — is searched for everyone's identity keys, every mailbox id
//! the relay knows (receive and send ids, ours and theirs), the loop's and messages' ids,
//! names and texts. None may be there.
//!
//! A profile made by the version 1 store (`tests/fixtures/profile-v1`, made by
//! [`write_v1_fixture`] at commit 472e413, the last with the version 1 store) is unlocked: it is
//! migrated, keeps everything, and then holds none of its secrets either.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use boucle_client_core::{
    Clock, ConversationId, Engine, EngineOptions, EventDetails, LoopId, MessageBody, MessageId,
    RsvpAnswer, TransferState,
};
use boucle_test_support::{RelayOptions, RelayProcess};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};

use super::{base64, files_under};
use crate::support::{PASSPHRASE, User, introduce, options, text, until_members};

const ALICE: &str = "Alice Marchetti-Oyelaran";
const BOB: &str = "Bartholomew Ngata-Lindqvist";
const CAROL: &str = "Carolina Zbyszewska-Moreau";
const DAVE: &str = "Dawit Haileselassie-Brun";
const EVE: &str = "Evangelina Trujillo-Kask";
const LOOP_NAME: &str = "Comite de soutien des Lilas";
const FILE_NAME: &str = "tract-manifestation-samedi.txt";
const FILE_TEXT: &str = "rendez-vous place des Fetes, banderoles au local du 14";
const POLL_QUESTION: &str = "Quelle date pour l'occupation de la mairie annexe ?";
const EVENT_TITLE: &str = "Reunion preparatoire chez Mathilde-Ombeline";

/// Something that must not be found, and what it is.
#[derive(serde::Serialize, serde::Deserialize)]
struct Secret {
    label: String,
    hex: String,
}

fn secret(label: impl Into<String>, bytes: &[u8]) -> Secret {
    Secret {
        label: label.into(),
        hex: hex::encode(bytes),
    }
}

/// A key or id, raw and in every text form the code uses.
fn encoded(label: &str, bytes: &[u8]) -> Vec<Secret> {
    vec![
        secret(format!("{label} (raw)"), bytes),
        secret(format!("{label} (hex)"), hex::encode(bytes).as_bytes()),
        secret(format!("{label} (base64)"), base64(bytes, b"+/").as_bytes()),
        secret(
            format!("{label} (base64url)"),
            base64(bytes, b"-_").as_bytes(),
        ),
    ]
}

fn texts(labelled: &[(&str, &str)]) -> Vec<Secret> {
    labelled
        .iter()
        .map(|(label, text)| secret(format!("{label} {text:?}"), text.as_bytes()))
        .collect()
}

/// Five users and what they did.
struct World {
    relay: RelayProcess,
    users: Vec<User>,
    /// Names, texts, identity keys, loop and message ids (the mailbox ids come from the
    /// relay's store once it stopped).
    secrets: Vec<Secret>,
    loop_id: LoopId,
}

fn complete(engine: &Engine, conversation: ConversationId, id: MessageId) -> Option<()> {
    matches!(
        engine.attachment(conversation, id).ok()?.state,
        TransferState::Complete
    )
    .then_some(())
}

fn has_text(engine: &Engine, conversation: ConversationId, wanted: &str) -> Option<()> {
    engine
        .history(conversation, None, 1_000)
        .ok()?
        .iter()
        .any(|m| text(m) == wanted)
        .then_some(())
}

fn event_details(title: &str) -> EventDetails {
    EventDetails {
        title: title.into(),
        starts_at: now_ms() + 3 * 86_400_000,
        ends_at: None,
        time_zone: "Europe/Paris".into(),
        place: "Bourse du travail, salle Eugene-Varlin".into(),
        description: "apporter les tracts".into(),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Alice is the profile under study: Bob and Eve are her contacts (Eve blocked), Dave
/// became one through a card Bob shared, Carol is only a co-member of Bob's loop.
async fn build() -> anyhow::Result<World> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let mut alice = User::new(ALICE, &relay).await?;
    let mut bob = User::new(BOB, &relay).await?;
    let mut carol = User::new(CAROL, &relay).await?;
    let mut dave = User::new(DAVE, &relay).await?;
    let mut eve = User::new(EVE, &relay).await?;
    let (bob_for_alice, alice_for_bob) = introduce(&mut alice, &mut bob).await?;
    let (carol_for_bob, _) = introduce(&mut bob, &mut carol).await?;
    let (dave_for_bob, _) = introduce(&mut bob, &mut dave).await?;
    let (eve_for_alice, alice_for_eve) = introduce(&mut alice, &mut eve).await?;
    let mut words: Vec<(&str, String)> = Vec::new();

    // 1:1 with Bob: texts both ways, a timer, a file, a poll, an event.
    let to_bob = ConversationId::Contact(bob_for_alice);
    let to_alice = ConversationId::Contact(alice_for_bob);
    let a1 = "on se retrouve derriere la boulangerie Ferrandi a midi";
    alice.engine.send_text(to_bob, a1)?;
    bob.until(|e| has_text(e, to_alice, a1)).await?;
    alice.engine.set_timer(to_bob, 604_800)?;
    let b1 = "d'accord, j'apporte les cles du local syndical";
    bob.engine.send_text(to_alice, b1)?;
    alice.until(|e| has_text(e, to_bob, b1)).await?;
    let file = bob
        .engine
        .send_file(to_alice, FILE_NAME, None, FILE_TEXT.as_bytes().to_vec())
        .await?;
    alice.until(|e| complete(e, to_bob, file.id)).await?;
    let options = vec![
        "jeudi soir apres le marche".to_owned(),
        "samedi matin".into(),
    ];
    let poll = alice
        .engine
        .create_poll(to_bob, POLL_QUESTION, &options, false, None)?;
    bob.until(|e| e.poll(to_alice, poll.id).ok()).await?;
    bob.engine.vote(to_alice, poll.id, &[1])?;
    let event = bob
        .engine
        .create_event(to_alice, &event_details(EVENT_TITLE))?;
    alice.until(|e| e.event(to_bob, event.id).ok()).await?;
    alice.engine.rsvp(to_bob, event.id, RsvpAnswer::Going)?;
    words.extend([("text", a1.into()), ("text", b1.into())]);
    words.extend(options.iter().map(|o| ("poll option", o.clone())));

    // Bob shares Dave; Alice adds him and writes to him.
    bob.engine.share_contact(to_alice, dave_for_bob)?;
    let shared = alice
        .until(|e| {
            e.history(to_bob, None, 1_000)
                .ok()?
                .into_iter()
                .find(|m| matches!(m.body, MessageBody::SharedContact { .. }))
        })
        .await?;
    let dave_for_alice = alice.engine.add_shared_contact(to_bob, shared.id).await?;
    let to_dave = ConversationId::Contact(dave_for_alice);
    let a2 = "Bartholomew m'a donne ta carte, bienvenue au collectif";
    alice.engine.send_text(to_dave, a2)?;
    let alice_for_dave = dave.contact_named(ALICE).await?.id;
    dave.until(|e| has_text(e, ConversationId::Contact(alice_for_dave), a2))
        .await?;
    words.push(("text", a2.into()));

    // Bob's loop: Alice and Carol meet there, as members only.
    let loop_id = bob
        .engine
        .create_loop(LOOP_NAME, &[alice_for_bob, carol_for_bob])
        .await?;
    until_members([&mut alice, &mut bob, &mut carol], loop_id, 3).await?;
    let in_loop = ConversationId::Loop(loop_id);
    for (user, said) in [
        (&carol, "Carolina ici : la prefecture a refuse le parcours"),
        (&alice, "alors on passe par le canal Saint-Martin"),
        (&bob, "je previens l'avocate de permanence"),
    ] {
        user.engine.send_text(in_loop, said)?;
        words.push(("loop text", said.into()));
    }
    for user in [&mut alice, &mut bob, &mut carol] {
        for (_, said) in words.iter().filter(|(kind, _)| *kind == "loop text") {
            user.until(|e| has_text(e, in_loop, said)).await?;
        }
    }
    let loop_file = carol
        .engine
        .send_file(
            in_loop,
            "plan-du-parcours.txt",
            None,
            FILE_TEXT.repeat(2).into(),
        )
        .await?;
    alice.until(|e| complete(e, in_loop, loop_file.id)).await?;
    let loop_poll = carol.engine.create_poll(
        in_loop,
        "On imprime combien d'affiches au local ?",
        &["deux cents".into(), "cinq cents".into()],
        false,
        None,
    )?;
    alice.until(|e| e.poll(in_loop, loop_poll.id).ok()).await?;
    alice.engine.vote(in_loop, loop_poll.id, &[0])?;
    let loop_event = alice.engine.create_event(
        in_loop,
        &event_details("Collage nocturne quartier Belleville"),
    )?;
    carol
        .until(|e| e.event(in_loop, loop_event.id).ok())
        .await?;
    carol
        .engine
        .rsvp(in_loop, loop_event.id, RsvpAnswer::Maybe)?;
    bob.until(|e| {
        let poll = e.poll(in_loop, loop_poll.id).ok()?;
        (poll.options.iter().map(|o| o.votes).sum::<usize>() == 1).then_some(())
    })
    .await?;

    // Eve writes, is blocked, writes again.
    let to_eve = ConversationId::Contact(eve_for_alice);
    let from_eve = ConversationId::Contact(alice_for_eve);
    let e1 = "Evangelina : j'ai vu les flics devant le local hier";
    eve.engine.send_text(from_eve, e1)?;
    alice.until(|e| has_text(e, to_eve, e1)).await?;
    alice.engine.block(eve_for_alice)?;
    let e2 = "Evangelina encore : pourquoi tu ne reponds plus ?";
    eve.engine.send_text(from_eve, e2)?;
    words.extend([("text", e1.into()), ("text", e2.into())]);

    for user in [&alice, &bob, &carol, &dave, &eve] {
        anyhow::ensure!(user.engine.sync(Duration::from_secs(30)).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut secrets = texts(&[
        ("name", ALICE),
        ("name", BOB),
        ("name", CAROL),
        ("name", DAVE),
        ("name", EVE),
        ("loop name", LOOP_NAME),
        ("file name", FILE_NAME),
        ("file content", FILE_TEXT),
        ("poll question", POLL_QUESTION),
        ("event title", EVENT_TITLE),
    ]);
    secrets.extend(
        words
            .iter()
            .map(|(kind, said)| secret(format!("{kind} {said:?}"), said.as_bytes())),
    );
    for user in [&alice, &bob, &carol, &dave, &eve] {
        let name = user.engine.name()?;
        let keys = user.engine.identity_keys()?;
        secrets.extend(encoded(&format!("{name}'s ed25519 key"), &keys.ed25519));
        secrets.extend(encoded(
            &format!("{name}'s curve25519 key"),
            &keys.curve25519,
        ));
    }
    secrets.extend(encoded("the loop's id", &loop_id.0));
    let mut ids = Vec::new();
    for conversation in [to_bob, to_dave, to_eve, in_loop] {
        ids.extend(
            alice
                .engine
                .history(conversation, None, 1_000)?
                .iter()
                .map(|m| m.id),
        );
    }
    anyhow::ensure!(
        ids.len() >= 15,
        "Alice's history is too short: {}",
        ids.len()
    );
    for id in ids {
        secrets.push(secret(format!("message id {}", hex::encode(id.0)), &id.0));
        secrets.push(secret(
            format!("message id {} (hex)", hex::encode(id.0)),
            hex::encode(id.0).as_bytes(),
        ));
    }
    Ok(World {
        relay,
        users: vec![alice, bob, carol, dave, eve],
        secrets,
        loop_id,
    })
}

/// Locks every engine and stops the relay; returns the profiles' directories (kept
/// alive) and every mailbox id in the relay's store (`send_index`: send id → receive id).
async fn stop(world: World) -> anyhow::Result<(Vec<(String, tempfile::TempDir)>, Vec<Secret>)> {
    let World {
        mut relay,
        users,
        mut secrets,
        ..
    } = world;
    let mut dirs = Vec::new();
    for user in users {
        let name = user.engine.name()?;
        user.engine.lock().await;
        dirs.push((name, user.dir));
    }
    relay.terminate()?;
    let db = redb::Database::open(relay.data_dir().join("relay.redb"))?;
    let txn = db.begin_read()?;
    let index = txn.open_table(TableDefinition::<[u8; 16], [u8; 16]>::new("send_index"))?;
    let mut mailboxes = 0;
    for entry in index.iter()? {
        let (send_id, receive_id) = entry?;
        secrets.extend(encoded("a send id", &send_id.value()));
        secrets.extend(encoded("a receive id", &receive_id.value()));
        mailboxes += 1;
    }
    // At least a contact mailbox on each side of five introductions, and three loop
    // mailboxes.
    anyhow::ensure!(mailboxes >= 13, "only {mailboxes} mailboxes on the relay");
    println!("{mailboxes} mailboxes on the relay");
    Ok((dirs, secrets))
}

/// Finds needles (each at least 8 bytes) in haystacks, by their first 8 bytes.
struct Needles<'a> {
    by_head: HashMap<[u8; 8], Vec<(&'a str, Vec<u8>)>>,
}

impl<'a> Needles<'a> {
    fn new(secrets: &'a [Secret]) -> anyhow::Result<Needles<'a>> {
        let mut by_head: HashMap<[u8; 8], Vec<(&str, Vec<u8>)>> = HashMap::new();
        for s in secrets {
            let bytes = hex::decode(&s.hex)?;
            let head: [u8; 8] = bytes
                .get(..8)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| anyhow::anyhow!("{} is too short to look for", s.label))?;
            by_head.entry(head).or_default().push((&s.label, bytes));
        }
        Ok(Needles { by_head })
    }

    fn found_in(&self, haystack: &[u8]) -> Vec<&'a str> {
        let mut found = Vec::new();
        for start in 0..haystack.len().saturating_sub(7) {
            let head: [u8; 8] = haystack[start..start + 8].try_into().unwrap_or_default();
            if let Some(candidates) = self.by_head.get(&head) {
                for (label, bytes) in candidates {
                    if haystack[start..].starts_with(bytes) && !found.contains(label) {
                        found.push(*label);
                    }
                }
            }
        }
        found
    }
}

/// Every secret found in the files under `dir`, and in the record keys of its redb
/// files (read through redb, table by table).
fn scan_profile(dir: &Path, needles: &Needles<'_>) -> anyhow::Result<(Vec<String>, usize)> {
    let mut found = Vec::new();
    let mut scanned = 0;
    for file in files_under(dir)? {
        let bytes = std::fs::read(&file)?;
        scanned += bytes.len();
        for label in needles.found_in(&bytes) {
            found.push(format!("{label} in the bytes of {}", file.display()));
        }
        if file.extension().is_some_and(|e| e == "redb") {
            let db = redb::Database::open(&file)?;
            let txn = db.begin_read()?;
            for table in txn.list_tables()? {
                let name = table.name().to_owned();
                let t = txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&name))?;
                for entry in t.iter()? {
                    let (key, _) = entry?;
                    for label in needles.found_in(key.value()) {
                        found.push(format!("{label} in a key of table {name:?}"));
                    }
                }
            }
        }
    }
    anyhow::ensure!(scanned > 0, "nothing to scan in {}", dir.display());
    Ok((found, scanned))
}

/// Records per table of a locked profile, read through redb.
pub(super) fn records(profile: &Path) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
    let db = redb::Database::open(profile.join("profile.redb"))?;
    let txn = db.begin_read()?;
    let mut out = std::collections::BTreeMap::new();
    for table in txn.list_tables()? {
        let name = table.name().to_owned();
        let t = txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&name))?;
        out.insert(name, t.len()?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_locked_profile_names_no_contact_member_mailbox_or_message() -> anyhow::Result<()> {
    let world = build().await?;
    let (dirs, secrets) = stop(world).await?;
    let needles = Needles::new(&secrets)?;
    let mut found = Vec::new();
    for (name, dir) in &dirs {
        let profile = dir.path().join("profile");
        let (leaks, scanned) = scan_profile(&profile, &needles)?;
        println!(
            "{name}: {scanned} bytes scanned for {} secrets, records {:?}",
            secrets.len(),
            records(&profile)?
        );
        found.extend(leaks.into_iter().map(|l| format!("{name}'s profile: {l}")));
    }
    assert!(found.is_empty(), "a locked profile reveals: {found:#?}");
    Ok(())
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profile-v1")
}

/// What the fixture's profile must still show after migration.
#[derive(serde::Serialize, serde::Deserialize)]
struct Expected {
    /// When it was made (unix ms): the migrated engine runs at that time, so that no
    /// message has reached the end of its disappearing-messages timer.
    made_at: u64,
    contacts: Vec<String>,
    loop_id: String,
    loop_texts: Vec<String>,
    /// Texts of the conversation with Bob.
    bob_texts: Vec<String>,
    file_text: String,
    secrets: Vec<Secret>,
}

/// Writes `tests/fixtures/profile-v1` (Alice's locked profile and what it holds). It was
/// run once, on the last commit with the version 1 store (`472e413`), with
/// `cargo test -p boucle-e2e --test client write_v1_fixture -- --ignored`; run now, it
/// would write a version 2 profile, which the migration test refuses as a fixture.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "writes the fixture; only meaningful with the version 1 store"]
async fn write_v1_fixture() -> anyhow::Result<()> {
    let world = build().await?;
    let alice = &world.users[0].engine;
    let contacts = alice.contacts()?.into_iter().map(|c| c.name).collect();
    let loop_id = world.loop_id;
    let texts_of = |conversation| -> anyhow::Result<Vec<String>> {
        Ok(alice
            .history(conversation, None, 1_000)?
            .iter()
            .map(text)
            .collect())
    };
    let loop_texts = texts_of(ConversationId::Loop(loop_id))?;
    let bob = alice.find_contact(BOB)?;
    let bob_texts = texts_of(ConversationId::Contact(bob))?;
    let (dirs, secrets) = stop(world).await?;
    let expected = Expected {
        made_at: now_ms(),
        contacts,
        loop_id: hex::encode(loop_id.0),
        loop_texts,
        bob_texts,
        file_text: FILE_TEXT.into(),
        secrets,
    };
    let out = fixture_dir();
    std::fs::create_dir_all(&out)?;
    std::fs::copy(
        dirs[0].1.path().join("profile/profile.redb"),
        out.join("profile.redb"),
    )?;
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_profile_is_migrated_keeps_everything_and_names_no_one() -> anyhow::Result<()> {
    let expected: Expected =
        serde_json::from_slice(&std::fs::read(fixture_dir().join("expected.json"))?)?;
    let needles = Needles::new(&expected.secrets)?;
    let original = std::fs::read(fixture_dir().join("profile.redb"))?;
    let (before, _) = {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("profile.redb"), &original)?;
        scan_profile(dir.path(), &needles)?
    };
    println!("the version 1 fixture reveals {} secrets", before.len());
    assert!(
        before
            .iter()
            .any(|l| l.contains("ed25519 key (raw) in a key")),
        "the fixture is not the version 1 profile it should be: {before:#?}"
    );

    let dir = tempfile::tempdir()?;
    let profile = dir.path().join("profile");
    std::fs::create_dir(&profile)?;
    std::fs::write(profile.join("profile.redb"), &original)?;
    let engine = Engine::unlock(
        &profile,
        PASSPHRASE,
        EngineOptions {
            clock: Clock::manual(expected.made_at),
            ..options()
        },
    )
    .await?;
    let mut contacts: Vec<String> = engine.contacts()?.into_iter().map(|c| c.name).collect();
    let mut wanted = expected.contacts.clone();
    contacts.sort();
    wanted.sort();
    assert_eq!(contacts, wanted);
    let loop_id = LoopId(hex::decode(&expected.loop_id)?.as_slice().try_into()?);
    let loop_texts: Vec<String> = engine
        .history(ConversationId::Loop(loop_id), None, 1_000)?
        .iter()
        .map(text)
        .collect();
    assert_eq!(loop_texts, expected.loop_texts);
    let bob = engine.find_contact(BOB)?;
    let with_bob = ConversationId::Contact(bob);
    let history = engine.history(with_bob, None, 1_000)?;
    assert_eq!(
        history.iter().map(text).collect::<Vec<_>>(),
        expected.bob_texts
    );
    let file = history
        .iter()
        .find(|m| matches!(m.body, MessageBody::Attachment { .. }))
        .ok_or_else(|| anyhow::anyhow!("the file is gone"))?;
    assert_eq!(
        engine.attachment_bytes(with_bob, file.id)?,
        expected.file_text.as_bytes()
    );
    assert!(engine.loops()?.iter().any(|l| l.id == loop_id && l.member));
    assert_eq!(engine.loop_members(loop_id)?.len(), 3);
    engine.lock().await;

    let (after, scanned) = scan_profile(&profile, &needles)?;
    assert!(after.is_empty(), "the migrated profile reveals: {after:#?}");
    let tables = records(&profile)?;
    println!("migrated: {scanned} bytes, records {tables:?}");
    assert_eq!(tables.get("t/seen").copied().unwrap_or(0), 0);
    let leftovers: Vec<PathBuf> = files_under(&profile)?
        .into_iter()
        .filter(|f| !f.ends_with("profile.redb"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    Ok(())
}
