//! Time as a value. The engine never reads a clock: every `handle_*` call is
//! given `now`, and timers come back out of `poll_timeout`. `std::time::Instant`
//! panics on `wasm32-unknown-unknown`, so the glue turns `performance.now()`
//! (or a test's virtual clock) into this type.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on a monotonic clock, in milliseconds from an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time since `earlier`, zero if `earlier` is in the future (clocks from
    /// the browser can be coarsened, never trust them to be strictly ordered).
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.as_millis().min(u64::MAX as u128) as u64))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.as_millis().min(u64::MAX as u128) as u64))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Instant::from_millis(5);
        assert_eq!(t - Duration::from_millis(10), Instant::from_millis(0));
        assert_eq!(Instant::from_millis(3) - t, Duration::ZERO);
        assert_eq!(t + Duration::from_secs(1), Instant::from_millis(1005));
    }
}
