//! One group-commit transaction, in as few statements as the batch allows.
//!
//! The writer is latency-bound on statement round trips, so the common path is set-based: one
//! query finds every already-stored `(source, external_id)` of the batch, one multi-row
//! `INSERT` per chunk stores the new complaints, and only the rare cases (a revision, a content
//! hash to compare with older revisions) cost statements of their own. Decisions are made in
//! item order, so a batch that holds the same item twice behaves exactly as two deliveries.

use std::collections::HashMap;

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::writer::{WriteBatch, WriteOp, WriteOutcome};
use super::{NewComplaint, NewDeadLetter, format_utc};

/// Rows per multi-row statement (15 parameters each; SQLite allows 32,766).
const ROWS_PER_STATEMENT: usize = 200;

/// What the transaction knows about one `(source, external_id)`.
struct Known {
    id: String,
    hash: String,
    /// Hashes of versions stored during this transaction, before the current one.
    earlier_in_batch: Vec<String>,
}

enum Plan<'a> {
    Insert {
        id: String,
        seq: i64,
        complaint: &'a NewComplaint,
    },
    Revise {
        id: String,
        seq: i64,
        complaint: &'a NewComplaint,
    },
}

/// Applies every batch in one transaction; returns the outcomes per batch and the highest seq.
pub(super) async fn commit(
    conn: &mut SqliteConnection,
    batches: &[&WriteBatch],
) -> Result<(Vec<Vec<WriteOutcome>>, i64), sqlx::Error> {
    begin_immediate(conn).await?;
    match apply(conn, batches).await {
        Ok(done) => match sqlx::query("COMMIT").execute(&mut *conn).await {
            Ok(_) => Ok(done),
            Err(error) => {
                rollback(conn).await;
                Err(error)
            }
        },
        Err(error) => {
            rollback(conn).await;
            Err(error)
        }
    }
}

/// Ends a failed transaction; a connection that cannot even roll back is reported by the next
/// `BEGIN`.
async fn rollback(conn: &mut SqliteConnection) {
    if let Err(error) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
        tracing::warn!(%error, "rollback failed");
    }
}

/// The statements of [`commit`], inside its transaction.
async fn apply(
    tx: &mut SqliteConnection,
    batches: &[&WriteBatch],
) -> Result<(Vec<Vec<WriteOutcome>>, i64), sqlx::Error> {
    let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM complaints")
        .fetch_one(&mut *tx)
        .await?;
    let now = format_utc(Utc::now());

    let complaints: Vec<&NewComplaint> = batches
        .iter()
        .flat_map(|b| b.ops.iter())
        .filter_map(|op| match op {
            WriteOp::Complaint(c) => Some(c),
            WriteOp::DeadLetter(_) => None,
        })
        .collect();
    let mut known = existing(tx, &complaints).await?;

    let mut outcomes: Vec<Vec<Option<WriteOutcome>>> =
        batches.iter().map(|b| vec![None; b.ops.len()]).collect();
    let mut plans: Vec<Plan> = Vec::new();
    let mut dead: Vec<(usize, usize, &NewDeadLetter)> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        for (o, op) in batch.ops.iter().enumerate() {
            let complaint = match op {
                WriteOp::DeadLetter(d) => {
                    dead.push((b, o, d));
                    continue;
                }
                WriteOp::Complaint(c) => c,
            };
            let key = (complaint.source.clone(), complaint.item.external_id.clone());
            let outcome = match known.get_mut(&key) {
                None => {
                    seq += 1;
                    let id = uuid::Uuid::now_v7().to_string();
                    known.insert(
                        key,
                        Known {
                            id: id.clone(),
                            hash: complaint.content_hash.clone(),
                            earlier_in_batch: Vec::new(),
                        },
                    );
                    plans.push(Plan::Insert {
                        id: id.clone(),
                        seq,
                        complaint,
                    });
                    WriteOutcome::Created { id, seq }
                }
                Some(k) if k.hash == complaint.content_hash => {
                    WriteOutcome::Duplicate { id: k.id.clone() }
                }
                Some(k) => {
                    let seen = k.earlier_in_batch.contains(&complaint.content_hash)
                        || stored_revision_has(tx, &k.id, &complaint.content_hash).await?;
                    if seen {
                        WriteOutcome::Duplicate { id: k.id.clone() }
                    } else {
                        seq += 1;
                        let previous =
                            std::mem::replace(&mut k.hash, complaint.content_hash.clone());
                        k.earlier_in_batch.push(previous);
                        plans.push(Plan::Revise {
                            id: k.id.clone(),
                            seq,
                            complaint,
                        });
                        // The revision number is known after the update; filled in below.
                        WriteOutcome::Revised {
                            id: k.id.clone(),
                            revision: 0,
                            seq,
                        }
                    }
                }
            };
            outcomes[b][o] = Some(outcome);
        }
    }

    insert_new(tx, &plans).await?;
    let mut revisions: HashMap<i64, i64> = HashMap::new();
    for plan in &plans {
        if let Plan::Revise { id, seq, complaint } = plan {
            revisions.insert(*seq, revise(tx, id, *seq, complaint, &now).await?);
        }
    }
    for (b, o, letter) in dead {
        outcomes[b][o] = Some(write_dead_letter(tx, letter).await?);
    }

    let outcomes: Vec<Vec<WriteOutcome>> = outcomes
        .into_iter()
        .map(|ops| {
            ops.into_iter()
                .map(|o| match o.expect("every operation has an outcome") {
                    WriteOutcome::Revised { id, seq, .. } => WriteOutcome::Revised {
                        id,
                        revision: revisions[&seq],
                        seq,
                    },
                    other => other,
                })
                .collect()
        })
        .collect();
    for (batch, batch_outcomes) in batches.iter().zip(&outcomes) {
        finish_batch(tx, batch, batch_outcomes, &now).await?;
    }
    Ok((outcomes, seq))
}

/// How long the writer keeps asking for SQLite's write lock before giving up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `BEGIN IMMEDIATE`, polling every fraction of a millisecond while another connection (the
/// pipeline, the indexer, an `import` in another process) holds the write lock. SQLite's own
/// busy handler sleeps up to 100 ms between tries, long after a short derived-data transaction
/// has ended; intake's acknowledgements must not wait for that.
async fn begin_immediate(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_micros(100);
    loop {
        match sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            Ok(_) => return Ok(()),
            Err(error) if is_busy(&error) && started.elapsed() < LOCK_WAIT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(2));
            }
            Err(error) => return Err(error),
        }
    }
}

/// SQLite's "database is locked" (`SQLITE_BUSY` and its extended codes).
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

/// Every stored `(source, external_id)` among `complaints`, with id and current hash.
async fn existing(
    tx: &mut SqliteConnection,
    complaints: &[&NewComplaint],
) -> Result<HashMap<(String, String), Known>, sqlx::Error> {
    let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in complaints {
        by_source
            .entry(c.source.as_str())
            .or_default()
            .push(c.item.external_id.as_str());
    }
    let mut known = HashMap::new();
    for (source, ids) in by_source {
        for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT external_id, id, content_hash FROM complaints WHERE source = ",
            );
            query.push_bind(source).push(" AND external_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
            for row in query.build().fetch_all(&mut *tx).await? {
                known.insert(
                    (source.to_string(), row.get("external_id")),
                    Known {
                        id: row.get("id"),
                        hash: row.get("content_hash"),
                        earlier_in_batch: Vec::new(),
                    },
                );
            }
        }
    }
    Ok(known)
}

async fn stored_revision_has(
    tx: &mut SqliteConnection,
    id: &str,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM complaint_revisions WHERE complaint_id = ? AND content_hash = ? LIMIT 1",
    )
    .bind(id)
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(found.is_some())
}

/// Columns bound per complaint, shared by insert and update.
struct Columns {
    received_at: String,
    submitted_at: String,
    submitted_ms: i64,
}

fn columns(c: &NewComplaint) -> Columns {
    let submitted = c
        .item
        .submitted_at
        .unwrap_or_else(|| c.received_at.fixed_offset());
    Columns {
        received_at: format_utc(c.received_at),
        submitted_at: submitted.to_rfc3339(),
        submitted_ms: submitted.timestamp_millis(),
    }
}

async fn insert_new(tx: &mut SqliteConnection, plans: &[Plan<'_>]) -> Result<(), sqlx::Error> {
    let inserts: Vec<(&String, i64, &NewComplaint, Columns)> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Insert { id, seq, complaint } => Some((id, *seq, *complaint, columns(complaint))),
            Plan::Revise { .. } => None,
        })
        .collect();
    for chunk in inserts.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO complaints (id, seq, source, channel, external_id, revision, received_at,
                submitted_at, submitted_ms, title, body, text_norm, item, content_hash, raw, raw_content_type) ",
        );
        query.push_values(chunk, |mut row, (id, seq, c, cols)| {
            row.push_bind(id.as_str())
                .push_bind(*seq)
                .push_bind(c.source.as_str())
                .push_bind(c.channel.as_str())
                .push_bind(c.item.external_id.as_str())
                .push_bind(1i64)
                .push_bind(cols.received_at.as_str())
                .push_bind(cols.submitted_at.as_str())
                .push_bind(cols.submitted_ms)
                .push_bind(c.item.title.as_deref())
                .push_bind(c.item.body.as_str())
                .push_bind(c.text_norm.as_str())
                .push_bind(c.item_json.as_str())
                .push_bind(c.content_hash.as_str())
                .push_bind(c.raw.as_slice())
                .push_bind(c.raw_content_type.as_str());
        });
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Moves the current version of `id` to the revisions and stores `c` as current; returns the
/// new revision number.
async fn revise(
    tx: &mut SqliteConnection,
    id: &str,
    seq: i64,
    c: &NewComplaint,
    now: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaint_revisions (complaint_id, revision, received_at, submitted_at, title,
            body, item, content_hash, raw, raw_content_type, superseded_at)
         SELECT id, revision, received_at, submitted_at, title, body, item, content_hash, raw,
            raw_content_type, ? FROM complaints WHERE id = ?",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let cols = columns(c);
    sqlx::query_scalar(
        "UPDATE complaints SET seq = ?, revision = revision + 1, channel = ?, received_at = ?,
            submitted_at = ?, submitted_ms = ?, title = ?, body = ?, text_norm = ?, item = ?,
            content_hash = ?, raw = ?, raw_content_type = ?
         WHERE id = ? RETURNING revision",
    )
    .bind(seq)
    .bind(c.channel.as_str())
    .bind(&cols.received_at)
    .bind(&cols.submitted_at)
    .bind(cols.submitted_ms)
    .bind(&c.item.title)
    .bind(&c.item.body)
    .bind(&c.text_norm)
    .bind(&c.item_json)
    .bind(&c.content_hash)
    .bind(&c.raw)
    .bind(&c.raw_content_type)
    .bind(id)
    .fetch_one(&mut *tx)
    .await
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

/// Saves the batch's cursor and marks the dead letter it replays.
async fn finish_batch(
    tx: &mut SqliteConnection,
    batch: &WriteBatch,
    outcomes: &[WriteOutcome],
    now: &str,
) -> Result<(), sqlx::Error> {
    if let Some((source, cursor)) = &batch.cursor {
        sqlx::query(
            "INSERT INTO source_cursors (source, cursor, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        )
        .bind(source)
        .bind(cursor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(dead_letter_id) = &batch.replay_of {
        let stored = outcomes.iter().find_map(|o| match o {
            WriteOutcome::DeadLettered { .. } => None,
            other => Some(other.id().to_string()),
        });
        if let Some(complaint_id) = stored {
            sqlx::query("UPDATE dead_letters SET replayed_at = ?, replayed_as = ? WHERE id = ?")
                .bind(now)
                .bind(complaint_id)
                .bind(dead_letter_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}
