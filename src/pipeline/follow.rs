//! The pipeline following the log: run over everything stored, then again after each commit.
//! `serve` follows until shutdown, pausing and retrying after a failure; `import` follows its
//! own intake until that has finished and every complaint it stored is processed.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Pipeline, PipelineError, PipelineLock};
use crate::sources::backoff::RetryPolicy;
use crate::store::Store;

/// When following ends, and what a failure does.
pub enum Until<'a> {
    /// Until `shutdown` (checked between batches); a failed run is logged and run again after
    /// `retry`'s pause. After a commit of this process, what arrives within `gather` joins the
    /// next run; every `poll` it runs anyway (another process, an `import`, may have written).
    Shutdown {
        shutdown: &'a CancellationToken,
        retry: RetryPolicy,
        gather: Duration,
        poll: Duration,
    },
    /// Until `finished` is cancelled and everything stored by then is processed; a failed run
    /// ends it with the error.
    Drained { finished: &'a CancellationToken },
}

/// Runs `pipeline` over every complaint after its cursor, then again after each commit of this
/// process, until `until`; returns how many complaints it processed.
pub async fn follow(
    pipeline: &mut Pipeline,
    store: &Store,
    lock: &PipelineLock,
    until: Until<'_>,
    on_progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, PipelineError> {
    let mut committed = store.committed_seq();
    let finished = match &until {
        Until::Shutdown { shutdown, .. } => {
            // A long backlog is processed batch by batch; shutdown stops it between two.
            pipeline.stop_on((*shutdown).clone());
            *shutdown
        }
        Until::Drained { finished } => *finished,
    };
    let mut total = 0;
    let mut failures = 0u32;
    loop {
        // Read before the run: once cancelled, every complaint is stored before the run reads.
        let last_round = finished.is_cancelled();
        let base = total;
        let pause = match pipeline
            .run_pending(store, lock, &mut |n| on_progress(base + n))
            .await
        {
            Ok(done) => {
                total += done;
                failures = 0;
                None
            }
            Err(error) => match &until {
                Until::Drained { .. } => return Err(error),
                Until::Shutdown { retry, .. } => {
                    failures += 1;
                    tracing::error!(%error, failures, "pipeline failed; retrying");
                    Some(retry.ceiling(failures))
                }
            },
        };
        match &until {
            Until::Drained { .. } if last_round => return Ok(total),
            Until::Shutdown { .. } if finished.is_cancelled() => return Ok(total),
            _ => {}
        }
        if let Some(pause) = pause {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = finished.cancelled() => {}
            }
            continue;
        }
        // Serve also runs every `poll`: another process may have written.
        let poll = match &until {
            Until::Shutdown { poll, .. } => Some(*poll),
            Until::Drained { .. } => None,
        };
        // A commit since the last wait wakes at once (the receiver remembers it).
        tokio::select! {
            changed = committed.changed() => {
                if changed.is_err() {
                    // The store closed: nothing more will be committed.
                    if let Until::Shutdown { .. } = until {
                        return Ok(total);
                    }
                    finished.cancelled().await;
                } else if let Until::Shutdown { gather, .. } = &until {
                    // Gather what arrives meanwhile: fewer, larger batches under load.
                    tokio::select! {
                        _ = tokio::time::sleep(*gather) => {}
                        _ = finished.cancelled() => {}
                    }
                }
            }
            _ = tokio::time::sleep(poll.unwrap_or_default()), if poll.is_some() => {}
            _ = finished.cancelled() => {}
        }
    }
}
