//! Dates, times and time zones for events and polls, without a date library: civil
//! dates from unix milliseconds and back, the system's time zone files (TZif, with
//! their POSIX rule for the years after the last transition), parsing what people type
//! ("2025-06-12", "18:30") and writing dates as people read them.
//!
//! An event's times are absolute; its time zone is the label it was planned in
//! (`Europe/Paris`). The app shows an event in that zone, and adds the time where the
//! user is when it differs. Views take the user's [`Zone`] from their state, so that
//! tests and snapshots do not depend on the machine's zone.

use std::sync::Arc;

const DAY: i64 = 86_400;
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

/// A time zone: its IANA name and its offsets from UTC over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    name: String,
    rules: Arc<Rules>,
}

#[derive(Debug, PartialEq, Eq)]
struct Rules {
    /// Offset (seconds east of UTC) before the first transition.
    initial: i32,
    /// Transitions: from this instant (unix seconds), this offset.
    transitions: Vec<(i64, i32)>,
    /// The rule after the last transition, if the file has one.
    tail: Option<Posix>,
}

/// A wall-clock date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            rules: Arc::new(Rules {
                initial: 0,
                transitions: Vec::new(),
                tail: None,
            }),
        }
    }

    /// A fixed offset, for tests (`name` is only a label).
    pub fn fixed(name: &str, offset_minutes: i32) -> Zone {
        Zone {
            name: name.to_owned(),
            rules: Arc::new(Rules {
                initial: offset_minutes * 60,
                transitions: Vec::new(),
                tail: None,
            }),
        }
    }

    /// The zone called `name` (`Europe/Paris`, `UTC`), from the system's zone files
    /// (`$TZDIR`, else `/usr/share/zoneinfo`), read once; `None` if it is not a zone
    /// this machine knows. An empty name is UTC.
    pub fn named(name: &str) -> Option<Zone> {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static KNOWN: OnceLock<Mutex<HashMap<String, Option<Zone>>>> = OnceLock::new();
        let known = KNOWN.get_or_init(Mutex::default);
        if let Some(found) = known.lock().ok().and_then(|k| k.get(name).cloned()) {
            return found;
        }
        let found = Zone::load(name);
        if let Ok(mut known) = known.lock() {
            known.insert(name.to_owned(), found.clone());
        }
        found
    }

    /// Reads a zone file (what [`Zone::named`] remembers).
    fn load(name: &str) -> Option<Zone> {
        let name = name.trim();
        if name.is_empty() || name.eq_ignore_ascii_case("UTC") {
            return Some(Zone::utc());
        }
        let shaped = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
        if !shaped || name.starts_with('/') || name.split('/').any(|p| p.is_empty()) {
            return None;
        }
        let dir = std::env::var_os("TZDIR").unwrap_or_else(|| "/usr/share/zoneinfo".into());
        let bytes = std::fs::read(std::path::Path::new(&dir).join(name)).ok()?;
        Some(Zone {
            name: name.to_owned(),
            rules: Arc::new(parse_tzif(&bytes)?),
        })
    }

    /// The machine's zone: `TZ`, else `/etc/localtime` (named after its link or
    /// `/etc/timezone`), else UTC.
    pub fn local() -> Zone {
        if let Ok(tz) = std::env::var("TZ")
            && let Some(zone) = Zone::named(tz.trim_start_matches(':'))
        {
            return zone;
        }
        let name = std::fs::read_link("/etc/localtime")
            .ok()
            .and_then(|target| {
                let target = target.to_string_lossy().into_owned();
                target
                    .split_once("zoneinfo/")
                    .map(|(_, name)| name.to_owned())
            })
            .or_else(|| {
                std::fs::read_to_string("/etc/timezone")
                    .ok()
                    .map(|s| s.trim().to_owned())
            });
        let rules = std::fs::read("/etc/localtime")
            .ok()
            .and_then(|bytes| parse_tzif(&bytes));
        match (name, rules) {
            (Some(name), Some(rules)) => Zone {
                name: if name == "Etc/UTC" || name == "Etc/Universal" {
                    "UTC".to_owned()
                } else {
                    name
                },
                rules: Arc::new(rules),
            },
            (Some(name), None) => Zone::named(&name).unwrap_or_else(Zone::utc),
            _ => Zone::utc(),
        }
    }

    /// Its IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Seconds east of UTC at this instant (unix ms).
    pub fn offset_at(&self, ms: u64) -> i32 {
        let t = (ms / 1000) as i64;
        let rules = &self.rules;
        let last = rules.transitions.last();
        if let (Some(tail), Some(&(at, _))) = (&rules.tail, last)
            && t >= at
        {
            return tail.offset_at(t);
        }
        if let (Some(tail), None) = (&rules.tail, last) {
            return tail.offset_at(t);
        }
        match rules.transitions.partition_point(|(at, _)| *at <= t) {
            0 => rules.initial,
            i => rules.transitions[i - 1].1,
        }
    }

    /// The wall-clock time in this zone at an instant (unix ms).
    pub fn civil(&self, ms: u64) -> Civil {
        let local = (ms / 1000) as i64 + i64::from(self.offset_at(ms));
        civil_from_seconds(local)
    }

    /// The instant (unix ms) a wall-clock time in this zone stands for (in the hour
    /// skipped in spring or repeated in autumn, one of the two readings).
    pub fn instant(&self, civil: Civil) -> u64 {
        let local = seconds_from_civil(civil);
        let at = |offset: i32| (local - i64::from(offset)).max(0) as u64 * 1000;
        let first = self.offset_at(at(self.offset_at(at(0))));
        let found = at(first);
        match self.offset_at(found) {
            offset if offset == first => found,
            offset => at(offset),
        }
    }

    /// The same instant reads the same here and there.
    pub fn same_offset(&self, other: &Zone, ms: u64) -> bool {
        self.offset_at(ms) == other.offset_at(ms)
    }
}

impl Civil {
    /// The weekday, Monday = 0.
    pub fn weekday(&self) -> usize {
        let days = days_from_civil(self.year, self.month, self.day);
        (days + 3).rem_euclid(7) as usize
    }

    /// "Thursday 12 June 2025".
    pub fn date(&self) -> String {
        format!(
            "{} {} {} {}",
            WEEKDAYS[self.weekday()],
            self.day,
            MONTHS[(self.month - 1) as usize],
            self.year
        )
    }

    /// "Thu 12 June".
    pub fn short_date(&self) -> String {
        format!(
            "{} {} {}",
            &WEEKDAYS[self.weekday()][..3],
            self.day,
            MONTHS[(self.month - 1) as usize]
        )
    }

    /// "18:30".
    pub fn time(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// "2025-06-12", as the forms take it.
    pub fn iso_date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    fn same_day(&self, other: &Civil) -> bool {
        (self.year, self.month, self.day) == (other.year, other.month, other.day)
    }
}

/// "Jan", "Jun": a month in three letters.
pub fn month_short(month: u32) -> &'static str {
    MONTHS
        .get(month.saturating_sub(1) as usize)
        .map_or("", |m| &m[..3])
}

/// When an event is, in its zone: "Thursday 12 June 2025, 18:00–20:00", or across days
/// "Thursday 12 June 2025, 18:00 – Friday 13 June 2025, 02:00".
pub fn span(zone: &Zone, starts_at: u64, ends_at: Option<u64>) -> String {
    let start = zone.civil(starts_at);
    match ends_at.map(|end| zone.civil(end)) {
        None => format!("{}, {}", start.date(), start.time()),
        Some(end) if end.same_day(&start) => {
            format!("{}, {}–{}", start.date(), start.time(), end.time())
        }
        Some(end) => format!(
            "{}, {} – {}, {}",
            start.date(),
            start.time(),
            end.date(),
            end.time()
        ),
    }
}

/// The same span where the user is, shorter: "Thu 12 June, 16:00–18:00".
pub fn short_span(zone: &Zone, starts_at: u64, ends_at: Option<u64>) -> String {
    let start = zone.civil(starts_at);
    match ends_at.map(|end| zone.civil(end)) {
        None => format!("{}, {}", start.short_date(), start.time()),
        Some(end) if end.same_day(&start) => {
            format!("{}, {}–{}", start.short_date(), start.time(), end.time())
        }
        Some(end) => format!(
            "{}, {} – {}, {}",
            start.short_date(),
            start.time(),
            end.short_date(),
            end.time()
        ),
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

/// A date as typed: `2025-06-12` (or `2025-6-12`).
pub fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let mut parts = text.trim().split('-');
    let year: i64 = parts.next()?.trim().parse().ok()?;
    let month: u32 = parts.next()?.trim().parse().ok()?;
    let day: u32 = parts.next()?.trim().parse().ok()?;
    if parts.next().is_some() || !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    (day >= 1 && day <= days_in_month(year, month)).then_some((year, month, day))
}

/// A time as typed: `18:30`, `18h30`, `9:05` or `18`.
pub fn parse_time(text: &str) -> Option<(u32, u32)> {
    let text = text.trim();
    let (hour, minute) = match text.split_once([':', 'h', 'H', '.']) {
        Some((h, "")) => (h, "0"),
        Some((h, m)) => (h, m),
        None => (text, "0"),
    };
    let hour: u32 = hour.trim().parse().ok()?;
    let minute: u32 = minute.trim().parse().ok()?;
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// A date and a time as typed: `2025-06-12 18:30`.
pub fn parse_date_time(text: &str) -> Option<Civil> {
    let (date, time) = text.trim().split_once([' ', 'T'])?;
    let (year, month, day) = parse_date(date)?;
    let (hour, minute) = parse_time(time)?;
    Some(Civil {
        year,
        month,
        day,
        hour,
        minute,
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn civil_from_seconds(seconds: i64) -> Civil {
    let (year, month, day) = civil_from_days(seconds.div_euclid(DAY));
    let rem = seconds.rem_euclid(DAY);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: ((rem % 3600) / 60) as u32,
    }
}

fn seconds_from_civil(civil: Civil) -> i64 {
    days_from_civil(civil.year, civil.month, civil.day) * DAY
        + i64::from(civil.hour) * 3600
        + i64::from(civil.minute) * 60
}

/// A TZif file (RFC 8536): the 64-bit data of version 2 and later (or the 32-bit data
/// of version 1), and the POSIX rule of its footer.
fn parse_tzif(bytes: &[u8]) -> Option<Rules> {
    struct Counts {
        isut: usize,
        isstd: usize,
        leap: usize,
        time: usize,
        kind: usize,
        chars: usize,
    }
    fn counts(bytes: &[u8]) -> Option<Counts> {
        if bytes.get(..4)? != b"TZif" {
            return None;
        }
        let n = |i: usize| -> Option<usize> {
            let b = bytes.get(20 + 4 * i..24 + 4 * i)?;
            Some(u32::from_be_bytes(b.try_into().ok()?) as usize)
        };
        Some(Counts {
            isut: n(0)?,
            isstd: n(1)?,
            leap: n(2)?,
            time: n(3)?,
            kind: n(4)?,
            chars: n(5)?,
        })
    }
    let v1 = counts(bytes)?;
    let v1_len = v1.time * 5 + v1.kind * 6 + v1.chars + v1.leap * 8 + v1.isstd + v1.isut;
    let (data, c, width) = if bytes.get(4).is_some_and(|v| *v >= b'2') {
        let rest = bytes.get(44 + v1_len..)?;
        (rest, counts(rest)?, 8)
    } else {
        (bytes, v1, 4)
    };
    let body = data.get(44..)?;
    let times = body.get(..c.time * width)?;
    let indices = body.get(c.time * width..c.time * (width + 1))?;
    let types_at = c.time * (width + 1);
    let types = body.get(types_at..types_at + c.kind * 6)?;
    let offset_of = |i: usize| -> Option<i32> {
        let t = types.get(i * 6..i * 6 + 4)?;
        Some(i32::from_be_bytes(t.try_into().ok()?))
    };
    let mut transitions = Vec::with_capacity(c.time);
    for i in 0..c.time {
        let raw = &times[i * width..(i + 1) * width];
        let at = if width == 8 {
            i64::from_be_bytes(raw.try_into().ok()?)
        } else {
            i64::from(i32::from_be_bytes(raw.try_into().ok()?))
        };
        transitions.push((at, offset_of(usize::from(indices[i]))?));
    }
    let tail = if width == 8 {
        let end = types_at + c.kind * 6 + c.chars + c.leap * 12 + c.isstd + c.isut;
        body.get(end..)
            .and_then(|footer| std::str::from_utf8(footer).ok())
            .and_then(|footer| Posix::parse(footer.trim_matches('\n')))
    } else {
        None
    };
    Some(Rules {
        initial: offset_of(0)?,
        transitions,
        tail,
    })
}

/// A POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`): standard offset, and daylight
/// saving time between two `Mm.w.d` dates if there is one.
#[derive(Debug, PartialEq, Eq)]
struct Posix {
    standard: i32,
    dst: Option<(i32, Rule, Rule)>,
}

/// `Mm.w.d/time`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`, at `time`
/// local seconds.
#[derive(Debug, PartialEq, Eq)]
struct Rule {
    month: u32,
    week: u32,
    weekday: u32,
    time: i64,
}

impl Posix {
    fn parse(text: &str) -> Option<Posix> {
        let mut rest = text;
        skip_name(&mut rest)?;
        let standard = -posix_offset(&mut rest)?;
        if rest.is_empty() {
            return Some(Posix {
                standard,
                dst: None,
            });
        }
        skip_name(&mut rest)?;
        let dst_offset = if rest.starts_with(',') {
            standard + 3600
        } else {
            -posix_offset(&mut rest)?
        };
        let mut rules = rest.strip_prefix(',')?.split(',');
        let start = Rule::parse(rules.next()?)?;
        let end = Rule::parse(rules.next()?)?;
        Some(Posix {
            standard,
            dst: Some((dst_offset, start, end)),
        })
    }

    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, end)) = &self.dst else {
            return self.standard;
        };
        let year = civil_from_seconds(t + i64::from(self.standard)).year;
        // Transition instants in UTC: the start is in standard time, the end in DST.
        let begins = start.local(year) - i64::from(self.standard);
        let ends = end.local(year) - i64::from(*dst);
        let inside = if begins < ends {
            t >= begins && t < ends
        } else {
            t >= begins || t < ends
        };
        if inside { *dst } else { self.standard }
    }
}

impl Rule {
    fn parse(text: &str) -> Option<Rule> {
        let (date, time) = match text.split_once('/') {
            Some((d, t)) => (d, Some(t)),
            None => (text, None),
        };
        let mut parts = date.strip_prefix('M')?.split('.');
        let month = parts.next()?.parse().ok()?;
        let week = parts.next()?.parse().ok()?;
        let weekday = parts.next()?.parse().ok()?;
        let time = match time {
            Some(t) => {
                let mut t = t;
                posix_offset(&mut t)?
            }
            None => 7200,
        };
        Some(Rule {
            month,
            week,
            weekday,
            time: i64::from(time),
        })
    }

    /// The local second (since the epoch, as if local were UTC) it falls on in `year`.
    fn local(&self, year: i64) -> i64 {
        let first = days_from_civil(year, self.month, 1);
        // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
        let first_weekday = (first + 4).rem_euclid(7) as u32;
        let mut day = 1 + (self.weekday + 7 - first_weekday) % 7 + 7 * (self.week - 1);
        let last = days_in_month(year, self.month);
        while day > last {
            day -= 7;
        }
        (first + i64::from(day) - 1) * DAY + self.time
    }
}

fn skip_name(rest: &mut &str) -> Option<()> {
    if let Some(quoted) = rest.strip_prefix('<') {
        let end = quoted.find('>')?;
        *rest = &quoted[end + 1..];
    } else {
        let end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        if end < 3 {
            return None;
        }
        *rest = &rest[end..];
    }
    Some(())
}

/// `[+-]hh[:mm[:ss]]` in seconds (POSIX sign: west of UTC is positive).
fn posix_offset(rest: &mut &str) -> Option<i32> {
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '+' || c == '-'))
        .unwrap_or(rest.len());
    let (text, after) = rest.split_at(end);
    *rest = after;
    let (sign, digits) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    let mut seconds = 0;
    for (i, part) in digits.split(':').enumerate() {
        let value: i32 = part.parse().ok()?;
        seconds += value * [3600, 60, 1].get(i)?;
    }
    Some(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let civil = Civil {
            year: 2025,
            month: 6,
            day: 12,
            hour: 18,
            minute: 30,
        };
        let ms = Zone::utc().instant(civil);
        assert_eq!(ms, 1_749_753_000_000);
        assert_eq!(Zone::utc().civil(ms), civil);
        assert_eq!(civil.date(), "Thursday 12 June 2025");
        assert_eq!(civil.short_date(), "Thu 12 June");
        assert_eq!(civil.iso_date(), "2025-06-12");
    }

    #[test]
    fn typed_dates_and_times() {
        assert_eq!(parse_date("2025-06-12"), Some((2025, 6, 12)));
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(parse_date("12/06/2025"), None);
        assert_eq!(parse_time("18:30"), Some((18, 30)));
        assert_eq!(parse_time("9h"), Some((9, 0)));
        assert_eq!(parse_time("24:00"), None);
        assert!(parse_date_time("2025-06-12 18:30").is_some());
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
        let paris = Zone::fixed("Europe/Paris", 120);
        assert_eq!(short_span(&paris, start, None), "Thu 12 June, 20:00");
    }

    #[test]
    fn posix_rules_give_summer_time() {
        let rule = Posix::parse("CET-1CEST,M3.5.0,M10.5.0/3").expect("rule");
        // 2030-07-01 12:00 UTC: summer; 2030-01-15: winter.
        let summer = seconds_from_civil(Civil {
            year: 2030,
            month: 7,
            day: 1,
            hour: 12,
            minute: 0,
        });
        let winter = seconds_from_civil(Civil {
            year: 2030,
            month: 1,
            day: 15,
            hour: 12,
            minute: 0,
        });
        assert_eq!(rule.offset_at(summer), 7200);
        assert_eq!(rule.offset_at(winter), 3600);
        let south = Posix::parse("<-03>3").expect("fixed");
        assert_eq!(south.offset_at(summer), -3 * 3600);
    }

    #[test]
    fn system_zones_load_when_present() {
        // Only where the machine has zone files (tzdata).
        if let Some(paris) = Zone::named("Europe/Paris") {
            let june = Zone::utc().instant(Civil {
                year: 2025,
                month: 6,
                day: 12,
                hour: 16,
                minute: 0,
            });
            assert_eq!(paris.offset_at(june), 7200);
            assert_eq!(paris.civil(june).hour, 18);
            let local = Civil {
                year: 2025,
                month: 6,
                day: 12,
                hour: 18,
                minute: 0,
            };
            assert_eq!(paris.instant(local), june);
        }
        assert!(Zone::named("Mars/../etc").is_none());
        assert!(Zone::named("Nowhere/Atall").is_none());
        assert_eq!(
            Zone::named("").map(|z| z.name().to_owned()),
            Some("UTC".into())
        );
    }
}
