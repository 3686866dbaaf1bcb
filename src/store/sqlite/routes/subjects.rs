//! The subjects of cases (`case_subjects`): read by case, recorded by the pipeline (insert or
//! leave), named and removed by staff.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::sqlite::{Sqlite, SqliteConnection};

use crate::store::subjects::{CaseSubject, NewSubject, SubjectRemoval};

/// Rows per multi-row insert (6 values a row).
const ROWS_PER_STATEMENT: usize = 1000;

/// The subjects of `case_ids`, by case id, each case's ordered by queue key.
pub async fn of_cases(
    conn: &mut SqliteConnection,
    case_ids: &[&str],
) -> Result<HashMap<String, Vec<CaseSubject>>, sqlx::Error> {
    let mut found: HashMap<String, Vec<CaseSubject>> = HashMap::new();
    if case_ids.is_empty() {
        return Ok(found);
    }
    let keys = serde_json::to_string(case_ids).expect("strings serialise");
    let rows = sqlx::query(
        "SELECT case_id, queue_key, origin, recorded_by, recorded_at, note, removed_by,
                removed_at, removed_note
         FROM case_subjects WHERE case_id IN (SELECT value FROM json_each(?))
         ORDER BY case_id, queue_key",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let subject = CaseSubject {
            case_id: row.get("case_id"),
            queue: row.get("queue_key"),
            origin: row.get("origin"),
            by: row.get("recorded_by"),
            at: row.get("recorded_at"),
            note: row.get("note"),
            removed_by: row.get("removed_by"),
            removed_at: row.get("removed_at"),
            removed_note: row.get("removed_note"),
        };
        found
            .entry(subject.case_id.clone())
            .or_default()
            .push(subject);
    }
    Ok(found)
}

/// Inserts the subjects not recorded yet; returns how many were new.
pub async fn record(
    conn: &mut SqliteConnection,
    subjects: &[NewSubject<'_>],
) -> Result<usize, sqlx::Error> {
    let mut added = 0;
    for chunk in subjects.chunks(ROWS_PER_STATEMENT) {
        let mut query = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO case_subjects (case_id, queue_key, origin, recorded_by, recorded_at,
                note) ",
        );
        query.push_values(chunk, |mut row, s| {
            row.push_bind(s.case_id.to_string())
                .push_bind(s.queue.to_string())
                .push_bind(s.origin.to_string())
                .push_bind(s.by.to_string())
                .push_bind(s.at.to_string())
                .push_bind(s.note.map(str::to_string));
        });
        query.push(" ON CONFLICT (case_id, queue_key) DO NOTHING");
        added += query.build().execute(&mut *conn).await?.rows_affected() as usize;
    }
    Ok(added)
}

/// Records a subject staff named (new, or a removed one made active again).
pub async fn name(
    conn: &mut SqliteConnection,
    subject: &NewSubject<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO case_subjects (case_id, queue_key, origin, recorded_by, recorded_at, note)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (case_id, queue_key) DO UPDATE SET origin = excluded.origin,
            recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at,
            note = excluded.note, removed_by = NULL, removed_at = NULL, removed_note = NULL
         WHERE case_subjects.removed_at IS NOT NULL",
    )
    .bind(subject.case_id)
    .bind(subject.queue)
    .bind(subject.origin)
    .bind(subject.by)
    .bind(subject.at)
    .bind(subject.note)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Marks a subject removed, recording it first when `origin_if_absent` says so.
pub async fn remove(
    conn: &mut SqliteConnection,
    removal: &SubjectRemoval<'_>,
) -> Result<bool, sqlx::Error> {
    if let Some(origin) = removal.origin_if_absent {
        sqlx::query(
            "INSERT INTO case_subjects (case_id, queue_key, origin, recorded_by, recorded_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id, queue_key) DO NOTHING",
        )
        .bind(removal.case_id)
        .bind(removal.queue)
        .bind(origin)
        .bind(removal.by)
        .bind(removal.at)
        .execute(&mut *conn)
        .await?;
    }
    let done = sqlx::query(
        "UPDATE case_subjects SET removed_by = ?, removed_at = ?, removed_note = ?
         WHERE case_id = ? AND queue_key = ? AND removed_at IS NULL",
    )
    .bind(removal.by)
    .bind(removal.at)
    .bind(removal.note)
    .bind(removal.case_id)
    .bind(removal.queue)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
