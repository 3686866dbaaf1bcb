//! The scheduler: one [`tick`] at an injected time looks at the open case deadlines that may
//! need something (read through the store's due-time index, so an idle tick costs what is due,
//! not what is open) and puts in the outbox what is due — a reminder (催办) `remind_before_minutes` before the
//! deadline, an overdue notice to the queue's supervisor after it (repeated every
//! `overdue_repeat_hours`), a 催签收 notice to a unit that has not accepted (签收) a case by its
//! accept-by time, an escalation after `escalate_after_notices` overdue notices, and
//! each queue's daily digest after `digest_time`. Each action is recorded on the case row (so a
//! second tick at the same time does nothing) and in the audit trail, in one transaction with
//! its emails.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};

use super::templates::{CaseMail, DigestLine, MailTemplates, digest_title};
use super::{Assignment, NotifyError, audit, outbox, set_status_facet};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::store::outbox::{DueQuery, OpenDeadline};
use crate::store::{DerivedTx, Store};

/// Who the escalation email addresses (it goes to the centre's leadership).
const ESCALATION_UNIT: &str = "效能投诉中心";

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub reminders: usize,
    pub overdue_notices: usize,
    pub escalations: usize,
    pub digests: usize,
    /// Provisional deadlines counted again on a calendar year added since.
    pub recounted: usize,
    /// Cases their unit had not accepted (签收) by the accept-by time.
    pub accept_overdue: usize,
}

struct OpenCase {
    assignment: Assignment,
    due: DateTime<FixedOffset>,
    reminded: bool,
    overdue_notices: u32,
    last_overdue_at: Option<DateTime<Utc>>,
    escalated: bool,
}

/// Runs the scheduler once at `now`, in one staff-decision transaction of `store` (what it
/// queues cannot be rebuilt from the log).
pub async fn tick(
    store: &Store,
    cfg: &Config,
    calendar: &Calendar,
    templates: &MailTemplates,
    now: DateTime<Utc>,
) -> Result<TickReport, NotifyError> {
    let mut report = TickReport::default();
    let mut tx = store.begin_decision().await?;
    let recount = super::provisional::recount(&mut *tx, cfg, calendar, now).await?;
    report.recounted = recount.recounted + recount.kept_extended;
    let rows = tx.deadlines_due(due_query(cfg, now)).await?;
    let mut cases = open_cases(rows)?;
    let mut stored: Vec<&mut Assignment> = cases.iter_mut().map(|c| &mut c.assignment).collect();
    super::pii::refresh_subjects(&mut *tx, &mut stored).await?;
    let console = cfg.email.console_url.clone();
    let now_ms = now.timestamp_millis();
    for case in &cases {
        let a = &case.assignment;
        let due_utc = case.due.with_timezone(&Utc);
        if now < due_utc {
            let lead_minutes = cfg
                .deadlines
                .policies
                .get(&a.priority)
                .map_or(0, |p| p.remind_before_minutes);
            let remind_at = due_utc - chrono::Duration::minutes(i64::from(lead_minutes));
            if !case.reminded && now >= remind_at {
                let mail = templates.case_mail(
                    CaseMail::Reminder,
                    a,
                    &a.queue_name,
                    &case.due,
                    &console,
                )?;
                outbox::enqueue(&mut *tx, cfg, now, "reminder", Some(a), &mail, &a.members).await?;
                tx.mark_reminded(&a.case_id, now).await?;
                let detail = serde_json::json!({"due_at": case.due.to_rfc3339()});
                audit(
                    &mut *tx,
                    Some(&a.case_id),
                    now,
                    "system:scheduler",
                    "reminded",
                    detail,
                )
                .await?;
                report.reminders += 1;
            }
            continue;
        }
        let repeat_ms = i64::from(cfg.deadlines.overdue_repeat_hours) * 3_600_000;
        if case
            .last_overdue_at
            .is_some_and(|last| now_ms - last.timestamp_millis() < repeat_ms)
        {
            continue;
        }
        let notice = case.overdue_notices + 1;
        let mail = templates.case_mail(
            CaseMail::Overdue { notice },
            a,
            &a.queue_name,
            &case.due,
            &console,
        )?;
        let supervisor = vec![a.supervisor.clone()];
        outbox::enqueue(&mut *tx, cfg, now, "overdue", Some(a), &mail, &supervisor).await?;
        tx.record_overdue_notice(&a.case_id, notice, now).await?;
        let detail = serde_json::json!({"due_at": case.due.to_rfc3339(), "notice": notice});
        audit(
            &mut *tx,
            Some(&a.case_id),
            now,
            "system:scheduler",
            "overdue",
            detail,
        )
        .await?;
        set_status_facet(&mut *tx, &a.case_id, &a.complaint_id, "overdue").await?;
        report.overdue_notices += 1;
        if notice >= cfg.deadlines.escalate_after_notices && !case.escalated {
            let mail = templates.case_mail(
                CaseMail::Escalation { notices: notice },
                a,
                ESCALATION_UNIT,
                &case.due,
                &console,
            )?;
            let mut to = cfg.deadlines.escalation_emails.clone();
            to.push(a.supervisor.clone());
            outbox::enqueue(&mut *tx, cfg, now, "escalation", Some(a), &mail, &to).await?;
            tx.mark_escalated(&a.case_id, now).await?;
            let detail = serde_json::json!({"notices": notice});
            audit(
                &mut *tx,
                Some(&a.case_id),
                now,
                "system:scheduler",
                "escalated",
                detail,
            )
            .await?;
            report.escalations += 1;
        }
    }
    report.accept_overdue = accept_overdue(&mut *tx, cfg, templates, now).await?;
    report.digests = digests(&mut *tx, cfg, templates, now).await?;
    tx.commit().await?;
    Ok(report)
}

/// One 催签收 notice to the unit (members and supervisor) of each case not accepted by its
/// accept-by time.
async fn accept_overdue(
    tx: &mut dyn DerivedTx,
    cfg: &Config,
    templates: &MailTemplates,
    now: DateTime<Utc>,
) -> Result<usize, NotifyError> {
    let rows = tx.accept_overdue(now).await?;
    let console = cfg.email.console_url.clone();
    for row in &rows {
        let corrupt = |what: String| NotifyError::Corrupt(format!("case {}: {what}", row.case_id));
        let mut a: Assignment =
            serde_json::from_str(&row.assignment).map_err(|e| corrupt(e.to_string()))?;
        super::pii::refresh_subjects(tx, &mut [&mut a]).await?;
        let due =
            DateTime::parse_from_rfc3339(&row.accept_due_at).map_err(|e| corrupt(e.to_string()))?;
        let mail =
            templates.case_mail(CaseMail::AcceptOverdue, &a, &a.queue_name, &due, &console)?;
        let mut to = a.members.clone();
        to.push(a.supervisor.clone());
        outbox::enqueue(tx, cfg, now, "accept_overdue", Some(&a), &mail, &to).await?;
        tx.mark_accept_overdue(&a.case_id, now).await?;
        let detail = serde_json::json!({"accept_due_at": due.to_rfc3339()});
        audit(
            tx,
            Some(&a.case_id),
            now,
            "system:scheduler",
            "accept_overdue",
            detail,
        )
        .await?;
    }
    Ok(rows.len())
}

/// What a tick at `now` reads: deadlines within the longest reminder lead of any priority, and
/// those overdue whose last notice is `overdue_repeat_hours` old.
fn due_query(cfg: &Config, now: DateTime<Utc>) -> DueQuery {
    let longest_lead = cfg
        .deadlines
        .policies
        .values()
        .map(|p| p.remind_before_minutes)
        .max()
        .unwrap_or(0);
    DueQuery {
        now,
        remind_horizon: now + chrono::Duration::minutes(i64::from(longest_lead)),
        repeat_before: now - chrono::Duration::hours(i64::from(cfg.deadlines.overdue_repeat_hours)),
    }
}

fn open_cases(rows: Vec<OpenDeadline>) -> Result<Vec<OpenCase>, NotifyError> {
    rows.into_iter()
        .map(|row| {
            let case_id = row.case_id;
            let corrupt = |what: String| NotifyError::Corrupt(format!("case {case_id}: {what}"));
            Ok(OpenCase {
                assignment: serde_json::from_str(&row.assignment)
                    .map_err(|e| corrupt(e.to_string()))?,
                due: DateTime::parse_from_rfc3339(&row.due_at)
                    .map_err(|e| corrupt(e.to_string()))?,
                reminded: row.reminded_at.is_some(),
                overdue_notices: row.overdue_notices as u32,
                last_overdue_at: row.last_overdue_at,
                escalated: row.escalated_at.is_some(),
            })
        })
        .collect()
}

/// The day whose digests have all been queued (a local date), so later ticks that day read
/// nothing for them.
const DIGEST_DAY_KEY: &str = "notify.digest.day";

/// The daily digest of every queue with open cases, once per local day at the first tick after
/// `digest_time` (the only read of every open deadline; a queue whose first case arrives later
/// that day is in the next day's digests).
async fn digests(
    tx: &mut dyn DerivedTx,
    cfg: &Config,
    templates: &MailTemplates,
    now: DateTime<Utc>,
) -> Result<usize, NotifyError> {
    let local = now.with_timezone(&cfg.deadlines.offset());
    let digest_at = cfg.deadlines.digest_at().map_err(NotifyError::Invalid)?;
    if local.time() < digest_at {
        return Ok(0);
    }
    let day = local.format("%Y-%m-%d").to_string();
    if tx.state(DIGEST_DAY_KEY).await?.as_deref() == Some(day.as_str()) {
        return Ok(0);
    }
    let mut cases = open_cases(tx.open_deadlines().await?)?;
    // A title is scrubbed for the queue's unit as the case's subjects are now.
    let mut stored: Vec<&mut Assignment> = cases.iter_mut().map(|c| &mut c.assignment).collect();
    super::pii::refresh_subjects(tx, &mut stored).await?;
    let mut queues: BTreeMap<&str, Vec<&OpenCase>> = BTreeMap::new();
    for case in &cases {
        queues
            .entry(case.assignment.queue_key.as_str())
            .or_default()
            .push(case);
    }
    let mut sent = 0;
    for (queue_key, queue_cases) in queues {
        let state_key = format!("notify.digest.{queue_key}");
        let last = tx.state(&state_key).await?;
        if last.as_deref() == Some(day.as_str()) {
            continue;
        }
        let lines: Vec<DigestLine> = queue_cases
            .iter()
            .map(|c| DigestLine {
                case_id: c.assignment.case_id.clone(),
                title: digest_title(&c.assignment),
                due: c.due,
                overdue: c.due.with_timezone(&Utc) <= now,
            })
            .collect();
        // The newest assignment knows the queue's current members.
        let newest = queue_cases
            .iter()
            .max_by_key(|c| c.assignment.assigned_at)
            .expect("a queue listed has cases");
        let mail = templates.digest(
            &newest.assignment.queue_name,
            &day,
            &lines,
            &cfg.email.console_url,
        )?;
        let members = &newest.assignment.members;
        outbox::enqueue(tx, cfg, now, "digest", None, &mail, members).await?;
        tx.set_state(&state_key, &day).await?;
        let detail = serde_json::json!({"queue": queue_key, "day": day, "cases": lines.len()});
        audit(tx, None, now, "system:scheduler", "digest", detail).await?;
        sent += 1;
    }
    tx.set_state(DIGEST_DAY_KEY, &day).await?;
    Ok(sent)
}
