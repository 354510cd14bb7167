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
