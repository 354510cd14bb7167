//! The agenda as a user sees it: upcoming first, past ones after, cancelled marked,
//! clicking an event opens its conversation, and the export writes a calendar file.

use super::*;
use crate::io::Response;
use crate::screen::fixtures::{TENANTS, event};
use iced_test::selector::id;
use iced_test::{Simulator, simulator};

/// 2025-06-11 12:00 UTC.
const NOW: u64 = 1_749_643_200_000;
const DAY: u64 = 86_400_000;

fn loaded() -> State {
    let mut state = State::new(None, None, Zone::utc());
    let mut cancelled = event(3, "Street party", NOW + 10 * DAY, &[]);
    cancelled.cancelled = true;
    state.loaded(
        Ok(vec![
            event(
                1,
                "Meeting with the landlord",
                NOW + DAY + 6 * 3_600_000,
                &[
                    (RsvpAnswer::Going, "Alice"),
                    (RsvpAnswer::Going, "Nadia"),
                    (RsvpAnswer::Maybe, "Omar"),
                ],
            ),
            cancelled,
            event(2, "Flyer printing", NOW - 3 * DAY, &[]),
        ]),
        NOW,
    );
    state
}

fn user(state: &mut State, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Action> {
    let mut ui = simulator(state.view());
    act(&mut ui);
    let messages: Vec<Message> = ui.into_messages().collect();
    messages
        .into_iter()
        .map(|m| state.update(m))
        .filter(|a| *a != Action::None)
        .collect()
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view()).find(text).is_ok()
}

#[test]
fn upcoming_events_come_first_and_past_ones_after() {
    let mut state = State::new(None, None, Zone::utc());
    assert!(shows(&state, "Reading the agenda…"));
    state.loaded(Ok(Vec::new()), NOW);
    assert!(shows(
        &state,
        "No events yet. Plan one from a conversation, with the Event button beside the composer."
    ));

    let state = loaded();
    let mut ui = simulator(state.view());
    let upcoming = ui.find("Upcoming (2)").expect("upcoming heading").bounds();
    let landlord = ui
        .find("Meeting with the landlord")
        .expect("the next event")
        .bounds();
    let past = ui.find("Past (1)").expect("past heading").bounds();
    let flyers = ui.find("Flyer printing").expect("the past event").bounds();
    assert!(upcoming.y < landlord.y && landlord.y < past.y && past.y < flyers.y);
    assert!(
        ui.find("Thursday 12 June 2025, 18:00–20:00 (UTC)").is_ok(),
        "when, in the event's zone"
    );
    assert!(
        ui.find("in Tenants · 2 going · 1 maybe · 0 not going · you are going")
            .is_ok()
    );
    assert!(
        ui.find("Cancelled").is_ok(),
        "the cancelled event is marked"
    );
    assert!(ui.find("past").is_ok());
}

#[test]
fn clicking_an_event_opens_its_conversation() {
    let mut state = loaded();
    let actions = user(&mut state, |ui| {
        ui.click("Flyer printing").expect("event");
    });
    assert_eq!(actions, vec![Action::Open(TENANTS)]);
}

#[test]
fn export_writes_a_calendar_file_and_says_where() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("agenda.ics");
    let mut state = loaded();
    state.set_path(String::new());
    let actions = user(&mut state, |ui| {
        ui.click(id(PATH)).expect("path field");
        ui.typewrite(&path.display().to_string());
        ui.click("Export .ics").expect("export");
    });
    let [Action::Export(events, to)] = actions.as_slice() else {
        panic!("one export asked, got {actions:?}");
    };
    assert_eq!(to, &path);
    assert_eq!(events.len(), 3);
    assert!(shows(&state, "Writing the file…"));

    // What the app's task runs.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Response::Exported(result) =
        runtime.block_on(crate::io::export(events.clone(), to.clone()))
    else {
        panic!("an export answer");
    };
    state.exported(result);
    let written = std::fs::read_to_string(&path).expect("the file");
    assert_eq!(written.matches("BEGIN:VEVENT").count(), 3);
    assert!(written.contains("SUMMARY:Meeting with the landlord"));
    assert!(written.contains("STATUS:CANCELLED"));
    assert!(shows(
        &state,
        &format!("Saved 3 events to {}.", path.display())
    ));

    // A folder that cannot be written says why.
    state.exported(Err(
        "Cannot write /proc/agenda.ics: permission denied.".into()
    ));
    assert!(shows(
        &state,
        "The agenda was not exported. Cannot write /proc/agenda.ics: permission denied."
    ));
}

#[test]
fn a_read_failure_is_said() {
    let mut state = State::new(Some(TENANTS), Some("Tenants".into()), Zone::utc());
    assert!(shows(&state, "Agenda of Tenants"));
    state.loaded(Err("The profile is locked.".into()), NOW);
    assert!(shows(
        &state,
        "The agenda could not be read. The profile is locked."
    ));
}
