//! Read queries of the store. Readers use the pool and never block the writer (WAL).

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tokio::sync::watch;

use super::tx::SqliteTx;
use super::{SqliteStore, facets, raw_encoding};
use crate::store::{
    Complaint, DeadLetterFilter, DeadLetterRecord, DerivedTx, IntakeLog, QueuedWindow,
    RevisionRecord, StoreError, WriteBatch, WriteOutcome, format_utc, parse_item,
    text_norm_from_stored,
};

/// The one column list of a complaint read ([`complaint_from_row`]); `{raw}` is `c.raw` and its
/// encoding where the bytes are wanted and an empty blob in the batch reads of the pipeline
/// and the indexer.
fn complaint_columns(with_raw: bool) -> String {
    let raw = if with_raw {
        "c.raw, c.raw_encoding"
    } else {
        "x'' AS raw, NULL AS raw_encoding"
    };
    format!(
        "c.id, c.seq, c.source, c.channel, c.external_id, c.revision, c.received_at,
         c.submitted_at, c.submitted_ms, c.future_dated, c.historical, c.title, c.body, c.text_norm, c.item,
         c.content_hash, {raw}, c.raw_content_type, {}",
        facets::SELECT_COLUMNS
    )
}

/// Complaints with their facets.
const COMPLAINTS_WITH_FACETS: &str =
    "complaints c LEFT JOIN complaint_facets f ON f.complaint_id = c.id";

/// The `submitted_at` as given and the effective time (`submitted_ms`) of a complaint row.
fn times(row: &SqliteRow) -> Result<(DateTime<FixedOffset>, DateTime<Utc>), StoreError> {
    let submitted: String = row.get("submitted_at");
    let effective_ms: i64 = row.get("submitted_ms");
    let submitted_at = DateTime::parse_from_rfc3339(&submitted)
        .map_err(|e| StoreError::Corrupt(format!("submitted_at `{submitted}`: {e}")))?;
    let effective_at = DateTime::from_timestamp_millis(effective_ms)
        .ok_or_else(|| StoreError::Corrupt(format!("submitted_ms {effective_ms}")))?;
    Ok((submitted_at, effective_at))
}

/// A complaint read with [`complaint_columns`].
fn complaint_from_row(row: &SqliteRow) -> Result<Complaint, StoreError> {
    complaint_with_text(row, true)
}

/// A complaint read for the search index, with [`complaint_columns`]: its matching text is
/// left empty (the index analyses the title and body itself; deriving it would cost every
/// indexed complaint a normalisation for nothing).
fn index_row(row: &SqliteRow) -> Result<Complaint, StoreError> {
    complaint_with_text(row, false)
}

fn complaint_with_text(row: &SqliteRow, matching: bool) -> Result<Complaint, StoreError> {
    let (submitted_at, effective_at) = times(row)?;
    let title: Option<String> = row.get("title");
    let body: String = row.get("body");
    let text_norm = if matching {
        text_norm_from_stored(row.get("text_norm"), title.as_deref(), &body)
    } else {
        String::new()
    };
    Ok(Complaint {
        id: row.get("id"),
        seq: row.get("seq"),
        source: row.get("source"),
        channel: row.get("channel"),
        external_id: row.get("external_id"),
        revision: row.get("revision"),
        received_at: row.get("received_at"),
        submitted_at,
        effective_at,
        future_dated: row.get("future_dated"),
        historical: row.get("historical"),
        text_norm,
        item: parse_item(row.get("item"), title.clone(), &body)?,
        title,
        body,
        content_hash: row.get("content_hash"),
        raw: raw_encoding::decode(row.get("raw"), row.get("raw_encoding"))?,
        raw_content_type: row.get("raw_content_type"),
        facets: facets::from_row(row),
        case_id: None,
    })
}

fn dead_letter_from_row(row: &SqliteRow) -> DeadLetterRecord {
    DeadLetterRecord {
        id: row.get("id"),
        source: row.get("source"),
        channel: row.get("channel"),
        external_id: row.get("external_id"),
        received_at: row.get("received_at"),
        reason: row.get("reason"),
        raw: row.get("raw"),
        raw_content_type: row.get("raw_content_type"),
        replayed_at: row.get("replayed_at"),
        replayed_as: row.get("replayed_as"),
    }
}

#[async_trait]
impl IntakeLog for SqliteStore {
    async fn submit(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, StoreError> {
        self.writer.submit(batch).await
    }

    fn pending_writes(&self) -> usize {
        self.writer.pending()
    }

    async fn yield_to_commits(&self) {
        self.writer.yield_to_commits().await
    }

    fn committed_seq(&self) -> watch::Receiver<i64> {
        self.committed_seq.clone()
    }

    fn future_tolerance(&self) -> chrono::Duration {
        self.future_tolerance
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// Stops the writer after it has committed everything submitted so far, and closes the
    /// pools.
    async fn close(&self) {
        self.writer.shutdown().await;
        self.derived_pool.close().await;
        self.pool.close().await;
    }

    /// On the derived-data connection (one at a time, no fsync of its own).
    async fn begin_derived(&self) -> Result<Box<dyn DerivedTx>, StoreError> {
        Ok(Box::new(SqliteTx::begin(&self.derived_pool).await?))
    }

    /// On a reader connection (`synchronous=FULL`).
    async fn begin_decision(&self) -> Result<Box<dyn DerivedTx>, StoreError> {
        Ok(Box::new(SqliteTx::begin(&self.pool).await?))
    }

    /// One complaint by gateway id.
    async fn complaint(&self, id: &str) -> Result<Option<Complaint>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {COMPLAINTS_WITH_FACETS} WHERE c.id = ?",
            complaint_columns(true)
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(complaint_from_row).transpose()
    }

    /// One complaint by `(source, external_id)`.
    async fn complaint_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<Complaint>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {COMPLAINTS_WITH_FACETS} WHERE c.source = ? AND c.external_id = ?",
            complaint_columns(true)
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(complaint_from_row).transpose()
    }

    /// Superseded versions of a complaint, oldest first.
    async fn revisions(&self, id: &str) -> Result<Vec<RevisionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT revision, received_at, submitted_at, title, body, item, content_hash, raw,
                raw_encoding, raw_content_type, superseded_at
             FROM complaint_revisions WHERE complaint_id = ? ORDER BY revision",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let title: Option<String> = row.get("title");
                let body: String = row.get("body");
                Ok(RevisionRecord {
                    revision: row.get("revision"),
                    received_at: row.get("received_at"),
                    submitted_at: row.get("submitted_at"),
                    item: parse_item(row.get("item"), title.clone(), &body)?,
                    title,
                    body,
                    content_hash: row.get("content_hash"),
                    raw: raw_encoding::decode(row.get("raw"), row.get("raw_encoding"))?,
                    raw_content_type: row.get("raw_content_type"),
                    superseded_at: row.get("superseded_at"),
                })
            })
            .collect()
    }

    /// Number of complaints stored.
    async fn complaint_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM complaints")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Highest sequence number in the store (0 when empty).
    async fn max_seq(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM complaints")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn complaints_after(&self, after: i64, limit: i64) -> Result<Vec<Complaint>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {COMPLAINTS_WITH_FACETS} WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
            complaint_columns(false)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(complaint_from_row).collect()
    }

    /// Complaints with `seq > after`, in sequence order, at most `limit`, leaving out those
    /// with a queue entry after `defer_after`.
    async fn index_rows_after(
        &self,
        after: i64,
        upto: i64,
        limit: i64,
        defer_after: Option<i64>,
    ) -> Result<(Vec<Complaint>, Option<i64>), StoreError> {
        let sql = format!(
            "SELECT {}, (?4 IS NOT NULL AND EXISTS (
                    SELECT 1 FROM index_queue q INDEXED BY index_queue_complaint
                    WHERE q.complaint_id = c.id AND q.seq > ?4)) AS deferred
             FROM {COMPLAINTS_WITH_FACETS}
             WHERE c.seq > ?1 AND c.seq <= ?2 ORDER BY c.seq LIMIT ?3",
            complaint_columns(false)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(upto)
            .bind(limit)
            .bind(defer_after)
            .fetch_all(&self.pool)
            .await?;
        let last = rows.last().map(|row| row.get::<i64, _>("seq"));
        let kept = rows
            .iter()
            .filter(|row| !row.get::<bool, _>("deferred"))
            .map(index_row)
            .collect::<Result<_, _>>()?;
        Ok((kept, last))
    }

    /// Complaints queued for re-indexing in `window`, at most `window.limit` queue entries;
    /// returns the rows (each complaint once) and the last queue sequence read. Entries the
    /// sequence pass makes redundant are skipped (see [`QueuedWindow`]).
    async fn index_rows_queued(
        &self,
        window: QueuedWindow,
    ) -> Result<(Vec<Complaint>, Option<i64>), StoreError> {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(seq) FROM (SELECT seq FROM index_queue WHERE seq > ? ORDER BY seq LIMIT ?)",
        )
        .bind(window.after)
        .bind(window.limit)
        .fetch_one(&self.pool)
        .await?;
        let Some(last) = last else {
            return Ok((Vec::new(), None));
        };
        let sql = format!(
            "SELECT {} FROM {COMPLAINTS_WITH_FACETS}
             WHERE c.seq <= ?3 AND (
                (c.seq <= ?4
                 AND c.id IN (SELECT complaint_id FROM index_queue WHERE seq > ?1 AND seq <= ?2))
                OR c.id IN (SELECT complaint_id FROM index_queue
                            WHERE seq > MAX(?1, ?5) AND seq <= ?2))
               -- A later entry indexes it again anyway: once is enough.
               AND NOT EXISTS (SELECT 1 FROM index_queue q INDEXED BY index_queue_complaint
                               WHERE q.complaint_id = c.id AND q.seq > ?2)",
            complaint_columns(false)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(window.after)
            .bind(last)
            .bind(window.indexed_upto)
            .bind(window.fresh_after)
            .bind(window.fresh_bound)
            .fetch_all(&self.pool)
            .await?;
        Ok((
            rows.iter().map(index_row).collect::<Result<_, _>>()?,
            Some(last),
        ))
    }

    /// Highest index-queue sequence (0 when empty).
    async fn max_index_queue_seq(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM index_queue")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Forgets index-queue entries up to `seq` (the only index has followed them), a few
    /// hundred at a time on the derived-data connection, each chunk after intake's waiting
    /// commits: one large `DELETE` held SQLite's write lock for long under load, and waited
    /// seconds for it first.
    async fn prune_index_queue(&self, seq: i64) -> Result<(), StoreError> {
        const CHUNK: i64 = 500;
        let mut from: i64 = sqlx::query_scalar("SELECT COALESCE(MIN(seq), 0) FROM index_queue")
            .fetch_one(&self.pool)
            .await?;
        while from > 0 && from <= seq {
            let upto = seq.min(from + CHUNK - 1);
            self.writer.yield_to_commits().await;
            sqlx::query("DELETE FROM index_queue WHERE seq >= ? AND seq <= ?")
                .bind(from)
                .bind(upto)
                .execute(&self.derived_pool)
                .await?;
            from = upto + 1;
        }
        Ok(())
    }

    /// Every complaint in sequence order, streamed (constant memory).
    fn export_stream(&self) -> BoxStream<'_, Result<Complaint, StoreError>> {
        let sql = format!(
            "SELECT {} FROM {COMPLAINTS_WITH_FACETS} ORDER BY c.seq",
            complaint_columns(true)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch(&self.pool)
            .map(|row| complaint_from_row(&row?))
            .boxed()
    }

    /// Dead letters, newest first.
    async fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
    ) -> Result<(i64, Vec<DeadLetterRecord>), StoreError> {
        let condition = "(? IS NULL OR source = ?) AND (? OR replayed_at IS NULL)";
        let count_sql = format!("SELECT COUNT(*) FROM dead_letters WHERE {condition}");
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
            .bind(&filter.source)
            .bind(&filter.source)
            .bind(filter.include_replayed)
            .fetch_one(&self.pool)
            .await?;
        let list_sql = format!(
            "SELECT * FROM dead_letters WHERE {condition} ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(list_sql))
            .bind(&filter.source)
            .bind(&filter.source)
            .bind(filter.include_replayed)
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(&self.pool)
            .await?;
        Ok((total, rows.iter().map(dead_letter_from_row).collect()))
    }

    /// One dead letter.
    async fn dead_letter(&self, id: &str) -> Result<Option<DeadLetterRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM dead_letters WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(dead_letter_from_row))
    }

    /// The saved cursor of a connector source.
    /// What every source delivered, by outcome, as committed with the items.
    async fn source_counts(
        &self,
    ) -> Result<HashMap<String, connectors::CommitSummary>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT source, stored, duplicates, revisions, dead_lettered FROM source_counts",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(source, stored, duplicates, revisions, dead_lettered)| {
                let n = |v: i64| u64::try_from(v).unwrap_or(0);
                let summary = connectors::CommitSummary {
                    stored: n(stored),
                    duplicates: n(duplicates),
                    revisions: n(revisions),
                    dead_lettered: n(dead_lettered),
                };
                (source, summary)
            })
            .collect())
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT cursor FROM source_cursors WHERE source = ?")
                .bind(source)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// A value of the derived stages' state.
    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM gateway_state WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Writes a consistent copy of the database to `path` (SQLite `VACUUM INTO`); safe while
    /// the gateway writes.
    async fn source_statuses(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT source, status FROM source_status")
            .fetch_all(&self.pool)
            .await?)
    }

    /// On the derived-data connection, in a deferred transaction (a plain upsert: no read
    /// before the write).
    async fn save_source_statuses(&self, statuses: &[(String, String)]) -> Result<(), StoreError> {
        let now = format_utc(chrono::Utc::now());
        let mut tx = self.derived_pool.begin().await?;
        for (source, json) in statuses {
            sqlx::query(
                "INSERT INTO source_status (source, status, updated_at) VALUES (?, ?, ?)
                 ON CONFLICT (source) DO UPDATE SET status = excluded.status,
                     updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(json)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a value of the derived stages' state (outside the group-commit path: derived state is
    /// rebuildable, so it needs no fsync ordering with intake).
    async fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO gateway_state (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
