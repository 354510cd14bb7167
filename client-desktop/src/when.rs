//! Dates and times as the app words them: "Thursday 12 June 2025, 18:00–20:00",
//! "Thu 12 June", "in 3 h". Time zones, instants and what people type are
//! [`boucle_client_core::time`]'s (on jiff and the IANA database); only the words are
//! here.
//!
//! An event's times are absolute; its time zone is the label it was planned in
//! (`Europe/Paris`). The app shows an event in that zone, and adds the time where the
//! user is when it differs. Views take the user's [`Zone`] from their state, so that
//! tests and snapshots do not depend on the machine's zone.

pub use boucle_client_core::time::{DateTime, TimeError, Zone};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// "Thursday 12 June 2025".
pub fn date(clock: DateTime) -> String {
    format!(
        "{} {} {} {}",
        weekday(clock),
        clock.day(),
        month(clock),
        clock.year()
    )
}

/// "Thu 12 June".
pub fn short_date(clock: DateTime) -> String {
    format!("{} {} {}", short_weekday(clock), clock.day(), month(clock))
}

/// "Thu": a weekday in three letters.
pub fn short_weekday(clock: DateTime) -> &'static str {
    &weekday(clock)[..3]
}

/// "18:30".
pub fn time(clock: DateTime) -> String {
    clock.strftime("%H:%M").to_string()
}

/// "Jan", "Jun": a month in three letters.
pub fn month_short(clock: DateTime) -> &'static str {
    &month(clock)[..3]
}

fn weekday(clock: DateTime) -> &'static str {
    WEEKDAYS[clock.weekday().to_monday_zero_offset() as usize]
}

fn month(clock: DateTime) -> &'static str {
    MONTHS[(clock.month() - 1) as usize]
}

/// When an event is, in its zone: "Thursday 12 June 2025, 18:00–20:00", or across days
/// "Thursday 12 June 2025, 18:00 – Friday 13 June 2025, 02:00".
pub fn span(zone: &Zone, starts_at: u64, ends_at: Option<u64>) -> String {
    span_with(zone, starts_at, ends_at, date)
}

/// The same span where the user is, shorter: "Thu 12 June, 16:00–18:00".
pub fn short_span(zone: &Zone, starts_at: u64, ends_at: Option<u64>) -> String {
    span_with(zone, starts_at, ends_at, short_date)
}

fn span_with(
    zone: &Zone,
    starts_at: u64,
    ends_at: Option<u64>,
    day: fn(DateTime) -> String,
) -> String {
    let start = zone.wall_clock(starts_at);
    match ends_at.map(|end| zone.wall_clock(end)) {
        None => format!("{}, {}", day(start), time(start)),
        Some(end) if end.date() == start.date() => {
            format!("{}, {}–{}", day(start), time(start), time(end))
        }
        Some(end) => format!(
            "{}, {} – {}, {}",
            day(start),
            time(start),
            day(end),
            time(end)
        ),
    }
}

/// Why a time typed in a form cannot be used, as a sentence.
pub fn refusal(error: &TimeError) -> String {
    match error {
        TimeError::Skipped { .. } => format!("{error}. Pick another time."),
        _ => crate::io::sentence(error),
    }
}

/// How far away a moment is, for people: "in 3 h", "in 2 d", "in 5 min".
pub fn until(now: u64, then: u64) -> String {
    let seconds = then.saturating_sub(now) / 1000;
    match seconds {
        0..60 => "in less than a minute".to_owned(),
        60..3600 => format!("in {} min", seconds / 60),
        3600..86_400 => format!("in {} h", seconds / 3600),
        _ => format!("in {} d", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boucle_client_core::time::parse_date_time;

    #[test]
    fn dates_read_naturally() {
        let clock = parse_date_time("2025-06-12 18:30").expect("a time");
        assert_eq!(date(clock), "Thursday 12 June 2025");
        assert_eq!(short_date(clock), "Thu 12 June");
        assert_eq!(short_weekday(clock), "Thu");
        assert_eq!(month_short(clock), "Jun");
        assert_eq!(time(clock), "18:30");
        let morning = parse_date_time("2030-01-06 09:05").expect("a time");
        assert_eq!(date(morning), "Sunday 6 January 2030");
        assert_eq!(time(morning), "09:05");
    }

    #[test]
    fn spans_read_naturally() {
        let zone = Zone::utc();
        let start = 1_749_751_200_000; // 2025-06-12 18:00 UTC
        assert_eq!(
            span(&zone, start, Some(start + 2 * 3_600_000)),
            "Thursday 12 June 2025, 18:00–20:00"
        );
        assert_eq!(
            span(&zone, start, Some(start + 8 * 3_600_000)),
            "Thursday 12 June 2025, 18:00 – Friday 13 June 2025, 02:00"
        );
        assert_eq!(span(&zone, start, None), "Thursday 12 June 2025, 18:00");
        let paris = Zone::fixed("Europe/Paris", 120);
        assert_eq!(short_span(&paris, start, None), "Thu 12 June, 20:00");
        assert_eq!(
            short_span(&paris, start, Some(start + 3 * 3_600_000)),
            "Thu 12 June, 20:00–23:00"
        );
    }

    #[test]
    fn distances_read_naturally() {
        let now = 1_749_751_200_000;
        assert_eq!(until(now, now + 30_000), "in less than a minute");
        assert_eq!(until(now, now + 5 * 60_000), "in 5 min");
        assert_eq!(until(now, now + 3 * 3_600_000 + 1_800_000), "in 3 h");
        assert_eq!(until(now, now + 2 * 86_400_000), "in 2 d");
        assert_eq!(until(now, now - 1), "in less than a minute");
    }
}
