//! Keeps the statistics' daily rollup current on a running gateway: at start (counting every
//! past day once, newest first) and then every [`POLL`], counting again the days that writes
//! made stale (an answer, a 回访, a corrected category). The reads never wait for it: a day not
//! yet counted is read from the tables (see `store::stats`).

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError};

/// Between refreshes when the rollup is current.
pub const POLL: Duration = Duration::from_secs(30);
/// The pause when writes kept changing the days being counted.
const BUSY_PAUSE: Duration = Duration::from_secs(1);
/// Days counted between two yields to intake.
const BATCH_DAYS: usize = 16;

/// Counts every stale day now (for commands and benchmarks that want the rollup current
/// before they read); the number of days counted.
pub async fn refresh_all(store: &Store, utc_offset_secs: i32) -> Result<usize, StoreError> {
    let mut days = 0;
    loop {
        let pass = store
            .refresh_stats_rollup(utc_offset_secs, Utc::now(), BATCH_DAYS)
            .await?;
        days += pass.days;
        if pass.remaining == 0 || pass.days == 0 {
            return Ok(days);
        }
    }
}

/// Starts the refresher of `serve`.
pub fn start(store: Store, utc_offset_secs: i32, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut backlog_started: Option<(Instant, usize)> = None;
        loop {
            store.yield_to_commits().await;
            let pause = match store
                .refresh_stats_rollup(utc_offset_secs, Utc::now(), BATCH_DAYS)
                .await
            {
                Ok(pass) if pass.remaining > 0 => {
                    let first = backlog_started.is_none();
                    let (_, done) = backlog_started.get_or_insert((Instant::now(), 0));
                    *done += pass.days;
                    if first {
                        tracing::info!(
                            days = pass.days + pass.remaining,
                            "counting the statistics' daily rollup"
                        );
                    }
                    if pass.days == 0 {
                        // Every day tried was written to while it was counted: not at once.
                        BUSY_PAUSE
                    } else {
                        Duration::ZERO
                    }
                }
                Ok(pass) => {
                    if let Some((since, done)) = backlog_started.take() {
                        tracing::info!(
                            days = done + pass.days,
                            seconds = since.elapsed().as_secs_f64(),
                            "the statistics' daily rollup is current"
                        );
                    } else if pass.days > 0 {
                        tracing::debug!(days = pass.days, "statistics' rollup: days counted again");
                    }
                    POLL
                }
                Err(error) => {
                    tracing::error!(%error, "the statistics' rollup could not be refreshed; retrying");
                    POLL
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    })
}
