//! The loop of one pull source: wait, take a rate-limit token, poll, commit, acknowledge, and
//! decide when to poll next.
//!
//! The cursor the runner polls from is always the last one **committed**: a batch's cursor is
//! adopted only after the store committed it together with the batch's items, so a failed poll,
//! a failed commit or a crash re-reads and never skips. `Connector::committed` is called after
//! that commit and before the next poll. Failures are retried with exponential backoff and
//! jitter, never sooner than the upstream's `Retry-After`; a permanent failure marks the source
//! failed and retries at the slowest cadence. A poll in flight is abandoned at shutdown (nothing
//! of it was committed); a commit in flight is finished first.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use connectors::{Batch, CommitSummary, Connector, ConnectorError, Cursor, Disposition};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use super::backoff::RetryPolicy;
use super::limiter::{Demand, UpstreamLimiter};
use super::sink::{SharedClock, Sink};
use super::status::{LastError, StatusHandle, Success};
use crate::intake::Origin;
use crate::telemetry;

/// Everything one source's loop needs.
pub struct SourceRunner {
    pub origin: Origin,
    pub connector: Box<dyn Connector>,
    pub sink: Arc<dyn Sink>,
    /// The shared limiter of the source's upstream; `None` for local sources.
    pub limiter: Option<Arc<UpstreamLimiter>>,
    pub status: StatusHandle,
    pub policy: RetryPolicy,
    pub clock: SharedClock,
    /// The last committed cursor (read from the store at start).
    pub cursor: Option<Cursor>,
    pub rng: StdRng,
    failures: u32,
    /// The last successful poll said more pages wait (reported to the limiter on change).
    backlog: bool,
}

/// What one poll led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Poll again after this delay.
    Next(Duration),
    /// Shutdown was requested during the poll.
    Stop,
}

impl SourceRunner {
    /// A runner starting from `cursor` (the one saved in the store).
    pub fn new(
        origin: Origin,
        connector: Box<dyn Connector>,
        sink: Arc<dyn Sink>,
        status: StatusHandle,
        policy: RetryPolicy,
        clock: SharedClock,
        cursor: Option<Cursor>,
    ) -> SourceRunner {
        SourceRunner {
            origin,
            connector,
            sink,
            limiter: None,
            status,
            policy,
            clock,
            cursor,
            rng: StdRng::from_os_rng(),
            failures: 0,
            backlog: false,
        }
    }

    /// Polls until `shutdown`; the first poll is immediate.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let source = self.origin.source.clone();
        telemetry::source_started(&source);
        let mut delay = Duration::ZERO;
        loop {
            if !delay.is_zero() {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    _ = self.clock.sleep(delay) => {}
                }
            }
            let demand = if self.backlog {
                Demand::Backlog
            } else {
                Demand::CaughtUp
            };
            if let Some(limiter) = &self.limiter
                && !limiter
                    .acquire(demand, self.clock.as_ref(), &shutdown)
                    .await
            {
                break;
            }
            match self.step(&shutdown).await {
                Step::Next(next) => delay = next,
                Step::Stop => break,
            }
        }
        self.set_backlog(false);
        self.status.stopped();
        telemetry::source_stopped(&source);
    }

    /// One poll, its commit and its acknowledgement.
    pub async fn step(&mut self, shutdown: &CancellationToken) -> Step {
        self.status.polling();
        let started = Instant::now();
        let polled = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Step::Stop,
            polled = self.connector.poll(self.cursor.as_ref(), self.clock.now()) => polled,
        };
        let batch = match polled {
            Ok(batch) => batch,
            Err(error) => {
                telemetry::source_poll(&self.origin.source, "error", started.elapsed());
                return Step::Next(self.poll_failed(&error));
            }
        };
        telemetry::source_poll(&self.origin.source, "ok", started.elapsed());
        let Batch {
            items,
            cursor,
            more,
            wait,
            skipped,
            warnings,
            ack,
        } = batch;
        // An idle poll that moves nothing needs no transaction.
        let changed_cursor = cursor.filter(|c| Some(c) != self.cursor.as_ref());
        let summary = if items.is_empty() && changed_cursor.is_none() {
            CommitSummary::default()
        } else {
            let item_count = items.len();
            let cursor_text = changed_cursor.as_ref().map(|c| c.0.to_string());
            match self.sink.commit(&self.origin, items, cursor_text).await {
                Ok(summary) => {
                    telemetry::source_batch(&self.origin.source, item_count, &summary);
                    summary
                }
                Err(error) => {
                    // Nothing was committed: keep the old cursor, so the retry re-reads.
                    let failure = Failure {
                        kind: "store",
                        message: format!("commit failed: {error}"),
                        disposition: Disposition::Retry { retry_after: None },
                    };
                    return Step::Next(self.record_failure(failure));
                }
            }
        };
        if let Some(committed) = changed_cursor {
            self.cursor = Some(committed);
        }
        let next = if more { Duration::ZERO } else { wait };
        // A failed poll leaves the backlog as it was: the pages still wait.
        self.set_backlog(more);
        let now = self.clock.now();
        self.failures = 0;
        self.status.succeeded(Success {
            at: now,
            summary: &summary,
            skipped,
            warnings: &warnings,
            cursor: self.cursor.as_ref(),
            next_poll_at: at_after(now, next),
        });
        telemetry::source_succeeded(&self.origin.source, skipped, warnings.len(), now);
        if let Some(ack) = ack
            && let Err(error) = self.connector.committed(ack, &summary).await
        {
            // The items are safe; what did not happen is the connector's bookkeeping (a file
            // not moved to `done/` is read again and deduplicated).
            telemetry::source_ack_failed(&self.origin.source, error.kind());
            self.status.warn(now, format!("after the commit: {error}"));
        }
        Step::Next(next)
    }

    /// Tells the upstream's limiter when this source's backlog starts or ends.
    fn set_backlog(&mut self, backlog: bool) {
        if backlog != self.backlog {
            self.backlog = backlog;
            if let Some(limiter) = &self.limiter {
                limiter.set_backlog(backlog);
            }
        }
    }

    fn poll_failed(&mut self, error: &ConnectorError) -> Duration {
        self.record_failure(Failure {
            kind: error.kind(),
            message: error.to_string(),
            disposition: error.disposition(),
        })
    }

    fn record_failure(&mut self, failure: Failure) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let (permanent, delay) = match failure.disposition {
            Disposition::Retry { retry_after } => (
                false,
                self.policy
                    .retry_delay(self.failures, retry_after, &mut self.rng),
            ),
            Disposition::Permanent => (true, self.policy.failed_cadence),
        };
        let now = self.clock.now();
        telemetry::source_failed(
            &self.origin.source,
            failure.kind,
            permanent,
            self.failures,
            delay,
        );
        self.status.failed(
            LastError {
                at: now,
                kind: failure.kind.to_string(),
                message: failure.message,
                permanent,
            },
            self.failures,
            at_after(now, delay),
        );
        delay
    }
}

struct Failure {
    kind: &'static str,
    message: String,
    disposition: Disposition,
}

/// `now + delay`, saturating (a poll interval may be configured absurdly long).
pub fn at_after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
