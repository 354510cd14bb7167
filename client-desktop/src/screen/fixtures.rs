//! Polls and events for the screens' tests.

use boucle_client_core::{
    ConversationId, EventDetails, EventView, LoopId, MessageBody, MessageId, MessageView,
    Participant, PollOption, PollView, RsvpAnswer, RsvpCounts,
};

pub const TENANTS: ConversationId = ConversationId::Loop(LoopId([9; 16]));

pub fn person(name: &str, me: bool) -> Participant {
    Participant {
        id: format!("{:08x}", name.len() * 0x1111_1111 % 0xffff_ffff),
        name: name.to_owned(),
        me,
    }
}

/// A poll in the Tenants loop with these options and votes (option index, voter).
pub fn poll(
    n: u8,
    question: &str,
    options: &[&str],
    votes: &[(u8, &str)],
    multiple: bool,
) -> PollView {
    let options: Vec<PollOption> = options
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let voters: Vec<Participant> = votes
                .iter()
                .filter(|(o, _)| usize::from(*o) == i)
                .map(|(_, who)| person(who, *who == "Alice"))
                .collect();
            PollOption {
                index: i as u8,
                text: (*text).to_owned(),
                votes: voters.len(),
                mine: voters.iter().any(|v| v.me),
                voters,
            }
        })
        .collect();
    let mut voters: Vec<Participant> = Vec::new();
    for (_, who) in votes {
        if !voters.iter().any(|v| v.name == *who) {
            voters.push(person(who, *who == "Alice"));
        }
    }
    PollView {
        id: MessageId([n; 16]),
        conversation: TENANTS,
        author: person("Alice", true),
        created_at: crate::format::now_ms(),
        question: question.to_owned(),
        my_choices: options.iter().filter(|o| o.mine).map(|o| o.index).collect(),
        options,
        multiple,
        closes_at: None,
        closed: false,
        ended_at: None,
        voters,
        can_close: true,
    }
}

/// An event in the Tenants loop.
pub fn event(n: u8, title: &str, starts_at: u64, answers: &[(RsvpAnswer, &str)]) -> EventView {
    let pick = |answer: RsvpAnswer| -> Vec<Participant> {
        answers
            .iter()
            .filter(|(a, _)| *a == answer)
            .map(|(_, who)| person(who, *who == "Alice"))
            .collect()
    };
    let (going, maybe, no) = (
        pick(RsvpAnswer::Going),
        pick(RsvpAnswer::Maybe),
        pick(RsvpAnswer::No),
    );
    EventView {
        id: MessageId([n; 16]),
        conversation: TENANTS,
        conversation_name: "Tenants".to_owned(),
        author: person("Alice", true),
        created_at: starts_at.saturating_sub(86_400_000),
        details: EventDetails {
            title: title.to_owned(),
            starts_at,
            ends_at: Some(starts_at + 2 * 3_600_000),
            time_zone: "UTC".to_owned(),
            place: "12 rue Verte, hall B".to_owned(),
            description: "Bring the letters.".to_owned(),
        },
        edited: false,
        cancelled: false,
        counts: RsvpCounts {
            going: going.len(),
            maybe: maybe.len(),
            no: no.len(),
        },
        my_answer: answers
            .iter()
            .find(|(_, who)| *who == "Alice")
            .map(|(a, _)| *a),
        going,
        maybe,
        no,
        can_edit: true,
    }
}

/// The history entry that carries a poll or an event.
pub fn entry(n: u8, body: MessageBody, from_me: bool) -> MessageView {
    MessageView {
        id: MessageId([n; 16]),
        conversation: TENANTS,
        from_me,
        sender: (!from_me).then(|| "Nadia".to_owned()),
        sent_at: crate::format::now_ms(),
        received_at: crate::format::now_ms(),
        body,
        reply_to: None,
        reactions: Vec::new(),
        edited: false,
        deleted: false,
        delivery: None,
        position: u64::from(n),
    }
}

/// A file's state, as the engine gives it.
pub fn file(
    n: u8,
    name: &str,
    media_type: &str,
    size: u64,
    state: boucle_client_core::TransferState,
) -> boucle_client_core::AttachmentView {
    boucle_client_core::AttachmentView {
        message: MessageId([n; 16]),
        conversation: TENANTS,
        from_me: true,
        name: name.to_owned(),
        media_type: media_type.to_owned(),
        size,
        state,
    }
}

/// The history body of a file.
pub fn file_body(name: &str, media_type: &str, size: u64) -> MessageBody {
    MessageBody::Attachment {
        name: name.to_owned(),
        media_type: media_type.to_owned(),
        size,
    }
}

/// The history body of a shared contact (`contact`: already one of ours).
pub fn shared_body(name: &str, contact: Option<boucle_client_core::ContactId>) -> MessageBody {
    MessageBody::SharedContact {
        name: name.to_owned(),
        safety_number: "0".repeat(60),
        already_contact: contact.is_some(),
        contact,
        // The card is opaque to the app: any bytes do for a screen.
        card: postcard::from_bytes(&[3, 1, 2, 3]).expect("a card"),
    }
}

/// A small PNG: a sunset gradient with a dark band, `width` × `height`.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let band = y > height * 2 / 3;
        let r = 230 - (y * 120 / height.max(1)) as u8;
        let g = 120 + (x * 80 / width.max(1)) as u8;
        let b = 90 + (y * 120 / height.max(1)) as u8;
        if band {
            image::Rgb([40, 50, 70])
        } else {
            image::Rgb([r, g, b])
        }
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("a PNG");
    bytes.into_inner()
}
