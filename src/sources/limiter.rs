//! One rate limiter per upstream (`host:port`), shared by every source that polls it, so two
//! sources on one server together stay within what it allows.
//!
//! The budget goes first to work that is waiting: while any source of the upstream has pages
//! waiting (its last poll said there is more), sources that are caught up may together take at
//! most a fifth of the quota ([`IDLE_SHARE_DIVISOR`]), so a backlog gets at least four fifths of
//! the requests however often the caught-up sources are set to poll.
//!
//! The limiter is generic over governor's clock, so tests drive it with governor's
//! `FakeRelativeClock` and read the exact waits instead of sleeping.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::{Clock as GovernorClock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::sink::Clock;

/// While a source has a backlog, caught-up sources share at most `1 / IDLE_SHARE_DIVISOR` of the
/// quota.
pub const IDLE_SHARE_DIVISOR: u32 = 5;

type Bucket<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as GovernorClock>::Instant>>;

/// Whether a poll fetches pages already known to wait, or checks a caught-up source for news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// The source's last poll said more pages wait.
    Backlog,
    /// The source is caught up (or has not polled yet).
    CaughtUp,
}

/// The limiter of one upstream.
pub struct UpstreamLimiter<C: GovernorClock = DefaultClock> {
    /// `host:port`.
    pub upstream: String,
    /// Requests per minute allowed.
    pub per_minute: u32,
    clock: C,
    limiter: Bucket<C>,
    /// The caught-up sources' share while some source has a backlog (no burst).
    caught_up_share: Bucket<C>,
    /// How many sources of this upstream have a backlog now.
    backlogged: AtomicUsize,
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
        let share_period = Duration::from_secs(60) * IDLE_SHARE_DIVISOR / per_minute;
        let share = Quota::with_period(share_period.max(Duration::from_millis(1)))
            .expect("a positive period")
            .allow_burst(NonZeroU32::MIN);
        UpstreamLimiter {
            upstream: upstream.to_string(),
            per_minute,
            limiter: RateLimiter::direct_with_clock(quota, clock.clone()),
            caught_up_share: RateLimiter::direct_with_clock(share, clock.clone()),
            clock,
            backlogged: AtomicUsize::new(0),
        }
    }

    /// Records that a source of this upstream now has a backlog (`true`) or no longer has one.
    /// Each source reports only changes of its own state.
    pub fn set_backlog(&self, backlog: bool) {
        if backlog {
            self.backlogged.fetch_add(1, Ordering::Relaxed);
        } else {
            // Never below zero, whatever the order of reports.
            let _ = self
                .backlogged
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// Takes a token if one is free now for this kind of poll; otherwise says how long until
    /// one may be.
    pub fn try_acquire(&self, demand: Demand) -> Result<(), Duration> {
        let wait =
            |not_until: governor::NotUntil<C::Instant>| not_until.wait_time_from(self.clock.now());
        if demand == Demand::CaughtUp && self.backlogged.load(Ordering::Relaxed) > 0 {
            // The share first: a share token spent when the bucket then refuses costs the
            // backlog nothing.
            self.caught_up_share.check().map_err(wait)?;
        }
        self.limiter.check().map_err(wait)
    }

    /// Waits (on `sleeper`) until a request is allowed; `false` when `shutdown` came first.
    pub async fn acquire(
        &self,
        demand: Demand,
        sleeper: &dyn Clock,
        shutdown: &CancellationToken,
    ) -> bool {
        loop {
            let wait = match self.try_acquire(demand) {
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
        let take = || limiter.try_acquire(Demand::CaughtUp);
        for _ in 0..6 {
            assert_eq!(take(), Ok(()));
        }
        // ...then one request every 60 / 6 = 10 s.
        assert_eq!(take(), Err(Duration::from_secs(10)));
        clock.advance(Duration::from_secs(4));
        assert_eq!(take(), Err(Duration::from_secs(6)));
        clock.advance(Duration::from_secs(6));
        assert_eq!(take(), Ok(()));
        assert_eq!(take(), Err(Duration::from_secs(10)));
    }

    /// Grants per source over `minutes` when `backlog` sources ask for a token every 100 ms and
    /// `caught_up` sources every `caught_up_every`.
    fn grants(
        per_minute: u32,
        backlog: usize,
        caught_up: usize,
        caught_up_every: Duration,
        minutes: u64,
    ) -> (u64, u64) {
        let clock = FakeRelativeClock::default();
        let limiter = UpstreamLimiter::with_clock("gov.example:443", per_minute, clock.clone());
        for _ in 0..backlog {
            limiter.set_backlog(true);
        }
        let step = Duration::from_millis(100);
        let (mut backlog_grants, mut caught_up_grants) = (0, 0);
        let mut elapsed = Duration::ZERO;
        while elapsed < Duration::from_secs(60 * minutes) {
            if elapsed.as_millis() % caught_up_every.as_millis() == 0 {
                for _ in 0..caught_up {
                    caught_up_grants += u64::from(limiter.try_acquire(Demand::CaughtUp).is_ok());
                }
            }
            for _ in 0..backlog {
                backlog_grants += u64::from(limiter.try_acquire(Demand::Backlog).is_ok());
            }
            clock.advance(step);
            elapsed += step;
        }
        (backlog_grants, caught_up_grants)
    }

    #[test]
    fn a_backlog_gets_at_least_four_fifths_of_a_shared_budget() {
        // Three caught-up sources set to poll every second, one source with pages waiting, on
        // an upstream that allows 60 requests a minute: over ten minutes the backlog gets at
        // least 80% of what was granted.
        let (backlog, caught_up) = grants(60, 1, 3, Duration::from_secs(1), 10);
        let total = backlog + caught_up;
        assert!(total <= 60 * 10 + 60, "the quota holds: {total}");
        assert!(
            backlog * 5 >= total * 4,
            "backlog {backlog} of {total} ({caught_up} to caught-up sources)"
        );
        // Without a backlog the caught-up sources may use the whole quota.
        let (_, alone) = grants(60, 0, 3, Duration::from_secs(1), 10);
        assert!(alone >= 60 * 10, "caught-up sources alone got {alone}");
    }

    #[test]
    fn backlog_reports_never_count_below_zero() {
        let clock = FakeRelativeClock::default();
        let limiter = UpstreamLimiter::with_clock("gov.example:443", 60, clock);
        limiter.set_backlog(false);
        limiter.set_backlog(true);
        limiter.set_backlog(false);
        limiter.set_backlog(false);
        // No backlog counted: caught-up polls take the bucket's burst freely.
        for _ in 0..60 {
            assert_eq!(limiter.try_acquire(Demand::CaughtUp), Ok(()));
        }
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
