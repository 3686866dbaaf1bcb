//! The store's operations on the outbox and deadlines: notifications to send, their delivery
//! state per recipient, case deadlines with their extensions and audit trail, and what the
//! scheduler recorded (reminders, overdue notices, escalations).
//!
//! Notifications and deadlines are written inside the transaction of the event that causes
//! them ([`OutboxWrites`], on a [`super::DerivedTx`]); the delivery worker's state changes are
//! each committed at once, durably, on the store ([`OutboxReads`]), so that a recipient the
//! server accepted is recorded as sent whatever else runs.

mod records;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};

pub use records::{
    AcceptOverdue, AuditEntry, CaseDeadline, CaseMember, ClaimedNotification, DeliveryState,
    Extension, NewAuditEntry, NewDeadline, NewExtension, NewNotification, NewRecipient,
    OpenDeadline, OutboxEntry, OutboxFilter, PendingRecipient, ProvisionalDeadline,
    RecipientStatus, Settlement, StoredDeadline,
};

use super::StoreError;

/// Which queue holds a case's deadline, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineHolder {
    pub queue_key: String,
    /// RFC 3339, as stored.
    pub due_at: String,
}

/// What [`OutboxWrites::deadlines_due`] selects, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueQuery {
    pub now: DateTime<Utc>,
    /// Deadlines due before this instant may need their reminder (`now` plus the longest lead).
    pub remind_horizon: DateTime<Utc>,
    /// An overdue deadline whose last notice is later than this is not due for another.
    pub repeat_before: DateTime<Utc>,
}

/// On the store: reads of the outbox and of deadlines, and the delivery worker's state
/// changes (each committed on its own, durably).
#[async_trait]
pub trait OutboxReads: Send + Sync {
    /// Notifications matching `filter`, newest first (by creation time, then id), each with
    /// its recipients.
    async fn notifications(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEntry>, StoreError>;

    /// The recipients of one notification, by address.
    async fn notification_recipients(
        &self,
        outbox_id: &str,
    ) -> Result<Vec<RecipientStatus>, StoreError>;

    /// How many notifications are in each state, by state name.
    async fn notification_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Claims for `owner`, until `lease_until`, up to `limit` pending notifications due at
    /// `now` whose lease (if any) has run out, the longest due first (then by id). A claimed
    /// notification is nobody else's until its lease runs out.
    async fn claim_notifications(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedNotification>, StoreError>;

    /// The recipients of a notification still pending, by address.
    async fn pending_recipients(
        &self,
        outbox_id: &str,
    ) -> Result<Vec<PendingRecipient>, StoreError>;

    /// Extends `owner`'s lease on a pending notification to `lease_until`. Returns `false`
    /// when `owner` no longer holds it (another worker took it over, or it is settled).
    async fn renew_lease(
        &self,
        outbox_id: &str,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records that the server accepted `address`'s copy at `sent_at` after `attempts`
    /// attempts; clears the recipient's last error.
    async fn record_sent(
        &self,
        outbox_id: &str,
        address: &str,
        attempts: i64,
        sent_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt for `address`: `Failed` for good when `give_up`, else still
    /// pending (tried again on a later pass).
    async fn record_failure(
        &self,
        outbox_id: &str,
        address: &str,
        attempts: i64,
        error: &str,
        give_up: bool,
    ) -> Result<(), StoreError>;

    /// The delivery state of each recipient of a notification (`pending`, `sent`, `failed`).
    async fn recipient_states(&self, outbox_id: &str) -> Result<Vec<String>, StoreError>;

    /// Settles a delivery pass over a notification and releases its lease.
    async fn settle_notification(
        &self,
        outbox_id: &str,
        settlement: &Settlement,
    ) -> Result<(), StoreError>;

    /// The deadline of `case_id`, if it has one.
    async fn case_deadline(&self, case_id: &str) -> Result<Option<CaseDeadline>, StoreError>;

    /// The extensions of `case_id`, oldest first.
    async fn deadline_extensions(&self, case_id: &str) -> Result<Vec<Extension>, StoreError>;

    /// The audit trail of `case_id`, oldest first (a detail that is not JSON reads as null).
    async fn deadline_audit(&self, case_id: &str) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Inside a [`super::DerivedTx`]: the notifications and deadline changes an event causes,
/// committed with it or not at all.
#[async_trait]
pub trait OutboxWrites: Send {
    /// Puts notifications in the outbox, pending and due at their creation time.
    async fn enqueue_notifications(
        &mut self,
        notifications: &[NewNotification],
    ) -> Result<(), StoreError>;

    /// Records deadlines, in order (a later one of the same case wins). A case that already
    /// has one gets the new deadline, open again, with its reminders, overdue notices,
    /// escalation and answer reset.
    async fn assign_deadlines(&mut self, deadlines: &[NewDeadline]) -> Result<(), StoreError>;

    /// Appends rows to the audit trail, in order.
    async fn append_deadline_audit(&mut self, entries: &[NewAuditEntry]) -> Result<(), StoreError>;

    /// The deadline of `case_id` as this transaction sees it.
    async fn case_deadline(&mut self, case_id: &str) -> Result<Option<CaseDeadline>, StoreError>;

    /// The stored assignment, deadline and state of `case_id`.
    async fn stored_deadline(
        &mut self,
        case_id: &str,
    ) -> Result<Option<StoredDeadline>, StoreError>;

    /// The queue and due time of each of `case_ids` that has a deadline (the others are left
    /// out).
    async fn deadline_queues(
        &mut self,
        case_ids: &[&str],
    ) -> Result<HashMap<String, DeadlineHolder>, StoreError>;

    /// Records an extension of `case_id`'s deadline and moves the deadline to its new date:
    /// the reminder is due again and overdue notices start again; the extension's
    /// provisional year is kept unless the deadline was already provisional.
    async fn extend_deadline(
        &mut self,
        case_id: &str,
        extension: &NewExtension,
    ) -> Result<(), StoreError>;

    /// Closes `case_id`'s deadline: answered at `answered_at` by `answered_by`.
    async fn answer_deadline(
        &mut self,
        case_id: &str,
        answered_at: DateTime<Utc>,
        answered_by: &str,
        summary: &str,
    ) -> Result<(), StoreError>;

    /// Stops `case_id`'s open deadline without an answer (returned, closed as a duplicate,
    /// merged): state `closed`, with when, by whom and why in the answer's columns. A deadline
    /// that is not open is left as it is.
    async fn close_deadline(
        &mut self,
        case_id: &str,
        closed_at: DateTime<Utc>,
        closed_by: &str,
        why: &str,
    ) -> Result<(), StoreError>;

    /// Open deadlines counted provisionally into a year up to `through_year`, by case id.
    async fn provisional_deadlines(
        &mut self,
        through_year: i32,
    ) -> Result<Vec<ProvisionalDeadline>, StoreError>;

    /// Clears the provisional mark of `case_id`'s deadline (its date stays).
    async fn clear_provisional(&mut self, case_id: &str) -> Result<(), StoreError>;

    /// Sets `case_id`'s deadline counted again: a date later than the stored one earns the
    /// reminder again, an earlier one keeps what was sent.
    async fn recount_deadline(
        &mut self,
        case_id: &str,
        due_at: DateTime<FixedOffset>,
        provisional_year: Option<i32>,
    ) -> Result<(), StoreError>;

    /// Open deadlines, the earliest due first (then by case id).
    async fn open_deadlines(&mut self) -> Result<Vec<OpenDeadline>, StoreError>;

    /// The open deadlines the scheduler may have to act on at `due.now`, in the order of
    /// [`open_deadlines`](Self::open_deadlines): those not yet reminded that fall due before
    /// `due.remind_horizon`, and those past due whose last overdue notice (if any) was queued
    /// at or before `due.repeat_before`. Read through an index on the due time, so a tick costs
    /// what is due, not what is open.
    async fn deadlines_due(&mut self, due: DueQuery) -> Result<Vec<OpenDeadline>, StoreError>;

    /// Records that `case_id`'s reminder was queued at `at`.
    async fn mark_reminded(&mut self, case_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records `case_id`'s overdue notice number `notice`, queued at `at`.
    async fn record_overdue_notice(
        &mut self,
        case_id: &str,
        notice: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records that `case_id` was escalated at `at`.
    async fn mark_escalated(&mut self, case_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Sets the accept-by time of open deadlines (`(case_id, accept_due_at)`); an assignment
    /// ([`OutboxWrites::assign_deadlines`]) clears it with the rest of the old clock.
    async fn set_accept_due(
        &mut self,
        dues: &[(String, DateTime<FixedOffset>)],
    ) -> Result<(), StoreError>;

    /// Open deadlines whose accept-by time is at or before `now` while the workflow still has
    /// the case waiting for its unit to accept (`assigned`, `reopened`), and that had no
    /// notice for it yet; the earliest first.
    async fn accept_overdue(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Vec<AcceptOverdue>, StoreError>;

    /// Records that `case_id`'s notice for not accepting in time was queued at `at`.
    async fn mark_accept_overdue(
        &mut self,
        case_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The complaints whose `case_id` facet names one of `case_ids`.
    async fn case_members(&mut self, case_ids: &[&str]) -> Result<Vec<CaseMember>, StoreError>;

    /// Those of `complaint_ids` that are stored complaints.
    async fn existing_complaints(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<Vec<String>, StoreError>;
}
