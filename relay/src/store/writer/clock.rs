//! The writer's clock: where every time the writer acts on comes from.
//!
//! The writer reads the time in one place per batch and hands it down (`now`) to the
//! logic that needs it: ack grouping and early-ack lifetimes (monotonic), envelope
//! timestamps and expiry (Unix milliseconds), the os-buffered sync interval and the
//! throttle between reopenings. The relay runs on [`SystemClock`]; tests drive a
//! `ManualClock` instead, so a 200 ms ack delay or a 21-day expiry is one call away and
//! nothing depends on how fast the test machine is.

use std::time::{Duration, Instant, SystemTime};

/// One reading of a [`Clock`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// Monotonic time: for delays and lifetimes.
    pub instant: Instant,
    /// Wall-clock time, in milliseconds since the Unix epoch: stored with envelopes.
    pub unix_ms: u64,
}

/// A source of time for the writer.
pub(crate) trait Clock: Send + Sync {
    /// The time now.
    fn now(&self) -> Now;
    /// Waits this long (a manual clock moves forward instead).
    fn sleep(&self, duration: Duration);
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now {
            instant: Instant::now(),
            unix_ms: unix_ms(),
        }
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A clock that moves only when told to (tests).
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct ManualClock {
    start: Instant,
    start_unix_ms: u64,
    elapsed: std::sync::Mutex<Duration>,
}

#[cfg(test)]
impl ManualClock {
    /// A clock reading `start_unix_ms`, stopped.
    pub(crate) fn new(start_unix_ms: u64) -> ManualClock {
        ManualClock {
            start: Instant::now(),
            start_unix_ms,
            elapsed: std::sync::Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        *self.elapsed_lock() += by;
    }

    /// How far the clock has moved since it was made.
    pub(crate) fn elapsed(&self) -> Duration {
        *self.elapsed_lock()
    }

    fn elapsed_lock(&self) -> std::sync::MutexGuard<'_, Duration> {
        self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> Now {
        let elapsed = self.elapsed();
        Now {
            instant: self.start + elapsed,
            unix_ms: self.start_unix_ms + elapsed.as_millis() as u64,
        }
    }

    fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}
