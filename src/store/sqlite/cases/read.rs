//! SQLite: the case reads, on the reader pool.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;

use super::super::SqliteStore;
use super::super::routes::{in_reach, reach_param};
use super::{
    DECISION_COLUMNS, SUMMARY_BY_DEADLINE, SUMMARY_BY_STATE, SUMMARY_SELECT, by_state, decision,
    summary,
};
use crate::store::cases::{
    CaseFilter, CaseReads, CaseSort, CaseSummary, GroupingState, MemberRecord, StoredDecision,
    WindowMember,
};
use crate::store::{SNIPPET_SOURCE_CHARS, StoreError, text_norm_from_stored};

#[async_trait]
impl CaseReads for SqliteStore {
    async fn list_cases(&self, filter: CaseFilter<'_>) -> Result<Vec<CaseSummary>, StoreError> {
        let state_first = filter.sort == CaseSort::Recent && by_state(filter.state);
        let (from, order) = match filter.sort {
            CaseSort::Recent if state_first => (SUMMARY_BY_STATE, "c.last_seen_ms DESC, c.id"),
            CaseSort::Recent => (SUMMARY_SELECT, "c.last_seen_ms DESC, c.id"),
            CaseSort::Deadline => (SUMMARY_BY_DEADLINE, "d.due_ms, c.id"),
        };
        // (The state-driven select has its WHERE already: the conditions follow with AND.)
        let (from, first) = if state_first {
            (from, "AND")
        } else {
            (from, "WHERE")
        };
        // A queue's listing by deadline walks that queue's deadlines in order.
        let deadline_queue = match filter.sort {
            CaseSort::Deadline => filter.queue,
            CaseSort::Recent => None,
        };
        let sql = format!(
            "{from} {first} c.complaints >= ?
                 AND (? IS NULL OR COALESCE(s.status, 'open') = ?)
                 AND (? IS NULL OR w.state = ?)
                 AND (? IS NULL OR COALESCE(w.queue_key, rt.queue) = ?)
                 AND (? IS NULL OR d.queue_key = ?)
                 AND (? IS NULL OR COALESCE(d.priority, rt.priority) = ?)
                 AND (? IS NULL OR COALESCE(d.state = 'open' AND d.due_ms < ?, 0) = ?)
                 AND (? IS NULL OR (d.state = 'open' AND d.due_ms < ?))
                 AND (? IS NULL OR EXISTS (SELECT 1 FROM case_subjects cs
                      WHERE cs.case_id = c.id AND cs.queue_key = ? AND cs.removed_at IS NULL))
                 AND (? IS NULL OR EXISTS (SELECT 1 FROM case_members m
                      JOIN complaints rc ON rc.id = m.complaint_id
                      WHERE m.case_id = c.id AND rc.received_at >= COALESCE(?, '')
                        AND (? IS NULL OR rc.received_at < ?)))
                 AND {reach}
             ORDER BY {order} LIMIT ? OFFSET ?",
            reach = in_reach("c.id")
        );
        let queues = reach_param(filter.queues);
        let now_ms = chrono::Utc::now().timestamp_millis();
        let received_from = filter.received_from.map(crate::store::format_utc);
        let received_to = filter.received_to.map(crate::store::format_utc);
        let received = (received_from.is_some() || received_to.is_some()).then_some(1);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if state_first {
            query = query.bind(filter.state);
        }
        let rows = query
            .bind(filter.min_complaints)
            .bind(filter.status)
            .bind(filter.status)
            .bind(filter.state)
            .bind(filter.state)
            .bind(filter.queue)
            .bind(filter.queue)
            .bind(deadline_queue)
            .bind(deadline_queue)
            .bind(filter.priority)
            .bind(filter.priority)
            .bind(filter.overdue)
            .bind(now_ms)
            .bind(filter.overdue)
            .bind(filter.due_before_ms)
            .bind(filter.due_before_ms)
            .bind(filter.subject)
            .bind(filter.subject)
            .bind(received)
            .bind(received_from.as_deref())
            .bind(received_to.as_deref())
            .bind(received_to.as_deref())
            .bind(queues.as_deref())
            .bind(queues.as_deref())
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(summary).collect())
    }

    async fn case_summary(&self, case_id: &str) -> Result<Option<CaseSummary>, StoreError> {
        let sql = format!("{SUMMARY_SELECT} WHERE c.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(summary))
    }

    async fn case_members(&self, case_id: &str) -> Result<Vec<MemberRecord>, StoreError> {
        self.case_members_page(case_id, 0, -1).await
    }

    async fn case_members_page(
        &self,
        case_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        // `LIMIT -1`: every member (SQLite's "no limit").
        let rows = sqlx::query(
            "SELECT m.complaint_id, m.reason, c.channel, c.source, c.submitted_at, c.title,
                 c.text_norm, substr(c.body, 1, ?) AS body_start
             FROM case_members m JOIN complaints c ON c.id = m.complaint_id
             WHERE m.case_id = ? ORDER BY m.seq LIMIT ? OFFSET ?",
        )
        .bind(SNIPPET_SOURCE_CHARS)
        .bind(case_id)
        .bind(limit)
        .bind(offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let title: Option<String> = row.get("title");
                MemberRecord {
                    complaint_id: row.get("complaint_id"),
                    channel: row.get("channel"),
                    source: row.get("source"),
                    submitted_at: row.get("submitted_at"),
                    text_start: text_norm_from_stored(
                        row.get("text_norm"),
                        title.as_deref(),
                        row.get("body_start"),
                    ),
                    title,
                    reason_json: row.get("reason"),
                }
            })
            .collect())
    }

    async fn decisions(&self) -> Result<Vec<StoredDecision>, StoreError> {
        let sql = format!("{DECISION_COLUMNS} ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(decision).collect())
    }

    async fn members_between(
        &self,
        since_ms: i64,
        until_ms: i64,
        queues: Option<&[String]>,
    ) -> Result<Vec<WindowMember>, StoreError> {
        let sql = format!(
            "SELECT m.case_id, m.submitted_ms, m.complainant, m.public_support, m.media_exposed
             FROM case_members m INDEXED BY case_members_submitted
             WHERE m.submitted_ms >= ? AND m.submitted_ms <= ? AND {}
             ORDER BY m.case_id, m.seq",
            in_reach("m.case_id")
        );
        let queues = reach_param(queues);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(until_ms)
            .bind(queues.as_deref())
            .bind(queues.as_deref())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| WindowMember {
                case_id: row.get("case_id"),
                submitted_ms: row.get("submitted_ms"),
                complainant: row.get("complainant"),
                public_support: row.get("public_support"),
                media_exposed: row.get::<i64, _>("media_exposed") != 0,
            })
            .collect())
    }

    async fn cases_by_external_id(
        &self,
        source: &str,
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.external_id, m.case_id FROM complaints c
             JOIN case_members m ON m.complaint_id = c.id WHERE c.source = ?",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get("external_id"), row.get("case_id")))
            .collect())
    }

    /// On a deferred transaction of the derived-data connection: its first read takes a
    /// snapshot, and no write lock is taken (rebuilding a window takes seconds).
    async fn grouping_state(
        &self,
        window_ms: i64,
        max_window: usize,
    ) -> Result<GroupingState, StoreError> {
        let mut tx = self.derived_pool.begin().await?;
        let state = super::grouping_state(&mut tx, window_ms, max_window).await?;
        tx.commit().await?;
        Ok(state)
    }
}
