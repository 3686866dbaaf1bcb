//! SQLite: the audit record ([`crate::store::audit`]). Appends happen under the write lock
//! (the intake writer's transaction or a decision's `BEGIN IMMEDIATE`), so the next `seq` and
//! the previous hash are read and the entry written by one writer at a time, across processes.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::audit::{
    AuditFilter, AuditReads, AuditRecord, AuditWrites, GENESIS_HASH, NewAuditEvent, entry_hash,
};

const COLUMNS: &str = "seq, at, actor, action, case_id, complaint_ids, detail, prev_hash, hash";

fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).expect("strings serialise")
}

fn record_from_row(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    let ids: String = row.get("complaint_ids");
    let complaint_ids = serde_json::from_str(&ids)
        .map_err(|e| StoreError::Corrupt(format!("audit complaint_ids: {e}")))?;
    Ok(AuditRecord {
        seq: row.get("seq"),
        event: NewAuditEvent {
            at: row.get("at"),
            actor: row.get("actor"),
            action: row.get("action"),
            case_id: row.get("case_id"),
            complaint_ids,
            detail: row.get("detail"),
        },
        prev_hash: row.get("prev_hash"),
        hash: row.get("hash"),
    })
}

const INSERT: &str = "INSERT INTO audit (seq, at, actor, action, case_id, complaint_ids, detail, \
     prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const LAST: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";

/// Appends on the intake writer's connection, inside its transaction.
pub(super) fn append_on_writer(
    conn: &rusqlite::Connection,
    events: &[NewAuditEvent],
) -> Result<(), rusqlite::Error> {
    if events.is_empty() {
        return Ok(());
    }
    use rusqlite::OptionalExtension;
    let last: Option<(i64, String)> = conn
        .prepare_cached(LAST)?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS_HASH.to_string()));
    let mut insert = conn.prepare_cached(INSERT)?;
    for event in events {
        seq += 1;
        let hash = entry_hash(&prev, seq, event);
        insert.execute(rusqlite::params![
            seq,
            event.at,
            event.actor,
            event.action,
            event.case_id,
            ids_json(&event.complaint_ids),
            event.detail,
            prev,
            hash
        ])?;
        prev = hash;
    }
    Ok(())
}

async fn append_in(
    conn: &mut SqliteConnection,
    events: &[NewAuditEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let last: Option<(i64, String)> = sqlx::query_as(LAST).fetch_optional(&mut *conn).await?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS_HASH.to_string()));
    for event in events {
        seq += 1;
        let hash = entry_hash(&prev, seq, event);
        sqlx::query(INSERT)
            .bind(seq)
            .bind(&event.at)
            .bind(&event.actor)
            .bind(&event.action)
            .bind(&event.case_id)
            .bind(ids_json(&event.complaint_ids))
            .bind(&event.detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        prev = hash;
    }
    Ok(())
}

#[async_trait]
impl AuditWrites for SqliteTx {
    async fn append_audit(&mut self, events: &[NewAuditEvent]) -> Result<(), StoreError> {
        append_in(self.conn(), events).await
    }
}

#[async_trait]
impl AuditReads for SqliteStore {
    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit WHERE seq > ?");
        let conditions = [
            (" AND actor = ?", &filter.actor),
            (" AND action = ?", &filter.action),
            (" AND case_id = ?", &filter.case_id),
            (
                " AND EXISTS (SELECT 1 FROM json_each(audit.complaint_ids) WHERE value = ?)",
                &filter.complaint_id,
            ),
            (" AND at >= ?", &filter.since),
            (" AND at <= ?", &filter.until),
        ];
        let mut binds: Vec<&str> = Vec::new();
        for (condition, value) in conditions {
            if let Some(value) = value {
                sql.push_str(condition);
                binds.push(value);
            }
        }
        sql.push_str(" ORDER BY seq LIMIT ?");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(filter.after_seq);
        for value in binds {
            query = query.bind(value);
        }
        let rows = query
            .bind(filter.limit.max(1))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from_row).collect()
    }

    async fn audit_chain(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_seq)
            .bind(limit.max(1))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from_row).collect()
    }
}
