//! Recording assignments in bulk: the pipeline assigns hundreds of cases per batch, so their
//! deadlines, audit rows, `deadline` facets and 交办 emails are written in a few multi-row
//! statements rather than a dozen statements per case. [`super::on_assignment`] is the
//! single-case form.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{QueryBuilder, Row};

use super::outbox::{NewMail, enqueue_many};
use super::templates::{self, CaseMail};
use super::{Assignment, Due, NotifyError, compute_deadline};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::store::facets::{Facet, set_facet_many};

/// Rows per multi-row statement.
const ROWS_PER_STATEMENT: usize = 500;

/// Records each assignment's deadline (replacing an earlier one of the same case and resetting
/// its reminders), its audit row, the `deadline` facet of the case's complaints, and the 交办
/// emails — inside `tx`, in order (a later assignment of the same case wins).
pub async fn on_assignments(
    tx: &mut SqliteConnection,
    assignments: &[Assignment],
    cfg: &Config,
    calendar: &Calendar,
) -> Result<(), NotifyError> {
    if assignments.is_empty() {
        return Ok(());
    }
    let dues: Vec<Due> = assignments
        .iter()
        .map(|a| compute_deadline(cfg, calendar, &a.priority, a.assigned_at))
        .collect::<Result<_, _>>()?;
    let both: Vec<(&Assignment, &Due)> = assignments.iter().zip(dues.iter()).collect();
    for chunk in both.chunks(ROWS_PER_STATEMENT) {
        upsert_deadlines(tx, chunk, cfg).await?;
        insert_audit(tx, chunk).await?;
    }
    set_deadline_facets(tx, &both).await?;
    let console = &cfg.email.console_url;
    let mut mails = Vec::new();
    for (a, due) in &both {
        let now = a.assigned_at.with_timezone(&Utc);
        mails.push(NewMail {
            now,
            kind: "assignment",
            case: Some(a),
            mail: templates::case_mail(CaseMail::Assignment, a, &a.queue_name, &due.at, console),
            recipients: &a.members,
        });
        for (unit, addresses) in &a.informed {
            mails.push(NewMail {
                now,
                kind: "informed",
                case: Some(a),
                mail: templates::case_mail(CaseMail::Informed, a, unit, &due.at, console),
                recipients: addresses,
            });
        }
    }
    enqueue_many(tx, cfg, &mails).await?;
    Ok(())
}

async fn upsert_deadlines(
    tx: &mut SqliteConnection,
    chunk: &[(&Assignment, &Due)],
    cfg: &Config,
) -> Result<(), sqlx::Error> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO case_deadlines (case_id, complaint_id, queue_key, queue_name, priority,
            assigned_at, due_at, due_ms, state, assignment, provisional_year) ",
    );
    query.push_values(chunk, |mut row, (a, due)| {
        let assigned_local = a.assigned_at.with_timezone(&cfg.deadlines.offset());
        row.push_bind(a.case_id.clone())
            .push_bind(a.complaint_id.clone())
            .push_bind(a.queue_key.clone())
            .push_bind(a.queue_name.clone())
            .push_bind(a.priority.clone())
            .push_bind(assigned_local.to_rfc3339())
            .push_bind(due.at.to_rfc3339())
            .push_bind(due.at.timestamp_millis())
            .push_bind("open")
            .push_bind(serde_json::to_string(a).expect("an assignment serialises"))
            .push_bind(due.provisional_year);
    });
    query.push(
        " ON CONFLICT (case_id) DO UPDATE SET complaint_id = excluded.complaint_id,
            queue_key = excluded.queue_key, queue_name = excluded.queue_name,
            priority = excluded.priority, assigned_at = excluded.assigned_at,
            due_at = excluded.due_at, due_ms = excluded.due_ms, state = 'open',
            reminded_at = NULL, overdue_notices = 0, last_overdue_ms = NULL, escalated_at = NULL,
            answered_at = NULL, answered_by = NULL, answer_summary = NULL,
            assignment = excluded.assignment, provisional_year = excluded.provisional_year",
    );
    query.build().execute(&mut *tx).await?;
    Ok(())
}

async fn insert_audit(
    tx: &mut SqliteConnection,
    chunk: &[(&Assignment, &Due)],
) -> Result<(), sqlx::Error> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO deadline_audit (case_id, at, actor, action, detail) ",
    );
    query.push_values(chunk, |mut row, (a, due)| {
        let mut detail = serde_json::json!({
            "queue": a.queue_key,
            "priority": a.priority,
            "due_at": due.at.to_rfc3339(),
        });
        if let Some(year) = due.provisional_year {
            detail["provisional_year"] = year.into();
            detail["note"] = format!(
                "no working-day calendar for {year}: counted on weekdays alone from then on, \
                 counted again when config/calendar/{year}.toml is added"
            )
            .into();
        }
        row.push_bind(a.case_id.clone())
            .push_bind(crate::store::format_utc(a.assigned_at.with_timezone(&Utc)))
            .push_bind("routing")
            .push_bind("assigned")
            .push_bind(detail.to_string());
    });
    query.build().execute(&mut *tx).await?;
    Ok(())
}

/// Sets the `deadline` facet of every complaint of each case (those whose facet names the
/// case, plus the complaint that caused the assignment when it exists).
async fn set_deadline_facets(
    tx: &mut SqliteConnection,
    both: &[(&Assignment, &Due)],
) -> Result<(), sqlx::Error> {
    let case_ids: Vec<&str> = both.iter().map(|(a, _)| a.case_id.as_str()).collect();
    let complaint_ids: Vec<&str> = both.iter().map(|(a, _)| a.complaint_id.as_str()).collect();
    let rows = sqlx::query(
        "SELECT case_id, complaint_id FROM complaint_facets
         WHERE case_id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&case_ids).expect("strings serialise"))
    .fetch_all(&mut *tx)
    .await?;
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for row in &rows {
        members
            .entry(row.get("case_id"))
            .or_default()
            .push(row.get("complaint_id"));
    }
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM complaints WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&complaint_ids).expect("strings serialise"))
    .fetch_all(&mut *tx)
    .await?;
    let dues: Vec<String> = both.iter().map(|(_, due)| due.at.to_rfc3339()).collect();
    let mut values: Vec<(&str, Option<&str>)> = Vec::new();
    for ((a, _), due) in both.iter().zip(&dues) {
        for id in members.get(&a.case_id).into_iter().flatten() {
            values.push((id, Some(due)));
        }
        if existing.contains(&a.complaint_id) {
            values.push((&a.complaint_id, Some(due)));
        }
    }
    set_facet_many(tx, Facet::Deadline, &values).await?;
    Ok(())
}
