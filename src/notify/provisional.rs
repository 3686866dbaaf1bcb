//! Provisional deadlines counted again. A working-day deadline that runs into a year without a
//! calendar file is counted there on weekdays alone and marked with that year
//! (`case_deadlines.provisional_year`); once `config/calendar/<year>.toml` is added and the
//! gateway restarted, the scheduler's next tick counts each open one again from its assignment
//! on the official calendar and records old and new date in the audit trail. A deadline that
//! staff extended is not recounted (the extension was agreed against the provisional date):
//! the mark is cleared with an audit entry asking staff to check the date.

use chrono::{DateTime, Datelike, Utc};

use super::{Assignment, NotifyError, audit, compute_deadline, set_deadline_facet};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::store::DerivedTx;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recount {
    /// Deadlines counted again on the official calendar (changed or not).
    pub recounted: usize,
    /// Extended deadlines whose mark was cleared for staff to check.
    pub kept_extended: usize,
    /// Each deadline the pass counted again or kept, in order.
    pub cases: Vec<RecountedDeadline>,
}

/// One deadline a pass counted again (or kept, extended by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecountedDeadline {
    pub case_id: String,
    pub old_due: DateTime<Utc>,
    /// `None`: an extended deadline kept as it was, for staff to check.
    pub new_due: Option<DateTime<Utc>>,
}

/// Counts again every open provisional deadline whose provisional year the calendar now knows.
pub async fn recount(
    tx: &mut dyn DerivedTx,
    cfg: &Config,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Result<Recount, NotifyError> {
    let mut done = Recount::default();
    let Some(last) = calendar.last_day() else {
        return Ok(done);
    };
    for row in tx.provisional_deadlines(last.year()).await? {
        let case_id = row.case_id;
        let year = row.provisional_year;
        let corrupt = |what: String| NotifyError::Corrupt(format!("case {case_id}: {what}"));
        let old_due =
            DateTime::parse_from_rfc3339(&row.due_at).map_err(|e| corrupt(e.to_string()))?;
        if row.extended {
            tx.clear_provisional(&case_id).await?;
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
                "system:calendar",
                "provisional_kept",
                detail,
            )
            .await?;
            done.kept_extended += 1;
            done.cases.push(RecountedDeadline {
                case_id: case_id.clone(),
                old_due: old_due.with_timezone(&Utc),
                new_due: None,
            });
            continue;
        }
        let assignment: Assignment =
            serde_json::from_str(&row.assignment).map_err(|e| corrupt(e.to_string()))?;
        let due = compute_deadline(cfg, calendar, &assignment.priority, assignment.assigned_at)?;
        // A later date earns the reminder again; an earlier one keeps what was sent.
        tx.recount_deadline(&case_id, due.at, due.provisional_year)
            .await?;
        let mut detail = serde_json::json!({
            "calendar_year": year,
            "old_due_at": old_due.to_rfc3339(),
            "new_due_at": due.at.to_rfc3339(),
        });
        if let Some(still) = due.provisional_year {
            detail["provisional_year"] = still.into();
        }
        audit(
            tx,
            Some(&case_id),
            now,
            "system:calendar",
            "recounted",
            detail,
        )
        .await?;
        set_deadline_facet(tx, &case_id, &assignment.complaint_id, &due.at).await?;
        done.recounted += 1;
        done.cases.push(RecountedDeadline {
            case_id: case_id.clone(),
            old_due: old_due.with_timezone(&Utc),
            new_due: Some(due.at.with_timezone(&Utc)),
        });
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
