//! Wall-clock times in a time zone, on `jiff` and the IANA time zone database: what
//! people type for an event (`2026-05-01 18:00` in `Europe/Paris`) becomes the instant
//! it means there, daylight saving time included, and an instant becomes the date and
//! clock time a zone shows. Front ends parse and convert times here, so that the CLI,
//! the desktop app and the `.ics` export agree on them; the words they show (month
//! names, "in 3 h") are theirs.
//!
//! - [`Zone`]: a time zone by IANA name ([`Zone::named`]), the machine's
//!   ([`Zone::system`]) or UTC; instants (unix milliseconds) to wall clocks
//!   ([`Zone::wall_clock`]) and back ([`Zone::instant`]), offsets.
//! - [`parse_date`], [`parse_time`], [`parse_date_time`]: what a form takes
//!   (`2025-06-12`, `18:30`, `2025-06-12 18:30`).
//! - [`parse_in_zone`]: what the CLI takes, an explicit offset included.
//!
//! A clock time that a daylight-saving change skips (02:30 on the night clocks go from
//! 02:00 to 03:00) is no time at all: [`Zone::instant`] says so
//! ([`TimeError::Skipped`]). One it repeats (02:30 on the night clocks go back) is
//! taken the first time the clocks show it, as RFC 5545 reads it.
//!
//! ```
//! use boucle_client_core::time::{Zone, parse_date_time};
//!
//! let paris = Zone::named("Europe/Paris")?;
//! let at = paris.instant(parse_date_time("2026-05-01 18:00")?)?;
//! assert_eq!(at, 1_777_651_200_000); // 16:00 UTC: Paris is two hours ahead in May
//! assert_eq!(paris.wall_clock(at).hour(), 18);
//! # Ok::<(), boucle_client_core::time::TimeError>(())
//! ```

use jiff::fmt::strtime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{Timestamp, ZonedDateTime};

pub use jiff::civil::{Date, DateTime, Time, Weekday};

/// Why a time or a time zone could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Not a date and time of the accepted forms.
    #[error("{0:?} is not a time like 2026-05-01 18:00 or 2026-05-01T18:00+02:00")]
    Unreadable(String),
    /// Not a calendar date written year-month-day (or not a day of that month).
    #[error("{0:?} is not a date like 2026-05-01")]
    NotADate(String),
    /// Not a time of day written hours:minutes.
    #[error("{0:?} is not a time of day like 18:30")]
    NotATimeOfDay(String),
    /// A time zone name the time zone database does not know.
    #[error("{0:?} is not a time zone this system knows (like Europe/Paris or UTC)")]
    UnknownZone(String),
    /// Before 1970, which events cannot be.
    #[error("{0:?} is before 1970")]
    TooEarly(String),
    /// A clock time that does not exist in the zone that day: the clocks jump over it
    /// when daylight saving time starts.
    #[error("{clock} does not exist in {zone}: the clocks skip it that night")]
    Skipped {
        /// The clock time, `YYYY-MM-DD HH:MM`.
        clock: String,
        /// The zone's IANA name.
        zone: String,
    },
}

/// A time zone: its IANA name and its rules (from the system's zoneinfo, else the IANA
/// database bundled in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// A fixed offset from UTC, for tests (`name` is only a label).
    pub fn fixed(name: &str, offset_minutes: i32) -> Zone {
        let offset = Offset::from_seconds(offset_minutes.saturating_mul(60)).unwrap_or(Offset::UTC);
        Zone {
            name: name.to_owned(),
            tz: TimeZone::fixed(offset),
        }
    }

    /// The zone called `name` (`Europe/Paris`, `UTC`; an empty name is UTC), named as the
    /// database names it (`europe/paris` is `Europe/Paris`).
    pub fn named(name: &str) -> Result<Zone, TimeError> {
        let name = name.trim();
        if name.is_empty() || name.eq_ignore_ascii_case("UTC") {
            return Ok(Zone::utc());
        }
        let tz = TimeZone::get(name).map_err(|_| TimeError::UnknownZone(name.to_owned()))?;
        Ok(Zone {
            name: tz.iana_name().unwrap_or(name).to_owned(),
            tz,
        })
    }

    /// The machine's zone (`TZ`, else `/etc/localtime`), if it has an IANA name that
    /// [`Zone::named`] finds again; else UTC.
    pub fn system() -> Zone {
        let Ok(tz) = TimeZone::try_system() else {
            return Zone::utc();
        };
        match tz.iana_name() {
            Some("Etc/UTC" | "Etc/Universal" | "Etc/Zulu" | "UTC" | "Universal" | "Zulu")
            | None => Zone::utc(),
            Some(name) => Zone {
                name: name.to_owned(),
                tz: tz.clone(),
            },
        }
    }

    /// Its IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Seconds east of UTC at this instant (unix ms).
    pub fn offset_at(&self, ms: u64) -> i32 {
        self.tz.to_offset(timestamp(ms)).seconds()
    }

    /// Whether the same instant reads the same here and there.
    pub fn same_offset(&self, other: &Zone, ms: u64) -> bool {
        self.offset_at(ms) == other.offset_at(ms)
    }

    /// The date and clock time this zone shows at an instant (unix ms).
    pub fn wall_clock(&self, ms: u64) -> DateTime {
        self.tz.to_datetime(timestamp(ms))
    }

    /// The instant (unix ms) a date and clock time of this zone stands for. A clock time
    /// the zone skips that day is [`TimeError::Skipped`]; one it shows twice is the
    /// first of the two.
    pub fn instant(&self, clock: DateTime) -> Result<u64, TimeError> {
        let ambiguous = self.tz.to_ambiguous_timestamp(clock);
        let offset = match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            AmbiguousOffset::Fold { before, .. } => before,
            AmbiguousOffset::Gap { .. } => {
                return Err(TimeError::Skipped {
                    clock: clock.strftime("%Y-%m-%d %H:%M").to_string(),
                    zone: self.name.clone(),
                });
            }
        };
        let too_early = || TimeError::TooEarly(clock.strftime("%Y-%m-%d %H:%M").to_string());
        let instant = offset.to_timestamp(clock).map_err(|_| too_early())?;
        u64::try_from(instant.as_millisecond()).map_err(|_| too_early())
    }
}

/// A day as typed: `2025-06-12` (or `2025-6-12`), from 1970 to 9999.
pub fn parse_date(text: &str) -> Result<Date, TimeError> {
    let text = text.trim();
    let date = strtime::parse("%Y-%m-%d", text)
        .and_then(|parsed| parsed.to_date())
        .map_err(|_| TimeError::NotADate(text.to_owned()))?;
    if date.year() < 1970 {
        return Err(TimeError::NotADate(text.to_owned()));
    }
    Ok(date)
}

/// A time of day as typed: `18:30`, `18h30`, `18.30`, `9:05`, `18h` or `18`.
pub fn parse_time(text: &str) -> Result<Time, TimeError> {
    const FORMS: [&str; 9] = [
        "%H:%M", "%Hh%M", "%HH%M", "%H.%M", "%H:", "%Hh", "%HH", "%H.", "%H",
    ];
    let text = text.trim();
    FORMS
        .iter()
        .find_map(|form| strtime::parse(form, text).and_then(|p| p.to_time()).ok())
        .ok_or_else(|| TimeError::NotATimeOfDay(text.to_owned()))
}

/// A day and a time of day as typed: `2025-06-12 18:30` (or `2025-06-12T18:30`), in
/// the forms [`parse_date`] and [`parse_time`] take.
pub fn parse_date_time(text: &str) -> Result<DateTime, TimeError> {
    let text = text.trim();
    let Some((date, time)) = text.split_once([' ', 'T']) else {
        return Err(TimeError::Unreadable(text.to_owned()));
    };
    Ok(parse_date(date)?.to_datetime(parse_time(time)?))
}

/// Unix milliseconds of `YYYY-MM-DD[ T]HH:MM[:SS]` as a clock in `zone_name` shows it,
/// or of that time with an explicit offset (`Z`, `+02:00`), which then wins over the
/// zone. The same rules as the desktop's ([`Zone::instant`]): a clock time the zone
/// skips that night is refused ([`TimeError::Skipped`], nobody means a time that never
/// shows), one it shows twice is the first of the two.
pub fn parse_in_zone(text: &str, zone_name: &str) -> Result<u64, TimeError> {
    let text = text.trim();
    let unreadable = || TimeError::Unreadable(text.to_owned());
    // A date and a clock time: a date alone is no event time.
    if !matches!(text.as_bytes().get(10), Some(b' ' | b'T' | b't')) || text.len() < 16 {
        return Err(unreadable());
    }
    let zone = Zone::named(zone_name)?;
    let instant: Timestamp = if has_offset(text) {
        text.replacen(' ', "T", 1)
            .parse::<Timestamp>()
            .map_err(|_| unreadable())?
    } else {
        let civil: DateTime = text
            .replacen(' ', "T", 1)
            .parse()
            .map_err(|_| unreadable())?;
        return zone.instant(civil);
    };
    u64::try_from(instant.as_millisecond()).map_err(|_| TimeError::TooEarly(text.to_owned()))
}

/// Whether the time part ends in `Z` or a `±HH:MM` offset.
fn has_offset(text: &str) -> bool {
    let Some(time) = text.get(10..) else {
        return false;
    };
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

/// The wall clock in `zone_name` at `ms` (UTC if the zone is unknown here), as
/// `YYYY-MM-DD HH:MM`.
pub fn wall_clock(ms: u64, zone_name: &str) -> String {
    let zone = Zone::named(zone_name).unwrap_or_else(|_| Zone::utc());
    ZonedDateTime::new(timestamp(ms), zone.tz)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// `YYYYMMDDTHHMMSSZ` (iCalendar's UTC form) of unix milliseconds.
pub fn utc_stamp(ms: u64) -> String {
    timestamp(ms).strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Unix milliseconds as a timestamp (the last one jiff knows, past year 9999).
fn timestamp(ms: u64) -> Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARIS_SUMMER_18H: u64 = 1_777_651_200_000; // 2026-05-01T16:00:00Z

    fn paris() -> Zone {
        Zone::named("Europe/Paris").expect("the IANA database is bundled")
    }

    #[test]
    fn a_time_without_an_offset_is_a_clock_in_the_event_s_zone() {
        assert_eq!(
            parse_in_zone("2026-05-01 18:00", "Europe/Paris"),
            Ok(PARIS_SUMMER_18H)
        );
        assert_eq!(
            parse_in_zone("2026-05-01T18:00:00", "Europe/Paris"),
            Ok(PARIS_SUMMER_18H)
        );
        // Winter: one hour ahead of UTC, not two.
        assert_eq!(
            parse_in_zone("2026-01-10 18:00", "Europe/Paris"),
            Ok(1_768_064_400_000)
        );
        assert_eq!(
            parse_in_zone("2026-05-01 18:00", "UTC"),
            Ok(PARIS_SUMMER_18H + 2 * 3_600_000)
        );
        assert_eq!(
            parse_in_zone("2026-05-01 18:00", ""),
            Ok(PARIS_SUMMER_18H + 2 * 3_600_000)
        );
    }

    #[test]
    fn an_explicit_offset_wins_over_the_zone() {
        for text in [
            "2026-05-01T18:00+02:00",
            "2026-05-01 16:00Z",
            "2026-05-01 11:00-05:00",
        ] {
            assert_eq!(
                parse_in_zone(text, "Asia/Tokyo"),
                Ok(PARIS_SUMMER_18H),
                "{text}"
            );
        }
    }

    #[test]
    fn what_is_not_a_time_or_a_zone_is_said() {
        assert!(matches!(
            parse_in_zone("2026-05-01 18:00", "Europe/Parsi"),
            Err(TimeError::UnknownZone(_))
        ));
        for text in [
            "tomorrow",
            "2026-02-30 10:00",
            "2026-05-01 25:00",
            "2026-05-01",
        ] {
            assert!(
                matches!(parse_in_zone(text, "UTC"), Err(TimeError::Unreadable(_))),
                "{text}"
            );
        }
        assert!(matches!(
            parse_in_zone("1969-12-31 23:00", "UTC"),
            Err(TimeError::TooEarly(_))
        ));
    }

    #[test]
    fn the_wall_clock_is_shown_in_the_zone() {
        assert_eq!(
            wall_clock(PARIS_SUMMER_18H, "Europe/Paris"),
            "2026-05-01 18:00"
        );
        assert_eq!(wall_clock(PARIS_SUMMER_18H, "UTC"), "2026-05-01 16:00");
        assert_eq!(
            wall_clock(PARIS_SUMMER_18H, "Nowhere/Else"),
            "2026-05-01 16:00"
        );
    }

    #[test]
    fn zones_are_found_by_their_iana_name() {
        let paris = paris();
        assert_eq!(paris.name(), "Europe/Paris");
        assert_eq!(
            Zone::named("europe/paris").map(|z| z.name().to_owned()),
            Ok("Europe/Paris".to_owned()),
            "named as the database names it"
        );
        assert_eq!(Zone::named(""), Ok(Zone::utc()));
        assert_eq!(Zone::named(" utc "), Ok(Zone::utc()));
        for unknown in [
            "Nowhere/Atall",
            "Mars/../etc",
            "../../etc/passwd",
            "/etc/localtime",
        ] {
            assert_eq!(
                Zone::named(unknown),
                Err(TimeError::UnknownZone(unknown.to_owned())),
                "{unknown}"
            );
        }
        // Whatever the machine's zone, it is one that can be found again by its name.
        let here = Zone::system();
        assert_eq!(
            Zone::named(here.name()).map(|z| z.name().to_owned()),
            Ok(here.name().to_owned())
        );
    }

    #[test]
    fn instants_become_wall_clocks_and_back() {
        let june = parse_date_time("2025-06-12 18:30").expect("a time");
        let utc = Zone::utc().instant(june).expect("exists");
        assert_eq!(utc, 1_749_753_000_000);
        assert_eq!(Zone::utc().wall_clock(utc), june);
        assert_eq!(june.weekday(), Weekday::Thursday);
        let paris = paris();
        assert_eq!(paris.instant(june), Ok(utc - 2 * 3_600_000));
        assert_eq!(paris.wall_clock(utc).hour(), 20);
        assert_eq!(paris.offset_at(utc), 7200);
        let january = Zone::utc()
            .instant(parse_date_time("2026-01-10 12:00").expect("a time"))
            .expect("exists");
        assert_eq!(paris.offset_at(january), 3600);
        assert!(!paris.same_offset(&Zone::utc(), january));
        assert!(paris.same_offset(&Zone::fixed("CET", 60), january));
        let montreal = Zone::fixed("America/Montreal", -240);
        assert_eq!(montreal.name(), "America/Montreal");
        assert_eq!(montreal.wall_clock(utc).hour(), 14);
    }

    #[test]
    fn the_cli_refuses_a_skipped_clock_time_as_the_desktop_does() {
        assert_eq!(
            parse_in_zone("2026-03-29 02:30", "Europe/Paris"),
            Err(TimeError::Skipped {
                clock: "2026-03-29 02:30".into(),
                zone: "Europe/Paris".into(),
            })
        );
        // Shown twice: the first, in the CLI as in the desktop.
        let cli = parse_in_zone("2026-10-25 02:30", "Europe/Paris").expect("exists");
        let desktop = paris()
            .instant(parse_date_time("2026-10-25 02:30").expect("a time"))
            .expect("exists");
        assert_eq!(cli, desktop);
        // An explicit offset is an instant: no zone rule applies.
        assert!(parse_in_zone("2026-03-29 02:30+01:00", "Europe/Paris").is_ok());
    }

    #[test]
    fn a_skipped_clock_time_is_refused_and_a_repeated_one_is_the_first() {
        let paris = paris();
        // Clocks go from 02:00 to 03:00 on 2026-03-29 in Paris: 02:30 never shows.
        let skipped = parse_date_time("2026-03-29 02:30").expect("a time");
        let refused = paris.instant(skipped).expect_err("skipped");
        assert_eq!(
            refused,
            TimeError::Skipped {
                clock: "2026-03-29 02:30".into(),
                zone: "Europe/Paris".into(),
            }
        );
        assert_eq!(
            refused.to_string(),
            "2026-03-29 02:30 does not exist in Europe/Paris: the clocks skip it that night"
        );
        // Clocks go from 03:00 back to 02:00 on 2026-10-25: 02:30 shows twice, and the
        // first (summer time, 00:30 UTC) is the one meant.
        let repeated = parse_date_time("2026-10-25 02:30").expect("a time");
        let first = paris.instant(repeated).expect("exists");
        assert_eq!(wall_clock(first, "UTC"), "2026-10-25 00:30");
        assert_eq!(paris.offset_at(first), 7200);
        // Around the changes, clock times exist once.
        for (clock, utc) in [
            ("2026-03-29 01:59", "2026-03-29 00:59"),
            ("2026-03-29 03:00", "2026-03-29 01:00"),
            ("2026-10-25 03:00", "2026-10-25 02:00"),
        ] {
            let at = paris
                .instant(parse_date_time(clock).expect("a time"))
                .expect("exists");
            assert_eq!(wall_clock(at, "UTC"), utc, "{clock}");
        }
    }

    #[test]
    fn typed_dates_and_times() {
        assert_eq!(parse_date("2025-06-12"), Ok(Date::constant(2025, 6, 12)));
        assert_eq!(parse_date(" 2025-6-2 "), Ok(Date::constant(2025, 6, 2)));
        for wrong in [
            "2025-02-29",
            "12/06/2025",
            "2025-13-01",
            "1969-12-31",
            "2025-06-12x",
            "",
        ] {
            assert_eq!(
                parse_date(wrong),
                Err(TimeError::NotADate(wrong.trim().to_owned())),
                "{wrong}"
            );
        }
        assert_eq!(parse_date("2024-02-29"), Ok(Date::constant(2024, 2, 29)));
        for (typed, hour, minute) in [
            ("18:30", 18, 30),
            ("18h30", 18, 30),
            ("18H30", 18, 30),
            ("18.30", 18, 30),
            ("9:05", 9, 5),
            ("9h", 9, 0),
            ("18", 18, 0),
            ("18:", 18, 0),
            (" 7:00 ", 7, 0),
        ] {
            assert_eq!(
                parse_time(typed),
                Ok(Time::constant(hour, minute, 0, 0)),
                "{typed}"
            );
        }
        for wrong in ["24:00", "18:60", "noon", "", "18:30:00x", "-1"] {
            assert!(
                matches!(parse_time(wrong), Err(TimeError::NotATimeOfDay(_))),
                "{wrong}"
            );
        }
        assert_eq!(
            parse_date_time("2025-06-12 18:30"),
            Ok(Date::constant(2025, 6, 12).at(18, 30, 0, 0))
        );
        assert_eq!(
            parse_date_time("2025-06-12T9h"),
            Ok(Date::constant(2025, 6, 12).at(9, 0, 0, 0))
        );
        assert!(matches!(
            parse_date_time("2025-06-12"),
            Err(TimeError::Unreadable(_))
        ));
        assert!(matches!(
            parse_date_time("2025-06-31 18:30"),
            Err(TimeError::NotADate(_))
        ));
        assert!(matches!(
            parse_date_time("2025-06-12 25:00"),
            Err(TimeError::NotATimeOfDay(_))
        ));
    }

    #[test]
    fn icalendar_stamps_are_utc() {
        assert_eq!(utc_stamp(PARIS_SUMMER_18H), "20260501T160000Z");
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(1_749_753_045_999), "20250612T183045Z");
    }
}
