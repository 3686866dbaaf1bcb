//! Provisional deadlines counted again. A working-day deadline that runs into a year without a
//! calendar file is counted there on weekdays alone and marked with that year
//! (`case_deadlines.provisional_year`); once `config/calendar/<year>.toml` is added and the
//! gateway restarted, the scheduler's next tick counts each open one again from its assignment
//! on the official calendar and records old and new date in the audit trail. A deadline that
//! staff extended is not recounted (the extension was agreed against the provisional date):
//! the mark is cleared with an audit entry asking staff to check the date.

use chrono::{DateTime, Datelike, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::{Assignment, NotifyError, audit, compute_deadline, set_deadline_facet};
use crate::calendar::Calendar;
use crate::config::Config;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recount {
    /// Deadlines counted again on the official calendar (changed or not).
    pub recounted: usize,
    /// Extended deadlines whose mark was cleared for staff to check.
    pub kept_extended: usize,
}

/// Counts again every open provisional deadline whose provisional year the calendar now knows.
pub async fn recount(
    tx: &mut SqliteConnection,
    cfg: &Config,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Result<Recount, NotifyError> {
    let mut done = Recount::default();
    let Some(last) = calendar.last_day() else {
        return Ok(done);
    };
    let rows = sqlx::query(
        "SELECT d.case_id, d.due_at, d.provisional_year, d.assignment,
            EXISTS (SELECT 1 FROM deadline_extensions e WHERE e.case_id = d.case_id) AS extended
         FROM case_deadlines d
         WHERE d.state = 'open' AND d.provisional_year IS NOT NULL AND d.provisional_year <= ?
         ORDER BY d.case_id",
    )
    .bind(last.year())
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        let case_id: String = row.get("case_id");
        let year: i64 = row.get("provisional_year");
        let corrupt = |what: String| NotifyError::Corrupt(format!("case {case_id}: {what}"));
        let old_due = DateTime::parse_from_rfc3339(row.get::<&str, _>("due_at"))
            .map_err(|e| corrupt(e.to_string()))?;
        if row.get::<bool, _>("extended") {
            sqlx::query("UPDATE case_deadlines SET provisional_year = NULL WHERE case_id = ?")
                .bind(&case_id)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({
                "provisional_year": year,
                "due_at": old_due.to_rfc3339(),
                "note": format!(
                    "the calendar for {year} is now known; this deadline was extended by hand \
                     and is not counted again: check the date"
                ),
            });
            audit(
                tx,
                Some(&case_id),
                now,
                "calendar",
                "provisional_kept",
                detail,
            )
            .await?;
            done.kept_extended += 1;
            continue;
        }
        let assignment: Assignment = serde_json::from_str(row.get::<&str, _>("assignment"))
            .map_err(|e| corrupt(e.to_string()))?;
        let due = compute_deadline(cfg, calendar, &assignment.priority, assignment.assigned_at)?;
        // A later date earns the reminder again; an earlier one keeps what was sent.
        sqlx::query(
            "UPDATE case_deadlines SET due_at = ?, due_ms = ?, provisional_year = ?,
                reminded_at = CASE WHEN ? > due_ms THEN NULL ELSE reminded_at END
             WHERE case_id = ?",
        )
        .bind(due.at.to_rfc3339())
        .bind(due.at.timestamp_millis())
        .bind(due.provisional_year)
        .bind(due.at.timestamp_millis())
        .bind(&case_id)
        .execute(&mut *tx)
        .await?;
        let mut detail = serde_json::json!({
            "calendar_year": year,
            "old_due_at": old_due.to_rfc3339(),
            "new_due_at": due.at.to_rfc3339(),
        });
        if let Some(still) = due.provisional_year {
            detail["provisional_year"] = still.into();
        }
        audit(tx, Some(&case_id), now, "calendar", "recounted", detail).await?;
        set_deadline_facet(tx, &case_id, &assignment.complaint_id, &due.at).await?;
        done.recounted += 1;
    }
    if done.recounted + done.kept_extended > 0 {
        tracing::info!(
            recounted = done.recounted,
            kept_extended = done.kept_extended,
            "provisional deadlines counted again on the calendar's new year"
        );
    }
    Ok(done)
}
