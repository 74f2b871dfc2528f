//! Reconnect policy: exponential backoff with jitter, sans-IO.
//!
//! The worker asks for the next delay after every failed connection or lost
//! registration and resets once it is registered again. Randomness comes in as
//! a value so that thousands of browsers behind one PBX that restarts do not
//! all reconnect in the same millisecond, yet tests stay deterministic.

use std::time::Duration;

/// Delay before the first retry is at most this (and at least half of it):
/// a blip in the network should be invisible to the user.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Never wait longer than this between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub fn new() -> Self {
        Backoff::default()
    }

    /// How many attempts failed since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Record a failure and return how long to wait before the next attempt.
    ///
    /// "Equal jitter": the delay is uniformly spread over the upper half of the
    /// exponential step (`random` is a uniform `u32`), so it never collapses to
    /// zero (no hammering) and never exceeds [`MAX_DELAY`].
    pub fn next_delay(&mut self, random: u32) -> Duration {
        let step_ms = FIRST_RETRY
            .as_millis()
            .saturating_mul(1u128 << self.failures.min(16))
            .min(MAX_DELAY.as_millis()) as u64;
        self.failures = self.failures.saturating_add(1);
        let half = step_ms / 2;
        let jitter = (half as u128 * random as u128 / u32::MAX as u128) as u64;
        Duration::from_millis(step_ms - half + jitter)
    }

    /// The connection is healthy again (registered): the next drop starts over
    /// with a quick retry.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_retry_is_within_one_second() {
        for random in [0, 1, u32::MAX / 2, u32::MAX] {
            let d = Backoff::new().next_delay(random);
            assert!(d >= Duration::from_millis(500) && d <= FIRST_RETRY, "{d:?}");
        }
    }

    #[test]
    fn delays_double_then_stay_capped() {
        let mut b = Backoff::new();
        let upper: Vec<u64> = (0..8)
            .map(|_| b.next_delay(u32::MAX).as_millis() as u64)
            .collect();
        assert_eq!(upper, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        let mut b = Backoff::new();
        let lower: Vec<u64> = (0..7).map(|_| b.next_delay(0).as_millis() as u64).collect();
        assert_eq!(lower, [500, 1000, 2000, 4000, 8000, 15000, 15000]);
    }

    #[test]
    fn never_overflows_after_a_very_long_outage() {
        let mut b = Backoff::new();
        for _ in 0..100_000 {
            assert!(b.next_delay(u32::MAX) <= MAX_DELAY);
        }
    }

    #[test]
    fn success_resets_to_a_quick_retry() {
        let mut b = Backoff::new();
        for _ in 0..6 {
            b.next_delay(7);
        }
        b.reset();
        assert_eq!(b.failures(), 0);
        assert!(b.next_delay(u32::MAX) <= FIRST_RETRY);
    }
}
