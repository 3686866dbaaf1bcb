//! Keeping source status across restarts: the registry's changed entries are written to the
//! `source_status` table every few seconds and at shutdown, and read back at start.
//!
//! This is operational state, not the record: it is written outside the group commit, on the
//! store's connection for derived writes (no fsync of its own), so after a crash it may lag the
//! store by a flush or two. What must not lag is read from the store instead: the `received`
//! counts from `source_counts` and the cursors from `source_cursors`, both committed with their
//! items.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::status::{Received, SourceRegistry, SourceStatus};
use crate::store::{Store, StoreError};

/// How often changed statuses are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Every saved status, by source name. A row that no longer parses (an older format) is
/// skipped: the source then starts afresh (but for its counts, see [`load_counts`]).
pub async fn load(store: &Store) -> Result<HashMap<String, SourceStatus>, StoreError> {
    Ok(store
        .source_statuses()
        .await?
        .into_iter()
        .filter_map(|(source, json)| {
            let status = serde_json::from_str::<SourceStatus>(&json).ok()?;
            Some((source, status))
        })
        .collect())
}

/// What every source delivered, as the store committed it with the items: exact after a crash,
/// where the saved status may lag. A source's `received` is taken from here at start.
pub async fn load_counts(store: &Store) -> Result<HashMap<String, Received>, StoreError> {
    Ok(store
        .source_counts()
        .await?
        .into_iter()
        .map(|(source, summary)| {
            let mut received = Received::default();
            received += &summary;
            (source, received)
        })
        .collect())
}

/// Writes the statuses that changed since the last flush; after a failure they are written at
/// the next one.
pub async fn flush(store: &Store, registry: &SourceRegistry) -> Result<usize, StoreError> {
    let changed = registry.take_dirty();
    if changed.is_empty() {
        return Ok(0);
    }
    let written = write(store, &changed).await;
    if written.is_err() {
        registry.mark_dirty(&changed);
    }
    written.map(|()| changed.len())
}

async fn write(store: &Store, changed: &[SourceStatus]) -> Result<(), StoreError> {
    let statuses: Vec<(String, String)> = changed
        .iter()
        .map(|status| {
            let json = serde_json::to_string(status).expect("a status serialises");
            (status.name.clone(), json)
        })
        .collect();
    store.save_source_statuses(&statuses).await
}

/// Flushes every [`FLUSH_INTERVAL`] until `shutdown`; the caller flushes once more after the
/// runners stopped.
pub async fn run_flusher(store: Store, registry: Arc<SourceRegistry>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FLUSH_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
        if let Err(error) = flush(&store, &registry).await {
            tracing::warn!(%error, "source status not saved; retrying at the next flush");
        }
    }
}
