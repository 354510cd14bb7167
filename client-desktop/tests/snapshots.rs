//! Snapshot images of the main screens, rendered headlessly with tiny-skia and compared
//! byte for byte with `tests/snapshots/*.png` (delete a PNG to record it again).

use boucle_client_core::{
    Contact, ContactId, ConversationId, DeliveryState, MessageBody, MessageId, MessageView,
};
use boucle_desktop::screen::{conversation, onboarding, verify};
use boucle_desktop::{format, io, theme};
use iced_test::simulator;

fn check<M>(name: &str, element: iced::Element<'_, M>) {
    let mut ui = simulator(element);
    let snapshot = ui.snapshot(&theme::theme()).expect("rendered");
    assert!(
        snapshot
            .matches_image(format!("tests/snapshots/{name}"))
            .expect("compared"),
        "{name} differs from its snapshot"
    );
}

const NADIA: ContactId = ContactId([3; 16]);

fn message(n: u8, from_me: bool, text: &str) -> MessageView {
    let now = format::now_ms();
    MessageView {
        id: MessageId([n; 16]),
        conversation: ConversationId::Contact(NADIA),
        from_me,
        sender: None,
        sent_at: now,
        received_at: now,
        body: MessageBody::Text(text.into()),
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: from_me.then_some(DeliveryState::Delivered),
        position: u64::from(n),
    }
}

#[test]
fn onboarding() {
    let state = onboarding::State::new(Some("boucle-relay://127.0.0.1:4433/AAAA".into()), None);
    check("onboarding", state.view());
}

#[test]
fn conversation() {
    let mut state = conversation::State::new(
        ConversationId::Contact(NADIA),
        conversation::Header {
            title: "Nadia".into(),
            contact: Some(NADIA),
            verified: true,
            identity_changed: false,
        },
    );
    state.set_history(vec![
        message(1, false, "Are you coming to the assembly tonight?"),
        MessageView {
            reply_to: Some(MessageId([1; 16])),
            ..message(2, true, "Yes, I'll bring the banners.")
        },
        MessageView {
            delivery: Some(DeliveryState::Queued),
            ..message(3, true, "See you at eight.")
        },
    ]);
    check("conversation", state.view(true));
}

#[test]
fn safety_number() {
    let mut state = verify::State::new(&Contact {
        id: NADIA,
        name: "Nadia".into(),
        verified: false,
        identity_changed: false,
        unread: 0,
        relay_host: "127.0.0.1".into(),
        last_activity: 0,
    });
    state.loaded(Ok(io::Safety {
        groups: (1..=12).map(|i| format!("{:05}", i * 7919)).collect(),
        qr: (0..65).collect(),
    }));
    check("safety-number", state.view());
}
