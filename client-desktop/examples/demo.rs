//! Makes three demo profiles (Alice, Nadia and Omar) that know each other, talk, and
//! share a loop, on a running relay: what `docs/screenshots/take.sh` opens in the app.
//!
//! ```sh
//! cargo run -p boucle-desktop --example demo -- 'boucle-relay://127.0.0.1:PORT/FP' DIR
//! ```
//!
//! Every profile's passphrase is `demo passphrase`, hashed cheaply (demo only). Alice's
//! conversation with Nadia has a reply, an edit and reactions both ways; Alice and Omar
//! exchanged one message; the loop "Tenants of Rue Verte" has all three, Nadia as a
//! second admin.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use boucle_client_core::store::KdfParams;
use boucle_client_core::{ContactId, ConversationId, Engine, EngineOptions, MessageId};

const PASSPHRASE: &str = "demo passphrase";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(relay), Some(dir)) = (args.next(), args.next()) else {
        bail!("usage: demo RELAY_ADDRESS DIR");
    };
    let dir = Path::new(&dir);
    let alice = create(dir, "alice", "Alice", &relay).await?;
    let nadia = create(dir, "nadia", "Nadia", &relay).await?;
    let omar = create(dir, "omar", "Omar", &relay).await?;
    let all = [&alice, &nadia, &omar];

    let (alice_nadia, nadia_alice) = meet(&alice, &nadia, &all).await?;
    let (alice_omar, omar_alice) = meet(&alice, &omar, &all).await?;

    // The loop, made first so that the conversations are more recent.
    let tenants = alice
        .create_loop("Tenants of Rue Verte", &[alice_nadia, alice_omar])
        .await?;
    until("both to join the loop", &all, || {
        Ok(nadia.loops()?.iter().any(|l| l.member) && omar.loops()?.iter().any(|l| l.member))
    })
    .await?;
    until("three members", &all, || {
        Ok(alice.loop_members(tenants)?.len() == 3)
    })
    .await?;
    let nadia_tenants = nadia.loops()?[0].id;
    let omar_tenants = omar.loops()?[0].id;
    alice.send_text(
        ConversationId::Loop(tenants),
        "Welcome! This is where we prepare the meeting with the landlord.",
    )?;
    settle(&all).await;
    omar.send_text(
        ConversationId::Loop(omar_tenants),
        "I can bring chairs for everyone.",
    )?;
    settle(&all).await;
    nadia.send_text(
        ConversationId::Loop(nadia_tenants),
        "The landlord answered our letter: Thursday at 6.",
    )?;
    alice.promote_in_loop(tenants, "Nadia")?;
    settle(&all).await;

    // Alice and Omar.
    alice.send_text(
        ConversationId::Contact(alice_omar),
        "Thanks, see you Friday!",
    )?;
    settle(&all).await;
    let _ = omar_alice;

    // Alice and Nadia: a question, a reply (edited), reactions both ways.
    let with_alice = ConversationId::Contact(nadia_alice);
    let with_nadia = ConversationId::Contact(alice_nadia);
    nadia.send_text(with_alice, "Are you coming to the assembly tonight?")?;
    let question = received(&alice, with_nadia, "Are you coming", &all).await?;
    alice.react(with_nadia, question, "👍", false)?;
    let answer = alice.reply(with_nadia, question, "Yes, I'll bring the banners.")?;
    alice.edit(
        with_nadia,
        answer.id,
        "Yes, I'll bring the banners and the flyers.",
    )?;
    received(&nadia, with_alice, "and the flyers", &all).await?;
    nadia.react(with_alice, answer.id, "❤️", false)?;
    nadia.send_text(with_alice, "Great. Omar is printing more.")?;
    received(&alice, with_nadia, "Omar is printing", &all).await?;
    alice.mark_verified(alice_nadia)?;
    settle(&all).await;

    for engine in [alice, nadia, omar] {
        engine.lock().await;
    }
    println!(
        "profiles alice, nadia and omar are ready in {}",
        dir.display()
    );
    Ok(())
}

async fn create(dir: &Path, folder: &str, name: &str, relay: &str) -> anyhow::Result<Engine> {
    let options = EngineOptions {
        kdf: KdfParams::for_tests(),
        ..EngineOptions::default()
    };
    Engine::create(&dir.join(folder), PASSPHRASE, name, relay, None, options)
        .await
        .with_context(|| format!("creating {name}'s profile"))
}

/// `a` invites `b`, who accepts; returns each one's id for the other.
async fn meet(a: &Engine, b: &Engine, all: &[&Engine]) -> anyhow::Result<(ContactId, ContactId)> {
    let link = a.invite().await?.to_link();
    let a_for_b = b.accept(&link).await?.id;
    let b_name = b.name()?;
    until("the invitation to be accepted", all, || {
        Ok(a.contacts()?.iter().any(|c| c.name == b_name))
    })
    .await?;
    let b_for_a = a.find_contact(&b_name)?;
    Ok((b_for_a, a_for_b))
}

/// Waits for a message containing `text` to reach `engine`, and returns its id.
async fn received(
    engine: &Engine,
    conversation: ConversationId,
    text: &str,
    all: &[&Engine],
) -> anyhow::Result<MessageId> {
    let find = || -> anyhow::Result<Option<MessageId>> {
        Ok(engine
            .history(conversation, None, 50)?
            .into_iter()
            .find(|m| boucle_desktop::format::body(m).contains(text))
            .map(|m| m.id))
    };
    until(
        &format!("{text:?} to arrive"),
        all,
        || Ok(find()?.is_some()),
    )
    .await?;
    find()?.context("the message went away")
}

/// Lets every engine exchange what is pending.
async fn settle(all: &[&Engine]) {
    for engine in all {
        engine.sync(Duration::from_secs(5)).await;
    }
}

/// Syncs every engine until `done` holds (at most a minute).
async fn until(
    what: &str,
    all: &[&Engine],
    mut done: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done()? {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        settle(all).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
