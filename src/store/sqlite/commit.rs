//! One group-commit transaction.
//!
//! Runs on the writer's thread, on its own SQLite connection, with synchronous calls: every
//! statement is a prepared (cached) statement executed in place, so a batch of a few dozen
//! complaints costs a few dozen microseconds of statements plus the durable `COMMIT`.
//! Decisions are made in item order, so a batch that holds the same item twice behaves exactly
//! as two deliveries.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::raw_encoding;
use crate::store::{NewComplaint, NewDeadLetter, format_utc};
use crate::store::{WriteBatch, WriteOp, WriteOutcome};

/// How long the writer keeps asking for SQLite's write lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// What the transaction knows about one `(source, external_id)`.
struct Known {
    id: String,
    hash: String,
    /// Hashes of versions stored during this transaction, before the current one.
    earlier_in_batch: Vec<String>,
}

/// Applies every batch in one transaction; returns the outcomes per batch and the highest seq.
pub(super) fn commit(
    conn: &Connection,
    batches: &[&WriteBatch],
) -> Result<(Vec<Vec<WriteOutcome>>, i64), rusqlite::Error> {
    begin_immediate(conn)?;
    let done = apply(conn, batches).and_then(|done| conn.execute_batch("COMMIT").map(|_| done));
    if done.is_err() && !conn.is_autocommit() {
        // A connection that cannot even roll back is reported by the next `BEGIN`.
        if let Err(error) = conn.execute_batch("ROLLBACK") {
            tracing::warn!(%error, "rollback failed");
        }
    }
    done
}

/// `BEGIN IMMEDIATE`, polling every fraction of a millisecond while another connection (the
/// pipeline, an `import` in another process) holds the write lock. SQLite's own busy handler
/// sleeps up to 100 ms between tries, long after a short derived-data transaction has ended;
/// intake's acknowledgements must not wait for that.
fn begin_immediate(conn: &Connection) -> Result<(), rusqlite::Error> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => return Ok(()),
            Err(error) if is_busy(&error) && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(2));
            }
            Err(error) => return Err(error),
        }
    }
}

/// SQLite's "database is locked" (`SQLITE_BUSY` and its extended codes).
fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
}

/// The statements of [`commit`], inside its transaction.
fn apply(
    conn: &Connection,
    batches: &[&WriteBatch],
) -> Result<(Vec<Vec<WriteOutcome>>, i64), rusqlite::Error> {
    let mut seq: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM complaints")?
        .query_row([], |row| row.get(0))?;
    let now = format_utc(Utc::now());
    let mut known: HashMap<(&str, &str), Known> = HashMap::new();
    let mut counts: HashMap<&str, [i64; 4]> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batches.len());
    for batch in batches {
        let mut batch_outcomes = Vec::with_capacity(batch.ops.len());
        for op in &batch.ops {
            let (source, outcome) = match op {
                WriteOp::DeadLetter(letter) => {
                    (letter.source.as_str(), write_dead_letter(conn, letter)?)
                }
                WriteOp::Complaint(complaint) => (
                    complaint.source.as_str(),
                    store_complaint(conn, complaint, &mut known, &mut seq, &now)?,
                ),
            };
            count(counts.entry(source).or_default(), &outcome);
            batch_outcomes.push(outcome);
        }
        finish_batch(conn, batch, &batch_outcomes, &now)?;
        outcomes.push(batch_outcomes);
    }
    for (source, [stored, duplicates, revisions, dead_lettered]) in counts {
        conn.prepare_cached(
            "INSERT INTO source_counts (source, stored, duplicates, revisions, dead_lettered)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (source) DO UPDATE SET stored = stored + excluded.stored,
                duplicates = duplicates + excluded.duplicates,
                revisions = revisions + excluded.revisions,
                dead_lettered = dead_lettered + excluded.dead_lettered",
        )?
        .execute(params![
            source,
            stored,
            duplicates,
            revisions,
            dead_lettered
        ])?;
    }
    Ok((outcomes, seq))
}

/// Adds an outcome to a source's `[stored, duplicates, revisions, dead_lettered]`, as intake
/// reports count them (a dead letter whose bytes were already kept counts again).
fn count(counts: &mut [i64; 4], outcome: &WriteOutcome) {
    let slot = match outcome {
        WriteOutcome::Created { .. } => 0,
        WriteOutcome::Duplicate { .. } => 1,
        WriteOutcome::Revised { .. } => 2,
        WriteOutcome::DeadLettered { .. } => 3,
    };
    counts[slot] += 1;
}

/// Stores one complaint: new, a duplicate of a stored (or earlier-in-batch) version, or a
/// revision of the stored complaint.
fn store_complaint<'a>(
    conn: &Connection,
    complaint: &'a NewComplaint,
    known: &mut HashMap<(&'a str, &'a str), Known>,
    seq: &mut i64,
    now: &str,
) -> Result<WriteOutcome, rusqlite::Error> {
    let key = (
        complaint.source.as_str(),
        complaint.item.external_id.as_str(),
    );
    if let Entry::Vacant(slot) = known.entry(key) {
        let stored = conn
            .prepare_cached(
                "SELECT id, content_hash FROM complaints WHERE source = ? AND external_id = ?",
            )?
            .query_row(params![key.0, key.1], |row| {
                Ok(Known {
                    id: row.get(0)?,
                    hash: row.get(1)?,
                    earlier_in_batch: Vec::new(),
                })
            })
            .optional()?;
        if let Some(stored) = stored {
            slot.insert(stored);
        }
    }
    let Some(k) = known.get_mut(&key) else {
        *seq += 1;
        let id = uuid::Uuid::now_v7().to_string();
        insert_new(conn, &id, *seq, complaint)?;
        known.insert(
            key,
            Known {
                id: id.clone(),
                hash: complaint.content_hash.clone(),
                earlier_in_batch: Vec::new(),
            },
        );
        return Ok(WriteOutcome::Created { id, seq: *seq });
    };
    if k.hash == complaint.content_hash
        || k.earlier_in_batch.contains(&complaint.content_hash)
        || stored_revision_has(conn, &k.id, &complaint.content_hash)?
    {
        return Ok(WriteOutcome::Duplicate { id: k.id.clone() });
    }
    *seq += 1;
    let revision = revise(conn, &k.id, *seq, complaint, now)?;
    let previous = std::mem::replace(&mut k.hash, complaint.content_hash.clone());
    k.earlier_in_batch.push(previous);
    Ok(WriteOutcome::Revised {
        id: k.id.clone(),
        revision,
        seq: *seq,
    })
}

fn stored_revision_has(conn: &Connection, id: &str, hash: &str) -> Result<bool, rusqlite::Error> {
    conn.prepare_cached(
        "SELECT 1 FROM complaint_revisions WHERE complaint_id = ? AND content_hash = ? LIMIT 1",
    )?
    .exists(params![id, hash])
}

/// Columns bound per complaint, shared by insert and update.
struct Columns {
    received_at: String,
    /// As given (the received time when absent).
    submitted_at: String,
    /// The effective time: what clocks, windows and orderings read.
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
        submitted_ms: c.effective_at.timestamp_millis(),
    }
}

/// What a new complaint's `text_norm` column holds: empty, "derived from the title and body"
/// when read (`store::text_norm_from_stored`).
const STORED_TEXT_NORM: &str = "";

fn insert_new(
    conn: &Connection,
    id: &str,
    seq: i64,
    c: &NewComplaint,
) -> Result<(), rusqlite::Error> {
    let cols = columns(c);
    let (raw, raw_encoding) = raw_encoding::encode(&c.raw);
    conn.prepare_cached(
        "INSERT INTO complaints (id, seq, source, channel, external_id, revision, received_at,
            submitted_at, submitted_ms, future_dated, title, body, text_norm, item, content_hash,
            raw, raw_content_type, historical, raw_encoding)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        id,
        seq,
        c.source,
        c.channel.as_str(),
        c.item.external_id,
        cols.received_at,
        cols.submitted_at,
        cols.submitted_ms,
        c.future_dated,
        c.item.title,
        c.item.body,
        STORED_TEXT_NORM,
        c.item_json,
        c.content_hash,
        raw,
        c.raw_content_type,
        c.historical,
        raw_encoding,
    ])?;
    Ok(())
}

/// Moves the current version of `id` to the revisions and stores `c` as current; returns the
/// new revision number. The complaint stays historical only when the revision is historical
/// too: a live delivery makes it live, and an archive load never turns a live complaint into
/// history (nor moves its time of receipt back to the archive's date).
fn revise(
    conn: &Connection,
    id: &str,
    seq: i64,
    c: &NewComplaint,
    now: &str,
) -> Result<i64, rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO complaint_revisions (complaint_id, revision, received_at, submitted_at, title,
            body, item, content_hash, raw, raw_content_type, superseded_at, raw_encoding)
         SELECT id, revision, received_at, submitted_at, title, body, item, content_hash, raw,
            raw_content_type, ?, raw_encoding FROM complaints WHERE id = ?",
    )?
    .execute(params![now, id])?;
    let cols = columns(c);
    let (raw, raw_encoding) = raw_encoding::encode(&c.raw);
    conn.prepare_cached(
        "UPDATE complaints SET seq = ?1, revision = revision + 1, channel = ?2,
            received_at = CASE WHEN historical OR NOT ?12 THEN ?3 ELSE received_at END,
            submitted_at = ?4, submitted_ms = ?5, future_dated = ?6, title = ?7, body = ?8,
            text_norm = ?9, item = ?10, content_hash = ?11, raw = ?13, raw_content_type = ?14,
            historical = historical AND ?12, raw_encoding = ?16
         WHERE id = ?15 RETURNING revision",
    )?
    .query_row(
        params![
            seq,
            c.channel.as_str(),
            cols.received_at,
            cols.submitted_at,
            cols.submitted_ms,
            c.future_dated,
            c.item.title,
            c.item.body,
            STORED_TEXT_NORM,
            c.item_json,
            c.content_hash,
            c.historical,
            raw,
            c.raw_content_type,
            id,
            raw_encoding,
        ],
        |row| row.get(0),
    )
}

fn write_dead_letter(
    conn: &Connection,
    d: &NewDeadLetter,
) -> Result<WriteOutcome, rusqlite::Error> {
    let raw_hash = hex::encode(Sha256::digest(&d.raw));
    let existing: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM dead_letters WHERE source = ? AND raw_hash = ? AND replayed_at IS NULL
             LIMIT 1",
        )?
        .query_row(params![d.source, raw_hash], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(WriteOutcome::DeadLettered { id, existing: true });
    }
    let id = uuid::Uuid::now_v7().to_string();
    conn.prepare_cached(
        "INSERT INTO dead_letters (id, source, channel, external_id, received_at, reason, raw,
            raw_content_type, raw_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        id,
        d.source,
        d.channel.map(|c| c.as_str()),
        d.external_id,
        format_utc(d.received_at),
        d.reason,
        d.raw,
        d.raw_content_type,
        raw_hash,
    ])?;
    Ok(WriteOutcome::DeadLettered {
        id,
        existing: false,
    })
}

/// Saves the batch's cursor and marks the dead letter it replays.
fn finish_batch(
    conn: &Connection,
    batch: &WriteBatch,
    outcomes: &[WriteOutcome],
    now: &str,
) -> Result<(), rusqlite::Error> {
    if let Some((source, cursor)) = &batch.cursor {
        conn.prepare_cached(
            "INSERT INTO source_cursors (source, cursor, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,
                updated_at = excluded.updated_at",
        )?
        .execute(params![source, cursor, now])?;
    }
    if let Some(dead_letter_id) = &batch.replay_of {
        let stored = outcomes.iter().find_map(|o| match o {
            WriteOutcome::DeadLettered { .. } => None,
            other => Some(other.id()),
        });
        if let Some(complaint_id) = stored {
            conn.prepare_cached(
                "UPDATE dead_letters SET replayed_at = ?, replayed_as = ? WHERE id = ?",
            )?
            .execute(params![now, complaint_id, dead_letter_id])?;
        }
    }
    super::audit::append_on_writer(conn, &batch.audit)
}
