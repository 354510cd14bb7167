//! Makes three demo profiles (Alice, Nadia and Omar) that know each other, talk, and
//! share a loop, on a running relay: what `docs/screenshots/take.sh` opens in the app.
//!
//! ```sh
//! cargo run -p boucle-desktop --example demo -- 'boucle-relay://127.0.0.1:PORT/FP' DIR
//! ```
//!
//! Every profile's passphrase is `demo passphrase`, hashed cheaply (demo only). Alice's
//! conversation with Nadia has a reply, an edit and reactions both ways; Omar planned
//! an event with Alice (she is going) and she answered; the loop "Tenants of Rue Verte"
//! has all three, Nadia as a second admin, a past event, a cancelled one, the meeting
//! with the landlord next week (planned in Europe/Paris, answers from everyone) and a
//! poll everyone voted on.
//!
//! Then what Omar's window shows: Nadia meets Omar and Karim (who knows only her); in
//! her conversation with Omar she sends a picture and a PDF, sets disappearing messages
//! to a day and shares Karim's contact. Alice made the loop an announcement loop (only
//! admins post) after the poll, which Omar sees as a member.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use boucle_client_core::store::KdfParams;
use boucle_client_core::{
    ContactId, ConversationId, Engine, EngineOptions, EventDetails, Inviting, LoopPolicy,
    MessageId, Posting, RsvpAnswer, TransferState,
};
use boucle_desktop::when::Zone;

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

    // The loop's agenda and a poll.
    let day = 86_400_000;
    let now = boucle_desktop::format::now_ms();
    let paris = Zone::named("Europe/Paris").unwrap_or_else(|_| Zone::utc());
    let at = |days_from_now: i64, hour: i8| {
        let date = paris.wall_clock((now as i64 + days_from_now * day as i64) as u64);
        // Evening hours: never in a daylight-saving change.
        paris.instant(date.date().at(hour, 0, 0, 0)).unwrap_or(now)
    };
    let planned =
        |title: &str, starts_at: u64, hours: u64, place: &str, description: &str| EventDetails {
            title: title.into(),
            starts_at,
            ends_at: Some(starts_at + hours * 3_600_000),
            time_zone: paris.name().into(),
            place: place.into(),
            description: description.into(),
        };
    let loop_id = ConversationId::Loop(tenants);
    let letters = alice.create_event(
        loop_id,
        &planned(
            "Letter-writing evening",
            at(-6, 19),
            2,
            "Omar's kitchen, 3rd floor",
            "",
        ),
    )?;
    alice.rsvp(loop_id, letters.id, RsvpAnswer::Going)?;
    let party = alice.create_event(
        loop_id,
        &planned("Street party", at(16, 15), 4, "Rue Verte", ""),
    )?;
    alice.cancel_event(loop_id, party.id)?;
    let meeting = nadia.create_event(
        ConversationId::Loop(nadia_tenants),
        &planned(
            "Meeting with the landlord",
            at(7, 18),
            2,
            "12 rue Verte, hall B",
            "Bring the letters and the photos of the damp walls.",
        ),
    )?;
    let poll = nadia.create_poll(
        ConversationId::Loop(nadia_tenants),
        "When shall we hold the general assembly?",
        &[
            "Thursday at 18:00".into(),
            "Friday at 19:00".into(),
            "Saturday morning".into(),
        ],
        true,
        Some(now + 3 * day + 4 * 3_600_000),
    )?;
    until("the events and the poll to reach everyone", &all, || {
        Ok(alice.poll(loop_id, poll.id).is_ok()
            && omar
                .poll(ConversationId::Loop(omar_tenants), poll.id)
                .is_ok()
            && alice.event(loop_id, meeting.id).is_ok()
            && omar
                .event(ConversationId::Loop(omar_tenants), letters.id)
                .is_ok())
    })
    .await?;
    nadia.vote(ConversationId::Loop(nadia_tenants), poll.id, &[0, 2])?;
    omar.vote(ConversationId::Loop(omar_tenants), poll.id, &[1])?;
    alice.vote(loop_id, poll.id, &[0])?;
    omar.rsvp(
        ConversationId::Loop(omar_tenants),
        letters.id,
        RsvpAnswer::Going,
    )?;
    nadia.rsvp(
        ConversationId::Loop(nadia_tenants),
        meeting.id,
        RsvpAnswer::Going,
    )?;
    omar.rsvp(
        ConversationId::Loop(omar_tenants),
        meeting.id,
        RsvpAnswer::Maybe,
    )?;
    alice.rsvp(loop_id, meeting.id, RsvpAnswer::Going)?;
    until("the votes and answers to reach Alice", &all, || {
        let poll = alice.poll(loop_id, poll.id)?;
        let meeting = alice.event(loop_id, meeting.id)?;
        Ok(poll.voters.len() == 3 && meeting.counts.going + meeting.counts.maybe == 3)
    })
    .await?;

    // The loop becomes an announcement loop: only admins post (now, so that the
    // conversations below stay more recent than the loop).
    alice.set_loop_policy(
        tenants,
        LoopPolicy {
            posting: Posting::Admins,
            inviting: Inviting::Admins,
        },
    )?;
    until("Omar to see the loop's rules", &all, || {
        Ok(omar.loops()?.iter().any(|l| !l.may_post))
    })
    .await?;

    // Omar plans the flyers with Alice; she is going.
    let flyers = omar.create_event(
        ConversationId::Contact(omar_alice),
        &planned(
            "Flyers at the Saturday market",
            at(5, 10),
            2,
            "Marché des Enfants-Rouges, by the fountain",
            "I'll bring 500 flyers; can you bring tape?",
        ),
    )?;
    until("Omar's event to reach Alice", &all, || {
        Ok(alice
            .event(ConversationId::Contact(alice_omar), flyers.id)
            .is_ok())
    })
    .await?;
    alice.rsvp(
        ConversationId::Contact(alice_omar),
        flyers.id,
        RsvpAnswer::Going,
    )?;
    settle(&all).await;

    // Alice and Omar.
    alice.send_text(
        ConversationId::Contact(alice_omar),
        "Yes! I'll bring tape and a table.",
    )?;
    settle(&all).await;

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

    // Omar's window: Nadia's files, her timer and a contact she shares.
    let karim = create(dir, "karim", "Karim", &relay).await?;
    let all = [&alice, &nadia, &omar, &karim];
    let (nadia_omar, omar_nadia) = meet(&nadia, &omar, &all).await?;
    let (nadia_karim, _) = meet(&nadia, &karim, &all).await?;
    until("Karim's shareable card", &all, || {
        Ok(nadia
            .contacts()?
            .iter()
            .any(|c| c.id == nadia_karim && c.can_share))
    })
    .await?;
    let to_omar = ConversationId::Contact(nadia_omar);
    let from_nadia = ConversationId::Contact(omar_nadia);
    let photo = nadia
        .send_file(to_omar, "rue-verte.png", None, rooftops(720, 300)?)
        .await?;
    let pdf = nadia
        .send_file(
            to_omar,
            "lease-clauses.pdf",
            Some("application/pdf"),
            fake_pdf(1_300_000),
        )
        .await?;
    until("the files to reach Omar", &all, || {
        let complete = |id| {
            omar.attachment(from_nadia, id)
                .is_ok_and(|a| a.state == TransferState::Complete)
        };
        Ok(complete(photo.id) && complete(pdf.id))
    })
    .await?;
    nadia.set_timer(to_omar, 86_400)?;
    settle(&all).await;
    nadia.send_text(
        to_omar,
        "Karim runs the food bank: he can help with the flyers.",
    )?;
    nadia.share_contact(to_omar, nadia_karim)?;
    received(&omar, from_nadia, "food bank", &all).await?;
    until("the shared contact to reach Omar", &all, || {
        Ok(omar.history(from_nadia, None, 50)?.iter().any(|m| {
            matches!(
                m.body,
                boucle_client_core::MessageBody::SharedContact { .. }
            )
        }))
    })
    .await?;

    for engine in [alice, nadia, omar, karim] {
        engine.lock().await;
    }
    println!(
        "profiles alice, nadia, omar and karim are ready in {}",
        dir.display()
    );
    Ok(())
}

/// A picture of rooftops at sunset, as PNG.
fn rooftops(width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let roof = height * 3 / 5 + ((x / 60) % 3) * 25 + if (x / 30) % 2 == 0 { 0 } else { 10 };
        if y > roof {
            let window = (x % 60 > 20 && x % 60 < 34) && (y % 50 > 15 && y % 50 < 32);
            if window {
                image::Rgb([250, 205, 110])
            } else {
                image::Rgb([38, 44, 62])
            }
        } else {
            let t = y * 255 / height;
            image::Rgb([235 - (t / 5) as u8, 130 + (t / 4) as u8, 90 + (t / 2) as u8])
        }
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut bytes, image::ImageFormat::Png)?;
    Ok(bytes.into_inner())
}

/// Bytes that start like a PDF (the app does not open it: only its size matters).
fn fake_pdf(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n% lease clauses\n".to_vec();
    bytes.extend((0..size).map(|i| (i * 7 % 251) as u8));
    bytes
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
