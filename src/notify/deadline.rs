//! Reading, extending and answering a case deadline. An extension is kept as a record (who,
//! why, old and new deadline) next to an audit row; answering closes the case's deadline and
//! sets the `answered` status facet.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{Assignment, CaseDeadline, NotifyError, audit, set_deadline_facet, set_status_facet};
use crate::calendar::Calendar;
use crate::config::Config;

/// A request to extend a deadline: exactly one of `working_days`, `hours` or `until`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// Who asks (staff name or account).
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

const COLUMNS: &str = "case_id, queue_key, queue_name, priority, assigned_at, due_at, state, \
     overdue_notices, reminded_at, escalated_at, answered_at, answered_by, provisional_year";

fn from_row(row: &SqliteRow) -> CaseDeadline {
    CaseDeadline {
        case_id: row.get("case_id"),
        queue_key: row.get("queue_key"),
        queue_name: row.get("queue_name"),
        priority: row.get("priority"),
        assigned_at: row.get("assigned_at"),
        due_at: row.get("due_at"),
        state: row.get("state"),
        overdue_notices: row.get("overdue_notices"),
        reminded_at: row.get("reminded_at"),
        escalated_at: row.get("escalated_at"),
        answered_at: row.get("answered_at"),
        answered_by: row.get("answered_by"),
        provisional_year: row.get("provisional_year"),
    }
}

/// The deadline of `case_id`, if it has one.
pub async fn read_in(
    conn: &mut SqliteConnection,
    case_id: &str,
) -> Result<Option<CaseDeadline>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM case_deadlines WHERE case_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// The extensions of `case_id`, oldest first.
pub async fn extensions(
    conn: &mut SqliteConnection,
    case_id: &str,
) -> Result<Vec<Extension>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT requested_by, reason, old_due_at, new_due_at, created_at \
         FROM deadline_extensions WHERE case_id = ? ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
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

/// The audit trail of `case_id`, oldest first.
pub async fn audit_trail(
    conn: &mut SqliteConnection,
    case_id: &str,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at, actor, action, detail FROM deadline_audit WHERE case_id = ? ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
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

/// The stored assignment and current deadline of an open or answered case.
pub(crate) async fn load(
    conn: &mut SqliteConnection,
    case_id: &str,
) -> Result<(Assignment, DateTime<FixedOffset>, String), NotifyError> {
    let row = sqlx::query("SELECT assignment, due_at, state FROM case_deadlines WHERE case_id = ?")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| NotifyError::NoDeadline {
            case_id: case_id.to_string(),
        })?;
    let assignment: Assignment = serde_json::from_str(row.get::<&str, _>("assignment"))
        .map_err(|e| NotifyError::Corrupt(format!("assignment of {case_id}: {e}")))?;
    let due = DateTime::parse_from_rfc3339(row.get::<&str, _>("due_at"))
        .map_err(|e| NotifyError::Corrupt(format!("due_at of {case_id}: {e}")))?;
    Ok((assignment, due, row.get("state")))
}

/// Extends the deadline of `case_id`, recording who, why, old and new.
pub async fn extend(
    tx: &mut SqliteConnection,
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
    sqlx::query(
        "INSERT INTO deadline_extensions (case_id, requested_by, reason, old_due_at, new_due_at, \
         created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(case_id)
    .bind(request.requested_by.trim())
    .bind(request.reason.trim())
    .bind(old_due.to_rfc3339())
    .bind(new_due.to_rfc3339())
    .bind(crate::store::format_utc(now))
    .execute(&mut *tx)
    .await?;
    // A new deadline earns a new reminder; overdue counting starts again if it was overdue.
    sqlx::query(
        "UPDATE case_deadlines SET due_at = ?, due_ms = ?, reminded_at = NULL, \
         last_overdue_ms = NULL, provisional_year = COALESCE(provisional_year, ?) \
         WHERE case_id = ?",
    )
    .bind(new_due.to_rfc3339())
    .bind(new_due.timestamp_millis())
    .bind(provisional)
    .bind(case_id)
    .execute(&mut *tx)
    .await?;
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
    read_in(tx, case_id)
        .await?
        .ok_or_else(|| NotifyError::NoDeadline {
            case_id: case_id.to_string(),
        })
}

/// Records the unit's answer: the deadline is closed and the case's status becomes `answered`.
pub async fn answer(
    tx: &mut SqliteConnection,
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
    sqlx::query(
        "UPDATE case_deadlines SET state = 'answered', answered_at = ?, answered_by = ?, \
         answer_summary = ? WHERE case_id = ?",
    )
    .bind(crate::store::format_utc(now))
    .bind(answered_by.trim())
    .bind(summary)
    .bind(case_id)
    .execute(&mut *tx)
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
    read_in(tx, case_id)
        .await?
        .ok_or_else(|| NotifyError::NoDeadline {
            case_id: case_id.to_string(),
        })
}
