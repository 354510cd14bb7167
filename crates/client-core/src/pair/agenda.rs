//! The agenda on the in-memory net (moved from the real-relay suite): an event in a
//! loop, answered, answers changed, edited by an admin who is not its author and by its
//! author, cancelled; every member ends with the same event. Plus an event in a 1:1
//! conversation, the agenda across conversations, and the `.ics` export.

use std::collections::BTreeSet;
use std::time::Duration;

use boucle_crypto::{MessageId, RsvpAnswer};

use super::{Net, T0};
use crate::model::MessageBody;
use crate::{ConversationId, EngineError, EventDetails, EventView};

const HOUR: u64 = 3600 * 1000;
const SECOND: Duration = Duration::from_secs(1);

fn event_of(net: &Net, user: usize, conversation: ConversationId, id: MessageId) -> EventView {
    net.users[user]
        .engine
        .event(conversation, id)
        .unwrap_or_else(|e| panic!("user {user} holds the event: {e}"))
}

fn entry_body(
    net: &Net,
    user: usize,
    conversation: ConversationId,
    id: MessageId,
) -> (MessageBody, bool) {
    let view = net.users[user]
        .engine
        .history(conversation, None, 100)
        .expect("history")
        .into_iter()
        .find(|v| v.id == id)
        .expect("the event is in the history");
    (view.body, view.edited)
}

/// Who answered what, by member id (the same on every device).
fn answers(view: &EventView) -> [BTreeSet<String>; 3] {
    let ids = |people: &Vec<crate::Participant>| {
        people.iter().map(|p| p.id.clone()).collect::<BTreeSet<_>>()
    };
    [ids(&view.going), ids(&view.maybe), ids(&view.no)]
}

#[test]
fn an_event_answered_edited_and_cancelled_ends_the_same_for_everyone() {
    let mut net = Net::new(11, &["Alice", "Bob", "Carol", "Dave"]);
    let contacts: Vec<_> = (1..4).map(|other| net.introduce(0, other).0).collect();
    let loop_id = net.create_loop(0, "Assemblée", &contacts);
    net.settle();
    let conversation = ConversationId::Loop(loop_id);

    // Alice plans the assembly.
    net.advance_user(0, SECOND);
    let planned = EventDetails {
        title: "Assemblée, générale; salle 2".into(),
        starts_at: T0 + 48 * HOUR,
        ends_at: Some(T0 + 50 * HOUR),
        time_zone: "Europe/Paris".into(),
        place: "Maison du peuple, 12 rue de la Paix".into(),
        description: "Ordre du jour :\n1. loyers\n2. fête de quartier".into(),
    };
    let alice = &net.users[0].engine;
    let event = alice
        .create_event(conversation, &planned)
        .expect("created")
        .id;
    let backwards = EventDetails {
        ends_at: Some(T0),
        ..planned.clone()
    };
    assert!(matches!(
        alice.create_event(conversation, &backwards),
        Err(EngineError::InvalidEvent(_))
    ));
    net.settle();
    for user in 0..4 {
        let view = event_of(&net, user, conversation, event);
        assert_eq!(view.details, planned);
        assert_eq!(view.conversation_name, "Assemblée");
        let (body, _) = entry_body(&net, user, conversation, event);
        assert_eq!(
            body,
            MessageBody::Event {
                title: planned.title.clone(),
                starts_at: planned.starts_at,
                cancelled: false,
            }
        );
    }

    // Answers, then changes of mind: Bob going → maybe, Carol maybe → going, Dave no.
    // Each answer is one step later on its author's clock, and they cross on the net.
    for (user, answer) in [
        (1, RsvpAnswer::Going),
        (2, RsvpAnswer::Maybe),
        (3, RsvpAnswer::No),
        (1, RsvpAnswer::Maybe),
        (2, RsvpAnswer::Going),
    ] {
        net.advance_user(user, SECOND);
        let view = net.users[user]
            .engine
            .rsvp(conversation, event, answer)
            .expect("answered");
        assert_eq!(view.my_answer, Some(answer));
    }
    net.settle();
    let ids: Vec<String> = (0..4)
        .map(|user| {
            net.users[user]
                .engine
                .loop_members(loop_id)
                .expect("members")
                .into_iter()
                .find(|m| m.me)
                .map(|m| m.id)
                .expect("a member")
        })
        .collect();
    let expected = [
        BTreeSet::from([ids[2].clone()]),
        BTreeSet::from([ids[1].clone()]),
        BTreeSet::from([ids[3].clone()]),
    ];
    for user in 0..4 {
        assert_eq!(
            answers(&event_of(&net, user, conversation, event)),
            expected
        );
    }

    // A plain member can neither edit nor cancel.
    let carol = &net.users[2].engine;
    let carol_edit = EventDetails {
        title: "Hijacked".into(),
        ..planned.clone()
    };
    assert!(matches!(
        carol.edit_event(conversation, event, &carol_edit),
        Err(EngineError::NotOrganizer)
    ));
    assert!(matches!(
        carol.cancel_event(conversation, event),
        Err(EngineError::NotOrganizer)
    ));
    assert!(!event_of(&net, 2, conversation, event).can_edit);

    // Alice makes Bob an admin; once everyone knows, Bob moves the event.
    let bob_member = net.users[0]
        .engine
        .loop_members(loop_id)
        .expect("members")
        .into_iter()
        .find(|m| m.name.as_deref() == Some("Bob"))
        .expect("Bob is a member");
    net.users[0]
        .engine
        .promote_in_loop(loop_id, &bob_member.id)
        .expect("promoted");
    net.settle();
    net.advance_user(1, 10 * SECOND);
    let moved = EventDetails {
        starts_at: T0 + 72 * HOUR,
        ends_at: Some(T0 + 74 * HOUR),
        place: "Bourse du travail".into(),
        ..planned.clone()
    };
    let by_bob = net.users[1]
        .engine
        .edit_event(conversation, event, &moved)
        .expect("Bob is an admin now");
    assert!(by_bob.edited);
    assert_eq!(by_bob.details, moved);
    net.settle();
    for user in 0..4 {
        assert_eq!(event_of(&net, user, conversation, event).details, moved);
        let (body, edited) = entry_body(&net, user, conversation, event);
        assert!(edited);
        assert!(
            matches!(body, MessageBody::Event { starts_at, .. } if starts_at == moved.starts_at)
        );
    }

    // Alice edits later (by her clock): her details win everywhere.
    net.advance_user(0, 60 * SECOND);
    let final_details = EventDetails {
        title: "Assemblée générale (nouvelle salle)".into(),
        ..moved.clone()
    };
    net.users[0]
        .engine
        .edit_event(conversation, event, &final_details)
        .expect("edited");
    net.settle();

    // Alice cancels it: final for everyone; answering or editing is refused after.
    net.advance_user(0, SECOND);
    let cancelled = net.users[0]
        .engine
        .cancel_event(conversation, event)
        .expect("cancelled");
    assert!(cancelled.cancelled && !cancelled.can_edit);
    net.settle();
    for user in 0..4 {
        let (body, _) = entry_body(&net, user, conversation, event);
        assert!(matches!(
            body,
            MessageBody::Event {
                cancelled: true,
                ..
            }
        ));
    }
    assert!(matches!(
        net.users[3]
            .engine
            .rsvp(conversation, event, RsvpAnswer::Going),
        Err(EngineError::EventCancelled)
    ));
    assert!(matches!(
        net.users[1]
            .engine
            .edit_event(conversation, event, &planned),
        Err(EngineError::EventCancelled)
    ));

    // Everyone holds the same event.
    let views: Vec<EventView> = (0..4)
        .map(|u| event_of(&net, u, conversation, event))
        .collect();
    for view in &views {
        assert_eq!(view.details, final_details);
        assert!(view.cancelled && view.edited);
        assert_eq!(answers(view), answers(&views[0]));
        assert_eq!(view.author.id, views[0].author.id);
    }
    let mine: Vec<Option<RsvpAnswer>> = views.iter().map(|v| v.my_answer).collect();
    assert_eq!(
        mine,
        vec![
            None,
            Some(RsvpAnswer::Maybe),
            Some(RsvpAnswer::Going),
            Some(RsvpAnswer::No)
        ]
    );
    // Answers and edits are not chat messages.
    for user in 0..4 {
        let history = net.users[user]
            .engine
            .history(conversation, None, 100)
            .expect("history");
        assert_eq!(history.len(), 1, "user {user}");
    }

    // An event in Alice's 1:1 conversation with Bob, sooner than the loop's.
    let with_bob = ConversationId::Contact(contacts[0]);
    net.advance_user(0, SECOND);
    let coffee = net.users[0]
        .engine
        .create_event(
            with_bob,
            &EventDetails {
                title: "Coffee".into(),
                starts_at: T0 + 2 * HOUR,
                ends_at: None,
                time_zone: String::new(),
                place: "https://meet.example.org/boucle".into(),
                description: String::new(),
            },
        )
        .expect("created")
        .id;
    net.settle();
    let at_bob = ConversationId::Contact(net.users[1].engine.find_contact("Alice").expect("Alice"));
    let coffee_at_bob = event_of(&net, 1, at_bob, coffee);
    assert_eq!(coffee_at_bob.details.time_zone, "UTC");
    assert_eq!(coffee_at_bob.conversation_name, "Alice");
    net.users[1]
        .engine
        .rsvp(at_bob, coffee, RsvpAnswer::Going)
        .expect("answered");
    net.settle();
    assert_eq!(event_of(&net, 0, with_bob, coffee).counts.going, 1);

    // The agenda across conversations: upcoming first, soonest first.
    let bob = &net.users[1].engine;
    let agenda = bob.agenda(None).expect("agenda");
    assert_eq!(
        agenda.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![coffee, event]
    );
    let loop_only = bob.agenda(Some(conversation)).expect("agenda");
    assert_eq!(
        loop_only.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![event]
    );
    // Once the coffee is over (by Bob's clock), it moves after the upcoming assembly.
    net.advance_user(1, Duration::from_millis(3 * HOUR));
    let later = net.users[1].engine.agenda(None).expect("agenda");
    assert_eq!(
        later.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![event, coffee]
    );

    // The calendar export.
    let ics = net.users[1].engine.export_ics(&agenda).expect("ics");
    let unfolded = ics.replace("\r\n ", "");
    let hex = |id: &MessageId| hex::encode(id.0);
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 2);
    assert!(unfolded.contains(&format!("\r\nUID:{}@boucle\r\n", hex(&event))));
    assert!(unfolded.contains(&format!("\r\nUID:{}@boucle\r\n", hex(&coffee))));
    assert!(unfolded.contains("\r\nSUMMARY:Assemblée générale (nouvelle salle)\r\n"));
    let start = crate::time::utc_stamp(T0 + 72 * HOUR);
    assert!(unfolded.contains(&format!("\r\nDTSTART:{start}\r\n")));
    assert!(unfolded.contains("\r\nLOCATION:Bourse du travail\r\n"));
    assert!(
        unfolded.contains("\r\nDESCRIPTION:Ordre du jour :\\n1. loyers\\n2. fête de quartier\r\n")
    );
    assert!(unfolded.contains("\r\nLOCATION:https://meet.example.org/boucle\r\n"));
    assert_eq!(ics.matches("STATUS:CANCELLED").count(), 1);
    assert_eq!(ics.matches("STATUS:CONFIRMED").count(), 1);
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "a line longer than 75 octets: {line:?}");
    }
}
