//! The soak's load: open-loop generators (a request is sent at each tick whatever the answers
//! before it are doing, so a slow gateway shows as latency, not as a lower rate), and the
//! counts and latencies they record, per minute and for the whole run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The three generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    Push,
    Search,
    Staff,
}

impl Gen {
    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        ["push", "search", "staff"][self.index()]
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// What the generators did in one period (a minute, or the whole run).
pub struct Period {
    /// Latency in microseconds of the answered requests, by generator.
    pub latency: [Histogram<u64>; 3],
    /// Requests sent, by generator.
    pub sent: [u64; 3],
    /// Ticks dropped because `max_in_flight` requests were outstanding, by generator.
    pub shed: [u64; 3],
    /// Latest a tick was served after its time, by generator.
    pub late: [Duration; 3],
    /// Webhook items acknowledged (new, revisions and duplicates).
    pub items: u64,
    pub duplicates: u64,
    pub revisions: u64,
    /// Items refused inside an accepted request (deliberately invalid items).
    pub rejected_items: u64,
    /// Answers that were not what the request called for.
    pub errors: u64,
}

impl Default for Period {
    fn default() -> Self {
        Period {
            latency: [histogram(), histogram(), histogram()],
            sent: [0; 3],
            shed: [0; 3],
            late: [Duration::ZERO; 3],
            items: 0,
            duplicates: 0,
            revisions: 0,
            rejected_items: 0,
            errors: 0,
        }
    }
}

impl Period {
    /// (p50, p99) in milliseconds of a generator's answered requests; zeros when none.
    pub fn percentiles_ms(&self, which: Gen) -> (f64, f64) {
        let h = &self.latency[which.index()];
        if h.is_empty() {
            return (0.0, 0.0);
        }
        let (p50, p99, _) = crate::bench::percentiles_ms(h);
        (p50, p99)
    }

    pub fn max_ms(&self, which: Gen) -> f64 {
        self.latency[which.index()].max() as f64 / 1000.0
    }

    /// Where the generators fell short of `targets` (requests due in the period, by
    /// generator): fewer sent than 98% of those due (less one: a tick due right at the end of a
    /// minute may be counted in the next), ticks shed, or a tick served more than a second
    /// late. Empty when they kept the rate.
    pub fn shortfall(&self, targets: [f64; 3]) -> String {
        let mut notes = Vec::new();
        for which in [Gen::Push, Gen::Search, Gen::Staff] {
            let i = which.index();
            let mut parts = Vec::new();
            if targets[i] >= 1.0 && (self.sent[i] as f64) < 0.98 * targets[i] - 1.0 {
                parts.push(format!("{}/{:.0} sent", self.sent[i], targets[i]));
            }
            if self.shed[i] > 0 {
                parts.push(format!("{} shed", self.shed[i]));
            }
            if self.late[i] > Duration::from_secs(1) {
                parts.push(format!(
                    "ticks up to {:.1} s late",
                    self.late[i].as_secs_f64()
                ));
            }
            if !parts.is_empty() {
                notes.push(format!("{}: {}", which.name(), parts.join(", ")));
            }
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!("load generator behind ({})", notes.join("; "))
        }
    }
}

/// Counts of one run, shared by the generators.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    minute: Period,
    total: Period,
    /// "generator kind status" → answers, for the whole run.
    outcomes: BTreeMap<String, u64>,
}

impl Stats {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One answer (or failure to get one): `outcome` names it, `ok` says whether it is what
    /// the request called for, `latency` is recorded for the percentiles when given.
    pub fn answer(&self, which: Gen, outcome: String, ok: bool, latency: Option<Duration>) {
        self.with(|s| {
            let i = which.index();
            for p in [&mut s.minute, &mut s.total] {
                if let Some(l) = latency {
                    p.latency[i].saturating_record(l.as_micros().max(1) as u64);
                }
                p.errors += u64::from(!ok);
            }
            let key = format!(
                "{} {outcome}{}",
                which.name(),
                if ok { "" } else { " (error)" }
            );
            *s.outcomes.entry(key).or_default() += 1;
        });
    }

    /// Webhook items of an accepted request.
    pub fn items(&self, acknowledged: u64, duplicates: u64, revisions: u64, rejected: u64) {
        self.with(|s| {
            for p in [&mut s.minute, &mut s.total] {
                p.items += acknowledged;
                p.duplicates += duplicates;
                p.revisions += revisions;
                p.rejected_items += rejected;
            }
        });
    }

    fn tick(&self, which: Gen, late: Duration, sent: bool) {
        self.with(|s| {
            let i = which.index();
            for p in [&mut s.minute, &mut s.total] {
                p.late[i] = p.late[i].max(late);
                if sent {
                    p.sent[i] += 1;
                } else {
                    p.shed[i] += 1;
                }
            }
        });
    }

    /// The minute's figures; the next minute starts empty.
    pub fn take_minute(&self) -> Period {
        self.with(|s| std::mem::take(&mut s.minute))
    }

    /// The whole run's figures and the answers by outcome.
    pub fn take_total(&self) -> (Period, BTreeMap<String, u64>) {
        self.with(|s| {
            (
                std::mem::take(&mut s.total),
                std::mem::take(&mut s.outcomes),
            )
        })
    }
}

/// What every generator shares.
pub struct Ctx {
    pub client: reqwest::Client,
    /// The gateway, `http://127.0.0.1:port`.
    pub base: String,
    pub stats: Stats,
    /// Outstanding requests allowed (pushes and searches together).
    pub in_flight: Arc<Semaphore>,
    pub max_in_flight: usize,
}

impl Ctx {
    /// Waits (up to `limit`) until no request is outstanding.
    pub async fn drain(&self, limit: Duration) -> bool {
        let permits = u32::try_from(self.max_in_flight).unwrap_or(u32::MAX);
        tokio::time::timeout(limit, self.in_flight.acquire_many(permits))
            .await
            .is_ok()
    }
}

/// Calls `make` at `per_sec` and runs what it returns as its own task, until `stop`; a tick
/// that finds `max_in_flight` requests outstanding is shed (counted, not sent).
pub async fn open_loop<M, F>(
    ctx: Arc<Ctx>,
    which: Gen,
    per_sec: f64,
    stop: CancellationToken,
    mut make: M,
) where
    M: FnMut(Arc<Ctx>) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if per_sec <= 0.0 {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
    loop {
        let due = tokio::select! {
            due = ticker.tick() => due,
            _ = stop.cancelled() => return,
        };
        let late = Instant::now().saturating_duration_since(due.into_std());
        let Ok(permit) = ctx.in_flight.clone().try_acquire_owned() else {
            ctx.stats.tick(which, late, false);
            continue;
        };
        ctx.stats.tick(which, late, true);
        let request = make(ctx.clone());
        tokio::spawn(async move {
            request.await;
            drop(permit);
        });
    }
}

/// Runs `act` every `every` one after the other (an action waits for the previous one), until
/// `stop`.
pub async fn closed_loop<M, F>(
    ctx: Arc<Ctx>,
    which: Gen,
    every: Duration,
    stop: CancellationToken,
    mut act: M,
) where
    M: FnMut(Arc<Ctx>, u64) -> F,
    F: std::future::Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0.. {
        let due = tokio::select! {
            due = ticker.tick() => due,
            _ = stop.cancelled() => return,
        };
        ctx.stats.tick(
            which,
            Instant::now().saturating_duration_since(due.into_std()),
            true,
        );
        act(ctx.clone(), n).await;
    }
}

/// The `error.code` of an error answer, or "".
pub fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/code")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// "status code" for the outcome table, e.g. "400 malformed_json", "202".
pub fn outcome(status: u16, body: &[u8]) -> String {
    let code = error_code(body);
    if code.is_empty() {
        status.to_string()
    } else {
        format!("{status} {code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_notes_where_the_generators_fell_short() {
        let mut p = Period {
            sent: [3000, 600, 20],
            ..Period::default()
        };
        assert_eq!(p.shortfall([3000.0, 600.0, 20.0]), "");
        // One staff tick of 20 counted in the next minute is not a shortfall.
        p.sent[2] = 19;
        assert_eq!(p.shortfall([3000.0, 600.0, 20.0]), "");
        p.sent[0] = 2900;
        p.shed[1] = 4;
        p.late[2] = Duration::from_millis(2500);
        assert_eq!(
            p.shortfall([3000.0, 600.0, 20.0]),
            "load generator behind (push: 2900/3000 sent; search: 4 shed; staff: ticks up to 2.5 s late)"
        );
    }

    #[test]
    fn outcomes_name_the_error_code() {
        assert_eq!(
            outcome(400, br#"{"error":{"code":"malformed_json","message":"x"}}"#),
            "400 malformed_json"
        );
        assert_eq!(outcome(202, br#"{"accepted":[],"rejected":[]}"#), "202");
        assert_eq!(outcome(502, b"not json"), "502");
    }
}
