//! When to poll again after a failure: exponential backoff with jitter, the upstream's
//! `Retry-After` honoured, permanent failures retried only at the slowest cadence.
//!
//! Pure arithmetic with the random source passed in, so tests check the bounds without sleeping.

use std::time::Duration;

use rand::Rng;

/// The longest wait accepted from a `Retry-After`: a server asking for more (or a date far in
/// the future) is waited on for a day, then asked again.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Retry settings of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (before jitter).
    pub initial: Duration,
    /// Longest delay between retries.
    pub max: Duration,
    /// How often a permanently failed source is tried again: the slowest cadence, never faster
    /// than the source's own poll interval.
    pub failed_cadence: Duration,
}

impl RetryPolicy {
    /// The policy from the gateway's settings and the source's poll interval.
    pub fn new(initial: Duration, max: Duration, poll_interval: Duration) -> RetryPolicy {
        RetryPolicy {
            initial,
            max,
            failed_cadence: max.max(poll_interval),
        }
    }

    /// The un-jittered delay after `failures` consecutive failures (1 = the first): `initial`
    /// doubled per further failure, capped at `max`.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.initial
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max)
    }

    /// The delay before retrying a retryable failure: a random point in the upper half of the
    /// ceiling ("equal jitter", so sources failing together spread out but the delay still
    /// grows), and never less than the upstream's `Retry-After`.
    pub fn retry_delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        let jitter_nanos = rng.random_range(0..=(ceiling - half).as_nanos() as u64);
        let delay = half + Duration::from_nanos(jitter_nanos);
        match retry_after {
            Some(wanted) => delay.max(wanted.min(MAX_RETRY_AFTER)),
            None => delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(
            Duration::from_millis(500),
            Duration::from_secs(60),
            Duration::from_secs(10),
        )
    }

    #[test]
    fn ceiling_doubles_per_failure_and_stops_at_the_maximum() {
        let p = policy();
        let ceilings: Vec<u64> = (1..=9).map(|n| p.ceiling(n).as_millis() as u64).collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
        );
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(60));
        assert_eq!(p.ceiling(0), Duration::from_millis(500));
    }

    #[test]
    fn jittered_delay_stays_in_the_upper_half_of_the_ceiling_and_varies() {
        let p = policy();
        let mut rng = StdRng::seed_from_u64(7);
        for failures in 1..=12 {
            let ceiling = p.ceiling(failures);
            let delays: Vec<Duration> = (0..200)
                .map(|_| p.retry_delay(failures, None, &mut rng))
                .collect();
            for d in &delays {
                assert!(*d >= ceiling / 2 && *d <= ceiling, "{d:?} vs {ceiling:?}");
            }
            let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
            assert!(distinct.len() > 100, "jitter spreads retries");
        }
    }

    #[test]
    fn retry_after_is_a_floor_and_is_bounded() {
        let p = policy();
        let mut rng = StdRng::seed_from_u64(1);
        let long = Duration::from_secs(90);
        assert_eq!(p.retry_delay(1, Some(long), &mut rng), long);
        // A short Retry-After does not shorten the backoff.
        let delay = p.retry_delay(8, Some(Duration::from_secs(1)), &mut rng);
        assert!(delay >= Duration::from_secs(30), "{delay:?}");
        let absurd = Duration::from_secs(10 * 365 * 86_400);
        assert_eq!(p.retry_delay(1, Some(absurd), &mut rng), MAX_RETRY_AFTER);
    }

    #[test]
    fn failed_sources_are_retried_at_the_slowest_cadence() {
        let fast = RetryPolicy::new(
            Duration::from_secs(1),
            Duration::from_secs(300),
            Duration::from_secs(60),
        );
        assert_eq!(fast.failed_cadence, Duration::from_secs(300));
        let slow_feed = RetryPolicy::new(
            Duration::from_secs(1),
            Duration::from_secs(300),
            Duration::from_secs(900),
        );
        assert_eq!(slow_feed.failed_cadence, Duration::from_secs(900));
    }
}
