//! Extending and answering a case deadline. An extension is kept as a record (who, why, old
//! and new deadline) next to an audit row; answering closes the case's deadline and sets the
//! `answered` status facet. The deadline, its extensions and its audit trail are read from the
//! store ([`OutboxReads`](crate::store::outbox::OutboxReads)).

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use super::{Assignment, CaseDeadline, NotifyError, audit, set_deadline_facet, set_status_facet};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::store::DerivedTx;
use crate::store::outbox::NewExtension;

pub use crate::store::outbox::{AuditEntry, Extension};

/// A request to extend a deadline: exactly one of `working_days`, `hours` or `until`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// Who asks: set by the gateway to the authenticated caller (a value sent over the API is
    /// ignored).
    #[serde(default)]
    pub requested_by: String,
    /// Why the unit needs more time.
    pub reason: String,
    /// Working days added to the current deadline.
    #[serde(default)]
    pub working_days: Option<u32>,
    /// Clock hours added to the current deadline.
    #[serde(default)]
    pub hours: Option<u32>,
    /// A new deadline (RFC 3339), later than the current one.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub until: Option<DateTime<FixedOffset>>,
}

/// The stored assignment and current deadline of an open or answered case.
pub(crate) async fn load(
    tx: &mut dyn DerivedTx,
    case_id: &str,
) -> Result<(Assignment, DateTime<FixedOffset>, String), NotifyError> {
    let stored = tx
        .stored_deadline(case_id)
        .await?
        .ok_or_else(|| NotifyError::NoDeadline {
            case_id: case_id.to_string(),
        })?;
    let mut assignment: Assignment = serde_json::from_str(&stored.assignment)
        .map_err(|e| NotifyError::Corrupt(format!("assignment of {case_id}: {e}")))?;
    super::pii::refresh_subjects(tx, &mut [&mut assignment]).await?;
    let due = DateTime::parse_from_rfc3339(&stored.due_at)
        .map_err(|e| NotifyError::Corrupt(format!("due_at of {case_id}: {e}")))?;
    Ok((assignment, due, stored.state))
}

/// Extends the deadline of `case_id`, recording who, why, old and new.
pub async fn extend(
    tx: &mut dyn DerivedTx,
    cfg: &Config,
    calendar: &Calendar,
    case_id: &str,
    request: &ExtendRequest,
    now: DateTime<Utc>,
) -> Result<CaseDeadline, NotifyError> {
    if request.requested_by.trim().is_empty() || request.reason.trim().is_empty() {
        return Err(NotifyError::Invalid(
            "an extension needs `requested_by` and `reason`".into(),
        ));
    }
    let (assignment, old_due, state) = load(tx, case_id).await?;
    if state == "answered" {
        return Err(NotifyError::AlreadyAnswered {
            case_id: case_id.to_string(),
        });
    }
    let mut provisional = None;
    let new_due = match (request.working_days, request.hours, request.until) {
        (Some(days), None, None) if days > 0 => {
            let day_end = cfg.deadlines.day_end().map_err(NotifyError::Invalid)?;
            let (due, missing) = calendar.add_working_days_provisional(old_due, days, day_end);
            provisional = missing;
            due
        }
        (None, Some(hours), None) if hours > 0 => Calendar::add_hours(old_due, hours),
        (None, None, Some(until)) if until > old_due => {
            until.with_timezone(&cfg.deadlines.offset())
        }
        (None, None, Some(_)) => {
            return Err(NotifyError::Invalid(
                "`until` must be later than the current deadline".into(),
            ));
        }
        _ => {
            return Err(NotifyError::Invalid(
                "give exactly one of `working_days`, `hours` or `until` (at least 1)".into(),
            ));
        }
    };
    // A new deadline earns a new reminder; overdue counting starts again if it was overdue.
    let extension = NewExtension {
        requested_by: request.requested_by.trim().to_string(),
        reason: request.reason.trim().to_string(),
        old_due_at: old_due,
        new_due_at: new_due,
        created_at: now,
        provisional_year: provisional,
    };
    tx.extend_deadline(case_id, &extension).await?;
    audit(
        tx,
        Some(case_id),
        now,
        request.requested_by.trim(),
        "extended",
        serde_json::json!({
            "reason": request.reason.trim(),
            "old_due_at": old_due.to_rfc3339(),
            "new_due_at": new_due.to_rfc3339(),
            "provisional_year": provisional,
        }),
    )
    .await?;
    set_deadline_facet(tx, case_id, &assignment.complaint_id, &new_due).await?;
    tx.case_deadline(case_id)
        .await?
        .ok_or_else(|| NotifyError::NoDeadline {
            case_id: case_id.to_string(),
        })
}

/// Records the unit's answer: the deadline is closed and the case's status becomes `answered`.
pub async fn answer(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    answered_by: &str,
    summary: &str,
    now: DateTime<Utc>,
) -> Result<CaseDeadline, NotifyError> {
    if answered_by.trim().is_empty() {
        return Err(NotifyError::Invalid("an answer needs `answered_by`".into()));
    }
    let (assignment, due, state) = load(tx, case_id).await?;
    if state == "answered" {
        return Err(NotifyError::AlreadyAnswered {
            case_id: case_id.to_string(),
        });
    }
    tx.answer_deadline(case_id, now, answered_by.trim(), summary)
        .await?;
    audit(
        tx,
        Some(case_id),
        now,
        answered_by.trim(),
        "answered",
        serde_json::json!({"on_time": now <= due.with_timezone(&Utc)}),
    )
    .await?;
    set_status_facet(tx, case_id, &assignment.complaint_id, "answered").await?;
    tx.case_deadline(case_id)
        .await?
        .ok_or_else(|| NotifyError::NoDeadline {
            case_id: case_id.to_string(),
        })
}
