//! Conformance: the outbox (notifications, their listing and delivery state) and case
//! deadlines (assignment, extension, answer, audit trail, the scheduler's marks, provisional
//! counts).

mod deadlines;
mod delivery;
mod due;

use chrono::{DateTime, FixedOffset, Utc};

use super::Open;
use crate::store::outbox::{NewDeadline, NewNotification, NewRecipient};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    delivery::notifications_list_newest_first_with_recipients_filters_and_counts(open).await;
    delivery::a_rolled_back_transaction_leaves_no_notification_nor_deadline(open).await;
    delivery::a_claim_leases_due_notifications_and_a_pass_settles_them(open).await;
    delivery::a_lease_that_ran_out_hands_the_notification_over(open).await;
    delivery::a_failed_recipient_dead_letters_the_notification(open).await;
    deadlines::a_deadline_reads_back_and_a_reassignment_resets_it(open).await;
    deadlines::an_extension_and_an_answer_are_recorded_with_their_audit_rows(open).await;
    deadlines::the_scheduler_sees_open_deadlines_with_its_marks(open).await;
    due::a_tick_reads_only_the_deadlines_it_may_act_on(open).await;
    deadlines::provisional_deadlines_are_listed_cleared_and_recounted(open).await;
    deadlines::case_members_and_existing_complaints(open).await;
}

/// A time of the suite, `text` in RFC 3339.
fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).expect("a valid test time")
}

/// [`at`] in UTC.
fn utc(text: &str) -> DateTime<Utc> {
    at(text).with_timezone(&Utc)
}

/// Parses a stored RFC 3339 time (compared as instants: backends may differ in offsets).
fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("stored time `{text}`: {e}"))
        .with_timezone(&Utc)
}

/// A notification of `case_id` created at `created_at` for `addresses`.
fn notification(
    id: &str,
    created_at: &str,
    case_id: Option<&str>,
    addresses: &[&str],
) -> NewNotification {
    NewNotification {
        id: id.to_string(),
        created_at: utc(created_at),
        kind: if case_id.is_some() {
            "assignment"
        } else {
            "digest"
        }
        .to_string(),
        case_id: case_id.map(str::to_string),
        queue_key: case_id.map(|_| "supervision".to_string()),
        subject: format!("subject of {id}"),
        body: format!("body of {id}"),
        recipients: addresses
            .iter()
            .enumerate()
            .map(|(n, address)| NewRecipient {
                address: address.to_string(),
                message_id: format!("<{id}.{n}@test.example>"),
            })
            .collect(),
    }
}

/// A deadline of `case_id` assigned at `assigned_at`, due at `due_at`.
fn deadline(case_id: &str, queue_key: &str, assigned_at: &str, due_at: &str) -> NewDeadline {
    NewDeadline {
        case_id: case_id.to_string(),
        complaint_id: format!("{case_id}-c1"),
        queue_key: queue_key.to_string(),
        queue_name: format!("queue {queue_key}"),
        priority: "normal".to_string(),
        assigned_at: at(assigned_at),
        due_at: at(due_at),
        provisional_year: None,
        assignment: format!("{{\"case_id\":\"{case_id}\",\"queue\":\"{queue_key}\"}}"),
    }
}
