//! Files, shared contacts, announcement loops and disappearing messages in the
//! conversation as a user sees them: attaching (refused, then sent), progress, saving
//! and an image's preview; sharing a contact and adding one from its card; the
//! composer of a member of an announcement loop; the timer selector, its tag and its
//! lines; and expired messages going.

use super::*;
use crate::format;
use crate::screen::fixtures::{TENANTS, entry, file, file_body, png, poll, shared_body};
use boucle_client_core::{Contact, TIMER_CHOICES, TransferState};
use iced_test::selector::id;
use iced_test::{Simulator, simulator};

const FILE: MessageId = MessageId([7; 16]);
const NADIA: ContactId = ContactId([1; 16]);
const OMAR: ContactId = ContactId([2; 16]);
const KARIM: ContactId = ContactId([3; 16]);

fn state() -> State {
    let mut state = State::new(
        TENANTS,
        Header {
            title: "Tenants".into(),
            contact: None,
            verified: false,
            identity_changed: false,
            blocked: false,
        },
    );
    state.set_history(vec![entry(
        1,
        MessageBody::Text("The landlord answered.".into()),
        false,
    )]);
    state.update(Message::Tick(format::now_ms()));
    state
}

fn contact(id: ContactId, name: &str, can_share: bool) -> Contact {
    Contact {
        id,
        name: name.into(),
        verified: false,
        identity_changed: false,
        unread: 0,
        relay_host: "127.0.0.1".into(),
        last_activity: 0,
        introduced_by: None,
        can_share,
        blocked: false,
    }
}

fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
    let mut ui = simulator(state.view(false));
    act(&mut ui);
    let messages: Vec<Message> = ui.into_messages().collect();
    messages
        .into_iter()
        .map(|m| state.update(m))
        .filter(|a| !matches!(a, Action::None))
        .collect()
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view(false)).find(text).is_ok()
}

fn with_file(state: &mut State, media_type: &str, transfer: TransferState) {
    state.upsert(entry(
        7,
        file_body("flyer.pdf", media_type, 2_400_000),
        true,
    ));
    state.set_attachment(
        FILE,
        Ok(Attached {
            view: file(7, "flyer.pdf", media_type, 2_400_000, transfer),
            bytes: None,
        }),
    );
}

#[test]
fn attaching_refuses_what_cannot_be_sent_then_sends_a_file() {
    let mut state = state();
    let actions = user(&mut state, |ui| {
        ui.click("Attach").expect("the composer's button");
    });
    assert_eq!(actions, [Action::Focus(ATTACH_PATH)]);
    assert!(shows(
        &state,
        "Send a file (up to 64 MB): type its path, or drop it on the window."
    ));

    // An empty path is refused here, without the disk.
    state.update(Message::Attachments(attachments::Message::AttachPath(
        String::new(),
    )));
    assert!(
        user(&mut state, |ui| {
            ui.click("Send the file").expect("send");
        })
        .is_empty()
    );
    assert!(shows(&state, "Type the path of the file to send."));

    // A file too large: the engine's task refuses it, and the pane says why.
    let actions = user(&mut state, |ui| {
        ui.click(id(ATTACH_PATH)).expect("path");
        ui.typewrite("/tmp/big.iso");
        ui.click("Send the file").expect("send");
    });
    assert_eq!(actions, [Action::SendFile("/tmp/big.iso".into())]);
    assert!(shows(&state, "Sending…"));
    state.file_sent(Err(
        "/tmp/big.iso is 70.0 MB: files of at most 64 MB can be sent.".into(),
    ));
    assert!(shows(
        &state,
        "/tmp/big.iso is 70.0 MB: files of at most 64 MB can be sent."
    ));

    // A missing file, then one that is there.
    state.update(Message::Attachments(attachments::Message::AttachPath(
        "/tmp/nothing.pdf".into(),
    )));
    let actions = user(&mut state, |ui| {
        ui.click("Send the file").expect("send");
    });
    assert_eq!(actions, [Action::SendFile("/tmp/nothing.pdf".into())]);
    state.file_sent(Err("There is no file at /tmp/nothing.pdf.".into()));
    assert!(shows(&state, "There is no file at /tmp/nothing.pdf."));

    state.update(Message::FileDropped("/tmp/flyer.pdf".into()));
    let actions = user(&mut state, |ui| {
        ui.click("Send the file").expect("send");
    });
    assert_eq!(actions, [Action::SendFile("/tmp/flyer.pdf".into())]);
    state.file_sent(Ok(entry(
        7,
        file_body("flyer.pdf", "application/pdf", 2_400_000),
        true,
    )));
    assert!(!shows(&state, "Send the file"), "the pane closes");
    assert!(shows(&state, "flyer.pdf"));
    assert!(shows(&state, "PDF"));
    assert!(shows(&state, "2.3 MB"));
    assert!(shows(&state, "Reading the file…"));
    assert_eq!(state.unknown_files(), [FILE]);
}

#[test]
fn a_file_shows_its_progress_and_why_it_failed() {
    let mut state = state();
    with_file(
        &mut state,
        "application/pdf",
        TransferState::Uploading {
            done: 0,
            total: 2_400_000,
        },
    );
    assert!(shows(&state, "Sending… 0% (0 bytes of 2.3 MB)"));
    state.progress(FILE, 1_200_000, 2_400_000, true);
    assert!(
        simulator(state.view(false))
            .find("Sending… 50% (1.1 MB of 2.3 MB)")
            .is_ok(),
        "{:?}",
        state.attachment(FILE)
    );
    assert!(!shows(&state, "Save…"), "nothing to save while sending");

    with_file(
        &mut state,
        "application/pdf",
        TransferState::Downloading {
            done: 600_000,
            total: 2_400_000,
        },
    );
    assert!(shows(&state, "Receiving… 25% (586 KB of 2.3 MB)"));

    with_file(
        &mut state,
        "application/pdf",
        TransferState::Failed("a part of it is missing".into()),
    );
    assert!(shows(&state, "Failed: a part of it is missing"));
    state.progress(FILE, 10, 20, false);
    assert!(
        shows(&state, "Failed: a part of it is missing"),
        "stays failed"
    );
}

#[test]
fn a_complete_file_is_saved_where_the_user_says() {
    let mut state = state();
    with_file(&mut state, "application/pdf", TransferState::Complete);
    let actions = user(&mut state, |ui| {
        ui.click("Save…").expect("save");
    });
    assert_eq!(actions, [Action::Focus(attachments::SAVE_PATH)]);
    let default = crate::io::default_save_path("flyer.pdf");
    assert!(default.ends_with("flyer.pdf"));
    assert!(shows(&state, &default.display().to_string()));

    state.update(Message::Attachments(attachments::Message::SavePath(
        FILE,
        "/tmp/boucle/flyer.pdf".into(),
    )));
    let actions = user(&mut state, |ui| {
        ui.click("Save").expect("save");
    });
    assert_eq!(
        actions,
        [Action::SaveFile(FILE, "/tmp/boucle/flyer.pdf".into())]
    );
    assert!(shows(&state, "Saving…"));
    state.saved(FILE, Ok(("/tmp/boucle/flyer.pdf".into(), 2_400_000)));
    assert!(shows(&state, "Saved to /tmp/boucle/flyer.pdf."));

    state.update(Message::Attachments(attachments::Message::SavePath(
        FILE,
        "/root/x.pdf".into(),
    )));
    state.saved(FILE, Err("/root/x.pdf: permission denied.".into()));
    assert!(shows(&state, "Not saved. /root/x.pdf: permission denied."));
}

#[test]
fn an_image_shows_a_preview() {
    let mut state = state();
    state.upsert(entry(7, file_body("banner.png", "image/png", 4_000), false));
    assert!(state.wants_preview(FILE));
    assert!(!state.has_preview(FILE));
    state.set_attachment(
        FILE,
        Ok(Attached {
            view: file(7, "banner.png", "image/png", 4_000, TransferState::Complete),
            bytes: Some(png(64, 40)),
        }),
    );
    assert!(state.has_preview(FILE));
    assert!(!state.wants_preview(FILE), "asked for once");
    assert!(shows(&state, "Image"));
    assert!(shows(&state, "banner.png"));
    assert!(shows(&state, "Save…"));
}

#[test]
fn a_contact_is_shared_from_the_picker_and_added_from_its_card() {
    let mut state = state();
    state.set_contacts(vec![
        contact(NADIA, "Léa", true),
        contact(OMAR, "Omar", false),
    ]);
    assert!(
        user(&mut state, |ui| {
            ui.click("Share a contact").expect("the composer's button");
        })
        .is_empty()
    );
    assert!(shows(
        &state,
        "Share a contact with Tenants: they can add them in one click."
    ));
    assert!(shows(&state, "not shareable yet"), "Omar is greyed");
    assert!(
        user(&mut state, |ui| {
            ui.click("Omar").expect("Omar's line");
        })
        .is_empty(),
        "Omar cannot be shared yet"
    );
    let actions = user(&mut state, |ui| {
        ui.click("Léa").expect("Léa");
    });
    assert_eq!(actions, [Action::Share(NADIA)]);
    assert!(!shows(&state, "not shareable yet"), "the picker closes");
    assert!(shows(&state, "Sharing the contact…"));
    let mut shared = entry(8, shared_body("Léa", Some(NADIA)), true);
    shared.sender = None;
    state.sent(Ok(shared));
    assert!(shows(&state, "introduced by you"));
    assert!(shows(&state, "Already a contact"));

    // Someone shares Karim with us: one click adds him.
    state.upsert(entry(9, shared_body("Karim", None), false));
    assert!(shows(&state, "Karim"));
    assert!(shows(&state, "introduced by Nadia"));
    let actions = user(&mut state, |ui| {
        ui.click("Add contact").expect("add");
    });
    assert_eq!(actions, [Action::AddContact(MessageId([9; 16]))]);
    assert!(shows(&state, "Adding…"));
    state.added(MessageId([9; 16]), Ok(KARIM));
    let actions = user(&mut state, |ui| {
        ui.click("Added — open conversation").expect("open");
    });
    assert_eq!(actions, [Action::OpenContact(KARIM)]);
}

#[test]
fn a_member_of_an_announcement_loop_reacts_and_votes_but_does_not_post() {
    let mut state = state();
    state.upsert(entry(
        5,
        MessageBody::Poll {
            question: "Which day?".into(),
        },
        false,
    ));
    state.set_polls(vec![poll(
        5,
        "Which day?",
        &["Thursday", "Friday"],
        &[],
        false,
    )]);
    state.set_rules(Rules {
        may_post: false,
        may_set_timer: false,
    });
    assert!(shows(
        &state,
        "Only admins post in this loop. You can still react and vote."
    ));
    for hidden in ["Send", "New poll", "New event", "Attach", "Share a contact"] {
        assert!(!shows(&state, hidden), "{hidden} is hidden");
    }
    assert!(
        state.update(Message::Attachments(attachments::Message::Attach)) == Action::FocusComposer
    );
    assert!(!shows(&state, "Send the file"));

    let actions = user(&mut state, |ui| {
        ui.click("Friday").expect("an option");
    });
    assert_eq!(
        actions,
        [Action::Organize(Organize::Vote {
            poll: MessageId([5; 16]),
            choices: vec![1],
        })]
    );
    let actions = user(&mut state, |ui| {
        ui.click("The landlord answered.").expect("the message");
    });
    assert!(actions.is_empty());
    let actions = user(&mut state, |ui| {
        ui.click("Reply").expect("its actions");
    });
    assert_eq!(actions, [Action::FocusComposer]);
}

#[test]
fn the_timer_is_chosen_in_the_header_and_its_changes_are_lines() {
    let mut state = state();
    assert!(shows(&state, "Disappearing: Off"));
    assert!(!shows(&state, "disappearing: 1 day"));
    assert!(
        user(&mut state, |ui| {
            ui.click("Disappearing: Off").expect("the header's button");
        })
        .is_empty()
    );
    assert!(shows(&state, "Messages disappear after:"));
    for seconds in TIMER_CHOICES.iter().skip(1) {
        assert!(shows(&state, &format::timer(*seconds)));
    }
    let actions = user(&mut state, |ui| {
        ui.click("1 day").expect("a choice");
    });
    assert_eq!(actions, [Action::SetTimer(86_400)]);
    assert!(!shows(&state, "Messages disappear after:"), "it closes");
    state.timer_set(86_400, Ok(()));
    assert!(shows(&state, "disappearing: 1 day"));
    assert!(shows(&state, "Disappearing: 1 day"));

    let mut line = entry(10, MessageBody::TimerChanged { seconds: 86_400 }, true);
    line.sender = None;
    state.upsert(line);
    assert!(shows(&state, "You set disappearing messages to 1 day"));
    state.upsert(entry(
        11,
        MessageBody::TimerChanged { seconds: 604_800 },
        false,
    ));
    assert!(shows(&state, "Nadia set disappearing messages to 1 week"));
    assert!(shows(&state, "disappearing: 1 week"), "a change received");
    state.upsert(entry(12, MessageBody::TimerChanged { seconds: 0 }, false));
    assert!(shows(&state, "Nadia turned disappearing messages off"));
    assert!(!shows(&state, "disappearing: 1 week"));

    // A member of a loop who is not an admin only reads it.
    state.set_timer(3_600);
    state.set_rules(Rules {
        may_post: true,
        may_set_timer: false,
    });
    assert!(shows(&state, "Disappearing: 1 hour"));
    assert!(
        user(&mut state, |ui| {
            ui.click("Disappearing: 1 hour").expect("the value");
        })
        .is_empty()
    );
    assert!(!shows(&state, "Messages disappear after:"));
}

#[test]
fn expired_messages_vanish() {
    let mut state = state();
    state.upsert(entry(2, MessageBody::Text("Meet at eight.".into()), true));
    state.upsert(entry(
        3,
        MessageBody::Text("Bring the letters.".into()),
        false,
    ));
    state.update(Message::History(history::Message::Reply(MessageId(
        [2; 16],
    ))));
    state.expired(&[MessageId([1; 16]), MessageId([2; 16])]);
    assert!(!shows(&state, "The landlord answered."));
    assert!(!shows(&state, "Meet at eight."));
    assert!(shows(&state, "Bring the letters."));
    assert_eq!(state.mode(), Mode::Write, "the reply went with its message");
    assert_eq!(state.messages().len(), 1);
}
