//! SQLite: 回访 follow-ups ([`crate::store::follow_ups`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::follow_ups::{FollowUp, FollowUpReads, FollowUpWrites, NewFollowUp};

fn follow_up(row: &SqliteRow) -> FollowUp {
    FollowUp {
        id: row.get("id"),
        follow_up: NewFollowUp {
            case_id: row.get("case_id"),
            answer_id: row.get("answer_id"),
            queue_key: row.get("queue_key"),
            reached: row.get::<i64, _>("reached") != 0,
            contact: row.get("contact"),
            note: row.get("note"),
            solved: row.get::<Option<i64>, _>("solved").map(|s| s != 0),
            verdict: row.get("verdict"),
            recorded_by: row.get("recorded_by"),
            recorded_at: row.get("recorded_at"),
            reopened: row.get::<i64, _>("reopened") != 0,
        },
    }
}

#[async_trait]
impl FollowUpReads for SqliteStore {
    async fn case_follow_ups(&self, case_id: &str) -> Result<Vec<FollowUp>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, answer_id, queue_key, reached, contact, note, solved, verdict,
                    recorded_by, recorded_at, reopened
             FROM case_follow_ups WHERE case_id = ? ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(follow_up).collect())
    }
}

#[async_trait]
impl FollowUpWrites for SqliteTx {
    async fn record_follow_up(&mut self, f: &NewFollowUp) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO case_follow_ups (case_id, answer_id, queue_key, reached, contact, note,
                 solved, verdict, recorded_by, recorded_at, reopened)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.case_id)
        .bind(f.answer_id)
        .bind(&f.queue_key)
        .bind(f.reached as i64)
        .bind(&f.contact)
        .bind(&f.note)
        .bind(f.solved.map(|s| s as i64))
        .bind(&f.verdict)
        .bind(&f.recorded_by)
        .bind(&f.recorded_at)
        .bind(f.reopened as i64)
        .execute(self.conn())
        .await?;
        Ok(done.last_insert_rowid())
    }
}
