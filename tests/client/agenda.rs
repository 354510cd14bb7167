//! The agenda over a real relay: an event in a loop, answered, answers changed, edited
//! by an admin who is not its author and by its author, cancelled; every member ends
//! with the same event. Plus an event in a 1:1 conversation, the agenda across
//! conversations, and the `.ics` export.

use std::collections::BTreeSet;
use std::time::Duration;

use boucle_client_core::{
    ConversationId, Engine, EngineError, EventDetails, EventView, MessageBody, MessageId,
    RsvpAnswer,
};
use boucle_test_support::{RelayOptions, RelayProcess};

use crate::clocked::{T0, users_in_a_loop};
use crate::support::User;

const HOUR: u64 = 3600 * 1000;
const SECOND: Duration = Duration::from_secs(1);

fn event_of(engine: &Engine, conversation: ConversationId, id: MessageId) -> Option<EventView> {
    engine.event(conversation, id).ok()
}

async fn until_event(
    user: &mut User,
    conversation: ConversationId,
    id: MessageId,
    check: impl Fn(&EventView) -> bool,
) -> anyhow::Result<EventView> {
    user.until(|e| event_of(e, conversation, id).filter(|v| check(v)))
        .await
}

/// Who answered what, by member id (the same on every device).
fn answers(view: &EventView) -> [BTreeSet<String>; 3] {
    let ids = |people: &Vec<boucle_client_core::Participant>| {
        people.iter().map(|p| p.id.clone()).collect::<BTreeSet<_>>()
    };
    [ids(&view.going), ids(&view.maybe), ids(&view.no)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_answered_edited_and_cancelled_ends_the_same_for_everyone() -> anyhow::Result<()> {
    let relay = RelayProcess::start(RelayOptions::default())?;
    let names = ["Alice", "Bob", "Carol", "Dave"];
    let (mut users, clocks, loop_id, contacts) = users_in_a_loop(&names, &relay).await?;
    let conversation = ConversationId::Loop(loop_id);

    // Alice plans the assembly.
    clocks[0].advance(SECOND);
    let planned = EventDetails {
        title: "Assemblée, générale; salle 2".into(),
        starts_at: T0 + 48 * HOUR,
        ends_at: Some(T0 + 50 * HOUR),
        time_zone: "Europe/Paris".into(),
        place: "Maison du peuple, 12 rue de la Paix".into(),
        description: "Ordre du jour :\n1. loyers\n2. fête de quartier".into(),
    };
    let event = users[0].engine.create_event(conversation, &planned)?.id;
    assert!(matches!(
        users[0].engine.create_event(
            conversation,
            &EventDetails {
                ends_at: Some(T0),
                ..planned.clone()
            }
        ),
        Err(EngineError::InvalidEvent(_))
    ));
    for user in users.iter_mut() {
        let view = until_event(user, conversation, event, |_| true).await?;
        assert_eq!(view.details, planned);
        assert_eq!(view.conversation_name, "Assemblée");
        let entry = crate::support::message(&user.engine, conversation, event)
            .expect("the event is in the history");
        assert_eq!(
            entry.body,
            MessageBody::Event {
                title: planned.title.clone(),
                starts_at: planned.starts_at,
                cancelled: false,
            }
        );
    }

    // Answers, then changes of mind: Bob going → maybe, Carol maybe → going, Dave no.
    clocks[1].advance(SECOND);
    users[1]
        .engine
        .rsvp(conversation, event, RsvpAnswer::Going)?;
    clocks[2].advance(SECOND);
    users[2]
        .engine
        .rsvp(conversation, event, RsvpAnswer::Maybe)?;
    clocks[3].advance(SECOND);
    users[3].engine.rsvp(conversation, event, RsvpAnswer::No)?;
    clocks[1].advance(SECOND);
    users[1]
        .engine
        .rsvp(conversation, event, RsvpAnswer::Maybe)?;
    clocks[2].advance(SECOND);
    let carol_view = users[2]
        .engine
        .rsvp(conversation, event, RsvpAnswer::Going)?;
    assert_eq!(carol_view.my_answer, Some(RsvpAnswer::Going));
    let ids: Vec<String> = users
        .iter()
        .map(|u| {
            u.engine
                .loop_members(loop_id)
                .ok()
                .and_then(|members| members.into_iter().find(|m| m.me))
                .map(|m| m.id)
                .expect("a member")
        })
        .collect();
    let expected = [
        BTreeSet::from([ids[2].clone()]),
        BTreeSet::from([ids[1].clone()]),
        BTreeSet::from([ids[3].clone()]),
    ];
    for user in users.iter_mut() {
        until_event(user, conversation, event, |v| answers(v) == expected).await?;
    }

    // A plain member can neither edit nor cancel.
    let carol_edit = EventDetails {
        title: "Hijacked".into(),
        ..planned.clone()
    };
    assert!(matches!(
        users[2].engine.edit_event(conversation, event, &carol_edit),
        Err(EngineError::NotOrganizer)
    ));
    assert!(matches!(
        users[2].engine.cancel_event(conversation, event),
        Err(EngineError::NotOrganizer)
    ));
    assert!(
        !event_of(&users[2].engine, conversation, event)
            .expect("event")
            .can_edit
    );

    // Alice makes Bob an admin; Bob moves the event.
    let bob_member = users[0]
        .engine
        .loop_members(loop_id)?
        .into_iter()
        .find(|m| m.name.as_deref() == Some("Bob"))
        .expect("Bob is a member");
    users[0].engine.promote_in_loop(loop_id, &bob_member.id)?;
    users[1]
        .until(|e| {
            e.loops()
                .ok()?
                .into_iter()
                .find(|l| l.id == loop_id && l.admin)
                .map(|_| ())
        })
        .await?;
    // Everyone must know Bob is an admin before his edit arrives.
    for user in users.iter_mut() {
        user.until(|e| {
            e.loop_members(loop_id)
                .ok()?
                .into_iter()
                .find(|m| m.id == bob_member.id && m.admin)
                .map(|_| ())
        })
        .await?;
    }
    clocks[1].advance(10 * SECOND);
    let moved = EventDetails {
        starts_at: T0 + 72 * HOUR,
        ends_at: Some(T0 + 74 * HOUR),
        place: "Bourse du travail".into(),
        ..planned.clone()
    };
    let by_bob = users[1].engine.edit_event(conversation, event, &moved)?;
    assert!(by_bob.edited);
    assert_eq!(by_bob.details, moved);
    for user in users.iter_mut() {
        until_event(user, conversation, event, |v| v.details == moved).await?;
        let entry = crate::support::message(&user.engine, conversation, event).expect("entry");
        assert!(entry.edited);
        assert!(
            matches!(entry.body, MessageBody::Event { starts_at, .. } if starts_at == moved.starts_at)
        );
    }

    // Alice edits later (by her clock): her details win everywhere.
    clocks[0].advance(60 * SECOND);
    let final_details = EventDetails {
        title: "Assemblée générale (nouvelle salle)".into(),
        ..moved.clone()
    };
    users[0]
        .engine
        .edit_event(conversation, event, &final_details)?;
    for user in users.iter_mut() {
        until_event(user, conversation, event, |v| v.details == final_details).await?;
    }

    // Alice cancels it: final for everyone; answering or editing is refused after.
    clocks[0].advance(SECOND);
    let cancelled = users[0].engine.cancel_event(conversation, event)?;
    assert!(cancelled.cancelled && !cancelled.can_edit);
    for user in users.iter_mut() {
        until_event(user, conversation, event, |v| v.cancelled).await?;
        let entry = crate::support::message(&user.engine, conversation, event).expect("entry");
        assert!(matches!(
            entry.body,
            MessageBody::Event {
                cancelled: true,
                ..
            }
        ));
    }
    assert!(matches!(
        users[3].engine.rsvp(conversation, event, RsvpAnswer::Going),
        Err(EngineError::EventCancelled)
    ));
    assert!(matches!(
        users[1].engine.edit_event(conversation, event, &planned),
        Err(EngineError::EventCancelled)
    ));

    // Everyone holds the same event.
    for user in &users {
        user.engine.sync(crate::support::WAIT).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let views: Vec<EventView> = users
        .iter()
        .map(|u| event_of(&u.engine, conversation, event).expect("the event"))
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
    for user in &users {
        assert_eq!(user.engine.history(conversation, None, 100)?.len(), 1);
    }

    // An event in Alice's 1:1 conversation with Bob, sooner than the loop's.
    let with_bob = ConversationId::Contact(contacts[0]);
    clocks[0].advance(SECOND);
    let coffee = users[0]
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
        )?
        .id;
    let bob_contact_alice = users[1].engine.find_contact("Alice")?;
    let at_bob = ConversationId::Contact(bob_contact_alice);
    let coffee_at_bob = until_event(&mut users[1], at_bob, coffee, |_| true).await?;
    assert_eq!(coffee_at_bob.details.time_zone, "UTC");
    assert_eq!(coffee_at_bob.conversation_name, "Alice");
    users[1].engine.rsvp(at_bob, coffee, RsvpAnswer::Going)?;
    until_event(&mut users[0], with_bob, coffee, |v| v.counts.going == 1).await?;

    // The agenda across conversations: upcoming first, soonest first.
    let agenda = users[1].engine.agenda(None)?;
    assert_eq!(
        agenda.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![coffee, event]
    );
    let loop_only = users[1].engine.agenda(Some(conversation))?;
    assert_eq!(
        loop_only.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![event]
    );
    // Once the coffee is over (by Bob's clock), it moves after the upcoming assembly.
    clocks[1].advance(Duration::from_millis(3 * HOUR));
    let later = users[1].engine.agenda(None)?;
    assert_eq!(
        later.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![event, coffee]
    );

    // The calendar export.
    let ics = users[1].engine.export_ics(&agenda)?;
    let unfolded = ics.replace("\r\n ", "");
    let hex = |id: &MessageId| hex::encode(id.0);
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 2);
    assert!(unfolded.contains(&format!("\r\nUID:{}@boucle\r\n", hex(&event))));
    assert!(unfolded.contains(&format!("\r\nUID:{}@boucle\r\n", hex(&coffee))));
    assert!(unfolded.contains("\r\nSUMMARY:Assemblée générale (nouvelle salle)\r\n"));
    assert!(unfolded.contains("\r\nDTSTART:20300320T174640Z\r\n"));
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
    Ok(())
}
