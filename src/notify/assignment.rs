//! Recording assignments in bulk: the pipeline assigns hundreds of cases per batch, so their
//! deadlines, audit rows, `deadline` facets and 交办 emails are handed to the store together
//! (it writes them in a few multi-row statements) rather than a dozen writes per case.
//! [`super::on_assignment`] is the single-case form.

use std::collections::HashMap;

use chrono::Utc;

use super::outbox::{NewMail, enqueue_many};
use super::templates::{CaseMail, MailTemplates};
use super::{Assignment, Due, NotifyError, compute_deadline};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::store::facets::Facet;
use crate::store::outbox::{NewAuditEntry, NewDeadline};
use crate::store::{DerivedTx, StoreError};

/// Records each assignment's deadline (replacing an earlier one of the same case and resetting
/// its reminders), its audit row, the `deadline` facet of the case's complaints, and the 交办
/// emails — inside `tx`, in order (a later assignment of the same case wins).
pub async fn on_assignments(
    tx: &mut dyn DerivedTx,
    assignments: &[Assignment],
    cfg: &Config,
    calendar: &Calendar,
    templates: &MailTemplates,
) -> Result<(), NotifyError> {
    let notice = (CaseMail::Assignment, "assignment");
    record(tx, assignments, cfg, calendar, templates, notice).await
}

/// [`on_assignments`] for a case the centre reopened: its unit gets the 重新办理 notice with
/// `reason` (the reopen's note) and the new deadline instead of the 交办 one.
pub async fn on_reopen(
    tx: &mut dyn DerivedTx,
    a: &Assignment,
    cfg: &Config,
    calendar: &Calendar,
    templates: &MailTemplates,
    reason: &str,
) -> Result<(), NotifyError> {
    let notice = (CaseMail::Reopened { reason }, "reopened");
    record(
        tx,
        std::slice::from_ref(a),
        cfg,
        calendar,
        templates,
        notice,
    )
    .await
}

/// Records the assignments, the unit's notice being `notice` (the email and its outbox kind).
async fn record(
    tx: &mut dyn DerivedTx,
    assignments: &[Assignment],
    cfg: &Config,
    calendar: &Calendar,
    templates: &MailTemplates,
    (notice, kind): (CaseMail<'_>, &str),
) -> Result<(), NotifyError> {
    if assignments.is_empty() {
        return Ok(());
    }
    let dues: Vec<Due> = assignments
        .iter()
        .map(|a| compute_deadline(cfg, calendar, &a.priority, a.assigned_at))
        .collect::<Result<_, _>>()?;
    let both: Vec<(&Assignment, &Due)> = assignments.iter().zip(dues.iter()).collect();
    let deadlines: Vec<NewDeadline> = both.iter().map(|(a, due)| deadline(a, due, cfg)).collect();
    tx.assign_deadlines(&deadlines).await?;
    let accept: Vec<(String, chrono::DateTime<chrono::FixedOffset>)> = both
        .iter()
        .map(|(a, due)| Ok((a.case_id.clone(), accept_by(cfg, calendar, a, due)?)))
        .collect::<Result<_, NotifyError>>()?;
    tx.set_accept_due(&accept).await?;
    let entries: Vec<NewAuditEntry> = both.iter().map(|(a, due)| audit_entry(a, due)).collect();
    tx.append_deadline_audit(&entries).await?;
    set_deadline_facets(tx, &both).await?;
    let console = &cfg.email.console_url;
    let mut mails = Vec::new();
    for (a, due) in &both {
        let now = a.assigned_at.with_timezone(&Utc);
        mails.push(NewMail {
            now,
            kind,
            case: Some(a),
            mail: templates.case_mail(notice, a, &a.queue_name, &due.at, console)?,
            recipients: &a.members,
        });
        for (unit, addresses) in &a.informed {
            mails.push(NewMail {
                now,
                kind: "informed",
                case: Some(a),
                mail: templates.case_mail(CaseMail::Informed, a, unit, &due.at, console)?,
                recipients: addresses,
            });
        }
    }
    enqueue_many(tx, cfg, &mails).await?;
    Ok(())
}

/// Accept by (签收时限): one working day after the assignment, or half the time to the
/// answer-by deadline when that is shorter (urgent cases).
fn accept_by(
    cfg: &Config,
    calendar: &Calendar,
    a: &Assignment,
    due: &Due,
) -> Result<chrono::DateTime<chrono::FixedOffset>, NotifyError> {
    let local = a.assigned_at.with_timezone(&cfg.deadlines.offset());
    let day_end = cfg.deadlines.day_end().map_err(NotifyError::Invalid)?;
    let (one_day, _) = calendar.add_working_days_provisional(local, 1, day_end);
    let half = local + (due.at - local) / 2;
    Ok(one_day.min(half))
}

/// The deadline row of an assignment.
fn deadline(a: &Assignment, due: &Due, cfg: &Config) -> NewDeadline {
    NewDeadline {
        case_id: a.case_id.clone(),
        complaint_id: a.complaint_id.clone(),
        queue_key: a.queue_key.clone(),
        queue_name: a.queue_name.clone(),
        priority: a.priority.clone(),
        assigned_at: a.assigned_at.with_timezone(&cfg.deadlines.offset()),
        due_at: due.at,
        provisional_year: due.provisional_year,
        assignment: serde_json::to_string(a).expect("an assignment serialises"),
    }
}

/// The `assigned` audit row of an assignment.
fn audit_entry(a: &Assignment, due: &Due) -> NewAuditEntry {
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
    NewAuditEntry {
        case_id: Some(a.case_id.clone()),
        at: a.assigned_at.with_timezone(&Utc),
        actor: "system:assign".into(),
        action: "assigned".into(),
        detail,
    }
}

/// Sets the `deadline` facet of every complaint of each case (those whose facet names the
/// case, plus the complaint that caused the assignment when it exists).
async fn set_deadline_facets(
    tx: &mut dyn DerivedTx,
    both: &[(&Assignment, &Due)],
) -> Result<(), StoreError> {
    let case_ids: Vec<&str> = both.iter().map(|(a, _)| a.case_id.as_str()).collect();
    let complaint_ids: Vec<&str> = both.iter().map(|(a, _)| a.complaint_id.as_str()).collect();
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for member in tx.case_members(&case_ids).await? {
        members
            .entry(member.case_id)
            .or_default()
            .push(member.complaint_id);
    }
    let existing = tx.existing_complaints(&complaint_ids).await?;
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
    tx.set_facet_many(Facet::Deadline, &values).await?;
    Ok(())
}
