//! The members and settings screen as an admin and as a member sees it.

use super::*;
use iced_test::selector::id;
use iced_test::{Simulator, simulator};

const LOOP: LoopId = LoopId([9; 16]);
const NADIA: ContactId = ContactId([1; 16]);
const OMAR: ContactId = ContactId([2; 16]);

fn contact(id: ContactId, name: &str) -> Contact {
    Contact {
        id,
        name: name.into(),
        verified: false,
        identity_changed: false,
        unread: 0,
        relay_host: "127.0.0.1".into(),
        last_activity: 0,
        introduced_by: None,
        can_share: false,
        blocked: false,
    }
}

fn view(admin: bool) -> LoopView {
    LoopView {
        id: LOOP,
        name: "Tenants".into(),
        members: 3,
        admin,
        member: true,
        unread: 0,
        last_activity: 0,
        policy: Default::default(),
        timer: 0,
        may_post: true,
        may_invite: admin,
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
            admin: false,
            verified: true,
        },
        MemberView {
            id: "ee55ff66".into(),
            name: None,
            me: false,
            admin: false,
            verified: false,
        },
    ]
}

fn state(admin: bool) -> State {
    let mut state = State::new(
        &view(admin),
        &[contact(NADIA, "Nadia"), contact(OMAR, "Omar")],
    );
    state.set_members(Ok(members()));
    state
}

fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
    let mut ui = simulator(state.view());
    act(&mut ui);
    let messages: Vec<Message> = ui.into_messages().collect();
    messages.into_iter().map(|m| state.update(m)).collect()
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view()).find(text).is_ok()
}

fn changes(actions: Vec<Action>) -> Vec<Action> {
    actions.into_iter().filter(|a| *a != Action::None).collect()
}

#[test]
fn members_show_who_is_admin_and_verified() {
    let state = state(true);
    assert!(shows(&state, "Tenants"));
    assert!(shows(&state, "Loop · 3 members · you are an admin"));
    assert!(shows(&state, "You"));
    assert!(shows(&state, "admin"));
    assert!(shows(&state, "Nadia"));
    assert!(shows(&state, "verified"));
    assert!(shows(&state, "member ee55ff66"));
    assert!(shows(&state, "not verified"));
    // Omar is a contact outside the loop; Nadia is already in it.
    assert!(shows(&state, "Omar"));
    assert!(shows(&state, "Invite to the loop"));
}

#[test]
fn an_admin_renames_the_loop() {
    let mut state = state(true);
    let actions = user(&mut state, |ui| {
        ui.click(id(NAME)).expect("name field");
        ui.typewrite(" north");
    });
    assert!(changes(actions).is_empty());
    let actions = user(&mut state, |ui| {
        ui.click("Rename").expect("rename");
    });
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Rename("Tenants north".into()))]
    );
    assert!(shows(&state, "Renaming the loop…"));
    state.finished(&LoopChange::Rename("Tenants north".into()), Ok(()));
    assert!(shows(&state, "The loop is now called Tenants north."));
}

#[test]
fn an_admin_adds_a_contact() {
    let mut state = state(true);
    let actions = user(&mut state, |ui| {
        ui.click("Omar").expect("checkbox");
    });
    assert!(changes(actions).is_empty());
    let actions = user(&mut state, |ui| {
        ui.click("Invite to the loop").expect("button");
    });
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Add(vec![OMAR]))]
    );
    assert!(shows(&state, "Inviting Omar…"));
    state.finished(&LoopChange::Add(vec![OMAR]), Ok(()));
    assert!(shows(
        &state,
        "Invited Omar: they join when their app receives the invitation."
    ));
}

#[test]
fn an_admin_removes_a_member_after_confirming_and_promotes_another() {
    let mut state = state(true);
    // Nadia's row comes first among the others: Make admin, then Remove.
    let actions = user(&mut state, |ui| {
        ui.click("Remove").expect("remove");
    });
    assert!(changes(actions).is_empty(), "asks first");
    assert!(shows(&state, "Remove Nadia from the loop?"));
    let actions = user(&mut state, |ui| {
        ui.click("Cancel").expect("cancel");
    });
    assert!(changes(actions).is_empty());
    assert!(!shows(&state, "Remove Nadia from the loop?"));

    state.update(Message::Remove("cc33dd44".into()));
    let actions = user(&mut state, |ui| {
        ui.click("Remove")
            .expect("the confirmation's Remove comes first now");
    });
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Remove("cc33dd44".into()))]
    );
    assert!(shows(&state, "Removing Nadia…"));
    state.finished(&LoopChange::Remove("cc33dd44".into()), Ok(()));
    assert!(shows(&state, "Nadia was removed from the loop."));

    let actions = user(&mut state, |ui| {
        ui.click("Make admin").expect("promote");
    });
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Promote("cc33dd44".into()))]
    );
    state.finished(
        &LoopChange::Promote("cc33dd44".into()),
        Err("Only an admin of the loop can do this.".into()),
    );
    assert!(shows(
        &state,
        "The member was not made an admin. Only an admin of the loop can do this."
    ));
}

#[test]
fn a_member_sees_no_admin_controls_and_leaves_after_confirming() {
    let mut state = state(false);
    assert!(shows(&state, "Loop · 3 members · you are a member"));
    assert!(!shows(&state, "Rename"));
    assert!(!shows(&state, "Make admin"));
    assert!(!shows(&state, "Invite to the loop"));
    assert!(shows(
        &state,
        "Only admins can rename the loop, add people or remove members."
    ));
    let actions = user(&mut state, |ui| {
        ui.click("Leave the loop").expect("leave");
    });
    assert!(changes(actions).is_empty(), "asks first");
    assert!(shows(
        &state,
        "Leave Tenants? You will stop receiving its messages, and only an admin can bring you back."
    ));
    let actions = user(&mut state, |ui| {
        ui.click("Leave").expect("confirm");
    });
    assert_eq!(changes(actions), vec![Action::Change(LoopChange::Leave)]);
    assert!(shows(&state, "Leaving the loop…"));
    state.finished(&LoopChange::Leave, Ok(()));
    assert!(shows(
        &state,
        "You left the loop. Its messages stay on this computer."
    ));
    assert!(shows(&state, "Loop · 0 members · you are not a member"));
}

#[test]
fn back_goes_to_the_conversation() {
    let mut state = state(true);
    let actions = user(&mut state, |ui| {
        ui.click("Back to the conversation").expect("back");
    });
    assert_eq!(changes(actions), vec![Action::Back]);
}

#[test]
fn an_admin_sets_the_rules_with_toggles() {
    let mut state = state(true);
    assert!(shows(&state, "Only admins can post (announcement loop)"));
    assert!(shows(&state, "Members can invite"));
    let actions = user(&mut state, |ui| {
        ui.click("Only admins can post (announcement loop)")
            .expect("the posting toggle");
    });
    let announcement = LoopPolicy {
        posting: Posting::Admins,
        inviting: Inviting::Admins,
    };
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Policy(announcement))]
    );
    assert!(shows(&state, "Saving the rules…"));
    state.finished(&LoopChange::Policy(announcement), Ok(()));
    assert!(shows(
        &state,
        "Saved: Only admins post (an announcement loop); members react, vote and answer events. Only admins can invite people."
    ));
    let actions = user(&mut state, |ui| {
        ui.click("Members can invite").expect("the inviting toggle");
    });
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Policy(LoopPolicy {
            posting: Posting::Admins,
            inviting: Inviting::Members,
        }))]
    );
    state.finished(
        &LoopChange::Policy(announcement),
        Err("Only an admin of the loop can do this.".into()),
    );
    assert!(shows(
        &state,
        "The rules were not changed. Only an admin of the loop can do this."
    ));
}

#[test]
fn a_member_reads_the_rules_and_invites_when_they_allow_it() {
    let mut state = state(false);
    assert!(!shows(&state, "Only admins can post (announcement loop)"));
    assert!(shows(&state, "Everyone can post."));
    assert!(shows(&state, "Only admins can invite people."));
    assert!(!shows(&state, "Invite to the loop"));

    let members_invite = LoopView {
        policy: LoopPolicy {
            posting: Posting::Admins,
            inviting: Inviting::Members,
        },
        may_post: false,
        may_invite: true,
        ..view(false)
    };
    state.refresh(
        &members_invite,
        &[contact(NADIA, "Nadia"), contact(OMAR, "Omar")],
    );
    assert!(shows(
        &state,
        "Only admins post (an announcement loop); members react, vote and answer events."
    ));
    assert!(shows(&state, "Members can invite their contacts."));
    user(&mut state, |ui| {
        ui.click("Omar").expect("a contact outside the loop");
    });
    let actions = user(&mut state, |ui| {
        ui.click("Invite to the loop").expect("invite");
    });
    assert_eq!(
        changes(actions),
        vec![Action::Change(LoopChange::Add(vec![OMAR]))]
    );
}
