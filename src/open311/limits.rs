//! The rate of Open311 POSTs, per client and per client address (IPv6 by its /64): two keyed
//! governor limiters with the quota of `open311.posts_per_minute` and `open311.post_burst`.
//! Past either, a POST is answered 429 with `Retry-After`. Idle keys are dropped now and then.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::config::Open311Settings;

/// Checks between two clean-ups of idle keys.
const CLEANUP_EVERY: u64 = 1024;

/// The POST limiters.
pub struct PostLimits {
    by_client: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl PostLimits {
    pub fn new(settings: &Open311Settings) -> PostLimits {
        let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(nonzero(settings.posts_per_minute))
            .allow_burst(nonzero(settings.post_burst));
        PostLimits {
            by_client: DefaultKeyedRateLimiter::keyed(quota),
            by_address: DefaultKeyedRateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one POST of `client` from `address`; `Err` with the wait when either is past
    /// its allowance.
    pub fn check(&self, client: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            self.by_client.retain_recent();
            self.by_address.retain_recent();
            self.by_address.shrink_to_fit();
        }
        let now = DefaultClock::default().now();
        let by_client = self
            .by_client
            .check_key(&client.to_string())
            .err()
            .map(|n| n.wait_time_from(now));
        let by_address = address
            .map(crate::webhook::refusals::network)
            .and_then(|a| {
                self.by_address
                    .check_key(&a)
                    .err()
                    .map(|n| n.wait_time_from(now))
            });
        match by_client.max(by_address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(burst: u32) -> PostLimits {
        PostLimits::new(&Open311Settings {
            posts_per_minute: 1,
            post_burst: burst,
            ..Open311Settings::default()
        })
    }

    #[test]
    fn a_client_past_its_burst_waits_whatever_its_address_and_others_do_not() {
        let l = limits(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.check("app", Some(a)).is_ok());
        assert!(l.check("app", Some(b)).is_ok());
        assert!(
            l.check("app", Some("192.0.2.3".parse().unwrap()))
                .unwrap_err()
                > Duration::ZERO
        );
        assert!(l.check("other", Some("192.0.2.9".parse().unwrap())).is_ok());
    }

    #[test]
    fn an_address_past_its_burst_waits_whatever_the_client() {
        let l = limits(2);
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(l.check("one", Some(a)).is_ok());
        assert!(l.check("two", Some(a)).is_ok());
        assert!(
            l.check("three", Some("2001:db8::2".parse().unwrap()))
                .is_err(),
            "same /64"
        );
    }
}
