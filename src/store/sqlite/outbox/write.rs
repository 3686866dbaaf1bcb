//! SQLite: the outbox and deadline operations inside a transaction. Batches are written in
//! multi-row statements of [`ROWS_PER_STATEMENT`] rows (the pipeline assigns hundreds of cases
//! per batch).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use sqlx::sqlite::Sqlite;
use sqlx::{QueryBuilder, Row};

use super::super::SqliteTx;
use super::{ROWS_PER_STATEMENT, json_list};
use crate::store::outbox::{
    AcceptOverdue, CaseDeadline, CaseMember, DeadlineHolder, DeliveryState, DueQuery,
    NewAuditEntry, NewDeadline, NewExtension, NewNotification, OpenDeadline, OutboxWrites,
    ProvisionalDeadline, StoredDeadline,
};
use crate::store::{StoreError, format_utc};

/// The columns [`open_deadline`] reads (a macro: SQL is built from literals only).
macro_rules! open_deadline_columns {
    () => {
        "case_id, due_at, reminded_at, overdue_notices, last_overdue_ms, escalated_at, assignment"
    };
}

#[async_trait]
impl OutboxWrites for SqliteTx {
    async fn enqueue_notifications(
        &mut self,
        notifications: &[NewNotification],
    ) -> Result<(), StoreError> {
        for chunk in notifications.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO outbox (id, created_at, kind, case_id, queue_key, subject, body, state,
                    next_attempt_ms) ",
            );
            query.push_values(chunk, |mut row, n| {
                row.push_bind(n.id.clone())
                    .push_bind(format_utc(n.created_at))
                    .push_bind(n.kind.clone())
                    .push_bind(n.case_id.clone())
                    .push_bind(n.queue_key.clone())
                    .push_bind(n.subject.clone())
                    .push_bind(n.body.clone())
                    .push_bind(DeliveryState::Pending.as_str())
                    .push_bind(n.created_at.timestamp_millis());
            });
            query.build().execute(self.conn()).await?;
        }
        let recipients: Vec<(&str, &str, &str)> = notifications
            .iter()
            .flat_map(|n| {
                n.recipients
                    .iter()
                    .map(|r| (n.id.as_str(), r.address.as_str(), r.message_id.as_str()))
            })
            .collect();
        for chunk in recipients.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO outbox_recipients (outbox_id, address, message_id) ",
            );
            query.push_values(chunk, |mut row, (id, address, message_id)| {
                row.push_bind(id.to_string())
                    .push_bind(address.to_string())
                    .push_bind(message_id.to_string());
            });
            query.build().execute(self.conn()).await?;
        }
        Ok(())
    }

    async fn assign_deadlines(&mut self, deadlines: &[NewDeadline]) -> Result<(), StoreError> {
        for chunk in deadlines.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO case_deadlines (case_id, complaint_id, queue_key, queue_name, priority,
                    assigned_at, due_at, due_ms, state, assignment, provisional_year) ",
            );
            query.push_values(chunk, |mut row, d| {
                row.push_bind(d.case_id.clone())
                    .push_bind(d.complaint_id.clone())
                    .push_bind(d.queue_key.clone())
                    .push_bind(d.queue_name.clone())
                    .push_bind(d.priority.clone())
                    .push_bind(d.assigned_at.to_rfc3339())
                    .push_bind(d.due_at.to_rfc3339())
                    .push_bind(d.due_at.timestamp_millis())
                    .push_bind("open")
                    .push_bind(d.assignment.clone())
                    .push_bind(d.provisional_year);
            });
            query.push(
                " ON CONFLICT (case_id) DO UPDATE SET complaint_id = excluded.complaint_id,
                    queue_key = excluded.queue_key, queue_name = excluded.queue_name,
                    priority = excluded.priority, assigned_at = excluded.assigned_at,
                    due_at = excluded.due_at, due_ms = excluded.due_ms, state = 'open',
                    reminded_at = NULL, overdue_notices = 0, last_overdue_ms = NULL,
                    escalated_at = NULL, answered_at = NULL, answered_by = NULL,
                    answer_summary = NULL, assignment = excluded.assignment,
                    provisional_year = excluded.provisional_year, accept_due_at = NULL,
                    accept_due_ms = NULL, accept_overdue_at = NULL",
            );
            query.build().execute(self.conn()).await?;
        }
        Ok(())
    }

    async fn append_deadline_audit(&mut self, entries: &[NewAuditEntry]) -> Result<(), StoreError> {
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO deadline_audit (case_id, at, actor, action, detail) ",
            );
            query.push_values(chunk, |mut row, e| {
                row.push_bind(e.case_id.clone())
                    .push_bind(format_utc(e.at))
                    .push_bind(e.actor.clone())
                    .push_bind(e.action.clone())
                    .push_bind(e.detail.to_string());
            });
            query.build().execute(self.conn()).await?;
        }
        Ok(())
    }

    async fn case_deadline(&mut self, case_id: &str) -> Result<Option<CaseDeadline>, StoreError> {
        super::case_deadline(self.conn(), case_id).await
    }

    async fn stored_deadline(
        &mut self,
        case_id: &str,
    ) -> Result<Option<StoredDeadline>, StoreError> {
        let row =
            sqlx::query("SELECT assignment, due_at, state FROM case_deadlines WHERE case_id = ?")
                .bind(case_id)
                .fetch_optional(self.conn())
                .await?;
        Ok(row.map(|row| StoredDeadline {
            assignment: row.get("assignment"),
            due_at: row.get("due_at"),
            state: row.get("state"),
        }))
    }

    async fn deadline_queues(
        &mut self,
        case_ids: &[&str],
    ) -> Result<HashMap<String, DeadlineHolder>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, queue_key, due_at FROM case_deadlines
             WHERE case_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_list(case_ids))
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let holder = DeadlineHolder {
                    queue_key: row.get("queue_key"),
                    due_at: row.get("due_at"),
                };
                (row.get("case_id"), holder)
            })
            .collect())
    }

    async fn extend_deadline(
        &mut self,
        case_id: &str,
        extension: &NewExtension,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deadline_extensions (case_id, requested_by, reason, old_due_at, \
             new_due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(case_id)
        .bind(&extension.requested_by)
        .bind(&extension.reason)
        .bind(extension.old_due_at.to_rfc3339())
        .bind(extension.new_due_at.to_rfc3339())
        .bind(format_utc(extension.created_at))
        .execute(self.conn())
        .await?;
        sqlx::query(
            "UPDATE case_deadlines SET due_at = ?, due_ms = ?, reminded_at = NULL, \
             last_overdue_ms = NULL, provisional_year = COALESCE(provisional_year, ?) \
             WHERE case_id = ?",
        )
        .bind(extension.new_due_at.to_rfc3339())
        .bind(extension.new_due_at.timestamp_millis())
        .bind(extension.provisional_year)
        .bind(case_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn answer_deadline(
        &mut self,
        case_id: &str,
        answered_at: DateTime<Utc>,
        answered_by: &str,
        summary: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE case_deadlines SET state = 'answered', answered_at = ?, answered_by = ?, \
             answer_summary = ? WHERE case_id = ?",
        )
        .bind(format_utc(answered_at))
        .bind(answered_by)
        .bind(summary)
        .bind(case_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn close_deadline(
        &mut self,
        case_id: &str,
        closed_at: DateTime<Utc>,
        closed_by: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE case_deadlines SET state = 'closed', answered_at = ?, answered_by = ?, \
             answer_summary = ? WHERE case_id = ? AND state = 'open'",
        )
        .bind(format_utc(closed_at))
        .bind(closed_by)
        .bind(why)
        .bind(case_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn provisional_deadlines(
        &mut self,
        through_year: i32,
    ) -> Result<Vec<ProvisionalDeadline>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.case_id, d.due_at, d.provisional_year, d.assignment,
                EXISTS (SELECT 1 FROM deadline_extensions e WHERE e.case_id = d.case_id)
                    AS extended
             FROM case_deadlines d
             WHERE d.state = 'open' AND d.provisional_year IS NOT NULL
                AND d.provisional_year <= ?
             ORDER BY d.case_id",
        )
        .bind(through_year)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| ProvisionalDeadline {
                case_id: row.get("case_id"),
                due_at: row.get("due_at"),
                provisional_year: row.get("provisional_year"),
                assignment: row.get("assignment"),
                extended: row.get("extended"),
            })
            .collect())
    }

    async fn clear_provisional(&mut self, case_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE case_deadlines SET provisional_year = NULL WHERE case_id = ?")
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn recount_deadline(
        &mut self,
        case_id: &str,
        due_at: DateTime<FixedOffset>,
        provisional_year: Option<i32>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE case_deadlines SET due_at = ?, due_ms = ?, provisional_year = ?,
                reminded_at = CASE WHEN ? > due_ms THEN NULL ELSE reminded_at END
             WHERE case_id = ?",
        )
        .bind(due_at.to_rfc3339())
        .bind(due_at.timestamp_millis())
        .bind(provisional_year)
        .bind(due_at.timestamp_millis())
        .bind(case_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn open_deadlines(&mut self) -> Result<Vec<OpenDeadline>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            open_deadline_columns!(),
            " FROM case_deadlines WHERE state = 'open' ORDER BY due_ms, case_id"
        ))
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(open_deadline).collect()
    }

    async fn deadlines_due(&mut self, due: DueQuery) -> Result<Vec<OpenDeadline>, StoreError> {
        let now = due.now.timestamp_millis();
        let rows = sqlx::query(concat!(
            "SELECT ",
            open_deadline_columns!(),
            " FROM case_deadlines \
             WHERE state = 'open' AND due_ms <= MAX(?1, ?2) \
               AND ((due_ms > ?1 AND reminded_at IS NULL) \
                 OR (due_ms <= ?1 AND (last_overdue_ms IS NULL OR last_overdue_ms <= ?3))) \
             ORDER BY due_ms, case_id"
        ))
        .bind(now)
        .bind(due.remind_horizon.timestamp_millis())
        .bind(due.repeat_before.timestamp_millis())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(open_deadline).collect()
    }

    async fn mark_reminded(&mut self, case_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE case_deadlines SET reminded_at = ? WHERE case_id = ?")
            .bind(format_utc(at))
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn record_overdue_notice(
        &mut self,
        case_id: &str,
        notice: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE case_deadlines SET overdue_notices = ?, last_overdue_ms = ? WHERE case_id = ?",
        )
        .bind(i64::from(notice))
        .bind(at.timestamp_millis())
        .bind(case_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn mark_escalated(&mut self, case_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE case_deadlines SET escalated_at = ? WHERE case_id = ?")
            .bind(format_utc(at))
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn set_accept_due(
        &mut self,
        dues: &[(String, DateTime<FixedOffset>)],
    ) -> Result<(), StoreError> {
        for (case_id, due) in dues {
            sqlx::query(
                "UPDATE case_deadlines SET accept_due_at = ?, accept_due_ms = ?,
                    accept_overdue_at = NULL
                 WHERE case_id = ? AND state = 'open'",
            )
            .bind(due.to_rfc3339())
            .bind(due.timestamp_millis())
            .bind(case_id)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    async fn accept_overdue(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Vec<AcceptOverdue>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.case_id, d.accept_due_at, d.assignment FROM case_deadlines d
             JOIN case_workflow w ON w.case_id = d.case_id
             WHERE d.state = 'open' AND d.accept_overdue_at IS NULL AND d.accept_due_ms <= ?
               AND w.state IN ('assigned', 'reopened')
             ORDER BY d.accept_due_ms, d.case_id",
        )
        .bind(now.timestamp_millis())
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| AcceptOverdue {
                case_id: row.get("case_id"),
                accept_due_at: row.get("accept_due_at"),
                assignment: row.get("assignment"),
            })
            .collect())
    }

    async fn mark_accept_overdue(
        &mut self,
        case_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE case_deadlines SET accept_overdue_at = ? WHERE case_id = ?")
            .bind(format_utc(at))
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn case_members(&mut self, case_ids: &[&str]) -> Result<Vec<CaseMember>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, complaint_id FROM complaint_facets
             WHERE case_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_list(case_ids))
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| CaseMember {
                case_id: row.get("case_id"),
                complaint_id: row.get("complaint_id"),
            })
            .collect())
    }

    async fn existing_complaints(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM complaints WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_list(complaint_ids))
        .fetch_all(self.conn())
        .await?)
    }
}

fn open_deadline(row: &sqlx::sqlite::SqliteRow) -> Result<OpenDeadline, StoreError> {
    let last_overdue_ms: Option<i64> = row.get("last_overdue_ms");
    let case_id: String = row.get("case_id");
    let last_overdue_at =
        match last_overdue_ms {
            None => None,
            Some(ms) => Some(DateTime::from_timestamp_millis(ms).ok_or_else(|| {
                StoreError::Corrupt(format!("case {case_id}: last_overdue_ms {ms}"))
            })?),
        };
    Ok(OpenDeadline {
        case_id,
        due_at: row.get("due_at"),
        reminded_at: row.get("reminded_at"),
        overdue_notices: row.get("overdue_notices"),
        last_overdue_at,
        escalated_at: row.get("escalated_at"),
        assignment: row.get("assignment"),
    })
}
