//! What the outbox and deadline operations take and return.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

/// One notification with its recipients' delivery status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    pub id: String,
    pub created_at: String,
    /// `assignment`, `informed`, `reminder`, `accept_overdue`, `overdue`, `escalation`, `digest`.
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

/// Which notifications to list.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    /// Only notifications in this state (`pending`, `sent`, `failed`).
    pub state: Option<String>,
    /// Only notifications of this case.
    pub case_id: Option<String>,
    /// Page size; clamped to 1..=1000.
    pub limit: u32,
    /// Only notifications of cases routed to one of these queues or informed to one of them
    /// (an investigator's reach; notifications of no case are left out); `None` = all.
    pub queues: Option<Vec<String>>,
}

/// A notification to put in the outbox, as the notify module prepared it (ids, Message-IDs,
/// rendered text); it is due at once.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// `assignment`, `informed`, `reminder`, `accept_overdue`, `overdue`, `escalation`, `digest`.
    pub kind: String,
    pub case_id: Option<String>,
    pub queue_key: Option<String>,
    pub subject: String,
    pub body: String,
    /// At least one; each address once.
    pub recipients: Vec<NewRecipient>,
}

/// One recipient of a [`NewNotification`].
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub address: String,
    /// Fixed now, so that a resend after a crash carries the same one.
    pub message_id: String,
}

/// A notification a delivery worker claimed (see
/// [`OutboxReads::claim_notifications`](super::OutboxReads::claim_notifications)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedNotification {
    pub id: String,
    pub subject: String,
    pub body: String,
    /// Delivery passes over this notification so far.
    pub attempts: i64,
}

/// A recipient not yet sent its copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecipient {
    pub address: String,
    pub message_id: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// The delivery state of a notification or of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Sent,
    Failed,
}

impl DeliveryState {
    /// The stored name: `pending`, `sent`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

/// How a delivery pass over one notification ended (see
/// [`OutboxReads::settle_notification`](super::OutboxReads::settle_notification)).
#[derive(Debug, Clone)]
pub struct Settlement {
    /// `Pending` while some recipient is still to be tried.
    pub state: DeliveryState,
    /// Delivery passes so far, this one included.
    pub attempts: i64,
    /// When a pending notification is due again.
    pub next_attempt_at: DateTime<Utc>,
    /// The pass's last error; `None` keeps the one recorded before.
    pub last_error: Option<String>,
    /// The time of the pass: recorded as the finish time unless still pending.
    pub now: DateTime<Utc>,
}

/// The deadline of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CaseDeadline {
    pub case_id: String,
    pub queue_key: String,
    pub queue_name: String,
    pub priority: String,
    /// RFC 3339, in the working day's offset.
    pub assigned_at: String,
    /// RFC 3339, in the working day's offset.
    pub due_at: String,
    /// `open`, `answered`, or `closed` (stopped without an answer: returned, closed as a
    /// duplicate, merged; `answered_by` and the trail say who and why).
    pub state: String,
    /// Overdue notices sent so far.
    pub overdue_notices: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// Set when the deadline runs into a year without a calendar file: counted on weekdays
    /// alone from that year on, and counted again once the file is added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisional_year: Option<i64>,
    /// Accept by (签收时限), RFC 3339 in the working day's offset: the second clock of the
    /// assignment (none on deadlines older than it; the triage queue's cases have one but are
    /// never accepted, so it sends nothing for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_due_at: Option<String>,
    /// When the notice that the unit had not accepted in time was queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_overdue_at: Option<String>,
}

/// One recorded extension.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Extension {
    pub requested_by: String,
    pub reason: String,
    pub old_due_at: String,
    pub new_due_at: String,
    pub created_at: String,
}

/// One audit row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The deadline of an assigned case, to record (replacing an earlier one of the case).
#[derive(Debug, Clone)]
pub struct NewDeadline {
    pub case_id: String,
    /// The complaint that caused the assignment.
    pub complaint_id: String,
    pub queue_key: String,
    pub queue_name: String,
    pub priority: String,
    /// In the working day's offset.
    pub assigned_at: DateTime<FixedOffset>,
    pub due_at: DateTime<FixedOffset>,
    /// The first year without a calendar file the count went through.
    pub provisional_year: Option<i32>,
    /// The assignment as the notify module serialised it (JSON; opaque to the store).
    pub assignment: String,
}

/// An audit row to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// `None` for entries about no single case (a queue's digest).
    pub case_id: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
}

/// An extension to record.
#[derive(Debug, Clone)]
pub struct NewExtension {
    pub requested_by: String,
    pub reason: String,
    pub old_due_at: DateTime<FixedOffset>,
    pub new_due_at: DateTime<FixedOffset>,
    pub created_at: DateTime<Utc>,
    /// The first year without a calendar file the new count went through.
    pub provisional_year: Option<i32>,
}

/// What a decision on a deadline needs of it: the stored assignment, deadline and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeadline {
    /// As given in [`NewDeadline::assignment`].
    pub assignment: String,
    /// RFC 3339.
    pub due_at: String,
    /// `open` or `answered`.
    pub state: String,
}

/// A case its unit has not accepted by the accept-by time, as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptOverdue {
    pub case_id: String,
    /// RFC 3339.
    pub accept_due_at: String,
    /// As given in [`NewDeadline::assignment`].
    pub assignment: String,
}

/// An open deadline, as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDeadline {
    pub case_id: String,
    /// RFC 3339.
    pub due_at: String,
    pub reminded_at: Option<String>,
    pub overdue_notices: i64,
    /// When the last overdue notice was queued (millisecond precision).
    pub last_overdue_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<String>,
    /// As given in [`NewDeadline::assignment`].
    pub assignment: String,
}

/// An open deadline counted provisionally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionalDeadline {
    pub case_id: String,
    /// RFC 3339.
    pub due_at: String,
    pub provisional_year: i64,
    /// As given in [`NewDeadline::assignment`].
    pub assignment: String,
    /// Staff extended it at least once.
    pub extended: bool,
}

/// A complaint whose `case_id` facet names a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMember {
    pub case_id: String,
    pub complaint_id: String,
}
