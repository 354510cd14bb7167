//! Snapshot images of the main screens, rendered headlessly with tiny-skia and compared
//! byte for byte with `tests/snapshots/*.png` (delete a PNG to record it again).
//!
//! Times are shown relative to now ("just now", "5 min ago"), so the data is made
//! relative to now too, and the screens are given the time (the tick the app
//! subscribes to) just before they are drawn. Pictures are drawn here (the image crate), so nothing is read
//! from disk.

use boucle_client_core::{
    AttachmentView, Contact, ContactId, ConversationId, DeliveryState, EventDetails, EventView,
    LoopId, LoopView, MemberView, MessageBody, MessageId, MessageView, Participant, PollOption,
    PollView, Reaction, RsvpAnswer, RsvpCounts, TransferState,
};
use boucle_desktop::io::{Attached, Destination, Overview, Response, Safety};
use boucle_desktop::screen::{
    agenda, conversation, loop_settings, main, onboarding, unlock, verify,
};
use boucle_desktop::when::Zone;
use boucle_desktop::{format, theme};
use iced_test::Simulator;

fn check<M>(name: &str, element: iced::Element<'_, M>) {
    let settings = iced::Settings {
        fonts: vec![theme::EMOJI_FONT.into()],
        default_font: theme::TEXT,
        ..iced::Settings::default()
    };
    let mut ui = Simulator::with_size(settings, (1100.0, 720.0), element);
    let snapshot = ui.snapshot(&theme::theme()).expect("rendered");
    assert!(
        snapshot
            .matches_image(format!("tests/snapshots/{name}"))
            .expect("compared"),
        "{name} differs from its snapshot (delete it to record it again, and look at it)"
    );
}

const NADIA: ContactId = ContactId([3; 16]);
const OMAR: ContactId = ContactId([4; 16]);
const TENANTS: LoopId = LoopId([9; 16]);
const MINUTE: u64 = 60_000;

fn message(n: u8, from_me: bool, text: &str, ago: u64) -> MessageView {
    let at = format::now_ms() - ago;
    MessageView {
        id: MessageId([n; 16]),
        conversation: ConversationId::Contact(NADIA),
        from_me,
        sender: None,
        sent_at: at,
        received_at: at,
        body: MessageBody::Text(text.into()),
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: from_me.then_some(DeliveryState::Delivered),
        position: u64::from(n),
    }
}

fn contact(id: ContactId, name: &str, verified: bool, unread: u32, ago: u64) -> Contact {
    Contact {
        id,
        name: name.into(),
        verified,
        identity_changed: false,
        unread,
        relay_host: "127.0.0.1".into(),
        last_activity: format::now_ms() - ago,
        introduced_by: None,
        can_share: false,
        blocked: false,
    }
}

fn members() -> Vec<MemberView> {
    vec![
        MemberView {
            id: "aa11bb22".into(),
            name: None,
            me: true,
            admin: true,
            verified: false,
        },
        MemberView {
            id: "cc33dd44".into(),
            name: Some("Nadia".into()),
            me: false,
            admin: true,
            verified: true,
        },
        MemberView {
            id: "ee55ff66".into(),
            name: Some("Omar".into()),
            me: false,
            admin: false,
            verified: false,
        },
        MemberView {
            id: "0a1b2c3d".into(),
            name: None,
            me: false,
            admin: false,
            verified: false,
        },
    ]
}

fn tenants() -> LoopView {
    LoopView {
        id: TENANTS,
        name: "Tenants of Rue Verte".into(),
        members: 4,
        admin: true,
        member: true,
        unread: 3,
        last_activity: format::now_ms() - 2 * MINUTE,
        policy: Default::default(),
        timer: 0,
        may_post: true,
        may_invite: true,
    }
}

#[test]
fn onboarding() {
    let state = onboarding::State::new(Some("boucle-relay://127.0.0.1:4433/AAAA".into()), None);
    check("onboarding", state.view());
}

#[test]
fn unlock_wrong_passphrase() {
    let mut state = unlock::State::default();
    state.update(unlock::Message::Passphrase("not it".into()));
    state.update(unlock::Message::Submit);
    state.update(unlock::Message::Failed(
        "Wrong passphrase. Try again.".into(),
    ));
    check("unlock", state.view());
}

#[test]
fn list() {
    let (mut state, _) = main::State::new("Alice".into());
    let mut overview = Overview {
        contacts: vec![
            contact(NADIA, "Nadia", true, 2, MINUTE / 2),
            contact(OMAR, "Omar", false, 0, 3 * 60 * MINUTE),
        ],
        loops: vec![tenants()],
        last: Default::default(),
    };
    overview.last.insert(
        ConversationId::Contact(NADIA),
        message(
            1,
            false,
            "Are you coming to the assembly tonight?",
            MINUTE / 2,
        ),
    );
    overview.last.insert(
        ConversationId::Loop(TENANTS),
        MessageView {
            sender: Some("Nadia".into()),
            conversation: ConversationId::Loop(TENANTS),
            ..message(2, false, "The landlord answered our letter", 2 * MINUTE)
        },
    );
    overview.last.insert(
        ConversationId::Contact(OMAR),
        message(3, true, "Thanks, see you Friday", 3 * 60 * MINUTE),
    );
    state.handle(main::Message::Response(
        Destination::Window,
        Response::Refreshed(Ok(overview)),
    ));
    state.handle(main::Message::Tick(format::now_ms()));
    check("list", state.view());
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
            blocked: false,
        },
    );
    state.set_history(vec![
        MessageView {
            reactions: vec![Reaction {
                mine: true,
                emoji: "👍".into(),
            }],
            ..message(
                1,
                false,
                "Are you coming to the assembly tonight?",
                12 * MINUTE,
            )
        },
        MessageView {
            reply_to: Some(MessageId([1; 16])),
            edited: true,
            reactions: vec![Reaction {
                mine: false,
                emoji: "❤️".into(),
            }],
            ..message(
                2,
                true,
                "Yes, I'll bring the banners and the flyers.",
                10 * MINUTE,
            )
        },
        message(3, false, "Great. Omar is printing more.", 4 * MINUTE),
        MessageView {
            delivery: Some(DeliveryState::Queued),
            ..message(4, true, "See you at eight.", 0)
        },
    ]);
    state.update(conversation::Message::History(
        conversation::history::Message::Select(MessageId([3; 16])),
    ));
    state.update(conversation::Message::Tick(format::now_ms()));
    check("conversation", state.view(true));
}

#[test]
fn loop_management() {
    let mut state = loop_settings::State::new(
        &tenants(),
        &[
            contact(NADIA, "Nadia", true, 0, 0),
            contact(OMAR, "Omar", false, 0, 0),
            contact(ContactId([5; 16]), "Léa", false, 0, 0),
        ],
    );
    state.set_members(Ok(members()));
    check("loop-management", state.view());
}

#[test]
fn safety_number() {
    let mut state = verify::State::new(&contact(NADIA, "Nadia", false, 0, 0));
    state.loaded(Ok(Safety {
        groups: (1..=12).map(|i| format!("{:05}", i * 7919)).collect(),
        qr: (0..65).collect(),
    }));
    check("safety-number", state.view());
}

fn person(name: &str) -> Participant {
    Participant {
        id: format!("{:08x}", name.len()),
        name: if name == "Alice" {
            "you".into()
        } else {
            name.into()
        },
        me: name == "Alice",
    }
}

fn people(names: &[&str]) -> Vec<Participant> {
    names.iter().map(|n| person(n)).collect()
}

/// The assembly poll: four voters, ours on Thursday.
fn assembly_poll() -> PollView {
    let options = [
        ("Thursday at 18:00", &["Alice", "Nadia"][..]),
        ("Friday at 19:00", &["Omar"][..]),
        ("Saturday morning", &["Léa", "Nadia"][..]),
    ];
    PollView {
        id: MessageId([5; 16]),
        conversation: ConversationId::Loop(TENANTS),
        author: person("Nadia"),
        created_at: format::now_ms() - 30 * MINUTE,
        question: "When shall we hold the general assembly?".into(),
        options: options
            .iter()
            .enumerate()
            .map(|(i, (text, voters))| PollOption {
                index: i as u8,
                text: (*text).into(),
                votes: voters.len(),
                voters: people(voters),
                mine: voters.contains(&"Alice"),
            })
            .collect(),
        multiple: true,
        closes_at: None,
        closed: false,
        ended_at: None,
        voters: people(&["Alice", "Nadia", "Omar", "Léa"]),
        my_choices: vec![0],
        can_close: false,
    }
}

/// The meeting with the landlord, Friday 2030-06-14 18:00–20:00 UTC.
fn landlord_meeting() -> EventView {
    EventView {
        id: MessageId([6; 16]),
        conversation: ConversationId::Loop(TENANTS),
        conversation_name: "Tenants of Rue Verte".into(),
        author: person("Nadia"),
        created_at: 0,
        details: EventDetails {
            title: "Meeting with the landlord".into(),
            starts_at: 1_907_690_400_000,
            ends_at: Some(1_907_697_600_000),
            time_zone: "UTC".into(),
            place: "12 rue Verte, hall B".into(),
            description: "Bring the letters and the photos of the damp walls.".into(),
        },
        edited: false,
        cancelled: false,
        going: people(&["Nadia", "Omar"]),
        maybe: people(&["Alice"]),
        no: Vec::new(),
        counts: RsvpCounts {
            going: 2,
            maybe: 1,
            no: 0,
        },
        my_answer: Some(RsvpAnswer::Maybe),
        can_edit: true,
    }
}

/// Tenants of Rue Verte, with this history.
fn tenants_conversation(history: Vec<MessageView>) -> conversation::State {
    let mut state = conversation::State::new(
        ConversationId::Loop(TENANTS),
        conversation::Header {
            title: "Tenants of Rue Verte".into(),
            contact: None,
            verified: false,
            identity_changed: false,
            blocked: false,
        },
    );
    state.set_history(
        history
            .into_iter()
            .map(|m| MessageView {
                sender: Some("Nadia".into()),
                conversation: ConversationId::Loop(TENANTS),
                ..m
            })
            .collect(),
    );
    state.set_members(members());
    state.update(conversation::Message::Tick(format::now_ms()));
    state
}

#[test]
fn poll_card() {
    let mut state = tenants_conversation(vec![
        message(4, false, "The landlord answered our letter.", 40 * MINUTE),
        MessageView {
            body: MessageBody::Poll {
                question: "When shall we hold the general assembly?".into(),
            },
            ..message(5, false, "", 30 * MINUTE)
        },
    ]);
    state.set_polls(vec![assembly_poll()]);
    check("poll-card", state.view(false));
}

#[test]
fn event_card() {
    let mut state = tenants_conversation(vec![
        message(4, false, "The landlord answered our letter.", 40 * MINUTE),
        MessageView {
            body: MessageBody::Event {
                title: "Meeting with the landlord".into(),
                starts_at: 1_907_690_400_000,
                cancelled: false,
            },
            ..message(6, false, "", 20 * MINUTE)
        },
    ]);
    state.set_events(vec![landlord_meeting()]);
    check("event-card", state.view(false));
}

#[test]
fn agenda_screen() {
    // "Now" is 2030-06-10 12:00 UTC: the meeting is upcoming, the others past.
    let now = 1_907_409_600_000;
    let day = 24 * 60 * MINUTE;
    let mut state = agenda::State::new(None, None, Zone::utc());
    state.set_path("/home/alice/Downloads/boucle-agenda.ics".into());
    let past = |n: u8, title: &str, starts_at: u64, place: &str, cancelled: bool| EventView {
        id: MessageId([n; 16]),
        cancelled,
        details: EventDetails {
            title: title.into(),
            starts_at,
            ends_at: Some(starts_at + 3 * 60 * MINUTE),
            time_zone: "UTC".into(),
            place: place.into(),
            description: String::new(),
        },
        going: people(&["Alice", "Omar"]),
        maybe: Vec::new(),
        counts: RsvpCounts {
            going: 2,
            maybe: 0,
            no: 0,
        },
        my_answer: Some(RsvpAnswer::Going),
        ..landlord_meeting()
    };
    let mut picnic = past(
        8,
        "Neighbourhood picnic",
        now + 12 * day,
        "Parc des Buttes",
        true,
    );
    picnic.my_answer = None;
    picnic.conversation_name = "Nadia".into();
    state.loaded(
        Ok(vec![
            landlord_meeting(),
            picnic,
            past(7, "Flyer printing", now - 2 * day, "Omar's garage", false),
            past(
                9,
                "Letter to the landlord",
                now - 20 * day,
                "Library, room 2",
                false,
            ),
        ]),
        now,
    );
    check("agenda", state.view());
}

/// A picture for the previews: a sunset over rooftops, drawn here.
fn sunset(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let roofs = y > height * 2 / 3 + ((x / 40) % 3) * 12;
        if roofs {
            image::Rgb([38, 44, 62])
        } else {
            let t = y * 255 / height;
            image::Rgb([235 - (t / 4) as u8, 140 + (t / 5) as u8, 80 + (t / 2) as u8])
        }
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("a PNG");
    bytes.into_inner()
}

fn attached(
    n: u8,
    name: &str,
    media_type: &str,
    size: u64,
    state: TransferState,
    bytes: Option<Vec<u8>>,
) -> Result<Attached, String> {
    Ok(Attached {
        view: AttachmentView {
            message: MessageId([n; 16]),
            conversation: ConversationId::Loop(TENANTS),
            from_me: false,
            name: name.into(),
            media_type: media_type.into(),
            size,
            state,
        },
        bytes,
    })
}

fn file_entry(n: u8, name: &str, media_type: &str, size: u64, ago: u64) -> MessageView {
    MessageView {
        body: MessageBody::Attachment {
            name: name.into(),
            media_type: media_type.into(),
            size,
        },
        ..message(n, false, "", ago)
    }
}

#[test]
fn attachment_card() {
    let mut state = tenants_conversation(vec![
        file_entry(5, "rooftops.png", "image/png", 182_000, 20 * MINUTE),
        file_entry(6, "lease-clauses.pdf", "application/pdf", 2_400_000, MINUTE),
    ]);
    state.set_attachment(
        MessageId([5; 16]),
        attached(
            5,
            "rooftops.png",
            "image/png",
            182_000,
            TransferState::Complete,
            Some(sunset(480, 270)),
        ),
    );
    state.set_attachment(
        MessageId([6; 16]),
        attached(
            6,
            "lease-clauses.pdf",
            "application/pdf",
            2_400_000,
            TransferState::Downloading {
                done: 1_500_000,
                total: 2_400_000,
            },
            None,
        ),
    );
    check("attachment-card", state.view(false));
}

#[test]
fn shared_contact_card() {
    let card = |name: &str, contact: Option<ContactId>| MessageBody::SharedContact {
        name: name.into(),
        safety_number: "0".repeat(60),
        already_contact: contact.is_some(),
        contact,
        card: postcard::from_bytes(&[3, 1, 2, 3]).expect("a card"),
    };
    let mut state = tenants_conversation(vec![
        message(
            4,
            false,
            "Karim runs the food bank on Rue Haute.",
            6 * MINUTE,
        ),
        MessageView {
            body: card("Karim", None),
            ..message(5, false, "", 5 * MINUTE)
        },
        MessageView {
            body: card("Omar", Some(OMAR)),
            ..message(6, false, "", 4 * MINUTE)
        },
    ]);
    state.added(MessageId([6; 16]), Ok(OMAR));
    check("shared-contact-card", state.view(false));
}

#[test]
fn announcement_member() {
    let mut state = tenants_conversation(vec![
        message(
            4,
            false,
            "Assembly on Thursday at 19:00, hall B.",
            30 * MINUTE,
        ),
        MessageView {
            reactions: vec![
                Reaction {
                    mine: true,
                    emoji: "👍".into(),
                },
                Reaction {
                    mine: false,
                    emoji: "👍".into(),
                },
            ],
            ..message(5, false, "Bring your rent receipts.", 10 * MINUTE)
        },
    ]);
    state.set_rules(conversation::Rules {
        may_post: false,
        may_set_timer: false,
    });
    state.set_timer(604_800);
    check("announcement-member", state.view(false));
}

#[test]
fn timer_selector() {
    let mut state = conversation::State::new(
        ConversationId::Contact(NADIA),
        conversation::Header {
            title: "Nadia".into(),
            contact: Some(NADIA),
            verified: true,
            identity_changed: false,
            blocked: false,
        },
    );
    state.set_history(vec![
        message(1, false, "Let's not keep the plans around.", 3 * MINUTE),
        MessageView {
            body: MessageBody::TimerChanged { seconds: 86_400 },
            ..message(2, false, "", 2 * MINUTE)
        },
        message(3, true, "Good idea.", MINUTE),
    ]);
    state.set_timer(86_400);
    state.update(conversation::Message::Header(
        conversation::header::Message::TimerMenu,
    ));
    state.update(conversation::Message::Tick(format::now_ms()));
    check("timer-selector", state.view(false));
}
