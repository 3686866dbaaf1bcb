//! SQLite: the outbox and deadline operations on the store. Reads run on the reader pool; the
//! delivery worker's changes are single autocommitted statements there (`synchronous=FULL`:
//! durable when they return).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::super::SqliteStore;
use super::super::routes::{in_reach, reach_param};
use crate::store::StoreError;
use crate::store::outbox::{
    AuditEntry, CaseDeadline, ClaimedNotification, DeliveryState, Extension, OutboxEntry,
    OutboxFilter, OutboxReads, PendingRecipient, RecipientStatus, Settlement,
};

#[async_trait]
impl OutboxReads for SqliteStore {
    async fn notifications(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEntry>, StoreError> {
        let sql = format!(
            "SELECT id, created_at, kind, case_id, queue_key, subject, state, attempts, last_error \
             FROM outbox WHERE (? IS NULL OR state = ?) AND (? IS NULL OR case_id = ?) \
             AND {} \
             ORDER BY created_at DESC, id DESC LIMIT ?",
            in_reach("outbox.case_id")
        );
        let queues = reach_param(filter.queues.as_deref());
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.state)
            .bind(&filter.state)
            .bind(&filter.case_id)
            .bind(&filter.case_id)
            .bind(queues.as_deref())
            .bind(queues.as_deref())
            .bind(i64::from(filter.limit.clamp(1, 1000)))
            .fetch_all(&self.pool)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.get("id");
            entries.push(OutboxEntry {
                recipients: self.notification_recipients(&id).await?,
                id,
                created_at: row.get("created_at"),
                kind: row.get("kind"),
                case_id: row.get("case_id"),
                queue_key: row.get("queue_key"),
                subject: row.get("subject"),
                state: row.get("state"),
                attempts: row.get("attempts"),
                last_error: row.get("last_error"),
            });
        }
        Ok(entries)
    }

    async fn notification_recipients(
        &self,
        outbox_id: &str,
    ) -> Result<Vec<RecipientStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT address, message_id, state, attempts, last_error, sent_at \
             FROM outbox_recipients WHERE outbox_id = ? ORDER BY address",
        )
        .bind(outbox_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| RecipientStatus {
                address: r.get("address"),
                message_id: r.get("message_id"),
                state: r.get("state"),
                attempts: r.get("attempts"),
                last_error: r.get("last_error"),
                sent_at: r.get("sent_at"),
            })
            .collect())
    }

    async fn notification_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get("state"), r.get("n"))).collect())
    }

    async fn claim_notifications(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let now_ms = now.timestamp_millis();
        let rows = sqlx::query(
            "UPDATE outbox SET lease_owner = ?, lease_until_ms = ? WHERE id IN (\
               SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ? \
               AND (lease_until_ms IS NULL OR lease_until_ms <= ?) \
               ORDER BY next_attempt_ms, id LIMIT ?) \
             RETURNING id, subject, body, attempts",
        )
        .bind(owner)
        .bind(lease_until.timestamp_millis())
        .bind(now_ms)
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| ClaimedNotification {
                id: r.get("id"),
                subject: r.get("subject"),
                body: r.get("body"),
                attempts: r.get("attempts"),
            })
            .collect())
    }

    async fn pending_recipients(
        &self,
        outbox_id: &str,
    ) -> Result<Vec<PendingRecipient>, StoreError> {
        let rows = sqlx::query(
            "SELECT address, message_id, attempts FROM outbox_recipients \
             WHERE outbox_id = ? AND state = 'pending' ORDER BY address",
        )
        .bind(outbox_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PendingRecipient {
                address: r.get("address"),
                message_id: r.get("message_id"),
                attempts: r.get("attempts"),
            })
            .collect())
    }

    async fn renew_lease(
        &self,
        outbox_id: &str,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE outbox SET lease_until_ms = ? \
             WHERE id = ? AND lease_owner = ? AND state = 'pending'",
        )
        .bind(lease_until.timestamp_millis())
        .bind(outbox_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() > 0)
    }

    async fn record_sent(
        &self,
        outbox_id: &str,
        address: &str,
        attempts: i64,
        sent_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox_recipients SET state = 'sent', attempts = ?, sent_at = ?, \
             last_error = NULL WHERE outbox_id = ? AND address = ?",
        )
        .bind(attempts)
        .bind(crate::store::format_utc(sent_at))
        .bind(outbox_id)
        .bind(address)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        outbox_id: &str,
        address: &str,
        attempts: i64,
        error: &str,
        give_up: bool,
    ) -> Result<(), StoreError> {
        let state = if give_up {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        };
        sqlx::query(
            "UPDATE outbox_recipients SET state = ?, attempts = ?, last_error = ? \
             WHERE outbox_id = ? AND address = ?",
        )
        .bind(state.as_str())
        .bind(attempts)
        .bind(error)
        .bind(outbox_id)
        .bind(address)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn recipient_states(&self, outbox_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT state FROM outbox_recipients WHERE outbox_id = ?")
                .bind(outbox_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn settle_notification(
        &self,
        outbox_id: &str,
        settlement: &Settlement,
    ) -> Result<(), StoreError> {
        let state = settlement.state.as_str();
        sqlx::query(
            "UPDATE outbox SET state = ?, attempts = ?, next_attempt_ms = ?, lease_owner = NULL, \
             lease_until_ms = NULL, last_error = COALESCE(?, last_error), \
             finished_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END WHERE id = ?",
        )
        .bind(state)
        .bind(settlement.attempts)
        .bind(settlement.next_attempt_at.timestamp_millis())
        .bind(&settlement.last_error)
        .bind(state)
        .bind(crate::store::format_utc(settlement.now))
        .bind(outbox_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn case_deadline(&self, case_id: &str) -> Result<Option<CaseDeadline>, StoreError> {
        super::case_deadline(&self.pool, case_id).await
    }

    async fn deadline_extensions(&self, case_id: &str) -> Result<Vec<Extension>, StoreError> {
        let rows = sqlx::query(
            "SELECT requested_by, reason, old_due_at, new_due_at, created_at \
             FROM deadline_extensions WHERE case_id = ? ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Extension {
                requested_by: r.get("requested_by"),
                reason: r.get("reason"),
                old_due_at: r.get("old_due_at"),
                new_due_at: r.get("new_due_at"),
                created_at: r.get("created_at"),
            })
            .collect())
    }

    async fn deadline_audit(&self, case_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, action, detail FROM deadline_audit WHERE case_id = ? ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                at: r.get("at"),
                actor: r.get("actor"),
                action: r.get("action"),
                detail: serde_json::from_str(r.get::<&str, _>("detail")).unwrap_or_default(),
            })
            .collect())
    }
}
