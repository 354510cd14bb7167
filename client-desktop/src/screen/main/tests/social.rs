//! Files, shared contacts, announcement loops and disappearing messages through the
//! main window: what each click asks of the engine, and how the engine's answers and
//! events (progress, completion, expiry) change what is shown.

use super::*;
use crate::io::Attached;
use crate::screen::fixtures::{file, file_body, png, shared_body};
use boucle_client_core::{Posting, TransferState};
use iced_test::selector::id;

const LOOP: ConversationId = ConversationId::Loop(TENANTS);
const KARIM: ContactId = ContactId([5; 16]);

/// A message arrives in the loop.
fn in_loop(state: &mut State, n: u8, body: MessageBody, from_me: bool) {
    let message = MessageView {
        id: MessageId([n; 16]),
        conversation: LOOP,
        from_me,
        sender: (!from_me).then(|| "Nadia".to_owned()),
        body,
        position: u64::from(n),
        ..message(LOOP, from_me, "")
    };
    state.handle(Message::Event(Some(Event::MessageReceived(message))));
}

#[test]
fn a_file_is_attached_sent_followed_and_saved() {
    let mut state = loaded();
    state.handle(Message::Open(LOOP));
    let commands = user(&mut state, |ui| {
        ui.click("Attach").expect("attach");
    });
    assert!(matches!(
        commands.as_slice(),
        [Command::Focus(conversation::ATTACH_PATH)]
    ));
    let commands = user(&mut state, |ui| {
        ui.click(id(conversation::ATTACH_PATH)).expect("path");
        ui.typewrite("poster.png");
        ui.click("Send the file").expect("send");
    });
    let path = match requests(&commands).as_slice() {
        [Request::SendFile { conversation, path }] if *conversation == LOOP => path.clone(),
        other => panic!("{other:?}"),
    };
    assert!(path.ends_with("poster.png"));

    let sent = MessageView {
        id: MessageId([8; 16]),
        body: file_body("poster.png", "image/png", 3_000),
        position: 8,
        ..message(LOOP, true, "")
    };
    let commands = state.handle(Message::Response(
        state.here(),
        Response::FileSent(LOOP, path, Ok(sent.clone())),
    ));
    assert!(requests(&commands).iter().any(|r| matches!(
        r,
        Request::Attachment { conversation: LOOP, message, bytes: true } if *message == sent.id
    )));
    let attached = |state: TransferState, bytes: Option<Vec<u8>>| {
        Response::Attachment(
            LOOP,
            MessageId([8; 16]),
            Ok(Box::new(Attached {
                view: file(8, "poster.png", "image/png", 3_000, state),
                bytes,
            })),
        )
    };
    state.handle(Message::Response(
        state.here(),
        attached(
            TransferState::Uploading {
                done: 0,
                total: 3_000,
            },
            Some(png(32, 20)),
        ),
    ));
    state.handle(Message::Event(Some(Event::TransferProgress {
        conversation: LOOP,
        message: MessageId([8; 16]),
        done: 1_200,
        total: 3_000,
        upload: true,
    })));
    assert!(shows(&state, "Sending… 40% (2 KB of 3 KB)"));

    // Done: the engine says the message changed, and the file is read again.
    let commands = state.handle(Message::Event(Some(Event::MessageUpdated(sent))));
    assert!(
        requests(&commands)
            .iter()
            .any(|r| matches!(r, Request::Attachment { bytes: false, .. })),
        "the preview is there already"
    );
    state.handle(Message::Response(
        state.here(),
        attached(TransferState::Complete, None),
    ));
    let commands = user(&mut state, |ui| {
        ui.click("Save…").expect("save");
    });
    assert!(matches!(
        commands.as_slice(),
        [Command::Focus(conversation::attachments::SAVE_PATH)]
    ));
    let commands = user(&mut state, |ui| {
        ui.click("Save").expect("save");
    });
    let path = match requests(&commands).as_slice() {
        [
            Request::Save {
                conversation: LOOP,
                path,
                ..
            },
        ] => path.clone(),
        other => panic!("{other:?}"),
    };
    state.handle(Message::Response(
        state.here(),
        Response::Saved(LOOP, MessageId([8; 16]), Ok((path.clone(), 3_000))),
    ));
    assert!(shows(&state, &format!("Saved to {}.", path.display())));
}

#[test]
fn a_shared_contact_is_added_then_listed_with_who_introduced_them_and_verified() {
    let mut state = loaded();
    state.handle(Message::Open(LOOP));
    in_loop(&mut state, 9, shared_body("Karim", None), false);
    let commands = user(&mut state, |ui| {
        ui.click("Add contact").expect("add");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::AddShared(LOOP, m)] if *m == MessageId([9; 16])
    ));
    let commands = state.handle(Message::Response(
        state.here(),
        Response::AddedShared(LOOP, MessageId([9; 16]), Ok(KARIM)),
    ));
    assert!(matches!(requests(&commands).as_slice(), [Request::Refresh]));
    let mut overview = overview();
    overview.contacts.push(Contact {
        introduced_by: Some("Nadia".into()),
        ..contact(KARIM, "Karim", 0, format_now())
    });
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview)),
    ));
    assert!(shows(&state, "introduced by Nadia"), "in the list");

    let commands = user(&mut state, |ui| {
        ui.click("Added — open conversation").expect("open");
    });
    assert!(
        requests(&commands)
            .iter()
            .any(|r| matches!(r, Request::History(ConversationId::Contact(KARIM))))
    );
    let commands = user(&mut state, |ui| {
        ui.click("Verify").expect("verify");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::SafetyNumber(KARIM)]
    ));
    assert!(shows(&state, "Safety number with Karim"));
    assert!(shows(
        &state,
        "Nadia introduced you: that says who they are to Nadia, not to you. Compare the digits with Karim yourself."
    ));
    state.handle(Message::Response(
        state.here(),
        Response::SafetyNumber(
            KARIM,
            Ok(crate::io::Safety {
                groups: vec!["12345".into(); 12],
                qr: vec![1; 65],
            }),
        ),
    ));
    let commands = user(&mut state, |ui| {
        ui.click("They match: mark as verified").expect("verify");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::MarkVerified(KARIM)]
    ));
}

#[test]
fn sharing_asks_the_engine_and_a_refusal_is_said() {
    let mut state = loaded();
    let mut overview = overview();
    overview.contacts[1].can_share = true;
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview)),
    ));
    state.handle(Message::Open(LOOP));
    user(&mut state, |ui| {
        ui.click("Share a contact").expect("share");
    });
    assert!(shows(
        &state,
        "Share a contact with Tenants: they can add them in one click."
    ));
    // (The list has an "Omar" too: the picker's own click is tested with the screen.)
    let commands = state.handle(Message::Conversation(conversation::Message::Shared(
        conversation::shared::Message::Share(OMAR),
    )));
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::Share(LOOP, OMAR)]
    ));
    state.handle(Message::Response(state.here(), Response::Sent(
        LOOP,
        Err("Omar cannot be shared yet: their shareable card arrives once they have been online since you met.".into()),
    )));
    assert!(shows(
        &state,
        "Your message was not sent. Omar cannot be shared yet: their shareable card arrives once they have been online since you met."
    ));
}

#[test]
fn a_member_of_an_announcement_loop_has_no_composer() {
    let mut state = loaded();
    let mut overview = overview();
    overview.loops[0].admin = false;
    overview.loops[0].may_post = false;
    overview.loops[0].policy.posting = Posting::Admins;
    overview.loops[0].timer = 86_400;
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview)),
    ));
    state.handle(Message::Open(LOOP));
    assert!(shows(
        &state,
        "Only admins post in this loop. You can still react and vote."
    ));
    assert!(!shows(&state, "New poll"));
    assert!(!shows(&state, "Attach"));
    assert!(shows(&state, "disappearing: 1 day"));
    assert!(
        shows(&state, "Disappearing: 1 day"),
        "as text: not an admin"
    );
    assert!(
        user(&mut state, |ui| {
            ui.click("Disappearing: 1 day").expect("the value");
        })
        .is_empty()
    );

    // Made an admin: the composer comes back.
    let mut overview = super::overview();
    overview.loops[0].policy.posting = Posting::Admins;
    state.handle(Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview)),
    ));
    assert!(shows(&state, "New poll"));
}

#[test]
fn the_timer_is_set_then_read_back_and_expired_messages_go() {
    let mut state = loaded();
    let nadia = ConversationId::Contact(NADIA);
    let commands = state.handle(Message::Open(nadia));
    assert!(
        requests(&commands)
            .iter()
            .any(|r| matches!(r, Request::Timer(c) if *c == nadia))
    );
    user(&mut state, |ui| {
        ui.click("Disappearing: Off").expect("timer");
    });
    let commands = user(&mut state, |ui| {
        ui.click("1 week").expect("a choice");
    });
    assert!(matches!(
        requests(&commands).as_slice(),
        [Request::SetTimer(c, 604_800)] if *c == nadia
    ));
    let commands = state.handle(Message::Response(
        state.here(),
        Response::TimerSet(nadia, 604_800, Ok(())),
    ));
    let requests = requests(&commands);
    assert!(
        requests
            .iter()
            .any(|r| matches!(r, Request::History(c) if *c == nadia))
    );
    assert!(shows(&state, "disappearing: 1 week"));

    let mut line = message(nadia, true, "");
    line.id = MessageId([20; 16]);
    line.body = MessageBody::TimerChanged { seconds: 604_800 };
    let mut old = message(nadia, false, "the old plan");
    old.id = MessageId([21; 16]);
    state.handle(Message::Response(
        state.here(),
        Response::History(nadia, Ok(vec![old, line])),
    ));
    assert!(shows(&state, "You set disappearing messages to 1 week"));
    assert!(shows(&state, "the old plan"));
    let commands = state.handle(Message::Event(Some(Event::MessagesExpired {
        conversation: nadia,
        ids: vec![MessageId([21; 16])],
    })));
    assert!(!shows(&state, "the old plan"));
    assert!(
        matches!(super::requests(&commands).as_slice(), [Request::Refresh]),
        "the list's previews are read again"
    );
}
