//! When to try a request again: exponential backoff with full jitter, each wait capped,
//! within a total patience. Pure: the caller passes how long it has been trying and a
//! random number, so the schedule is tested without sleeping or dice.
//!
//! Full jitter (a wait drawn uniformly below the exponential ceiling) spreads the
//! devices of a whole region that lost HQ at the same moment, so they do not all come
//! back in the same second when it restarts.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the first wait; it doubles after each failure.
    pub base: Duration,
    /// No single wait is longer than this.
    pub cap: Duration,
    /// No new attempt starts later than this after the first one.
    pub patience: Duration,
}

impl RetryPolicy {
    const BASE: Duration = Duration::from_millis(250);
    const CAP: Duration = Duration::from_secs(10);

    /// Retries transient failures for up to `patience` in all.
    pub const fn patient_for(patience: Duration) -> Self {
        Self { base: Self::BASE, cap: Self::CAP, patience }
    }

    /// One attempt, no retry.
    pub const NONE: Self = Self::patient_for(Duration::ZERO);

    /// How long to wait before the next attempt, after `failures` failed ones (1 or
    /// more) and `elapsed` since the first began; None to give up. `random` is uniform
    /// in [0, 1). The last wait is shortened so that the final attempt starts when the
    /// patience runs out, not after.
    pub fn delay(&self, failures: u32, elapsed: Duration, random: f64) -> Option<Duration> {
        if failures == 0 || elapsed >= self.patience {
            return None;
        }
        let doublings = (failures - 1).min(30);
        let ceiling = self.base.saturating_mul(1 << doublings).min(self.cap);
        let wait = ceiling.mul_f64(random.clamp(0.0, 1.0));
        Some(wait.min(self.patience - elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: RetryPolicy = RetryPolicy::patient_for(Duration::from_secs(60));

    #[test]
    fn each_wait_is_drawn_below_a_ceiling_that_doubles_up_to_the_cap() {
        let ceilings: Vec<Duration> = (1..=8).map(|n| MINUTE.delay(n, Duration::ZERO, 0.999_999).unwrap()).collect();
        let ms: Vec<u128> = ceilings.iter().map(|d| (d.as_secs_f64() * 1000.0).round() as u128).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000], "exponential, then capped");
        assert_eq!(MINUTE.delay(3, Duration::ZERO, 0.0), Some(Duration::ZERO), "full jitter reaches down to zero");
        assert_eq!(MINUTE.delay(3, Duration::ZERO, 0.5), Some(Duration::from_millis(500)), "and is uniform below");
    }

    #[test]
    fn retries_go_on_for_the_whole_patience_and_stop_after_it() {
        // Regression: retries gave up after about 1.75 s, so an HQ that took a few
        // seconds to restart turned a sync into "offline".
        let mut elapsed = Duration::ZERO;
        let mut failures = 0;
        while let Some(wait) = MINUTE.delay(failures + 1, elapsed, 0.999_999) {
            failures += 1;
            elapsed += wait;
        }
        assert_eq!(elapsed, Duration::from_secs(60), "the last attempt starts when the patience runs out");
        assert!(failures > 4, "a minute of patience is many attempts, not four: {failures}");
        assert_eq!(MINUTE.delay(failures + 1, Duration::from_secs(61), 0.5), None, "after the patience, give up");
    }

    #[test]
    fn no_patience_means_one_attempt() {
        assert_eq!(RetryPolicy::NONE.delay(1, Duration::ZERO, 0.5), None);
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        assert_eq!(MINUTE.delay(u32::MAX, Duration::ZERO, 0.999_999).map(|d| d <= MINUTE.cap), Some(true));
    }
}
