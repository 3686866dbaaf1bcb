//! The outbox: notifications written in the same transaction as the event that causes them
//! (an assignment, a reminder, an overdue notice), delivered later by [`super::delivery`].
//!
//! Contract: [`enqueue`] only ever runs inside the caller's transaction; nothing here sends.
//! Each recipient gets its own row with a Message-ID fixed at enqueue time.

use chrono::{DateTime, Utc};

use super::Assignment;
use super::templates::Rendered;
use crate::config::Config;
use crate::store::outbox::{NewNotification, NewRecipient};
use crate::store::{DerivedTx, StoreError};

pub use crate::store::outbox::{OutboxEntry, OutboxFilter, RecipientStatus};

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
    tx: &mut dyn DerivedTx,
    cfg: &Config,
    now: DateTime<Utc>,
    kind: &str,
    case: Option<&Assignment>,
    mail: &Rendered,
    recipients: &[String],
) -> Result<Option<String>, StoreError> {
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

/// [`enqueue`] for many notifications, written together (the pipeline assigns hundreds of
/// cases per batch). Returns each notification's id, in order.
pub async fn enqueue_many(
    tx: &mut dyn DerivedTx,
    cfg: &Config,
    mails: &[NewMail<'_>],
) -> Result<Vec<Option<String>>, StoreError> {
    let mut ids = Vec::with_capacity(mails.len());
    let mut notifications = Vec::new();
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
        let recipients = addresses
            .iter()
            .enumerate()
            .map(|(n, address)| NewRecipient {
                address: address.to_string(),
                message_id: format!("<{id}.{n}@{}>", cfg.email.message_id_domain),
            })
            .collect();
        notifications.push(NewNotification {
            id: id.clone(),
            created_at: m.now,
            kind: m.kind.to_string(),
            case_id: m.case.map(|a| a.case_id.clone()),
            queue_key: m.case.map(|a| a.queue_key.clone()),
            subject: m.mail.subject.clone(),
            body: m.mail.body.clone(),
            recipients,
        });
        ids.push(Some(id));
    }
    tx.enqueue_notifications(&notifications).await?;
    Ok(ids)
}
