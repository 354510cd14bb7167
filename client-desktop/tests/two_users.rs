//! Two desktop app states against a real relay on 127.0.0.1: Alice invites Bob, Bob
//! pastes the link, Alice types a message and Bob sees it; Bob answers, Alice reacts and
//! edits, and Bob sees both. A poll asked in one window is voted on in the other, and
//! both tallies follow. A picture dropped on one window arrives complete in the other,
//! with its preview, and saves the same bytes. Then a later run of the app: the unlock
//! screen.
//!
//! What is exercised: every screen's view and update through `iced_test` (clicks and
//! typing), the main window's commands, and the real engine and relay. What is not:
//! iced's own Task executor and event Subscription — the test runs the engine requests
//! the Tasks would run ([`io::perform`]) and feeds the engine's events in as the
//! subscription would. Needs the relay binary (`cargo build -p boucle-relay`).

use std::time::Duration;

use boucle_client_core::store::KdfParams;
use boucle_client_core::{Event, TransferState};
use boucle_desktop::app::{self, Config};
use boucle_desktop::io;
use boucle_desktop::screen::main::{self, Command, Message};
use boucle_desktop::screen::{accept, conversation, new_poll, onboarding};
use boucle_test_support::{RelayOptions, RelayProcess};
use iced::keyboard::{Key, key::Named};
use iced_test::selector::{self, id};
use iced_test::simulator;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(30);

/// One running app: its main window and the engine's event stream.
struct Window {
    engine: boucle_client_core::Engine,
    state: main::State,
    events: broadcast::Receiver<Event>,
    copied: Vec<String>,
}

impl Window {
    /// Goes through onboarding as a user would, then creates the profile.
    async fn onboard(name: &str, relay: &RelayProcess, dir: &std::path::Path) -> Window {
        let config = Config {
            profile: dir.join("profile"),
            kdf: KdfParams::for_tests(),
            relay: Some(relay.address().to_string()),
            token: None,
        };
        let mut form = onboarding::State::new(config.relay.clone(), None);
        let mut ui = simulator(form.view());
        for (field, value) in [
            ("name", name),
            ("passphrase", "river lamp orange tiger"),
            ("confirm", "river lamp orange tiger"),
        ] {
            ui.click(id(field)).expect(field);
            ui.typewrite(value);
        }
        ui.click("Create my profile").expect("create button");
        let messages: Vec<onboarding::Message> = ui.into_messages().collect();
        let mut profile = None;
        for message in messages {
            if let onboarding::Action::Create(new) = form.update(message) {
                profile = Some(new);
            }
        }
        let engine = app::create(config, profile.expect("the form asks to create"))
            .await
            .expect("profile created");
        let events = engine.events();
        let (state, commands) = main::State::new(engine.name().expect("name"));
        let mut window = Window {
            engine,
            state,
            events,
            copied: Vec::new(),
        };
        window.run(commands).await;
        window
    }

    /// Runs commands as the iced runtime would, feeding responses back.
    async fn run(&mut self, commands: Vec<Command>) {
        let mut commands = std::collections::VecDeque::from(commands);
        while let Some(command) = commands.pop_front() {
            match command {
                Command::Engine(to, request) => {
                    let response = io::perform(self.engine.clone(), request).await;
                    commands.extend(self.state.handle(Message::Response(to, response)));
                }
                Command::Copy(text) => self.copied.push(text),
                Command::Focus(_) | Command::FocusInput(_) | Command::ShowLatest(_) => {}
                // A poll's closing timer: none of the polls here close by themselves.
                Command::After(..) => {}
            }
        }
    }

    /// Lets the user act on the current view, then handles what they did.
    async fn user(&mut self, act: impl FnOnce(&mut iced_test::Simulator<'_, Message>)) {
        // The clock ticks as the subscription would.
        self.state
            .handle(Message::Tick(boucle_desktop::format::now_ms()));
        let mut ui = simulator(self.state.view());
        act(&mut ui);
        let messages: Vec<Message> = ui.into_messages().collect();
        for message in messages {
            let commands = self.state.handle(message);
            self.run(commands).await;
        }
    }

    /// Whether the current view shows this text.
    fn shows(&self, text: &str) -> bool {
        simulator(self.state.view()).find(text).is_ok()
    }

    /// Whether the right-hand pane (not the list) shows this text.
    fn pane_shows(&self, text: &'static str) -> bool {
        simulator(self.state.view()).find(in_pane(text)).is_ok()
    }

    /// Feeds engine events in (as the subscription does) until `done` holds.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&Window) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            let event = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Ok(event)) => Some(event),
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => None,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    panic!("timed out waiting for {what}")
                }
            };
            let commands = self.state.handle(Message::Event(event));
            self.run(commands).await;
        }
    }
}

/// The text `wanted` in the right-hand pane (the list on the left may show it too).
fn in_pane(
    wanted: &'static str,
) -> impl FnMut(selector::Candidate<'_>) -> Option<selector::Target> + Send {
    move |candidate| match candidate {
        selector::Candidate::Text {
            content, bounds, ..
        } if content == wanted && bounds.x > boucle_desktop::theme::SIDEBAR => {
            Some(selector::Target::from(candidate))
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_typed_in_one_window_appears_in_the_other() {
    let relay = RelayProcess::start(RelayOptions::default()).expect("relay");
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = Window::onboard("Alice", &relay, dirs.0.path()).await;
    let mut bob = Window::onboard("Bob", &relay, dirs.1.path()).await;
    assert!(
        alice.shows("No conversations yet. Invite someone, or accept an invitation you received.")
    );

    // Alice makes an invitation and copies its link.
    alice
        .user(|ui| drop(ui.click("Invite someone").expect("invite")))
        .await;
    alice
        .user(|ui| drop(ui.click("Copy link").expect("copy")))
        .await;
    let link = alice.copied.pop().expect("a copied link");
    assert!(link.starts_with("boucle:invite/1/"));
    assert!(alice.shows(&link));

    // Bob pastes it.
    bob.user(|ui| drop(ui.click("Accept an invitation").expect("accept")))
        .await;
    bob.user(|ui| {
        ui.click(id(accept::LINK)).expect("link field");
        ui.typewrite(&link);
        ui.click("Accept").expect("accept button");
    })
    .await;
    assert!(bob.shows("Alice is now one of your contacts. Compare safety numbers when you meet."));
    assert!(bob.shows("Alice"));

    // Alice sees Bob appear, opens the conversation and types.
    alice.until("Bob in Alice's list", |w| w.shows("Bob")).await;
    alice
        .user(|ui| drop(ui.click("Bob").expect("Bob in the list")))
        .await;
    alice
        .user(|ui| {
            ui.click(id(conversation::COMPOSER)).expect("composer");
            ui.typewrite("hello from Alice");
            ui.tap_key(Key::Named(Named::Enter));
        })
        .await;
    assert!(alice.shows("hello from Alice"));

    // Bob's list shows the unread message; opening it shows the text.
    bob.until("Alice's message", |w| w.state.unread() > 0).await;
    assert!(bob.shows("hello from Alice"), "the preview in the list");
    bob.user(|ui| drop(ui.click("Alice").expect("Alice in the list")))
        .await;
    assert!(bob.shows("hello from Alice"));
    assert_eq!(bob.state.unread(), 0);

    // Bob answers; Alice's open conversation shows it as it arrives, and her message is
    // marked delivered.
    bob.user(|ui| {
        ui.click(id(conversation::COMPOSER)).expect("composer");
        ui.typewrite("hi Alice!");
        ui.click("Send").expect("send");
    })
    .await;
    alice
        .until("Bob's reply", |w| w.pane_shows("hi Alice!"))
        .await;
    alice
        .until("the delivery receipt", |w| {
            let main::Pane::Conversation(open) = w.state.pane() else {
                return false;
            };
            open.messages().iter().any(|m| {
                m.from_me && m.delivery == Some(boucle_client_core::DeliveryState::Delivered)
            })
        })
        .await;

    // Alice reacts to Bob's answer; Bob's open conversation shows the reaction.
    alice
        .user(|ui| drop(ui.click(in_pane("hi Alice!")).expect("Bob's message")))
        .await;
    alice
        .user(|ui| drop(ui.click("👍").expect("the thumbs up")))
        .await;
    bob.until("Alice's reaction", |w| {
        let main::Pane::Conversation(open) = w.state.pane() else {
            return false;
        };
        open.messages()
            .iter()
            .any(|m| m.from_me && m.reactions.iter().any(|r| !r.mine && r.emoji == "👍"))
    })
    .await;
    assert!(bob.shows("👍"), "the reaction's chip");

    // Alice edits her first message; Bob sees the new text, marked edited.
    alice
        .user(|ui| drop(ui.click(in_pane("hello from Alice")).expect("her message")))
        .await;
    alice.user(|ui| drop(ui.click("Edit").expect("edit"))).await;
    alice
        .user(|ui| {
            ui.click(id(conversation::COMPOSER)).expect("composer");
            ui.typewrite(", edited");
            ui.tap_key(Key::Named(Named::Enter));
        })
        .await;
    assert!(alice.shows("hello from Alice, edited"));
    bob.until("Alice's edit", |w| w.pane_shows("hello from Alice, edited"))
        .await;
}

/// Alice invites Bob and Bob accepts; both see each other in their lists.
async fn introduce(alice: &mut Window, bob: &mut Window) {
    alice
        .user(|ui| drop(ui.click("Invite someone").expect("invite")))
        .await;
    alice
        .user(|ui| drop(ui.click("Copy link").expect("copy")))
        .await;
    let link = alice.copied.pop().expect("a copied link");
    bob.user(|ui| drop(ui.click("Accept an invitation").expect("accept")))
        .await;
    bob.user(|ui| {
        ui.click(id(accept::LINK)).expect("link field");
        ui.typewrite(&link);
        ui.click("Accept").expect("accept button");
    })
    .await;
    alice.until("Bob in Alice's list", |w| w.shows("Bob")).await;
}

/// The open conversation's poll, if it is loaded.
fn open_poll(window: &Window) -> Option<boucle_client_core::PollView> {
    let main::Pane::Conversation(open) = window.state.pane() else {
        return None;
    };
    let id = open
        .messages()
        .iter()
        .find(|m| matches!(m.body, boucle_client_core::MessageBody::Poll { .. }))?
        .id;
    open.poll(id).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_made_in_one_window_is_voted_on_in_the_other() {
    let relay = RelayProcess::start(RelayOptions::default()).expect("relay");
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = Window::onboard("Alice", &relay, dirs.0.path()).await;
    let mut bob = Window::onboard("Bob", &relay, dirs.1.path()).await;
    introduce(&mut alice, &mut bob).await;
    alice
        .user(|ui| drop(ui.click("Bob").expect("Bob in the list")))
        .await;
    bob.user(|ui| drop(ui.click("Alice").expect("Alice in the list")))
        .await;

    // Alice asks, through the form.
    alice
        .user(|ui| drop(ui.click("New poll").expect("poll button")))
        .await;
    alice
        .user(|ui| {
            ui.click(id(new_poll::QUESTION)).expect("question");
            ui.typewrite("Which day for the assembly?");
            ui.click(id(new_poll::option_id(0))).expect("option");
            ui.typewrite("Thursday");
            ui.click(id(new_poll::option_id(1))).expect("option");
            ui.typewrite("Friday");
            ui.click("Create the poll").expect("create");
        })
        .await;
    assert!(alice.pane_shows("Which day for the assembly?"));
    assert!(alice.shows("No votes yet: click an option to vote."));

    // Bob sees it in his open conversation and votes Friday.
    bob.until("the poll", |w| open_poll(w).is_some()).await;
    assert!(bob.pane_shows("Which day for the assembly?"));
    bob.user(|ui| drop(ui.click("Friday").expect("an option")))
        .await;
    assert!(bob.shows("1 · 100%"), "Bob's own tally at once");
    assert!(bob.shows("you"), "his name under Friday");

    // Alice's tally follows; she votes Thursday, and both see two voters.
    alice
        .until("Bob's vote", |w| {
            open_poll(w).is_some_and(|p| p.options[1].votes == 1)
        })
        .await;
    assert!(alice.shows("Bob"), "Bob under Friday (and in the list)");
    alice
        .user(|ui| drop(ui.click("Thursday").expect("an option")))
        .await;
    assert!(alice.shows("2 voters · click another option to change your vote"));
    bob.until("Alice's vote", |w| {
        open_poll(w).is_some_and(|p| p.voters.len() == 2)
    })
    .await;
    assert!(bob.shows("1 · 50%"));

    // Bob changes his mind: both count two for Thursday.
    bob.user(|ui| drop(ui.click("Thursday").expect("an option")))
        .await;
    assert!(bob.shows("2 · 100%"));
    alice
        .until("Bob's changed vote", |w| {
            open_poll(w).is_some_and(|p| p.options[0].votes == 2)
        })
        .await;

    // Alice closes it; Bob sees it closed.
    alice
        .user(|ui| drop(ui.click("Close poll").expect("close")))
        .await;
    alice
        .user(|ui| drop(ui.click("Close it").expect("confirm")))
        .await;
    assert!(alice.shows("Closed just now · final result"));
    bob.until("the close", |w| open_poll(w).is_some_and(|p| p.closed))
        .await;
    assert!(bob.shows("Closed just now · final result"));
    assert!(bob.shows("most votes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_runs_unlock_and_a_wrong_passphrase_says_so() {
    let relay = RelayProcess::start(RelayOptions::default()).expect("relay");
    let dir = tempfile::tempdir().unwrap();
    let window = Window::onboard("Alice", &relay, dir.path()).await;
    let Window { engine, state, .. } = window;
    drop(state);
    engine.lock().await;

    let config = Config {
        profile: dir.path().join("profile"),
        kdf: KdfParams::for_tests(),
        relay: None,
        token: None,
    };
    let mut app = app::App::new(config.clone());
    assert!(matches!(app.screen(), app::Screen::Unlock(_)));
    assert_eq!(app.title(), "Boucle");

    // A wrong passphrase, typed and submitted with Enter.
    let messages: Vec<app::Message> = {
        let mut ui = simulator(app.view());
        ui.click(id("passphrase")).expect("passphrase field");
        ui.typewrite("not my passphrase");
        ui.tap_key(Key::Named(Named::Enter));
        ui.into_messages().collect()
    };
    for message in messages {
        // The task would run `app::open`: run it here, as the runtime would.
        let _ = app.update(message);
    }
    assert!(simulator(app.view()).find("Unlocking…").is_ok());
    let opened = app::open(config.clone(), "not my passphrase".into()).await;
    let _ = app.update(app::Message::Opened(opened));
    assert!(
        simulator(app.view())
            .find("Wrong passphrase. Try again.")
            .is_ok()
    );

    // The right one opens the main window.
    let opened = app::open(config, "river lamp orange tiger".into()).await;
    assert!(opened.is_ok(), "{:?}", opened.as_ref().err());
    let _ = app.update(app::Message::Opened(opened));
    assert!(matches!(app.screen(), app::Screen::Main { .. }));
    assert!(simulator(app.view()).find("Invite someone").is_ok());
}

/// The open conversation's file: its message id and how far it has got.
fn open_file(window: &Window) -> Option<(boucle_client_core::MessageId, TransferState)> {
    let main::Pane::Conversation(open) = window.state.pane() else {
        return None;
    };
    let id = open
        .messages()
        .iter()
        .find(|m| matches!(m.body, boucle_client_core::MessageBody::Attachment { .. }))?
        .id;
    Some((id, open.attachment(id)?.state.clone()))
}

fn has_preview(window: &Window, id: boucle_client_core::MessageId) -> bool {
    matches!(window.state.pane(), main::Pane::Conversation(open) if open.has_preview(id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sent_from_one_window_arrives_complete_and_saves_the_same_bytes() {
    let relay = RelayProcess::start(RelayOptions::default()).expect("relay");
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = Window::onboard("Alice", &relay, dirs.0.path()).await;
    let mut bob = Window::onboard("Bob", &relay, dirs.1.path()).await;
    introduce(&mut alice, &mut bob).await;
    alice
        .user(|ui| drop(ui.click("Bob").expect("Bob in the list")))
        .await;
    bob.user(|ui| drop(ui.click("Alice").expect("Alice in the list")))
        .await;

    // A picture of about 200 KB (noise does not compress), several chunks.
    let picture = image::RgbImage::from_fn(260, 260, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(97);
        image::Rgb([(n >> 8) as u8, (n >> 16) as u8, (n >> 24) as u8])
    });
    let path = dirs.0.path().join("noise.png");
    picture.save(&path).expect("picture written");
    let original = std::fs::read(&path).expect("picture read");

    // Alice drops it on the window and sends it.
    alice
        .user(|ui| drop(ui.click("Attach").expect("attach")))
        .await;
    let commands = alice
        .state
        .handle(Message::Conversation(conversation::Message::FileDropped(
            path.clone(),
        )));
    alice.run(commands).await;
    alice
        .user(|ui| drop(ui.click("Send the file").expect("send")))
        .await;
    assert!(alice.pane_shows("noise.png"));
    let (sent, _) = open_file(&alice).expect("Alice's card");
    assert!(has_preview(&alice, sent), "her own picture shows at once");
    alice
        .until("the upload", |w| {
            open_file(w).is_some_and(|(_, s)| s == TransferState::Complete)
        })
        .await;

    // Bob receives it whole, with its preview, and saves it where he says.
    bob.until("the file, complete", |w| {
        open_file(w).is_some_and(|(_, s)| s == TransferState::Complete)
    })
    .await;
    let (received, _) = open_file(&bob).expect("Bob's card");
    bob.until("the preview", |w| has_preview(w, received)).await;
    assert!(bob.pane_shows("noise.png"));
    bob.user(|ui| drop(ui.click("Save…").expect("save"))).await;
    let target = dirs.1.path().join("saved").join("noise.png");
    let commands = bob
        .state
        .handle(Message::Conversation(conversation::Message::Attachments(
            conversation::attachments::Message::SavePath(received, target.display().to_string()),
        )));
    bob.run(commands).await;
    bob.user(|ui| drop(ui.click("Save").expect("save button")))
        .await;
    assert!(bob.shows(&format!("Saved to {}.", target.display())));
    assert_eq!(std::fs::read(&target).expect("saved file"), original);
}
