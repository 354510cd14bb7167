//! Refused and displaced connections, summarized: an attacker who opens connections
//! chooses how many are refused, so a line per refusal would let them choose the log's
//! volume too. At most one line per interval says how many, and why.

use std::time::{Duration, Instant};

use super::admission::Refusal;

/// Interval of the summary lines.
pub(crate) const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// What happened to a connection that is summarized rather than logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turned {
    /// Refused at the door.
    Refused(Refusal),
    /// Closed to make room for a new connection (it had proved nothing).
    DisplacedForSlot,
    /// Closed because the input memory budget was spent (it held the most).
    DisplacedForMemory,
}

/// Counts since the last summary.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    interval: Duration,
    since: Option<Instant>,
    full: u64,
    per_address: u64,
    handshake_rate: u64,
    for_slot: u64,
    for_memory: u64,
}

impl RefusalLog {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            since: None,
            full: 0,
            per_address: 0,
            handshake_rate: 0,
            for_slot: 0,
            for_memory: 0,
        }
    }

    /// Counts one event at `now`; returns a summary line if the interval is over.
    pub(crate) fn record(&mut self, what: Turned, now: Instant) -> Option<String> {
        self.since.get_or_insert(now);
        match what {
            Turned::Refused(Refusal::Full) => self.full += 1,
            Turned::Refused(Refusal::PerAddress) => self.per_address += 1,
            Turned::Refused(Refusal::HandshakeRate) => self.handshake_rate += 1,
            Turned::DisplacedForSlot => self.for_slot += 1,
            Turned::DisplacedForMemory => self.for_memory += 1,
        }
        self.flush(now)
    }

    /// The summary line, once the interval that started with the first event since the
    /// last line is over (call periodically, so a burst is reported even if nothing
    /// follows it).
    pub(crate) fn flush(&mut self, now: Instant) -> Option<String> {
        let since = self.since?;
        let elapsed = now.saturating_duration_since(since);
        if elapsed < self.interval {
            return None;
        }
        let refused = self.full + self.per_address + self.handshake_rate;
        let displaced = self.for_slot + self.for_memory;
        let secs = elapsed.as_secs().max(1);
        let mut parts = Vec::new();
        if refused > 0 {
            parts.push(format!(
                "refused {refused} connection{} (all slots held by proven clients: {}, per-address limit: {}, handshake rate: {})",
                plural(refused),
                self.full,
                self.per_address,
                self.handshake_rate
            ));
        }
        if displaced > 0 {
            parts.push(format!(
                "closed {displaced} connection{} that had proved nothing or held the most partial input (to make room: {}, memory budget: {})",
                plural(displaced),
                self.for_slot,
                self.for_memory
            ));
        }
        *self = Self::new(self.interval);
        Some(format!("{} in the last {secs} s", parts.join("; ")))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_refusals_makes_one_line_per_interval() {
        let mut log = RefusalLog::new(Duration::from_secs(10));
        let t = Instant::now();
        let mut lines = Vec::new();
        // 100,000 refusals over 25 s.
        for n in 0..100_000u64 {
            let now = t + Duration::from_micros(n * 250);
            let what = match n % 4 {
                0 => Turned::Refused(Refusal::Full),
                1 => Turned::Refused(Refusal::PerAddress),
                2 => Turned::Refused(Refusal::HandshakeRate),
                _ => Turned::DisplacedForSlot,
            };
            lines.extend(log.record(what, now));
        }
        lines.extend(log.flush(t + Duration::from_secs(40)));
        assert_eq!(lines.len(), 3, "{lines:#?}");
        // The first line covers the first 10 s (the event at exactly 10 s included).
        assert!(
            lines[0].starts_with(
                "refused 30001 connections (all slots held by proven clients: 10001, \
                 per-address limit: 10000, handshake rate: 10000); closed 10000 connections"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with("in the last 10 s"), "{}", lines[0]);
        let total: u64 = lines
            .iter()
            .map(|l| {
                let n = |word: &str| {
                    l.split(word)
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                n("refused ") + n("closed ")
            })
            .sum();
        assert_eq!(total, 100_000, "every event is counted once");
    }

    #[test]
    fn nothing_to_say_means_no_line() {
        let mut log = RefusalLog::new(Duration::from_secs(10));
        let t = Instant::now();
        assert_eq!(log.flush(t + Duration::from_secs(60)), None);
        assert_eq!(log.record(Turned::DisplacedForMemory, t), None);
        assert_eq!(log.flush(t + Duration::from_secs(5)), None);
        let line = log.flush(t + Duration::from_secs(12)).unwrap();
        assert_eq!(
            line,
            "closed 1 connection that had proved nothing or held the most partial input (to make room: 0, memory budget: 1) in the last 12 s"
        );
        assert_eq!(log.flush(t + Duration::from_secs(30)), None);
    }
}
