//! Shared contacts on the in-memory net: every new contact offers its shareable card,
//! Alice shares Bob with Carol (who is not Bob's contact), Carol adds him in one action,
//! they talk and compare safety numbers, and the same person shared twice is one contact.
//! (`tests/client/sharing.rs` keeps the same over two real relays.)

use boucle_crypto::MessageId;

use super::Net;
use crate::model::MessageBody;
use crate::{ConversationId, EngineError, MessageView};

fn shared(view: &MessageView) -> Option<(String, String, bool)> {
    match &view.body {
        MessageBody::SharedContact {
            name,
            safety_number,
            already_contact,
            ..
        } => Some((name.clone(), safety_number.clone(), *already_contact)),
        _ => None,
    }
}

fn message(net: &Net, user: usize, conversation: ConversationId, id: MessageId) -> MessageView {
    net.users[user]
        .engine
        .history(conversation, None, 100)
        .expect("history")
        .into_iter()
        .find(|v| v.id == id)
        .expect("the message")
}

fn last_text(net: &Net, user: usize, conversation: ConversationId) -> Option<String> {
    net.users[user]
        .engine
        .history(conversation, None, 100)
        .expect("history")
        .into_iter()
        .rev()
        .find_map(|v| match v.body {
            MessageBody::Text(text) if !v.from_me => Some(text),
            _ => None,
        })
}

#[test]
fn a_shared_contact_is_added_in_one_action_and_messaged() {
    let mut net = Net::new(21, &["Alice", "Bob", "Carol"]);
    let (bob_for_alice, _) = net.introduce(0, 1);
    let (carol_for_alice, alice_for_carol) = net.introduce(0, 2);
    net.settle();
    let alice = &net.users[0].engine;
    assert!(
        alice.contact(bob_for_alice).expect("Bob").can_share,
        "Bob's card offer came"
    );
    assert!(matches!(
        alice.share_contact(ConversationId::Contact(bob_for_alice), bob_for_alice),
        Err(EngineError::SharedWithThemselves(_))
    ));
    let sent = alice
        .share_contact(ConversationId::Contact(carol_for_alice), bob_for_alice)
        .expect("shared");
    assert!(
        shared(&sent).expect("a shared contact").2,
        "for Alice, Bob is a contact"
    );
    net.settle();

    let with_alice = ConversationId::Contact(alice_for_carol);
    let received = message(&net, 2, with_alice, sent.id);
    let (name, number, already) = shared(&received).expect("a shared contact");
    assert_eq!(name, "Bob");
    assert!(!already, "Carol does not know Bob yet");
    assert_eq!(number.len(), 60);

    // One action: Bob becomes Carol's contact, and Carol becomes Bob's.
    let bob_for_carol = net.add_shared(2, with_alice, sent.id).expect("added");
    net.settle();
    let bob_at_carol = net.users[2].engine.contact(bob_for_carol).expect("Bob");
    assert_eq!(bob_at_carol.name, "Bob");
    assert_eq!(bob_at_carol.introduced_by.as_deref(), Some("Alice"));
    assert!(!bob_at_carol.verified);
    let carol_for_bob = net.users[1].engine.find_contact("Carol").expect("Carol");
    let carol_at_bob = net.users[1].engine.contact(carol_for_bob).expect("Carol");
    assert_eq!(carol_at_bob.introduced_by.as_deref(), Some("Alice"));
    assert!(!carol_at_bob.verified);
    assert!(
        shared(&message(&net, 2, with_alice, sent.id))
            .expect("still there")
            .2
    );

    // They talk both ways.
    let to_bob = ConversationId::Contact(bob_for_carol);
    let to_carol = ConversationId::Contact(carol_for_bob);
    net.users[2]
        .engine
        .send_text(to_bob, "hello Bob, Alice sent me")
        .expect("sent");
    net.settle();
    assert_eq!(
        last_text(&net, 1, to_carol).as_deref(),
        Some("hello Bob, Alice sent me")
    );
    net.users[1]
        .engine
        .send_text(to_carol, "welcome Carol")
        .expect("sent");
    net.settle();
    assert_eq!(last_text(&net, 2, to_bob).as_deref(), Some("welcome Carol"));

    // Safety numbers: the same on both sides, and what the shared message showed.
    let at_carol = net.users[2]
        .engine
        .safety_number(bob_for_carol)
        .expect("number");
    let at_bob = net.users[1]
        .engine
        .safety_number(carol_for_bob)
        .expect("number");
    assert_eq!(at_carol.digits(), at_bob.digits());
    assert_eq!(at_carol.digits(), number);

    // The same person twice is one contact: adding again, or from a second share.
    assert_eq!(
        net.add_shared(2, with_alice, sent.id).ok(),
        Some(bob_for_carol)
    );
    let again = net.users[0]
        .engine
        .share_contact(ConversationId::Contact(carol_for_alice), bob_for_alice)
        .expect("shared");
    net.settle();
    assert!(
        shared(&message(&net, 2, with_alice, again.id))
            .expect("shared")
            .2
    );
    assert_eq!(
        net.add_shared(2, with_alice, again.id).ok(),
        Some(bob_for_carol)
    );
    assert_eq!(net.users[2].engine.contacts().expect("contacts").len(), 2);
    assert_eq!(net.users[1].engine.contacts().expect("contacts").len(), 2);
    // Bob becomes shareable in turn.
    assert!(
        net.users[2]
            .engine
            .contact(bob_for_carol)
            .expect("Bob")
            .can_share
    );

    // A plain text is not something to add.
    let plain = net.users[0]
        .engine
        .send_text(ConversationId::Contact(carol_for_alice), "just text")
        .expect("sent");
    net.settle();
    assert!(matches!(
        net.add_shared(2, with_alice, plain.id),
        Err(EngineError::NotASharedContact)
    ));
}
