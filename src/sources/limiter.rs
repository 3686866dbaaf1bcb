//! One rate limiter per upstream (`host:port`), shared by every source that polls it, so two
//! sources on one server together stay within what it allows.
//!
//! The limiter is generic over governor's clock, so tests drive it with governor's
//! `FakeRelativeClock` and read the exact waits instead of sleeping.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as GovernorClock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::sink::Clock;

/// The limiter of one upstream.
pub struct UpstreamLimiter<C: GovernorClock = DefaultClock> {
    /// `host:port`.
    pub upstream: String,
    /// Requests per minute allowed.
    pub per_minute: u32,
    clock: C,
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
}

impl<C: GovernorClock> std::fmt::Debug for UpstreamLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UpstreamLimiter({}, {}/min)",
            self.upstream, self.per_minute
        )
    }
}

impl UpstreamLimiter {
    /// A limiter on the real clock.
    pub fn new(upstream: &str, per_minute: u32) -> UpstreamLimiter {
        UpstreamLimiter::with_clock(upstream, per_minute, DefaultClock::default())
    }
}

impl<C: GovernorClock + Clone> UpstreamLimiter<C> {
    /// A limiter allowing `per_minute` requests a minute, in bursts of at most that many.
    pub fn with_clock(upstream: &str, per_minute: u32, clock: C) -> UpstreamLimiter<C> {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).expect("at least 1"));
        UpstreamLimiter {
            upstream: upstream.to_string(),
            per_minute,
            limiter: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Takes a token if one is free now; otherwise says how long until one is.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        self.limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Waits (on `sleeper`) until a request is allowed; `false` when `shutdown` came first.
    pub async fn acquire(&self, sleeper: &dyn Clock, shutdown: &CancellationToken) -> bool {
        loop {
            let wait = match self.try_acquire() {
                Ok(()) => return true,
                Err(wait) => wait,
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return false,
                _ = sleeper.sleep(wait) => {}
            }
        }
    }
}

/// Builds the shared limiters: one per upstream, with the smallest quota any of its sources asks
/// for.
#[derive(Debug, Default)]
pub struct Limiters {
    quotas: HashMap<String, u32>,
    built: HashMap<String, Arc<UpstreamLimiter>>,
}

impl Limiters {
    /// Registers a source's upstream and quota; call for every source before [`Limiters::get`].
    pub fn register(&mut self, upstream: &str, per_minute: u32) {
        let quota = self
            .quotas
            .entry(upstream.to_string())
            .or_insert(per_minute);
        *quota = (*quota).min(per_minute);
    }

    /// The limiter of `upstream` (the same one for every source of that upstream).
    pub fn get(&mut self, upstream: &str) -> Arc<UpstreamLimiter> {
        let per_minute = self.quotas.get(upstream).copied().unwrap_or(1);
        self.built
            .entry(upstream.to_string())
            .or_insert_with(|| Arc::new(UpstreamLimiter::new(upstream, per_minute)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn requests_beyond_the_burst_are_spaced_by_the_quota() {
        let clock = FakeRelativeClock::default();
        let limiter = UpstreamLimiter::with_clock("hotline.example:443", 6, clock.clone());
        // The burst of six passes at once...
        for _ in 0..6 {
            assert_eq!(limiter.try_acquire(), Ok(()));
        }
        // ...then one request every 60 / 6 = 10 s.
        assert_eq!(limiter.try_acquire(), Err(Duration::from_secs(10)));
        clock.advance(Duration::from_secs(4));
        assert_eq!(limiter.try_acquire(), Err(Duration::from_secs(6)));
        clock.advance(Duration::from_secs(6));
        assert_eq!(limiter.try_acquire(), Ok(()));
        assert_eq!(limiter.try_acquire(), Err(Duration::from_secs(10)));
    }

    #[test]
    fn sources_of_one_upstream_share_the_strictest_limiter() {
        let mut limiters = Limiters::default();
        limiters.register("gov.example:443", 60);
        limiters.register("gov.example:443", 20);
        limiters.register("news.example:443", 30);
        let a = limiters.get("gov.example:443");
        let b = limiters.get("gov.example:443");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.per_minute, 20);
        assert_eq!(limiters.get("news.example:443").per_minute, 30);
    }
}
