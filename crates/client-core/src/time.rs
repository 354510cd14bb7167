//! Wall-clock times in a time zone, on `jiff` and the IANA time zone database: what
//! people type for an event (`2026-05-01 18:00` in `Europe/Paris`) becomes the instant
//! it means there, daylight saving time included. Front ends parse event times here, so
//! that the CLI, the desktop app and the `.ics` export agree on them.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Not a date and time of the accepted forms.
    #[error("{0:?} is not a time like 2026-05-01 18:00 or 2026-05-01T18:00+02:00")]
    Unreadable(String),
    /// A time zone name the time zone database does not know.
    #[error("{0:?} is not a time zone this system knows (like Europe/Paris or UTC)")]
    UnknownZone(String),
    /// Before 1970, which events cannot be.
    #[error("{0:?} is before 1970")]
    TooEarly(String),
}

/// The time zone of this name (`UTC` and an empty name are UTC).
pub fn zone(name: &str) -> Result<TimeZone, TimeError> {
    let name = name.trim();
    if name.is_empty() || name.eq_ignore_ascii_case("UTC") {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| TimeError::UnknownZone(name.to_owned()))
}

/// Unix milliseconds of `YYYY-MM-DD[ T]HH:MM[:SS]` as a clock in `zone_name` shows it,
/// or of that time with an explicit offset (`Z`, `+02:00`), which then wins over the
/// zone. A time that a daylight-saving change skips or repeats is taken as the clocks
/// read before the change (RFC 5545's rule, jiff's `compatible`).
pub fn parse_in_zone(text: &str, zone_name: &str) -> Result<u64, TimeError> {
    let text = text.trim();
    let unreadable = || TimeError::Unreadable(text.to_owned());
    // A date and a clock time: a date alone is no event time.
    if !matches!(text.as_bytes().get(10), Some(b' ' | b'T' | b't')) || text.len() < 16 {
        return Err(unreadable());
    }
    let zone = zone(zone_name)?;
    let instant: Timestamp = if has_offset(text) {
        text.replacen(' ', "T", 1)
            .parse::<Timestamp>()
            .map_err(|_| unreadable())?
    } else {
        let civil: DateTime = text
            .replacen(' ', "T", 1)
            .parse()
            .map_err(|_| unreadable())?;
        civil
            .to_zoned_datetime(zone)
            .map_err(|_| unreadable())?
            .timestamp()
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
    let zone = zone(zone_name).unwrap_or(TimeZone::UTC);
    let Ok(instant) = Timestamp::from_millisecond(ms as i64) else {
        return String::new();
    };
    ZonedDateTime::new(instant, zone)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARIS_SUMMER_18H: u64 = 1_777_651_200_000; // 2026-05-01T16:00:00Z

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
    fn a_skipped_clock_time_is_read_as_before_the_change() {
        // 2026-03-29 02:30 does not exist in Paris (02:00 → 03:00): it is 03:30 CEST.
        let ms = parse_in_zone("2026-03-29 02:30", "Europe/Paris").unwrap();
        assert_eq!(wall_clock(ms, "Europe/Paris"), "2026-03-29 03:30");
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
}
