//! Reading batches for the pipeline: in line, or ahead on another task while the previous
//! batch writes (with the stages' [`Precompute`] work done on a blocking thread).

use std::any::Any;

use chrono::DateTime;
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::{Complaint, PipelineError, Precompute};
use crate::store::{Store, StoreError, parse_item};

/// A batch being read (and precomputed, see [`Precompute`]) in the background while the
/// previous one is written. A failed read is not reported: the caller reads again in line and
/// meets the error itself.
pub(super) struct Prefetch {
    after: i64,
    read: tokio::task::JoinHandle<Option<Prefetched>>,
}

/// A prefetched batch and, per stage, its precomputed result.
pub(super) type Prefetched = (Vec<Complaint>, Vec<Option<Box<dyn Any + Send>>>);

impl Prefetch {
    pub(super) fn start(
        store: &Store,
        after: i64,
        limit: i64,
        precompute: Vec<Option<Precompute>>,
    ) -> Self {
        let store = store.clone();
        let read = tokio::spawn(async move {
            let mut conn = store.pool().acquire().await.ok()?;
            let batch = complaints_after(&mut conn, after, limit).await.ok()?;
            drop(conn);
            if batch.is_empty() || precompute.iter().all(Option::is_none) {
                return Some((batch, Vec::new()));
            }
            tokio::task::spawn_blocking(move || {
                let results = precompute
                    .iter()
                    .map(|p| p.as_ref().map(|compute| compute(&batch)))
                    .collect();
                (batch, results)
            })
            .await
            .ok()
        });
        Prefetch { after, read }
    }

    /// The prefetched batch when it follows `cursor`, cut to `limit` (the batch size may have
    /// shrunk since: intake got busy); empty when it does not fit or failed.
    pub(super) async fn take(self, cursor: i64, limit: i64) -> Prefetched {
        if self.after != cursor {
            self.read.abort();
            return (Vec::new(), Vec::new());
        }
        match self.read.await {
            Ok(Some((mut batch, precomputed))) => {
                batch.truncate(limit.max(1) as usize);
                (batch, precomputed)
            }
            _ => (Vec::new(), Vec::new()),
        }
    }
}

pub(super) async fn complaints_after(
    tx: &mut SqliteConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<Complaint>, PipelineError> {
    let rows = sqlx::query(
        "SELECT id, seq, source, channel, external_id, revision, received_at, submitted_at,
            submitted_ms, title, body, text_norm, item
         FROM complaints WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|row| {
            let submitted: String = row.get("submitted_at");
            let effective_ms: i64 = row.get("submitted_ms");
            let item: String = row.get("item");
            Ok(Complaint {
                id: row.get("id"),
                seq: row.get("seq"),
                source: row.get("source"),
                channel: row.get("channel"),
                external_id: row.get("external_id"),
                revision: row.get("revision"),
                received_at: row.get("received_at"),
                submitted_at: DateTime::parse_from_rfc3339(&submitted)
                    .map_err(|e| StoreError::Corrupt(format!("submitted_at `{submitted}`: {e}")))?,
                effective_at: DateTime::from_timestamp_millis(effective_ms)
                    .ok_or_else(|| StoreError::Corrupt(format!("submitted_ms {effective_ms}")))?,
                title: row.get("title"),
                body: row.get("body"),
                text_norm: row.get("text_norm"),
                item: parse_item(&item)?,
                case_id: None,
            })
        })
        .collect()
}
