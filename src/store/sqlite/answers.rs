//! SQLite: answer outcomes ([`crate::store::answers`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, SqliteTx};
use crate::store::answers::{AnswerOutcome, AnswerReads, AnswerWrites, Attempt, OutcomeFilter};
use crate::store::{StoreError, format_utc};

const COLUMNS: &str = "id, case_id, complaint_id, answer_id, source, channel, external_id, \
     queue_key, state, attempts, next_attempt_at, last_error, done_at, done_by, method, note, \
     created_at";

fn outcome(row: &SqliteRow) -> AnswerOutcome {
    AnswerOutcome {
        id: row.get("id"),
        case_id: row.get("case_id"),
        complaint_id: row.get("complaint_id"),
        answer_id: row.get("answer_id"),
        source: row.get("source"),
        channel: row.get("channel"),
        external_id: row.get("external_id"),
        queue_key: row.get("queue_key"),
        state: row.get("state"),
        attempts: row.get("attempts"),
        next_attempt_at: row.get("next_attempt_at"),
        last_error: row.get("last_error"),
        done_at: row.get("done_at"),
        done_by: row.get("done_by"),
        method: row.get("method"),
        note: row.get("note"),
        created_at: row.get("created_at"),
    }
}

fn names(list: &[String]) -> String {
    serde_json::to_string(list).expect("strings serialise")
}

#[async_trait]
impl AnswerReads for SqliteStore {
    async fn answer_outcomes(
        &self,
        filter: &OutcomeFilter<'_>,
    ) -> Result<Vec<AnswerOutcome>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM answer_outcomes
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR case_id = ?2)
               AND (?3 IS NULL OR source IN (SELECT value FROM json_each(?3)))
               AND source NOT IN (SELECT value FROM json_each(?4))
               AND (?5 IS NULL OR id < ?5)
               AND (?7 IS NULL OR substr(source, 1, length(?7)) <> ?7)
             ORDER BY id DESC LIMIT ?6"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.state)
            .bind(filter.case_id)
            .bind(filter.sources.map(names))
            .bind(names(filter.exclude_sources))
            .bind(filter.before_id)
            .bind(filter.limit)
            .bind(filter.exclude_source_prefix)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(outcome).collect())
    }

    async fn answer_outcome(&self, id: i64) -> Result<Option<AnswerOutcome>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM answer_outcomes WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(outcome))
    }

    async fn due_callbacks(
        &self,
        sources: &[String],
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AnswerOutcome>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM answer_outcomes
             WHERE state = 'pending' AND source IN (SELECT value FROM json_each(?))
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
             ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(names(sources))
            .bind(format_utc(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(outcome).collect())
    }

    async fn record_callback_attempt(
        &self,
        id: i64,
        attempt: Attempt<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = format_utc(now);
        let done = match attempt {
            Attempt::Delivered => {
                sqlx::query(
                    "UPDATE answer_outcomes SET state = 'delivered', attempts = attempts + 1,
                         done_at = ?, last_error = NULL, next_attempt_at = NULL
                     WHERE id = ? AND state = 'pending'",
                )
                .bind(&at)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
            Attempt::Failed { error, retry_at } => {
                let state = if retry_at.is_some() {
                    "pending"
                } else {
                    "failed"
                };
                sqlx::query(
                    "UPDATE answer_outcomes SET state = ?, attempts = attempts + 1,
                         last_error = ?, next_attempt_at = ?,
                         done_at = CASE WHEN ? = 'failed' THEN ? END
                     WHERE id = ? AND state = 'pending'",
                )
                .bind(state)
                .bind(error)
                .bind(retry_at.map(format_utc))
                .bind(state)
                .bind(&at)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    async fn retry_callback(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE answer_outcomes SET state = 'pending', attempts = 0, next_attempt_at = NULL,
                 done_at = NULL
             WHERE id = ? AND state = 'failed'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl AnswerWrites for SqliteTx {
    async fn queue_answer_outcomes(
        &mut self,
        case_id: &str,
        answer_id: i64,
        queue_key: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO answer_outcomes
                 (case_id, complaint_id, answer_id, source, channel, external_id, queue_key,
                  created_at)
             SELECT m.case_id, c.id, ?, c.source, c.channel, c.external_id, ?, ?
             FROM case_members m JOIN complaints c ON c.id = m.complaint_id
             WHERE m.case_id = ? AND c.historical = 0
             ORDER BY m.seq",
        )
        .bind(answer_id)
        .bind(queue_key)
        .bind(format_utc(at))
        .bind(case_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() as usize)
    }

    async fn mark_reply_sent(
        &mut self,
        id: i64,
        by: &str,
        method: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE answer_outcomes SET state = 'sent', done_by = ?, method = ?, note = ?,
                 done_at = ?
             WHERE id = ? AND state = 'pending'",
        )
        .bind(by)
        .bind(method)
        .bind(note)
        .bind(format_utc(at))
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
