//! The rate of refused webhook requests, per source and per client address.
//!
//! Every refusal (unknown source, missing or bad signature, a body too large) takes a cell from
//! two keyed limiters: one for the source (a configured name, or `unknown` for every name that
//! is not), one for the client address (IPv6 by its /64, which one host usually holds whole).
//! When either is empty, the refusal is answered 429 `too_many_refusals` with `Retry-After`
//! instead: a careless sender learns to slow down, and a flood costs one counter increment per
//! request. Accepted requests take nothing, so a flood against a source never slows that
//! source's signed traffic. Keys that have been idle long enough to be full again are dropped
//! now and then, so a scan from many addresses does not grow the tables for good.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::http::HttpConfig;

/// Refusals between two clean-ups of idle keys.
const CLEANUP_EVERY: u64 = 1024;

/// The refusal limiters of the webhook.
pub struct Refusals {
    by_source: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl Refusals {
    pub fn new(config: &HttpConfig) -> Refusals {
        let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(nonzero(config.refusals_per_min))
            .allow_burst(nonzero(config.refusal_burst));
        Refusals {
            by_source: DefaultKeyedRateLimiter::keyed(quota),
            by_address: DefaultKeyedRateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one refusal of `source` (a configured name or `unknown`) from `address`; `Err`
    /// with the wait before the next refusal is allowed when either has used its allowance.
    pub fn check(&self, source: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            self.by_source.retain_recent();
            self.by_address.retain_recent();
            self.by_address.shrink_to_fit();
        }
        let now = DefaultClock::default().now();
        let by_source = self
            .by_source
            .check_key(&source.to_string())
            .err()
            .map(|n| n.wait_time_from(now));
        let by_address = address.map(network).and_then(|address| {
            self.by_address
                .check_key(&address)
                .err()
                .map(|n| n.wait_time_from(now))
        });
        match by_source.max(by_address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }
}

/// The key of an address: IPv4 whole, IPv6 by its /64.
pub(crate) fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusals(burst: u32) -> Refusals {
        Refusals::new(&HttpConfig {
            refusals_per_min: 1,
            refusal_burst: burst,
            ..HttpConfig::default()
        })
    }

    #[test]
    fn a_client_past_its_burst_is_limited_and_others_are_not() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let r = refusals(3);
        for i in 0..3 {
            assert!(r.check(&format!("source-{i}"), Some(a)).is_ok());
        }
        let wait = r.check("source-9", Some(a)).unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(r.check("source-9", Some(b)).is_ok());
    }

    #[test]
    fn a_source_past_its_burst_is_limited_whatever_the_address() {
        let r = refusals(2);
        for i in 1..=2u8 {
            assert!(r.check("demo", Some(IpAddr::from([192, 0, 2, i]))).is_ok());
        }
        assert!(r.check("demo", Some("192.0.2.3".parse().unwrap())).is_err());
        assert!(r.check("other", None).is_ok());
    }

    #[test]
    fn ipv6_addresses_of_one_network_share_a_key() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network("2001:db8:1:3::1".parse().unwrap()));
    }
}
