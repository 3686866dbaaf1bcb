//! The single group-commit writer.
//!
//! Every write of the process goes through one task that owns one SQLite connection. Requests
//! that arrive while a commit is in flight (or within the linger time) share the next
//! transaction, so a burst of concurrent webhooks costs one fsync, not one each. A request is
//! answered only after `COMMIT` returned: the caller may then acknowledge its sender.
//!
//! Sequence numbers are taken inside the `BEGIN IMMEDIATE` transaction from the stored maximum,
//! so they stay strictly increasing in commit order even when another process (an `import`
//! while `serve` runs) writes to the same file.

use std::time::Instant;

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot, watch};

use super::{CommitSettings, NewComplaint, NewDeadLetter, StoreError, format_utc};

/// One operation of a batch.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Store a complaint (or recognise it as a duplicate or a revision).
    Complaint(NewComplaint),
    /// Keep an item that could not be accepted.
    DeadLetter(NewDeadLetter),
}

/// Operations committed together, with the connector cursor that covers them.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub ops: Vec<WriteOp>,
    /// `(source, cursor)`: saved in the same transaction as `ops`.
    pub cursor: Option<(String, String)>,
    /// A dead letter this batch replays; marked replayed by the first complaint stored.
    pub replay_of: Option<String>,
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new complaint.
    Created { id: String, seq: i64 },
    /// Same `(source, external_id)` and the same content as a stored version.
    Duplicate { id: String },
    /// Same `(source, external_id)`, new content: the previous version was kept as a revision.
    Revised { id: String, revision: i64, seq: i64 },
    /// Kept in the dead-letter store (`existing` when the same bytes were already there).
    DeadLettered { id: String, existing: bool },
}

impl WriteOutcome {
    /// The complaint or dead-letter id.
    pub fn id(&self) -> &str {
        match self {
            WriteOutcome::Created { id, .. }
            | WriteOutcome::Duplicate { id }
            | WriteOutcome::Revised { id, .. }
            | WriteOutcome::DeadLettered { id, .. } => id,
        }
    }
}

type Reply = oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>;

enum Job {
    Write { batch: WriteBatch, reply: Reply },
    Stop(oneshot::Sender<()>),
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct Writer {
    jobs_tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Opens the writer's own connection and starts its task.
    pub(super) async fn start(
        options: SqliteConnectOptions,
        settings: CommitSettings,
    ) -> Result<(Writer, watch::Receiver<i64>), StoreError> {
        let mut conn = SqliteConnection::connect_with(&options).await?;
        let max_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM complaints")
            .fetch_one(&mut conn)
            .await?;
        let (seq_tx, seq_rx) = watch::channel(max_seq);
        let (jobs_tx, jobs_rx) = mpsc::channel(4096);
        tokio::spawn(run(conn, jobs_rx, settings, seq_tx));
        Ok((Writer { jobs_tx }, seq_rx))
    }

    /// Commits `batch` durably and returns one outcome per operation, in order.
    pub async fn submit(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, StoreError> {
        let (reply, reply_rx) = oneshot::channel();
        self.jobs_tx
            .send(Job::Write { batch, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        reply_rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Waits until everything submitted before this call is committed, then stops the task.
    pub async fn shutdown(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.jobs_tx.send(Job::Stop(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }
}

async fn run(
    mut conn: SqliteConnection,
    mut jobs_rx: mpsc::Receiver<Job>,
    settings: CommitSettings,
    seq_tx: watch::Sender<i64>,
) {
    let mut stop: Option<oneshot::Sender<()>> = None;
    while stop.is_none() {
        let Some(first) = jobs_rx.recv().await else {
            break;
        };
        let mut pending: Vec<(WriteBatch, Reply)> = Vec::new();
        let mut items = 0usize;
        let mut push =
            |job: Job, pending: &mut Vec<(WriteBatch, Reply)>, items: &mut usize| match job {
                Job::Write { batch, reply } => {
                    *items += batch.ops.len().max(1);
                    pending.push((batch, reply));
                    true
                }
                Job::Stop(done) => {
                    stop = Some(done);
                    false
                }
            };
        let mut more = push(first, &mut pending, &mut items);
        let deadline = tokio::time::Instant::now() + settings.linger;
        while more && items < settings.max_items {
            let next = match jobs_rx.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) if settings.linger.is_zero() => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(deadline, jobs_rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
            };
            match next {
                Some(job) => more = push(job, &mut pending, &mut items),
                None => break,
            }
        }
        if !pending.is_empty() {
            commit_and_reply(&mut conn, pending, &seq_tx).await;
        }
    }
    let _ = conn.close().await;
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

async fn commit_and_reply(
    conn: &mut SqliteConnection,
    pending: Vec<(WriteBatch, Reply)>,
    seq_tx: &watch::Sender<i64>,
) {
    let started = Instant::now();
    let batches: Vec<&WriteBatch> = pending.iter().map(|(b, _)| b).collect();
    let items: usize = batches.iter().map(|b| b.ops.len()).sum();
    match commit(conn, &batches).await {
        Ok((outcomes, max_seq)) => {
            crate::telemetry::commit_done(items, pending.len(), started.elapsed());
            seq_tx.send_if_modified(|current| {
                let changed = max_seq > *current;
                *current = (*current).max(max_seq);
                changed
            });
            for ((_, reply), outcome) in pending.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) if pending.len() > 1 => {
            // One bad request must not fail the others: commit each on its own.
            tracing::warn!(%error, requests = pending.len(), "group commit failed, retrying one by one");
            for (batch, reply) in pending {
                let result = commit(conn, &[&batch]).await;
                let answer = result.map(|(mut outcomes, max_seq)| {
                    seq_tx.send_if_modified(|current| {
                        let changed = max_seq > *current;
                        *current = (*current).max(max_seq);
                        changed
                    });
                    outcomes.pop().unwrap_or_default()
                });
                let _ = reply.send(answer.map_err(StoreError::from));
            }
        }
        Err(error) => {
            tracing::error!(%error, "commit failed");
            for (_, reply) in pending {
                let _ = reply.send(Err(StoreError::Commit(error.to_string())));
            }
        }
    }
}

/// Applies every batch in one transaction; returns the outcomes per batch and the highest seq.
async fn commit(
    conn: &mut SqliteConnection,
    batches: &[&WriteBatch],
) -> Result<(Vec<Vec<WriteOutcome>>, i64), sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM complaints")
        .fetch_one(&mut *tx)
        .await?;
    let now = format_utc(Utc::now());
    let mut all = Vec::with_capacity(batches.len());
    for batch in batches {
        let mut outcomes = Vec::with_capacity(batch.ops.len());
        for op in &batch.ops {
            let outcome = match op {
                WriteOp::Complaint(c) => write_complaint(&mut tx, c, &mut seq, &now).await?,
                WriteOp::DeadLetter(d) => write_dead_letter(&mut tx, d).await?,
            };
            outcomes.push(outcome);
        }
        if let Some((source, cursor)) = &batch.cursor {
            sqlx::query(
                "INSERT INTO source_cursors (source, cursor, updated_at) VALUES (?, ?, ?)
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(cursor)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(dead_letter_id) = &batch.replay_of {
            let stored = outcomes.iter().find_map(|o| match o {
                WriteOutcome::DeadLettered { .. } => None,
                other => Some(other.id().to_string()),
            });
            if let Some(complaint_id) = stored {
                sqlx::query(
                    "UPDATE dead_letters SET replayed_at = ?, replayed_as = ? WHERE id = ?",
                )
                .bind(&now)
                .bind(complaint_id)
                .bind(dead_letter_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        all.push(outcomes);
    }
    tx.commit().await?;
    Ok((all, seq))
}

async fn write_complaint(
    tx: &mut SqliteConnection,
    c: &NewComplaint,
    seq: &mut i64,
    now: &str,
) -> Result<WriteOutcome, sqlx::Error> {
    let existing =
        sqlx::query("SELECT id, content_hash FROM complaints WHERE source = ? AND external_id = ?")
            .bind(&c.source)
            .bind(&c.item.external_id)
            .fetch_optional(&mut *tx)
            .await?;
    let item_json = serde_json::to_string(&c.item).expect("an item always serialises");
    let received_at = format_utc(c.received_at);
    let submitted = c
        .item
        .submitted_at
        .unwrap_or_else(|| c.received_at.fixed_offset());
    let submitted_at = submitted.to_rfc3339();
    let Some(row) = existing else {
        *seq += 1;
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO complaints (id, seq, source, channel, external_id, revision, received_at,
                submitted_at, submitted_ms, title, body, text_norm, item, content_hash, raw, raw_content_type)
             VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(*seq)
        .bind(&c.source)
        .bind(c.channel.as_str())
        .bind(&c.item.external_id)
        .bind(&received_at)
        .bind(&submitted_at)
        .bind(submitted.timestamp_millis())
        .bind(&c.item.title)
        .bind(&c.item.body)
        .bind(&c.text_norm)
        .bind(&item_json)
        .bind(&c.content_hash)
        .bind(&c.raw)
        .bind(&c.raw_content_type)
        .execute(&mut *tx)
        .await?;
        return Ok(WriteOutcome::Created { id, seq: *seq });
    };
    let id: String = row.get("id");
    let current_hash: String = row.get("content_hash");
    if current_hash == c.content_hash {
        return Ok(WriteOutcome::Duplicate { id });
    }
    let earlier: Option<i64> = sqlx::query_scalar(
        "SELECT revision FROM complaint_revisions WHERE complaint_id = ? AND content_hash = ? LIMIT 1",
    )
    .bind(&id)
    .bind(&c.content_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if earlier.is_some() {
        return Ok(WriteOutcome::Duplicate { id });
    }
    sqlx::query(
        "INSERT INTO complaint_revisions (complaint_id, revision, received_at, submitted_at, title,
            body, item, content_hash, raw, raw_content_type, superseded_at)
         SELECT id, revision, received_at, submitted_at, title, body, item, content_hash, raw,
            raw_content_type, ? FROM complaints WHERE id = ?",
    )
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    *seq += 1;
    let revision: i64 = sqlx::query_scalar(
        "UPDATE complaints SET seq = ?, revision = revision + 1, channel = ?, received_at = ?,
            submitted_at = ?, submitted_ms = ?, title = ?, body = ?, text_norm = ?, item = ?,
            content_hash = ?, raw = ?, raw_content_type = ?
         WHERE id = ? RETURNING revision",
    )
    .bind(*seq)
    .bind(c.channel.as_str())
    .bind(&received_at)
    .bind(&submitted_at)
    .bind(submitted.timestamp_millis())
    .bind(&c.item.title)
    .bind(&c.item.body)
    .bind(&c.text_norm)
    .bind(&item_json)
    .bind(&c.content_hash)
    .bind(&c.raw)
    .bind(&c.raw_content_type)
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(WriteOutcome::Revised {
        id,
        revision,
        seq: *seq,
    })
}

async fn write_dead_letter(
    tx: &mut SqliteConnection,
    d: &NewDeadLetter,
) -> Result<WriteOutcome, sqlx::Error> {
    let raw_hash = hex::encode(Sha256::digest(&d.raw));
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT id FROM dead_letters WHERE source = ? AND raw_hash = ? AND replayed_at IS NULL LIMIT 1",
    )
    .bind(&d.source)
    .bind(&raw_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = existing {
        return Ok(WriteOutcome::DeadLettered { id, existing: true });
    }
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO dead_letters (id, source, channel, external_id, received_at, reason, raw,
            raw_content_type, raw_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&d.source)
    .bind(d.channel.map(|c| c.as_str()))
    .bind(&d.external_id)
    .bind(format_utc(d.received_at))
    .bind(&d.reason)
    .bind(&d.raw)
    .bind(&d.raw_content_type)
    .bind(&raw_hash)
    .execute(&mut *tx)
    .await?;
    Ok(WriteOutcome::DeadLettered {
        id,
        existing: false,
    })
}
