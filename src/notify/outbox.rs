//! The outbox: notifications written in the same transaction as the event that causes them
//! (an assignment, a reminder, an overdue notice), delivered later by [`super::delivery`].
//!
//! Contract: [`enqueue`] only ever runs inside the caller's transaction; nothing here sends.
//! Each recipient gets its own row with a Message-ID fixed at enqueue time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Row};

use super::Assignment;
use super::templates::Rendered;
use crate::config::Config;

/// One notification with its recipients' delivery status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    pub id: String,
    pub created_at: String,
    /// `assignment`, `informed`, `reminder`, `overdue`, `escalation`, `digest`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_key: Option<String>,
    pub subject: String,
    /// `pending`, `sent` or `failed` (some recipient could not be reached).
    pub state: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub recipients: Vec<RecipientStatus>,
}

/// Delivery status of one recipient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecipientStatus {
    pub address: String,
    pub message_id: String,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}

/// A notification to put in the outbox.
pub struct NewMail<'a> {
    pub now: DateTime<Utc>,
    pub kind: &'a str,
    pub case: Option<&'a Assignment>,
    pub mail: Rendered,
    pub recipients: &'a [String],
}

/// Puts `mail` for `recipients` in the outbox, inside `tx`. Returns the notification id, or
/// `None` when there is nobody to send to (duplicates and blanks are dropped).
pub async fn enqueue(
    tx: &mut SqliteConnection,
    cfg: &Config,
    now: DateTime<Utc>,
    kind: &str,
    case: Option<&Assignment>,
    mail: &Rendered,
    recipients: &[String],
) -> Result<Option<String>, sqlx::Error> {
    let mail = NewMail {
        now,
        kind,
        case,
        mail: mail.clone(),
        recipients,
    };
    Ok(enqueue_many(tx, cfg, std::slice::from_ref(&mail))
        .await?
        .pop()
        .flatten())
}

/// [`enqueue`] for many notifications, in two statements per few hundred (the pipeline
/// assigns hundreds of cases per batch). Returns each notification's id, in order.
pub async fn enqueue_many(
    tx: &mut SqliteConnection,
    cfg: &Config,
    mails: &[NewMail<'_>],
) -> Result<Vec<Option<String>>, sqlx::Error> {
    const ROWS_PER_STATEMENT: usize = 500;
    let mut ids = Vec::with_capacity(mails.len());
    let mut rows = Vec::new();
    let mut recipients = Vec::new();
    for m in mails {
        let mut addresses: Vec<&str> = m
            .recipients
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .collect();
        addresses.sort_unstable();
        addresses.dedup();
        if addresses.is_empty() {
            ids.push(None);
            continue;
        }
        let id = uuid::Uuid::now_v7().to_string();
        for (n, address) in addresses.iter().enumerate() {
            let message_id = format!("<{id}.{n}@{}>", cfg.email.message_id_domain);
            recipients.push((id.clone(), address.to_string(), message_id));
        }
        rows.push((id.clone(), m));
        ids.push(Some(id));
    }
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO outbox (id, created_at, kind, case_id, queue_key, subject, body, state,
                next_attempt_ms) ",
        );
        query.push_values(chunk, |mut row, (id, m)| {
            row.push_bind(id.clone())
                .push_bind(crate::store::format_utc(m.now))
                .push_bind(m.kind.to_string())
                .push_bind(m.case.map(|a| a.case_id.clone()))
                .push_bind(m.case.map(|a| a.queue_key.clone()))
                .push_bind(m.mail.subject.clone())
                .push_bind(m.mail.body.clone())
                .push_bind("pending")
                .push_bind(m.now.timestamp_millis());
        });
        query.build().execute(&mut *tx).await?;
    }
    for chunk in recipients.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO outbox_recipients (outbox_id, address, message_id) ",
        );
        query.push_values(chunk, |mut row, (id, address, message_id)| {
            row.push_bind(id.clone())
                .push_bind(address.clone())
                .push_bind(message_id.clone());
        });
        query.build().execute(&mut *tx).await?;
    }
    Ok(ids)
}

/// Which notifications to list.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub state: Option<String>,
    pub case_id: Option<String>,
    pub limit: u32,
}

/// Lists notifications, newest first.
pub async fn list(
    pool: &SqlitePool,
    filter: &OutboxFilter,
) -> Result<Vec<OutboxEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, created_at, kind, case_id, queue_key, subject, state, attempts, last_error \
         FROM outbox WHERE (? IS NULL OR state = ?) AND (? IS NULL OR case_id = ?) \
         ORDER BY created_at DESC, id DESC LIMIT ?",
    )
    .bind(&filter.state)
    .bind(&filter.state)
    .bind(&filter.case_id)
    .bind(&filter.case_id)
    .bind(i64::from(filter.limit.clamp(1, 1000)))
    .fetch_all(pool)
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.get("id");
        entries.push(OutboxEntry {
            recipients: recipients(pool, &id).await?,
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

/// The recipients of one notification.
pub async fn recipients(
    pool: &SqlitePool,
    outbox_id: &str,
) -> Result<Vec<RecipientStatus>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT address, message_id, state, attempts, last_error, sent_at \
         FROM outbox_recipients WHERE outbox_id = ? ORDER BY address",
    )
    .bind(outbox_id)
    .fetch_all(pool)
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

/// Counts of notifications per state.
pub async fn counts(pool: &SqlitePool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state")
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(|r| (r.get("state"), r.get("n"))).collect())
}
