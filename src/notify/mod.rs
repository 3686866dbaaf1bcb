//! Deadlines and notifications of assigned cases.
//!
//! Routing calls [`on_assignment`] inside its own transaction when it assigns a case to a
//! queue: the deadline is computed from the priority's policy on the working-day
//! [`Calendar`], written with an audit row, set as the `deadline` facet of the case's
//! complaints, and the 交办 emails are put in the outbox — all in that transaction, so an
//! assignment never exists without its deadline and its notification, nor the reverse.
//!
//! - [`config`]: `[deadlines]` and `[email]`.
//! - [`deadline`]: extending and answering a case deadline (reads are the store's:
//!   [`OutboxReads`](crate::store::outbox::OutboxReads)).
//! - [`outbox`]: putting notifications in the outbox (the store keeps them).
//! - [`delivery`]: the SMTP worker (lease, retries with backoff, per-recipient status).
//! - [`scheduler`]: reminders, overdue notices, escalation and daily digests at an injected time.
//! - [`templates`]: the Chinese email texts: template files an admin can edit, loaded once
//!   ([`templates::MailTemplates`]) and passed with the calendar to whatever sends notices.
//! - [`pii`]: what an email may say about the complainant.
//! - [`worker`]: the scheduler and delivery tasks of `serve`.
//!
//! Status ownership: routing writes the `triage`/`assigned` status facet, the workflow the
//! state of each step (`crate::workflow`); this module writes `overdue` and `answered`. It
//! never logs personal data.

mod assignment;
pub mod calendar_years;
pub mod config;
pub mod deadline;
pub mod delivery;
pub mod outbox;
pub mod pii;
pub mod provisional;
pub mod scheduler;
pub mod templates;
pub mod worker;

use chrono::{DateTime, FixedOffset, Utc};
use connectors::item::Complainant;
use serde::{Deserialize, Serialize};

pub use crate::store::outbox::CaseDeadline;
pub use assignment::{on_assignments, on_reopen};

use crate::calendar::{Calendar, CalendarError};
use crate::config::Config;
use crate::store::facets::Facet;
use crate::store::outbox::NewAuditEntry;
use crate::store::{DerivedTx, StoreError};
use templates::MailTemplates;

/// Why a deadline or notification operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(
        "no deadline policy for priority `{priority}`: add [deadlines.policies.{priority}] to \
         the configuration"
    )]
    UnknownPriority { priority: String },
    #[error("case `{case_id}` has no deadline")]
    NoDeadline { case_id: String },
    #[error("case `{case_id}` is already answered")]
    AlreadyAnswered { case_id: String },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("stored deadline record is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot render an email: {0}")]
    Template(String),
}

/// A case assigned to a queue, as routing hands it over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub case_id: String,
    /// The complaint that caused the assignment (the case's first or newest).
    pub complaint_id: String,
    /// The queue's key in `routing.toml`.
    pub queue_key: String,
    /// The responsible unit's name, e.g. 市监察局.
    pub queue_name: String,
    /// Email addresses of the queue's members.
    pub members: Vec<String>,
    /// Email address of the queue's supervisor (overdue notices).
    pub supervisor: String,
    /// Units informed of the case: (unit name, email addresses).
    pub informed: Vec<(String, Vec<String>)>,
    /// `urgent`, `high`, `normal`, `low` (names of `[deadlines.policies]`).
    pub priority: String,
    pub channel: String,
    pub title: Option<String>,
    pub assigned_at: DateTime<FixedOffset>,
    /// The unit the complaint is about, as the channel stated it.
    pub target_unit: Option<String>,
    /// Units the complaint is about (by name): its text or target unit names them, a routing
    /// rule or staff declared them.
    pub subject_units: Vec<String>,
    /// Keys of the queues the case is about, as recorded: refreshed from the store before a
    /// later email ([`pii::refresh_subjects`]), so a subject staff named since counts.
    #[serde(default)]
    pub subject_queues: Vec<String>,
    /// Personal data: only ever masked or withheld in emails, never logged.
    pub complainant: Option<Complainant>,
    /// The complaint's (normalised) text, for the 交办 email (masked by the recipient's rule).
    #[serde(default)]
    pub text: String,
    /// Why the case went to this queue (category, the route rule).
    #[serde(default)]
    pub why: String,
    /// The queue is the centre's triage queue (the email asks to sort, not to investigate).
    #[serde(default)]
    pub triage: bool,
}

/// A computed deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at: DateTime<FixedOffset>,
    /// The first year without a calendar file the count went through (weekdays alone there).
    pub provisional_year: Option<i32>,
}

/// The deadline of a case assigned at `assigned_at` with `priority`. Past the calendar's last
/// year it is provisional (see [`Calendar::add_working_days_provisional`]), never an error:
/// routing goes on.
pub fn compute_deadline(
    cfg: &Config,
    calendar: &Calendar,
    priority: &str,
    assigned_at: DateTime<FixedOffset>,
) -> Result<Due, NotifyError> {
    let policy =
        cfg.deadlines
            .policies
            .get(priority)
            .ok_or_else(|| NotifyError::UnknownPriority {
                priority: priority.to_string(),
            })?;
    let local = assigned_at.with_timezone(&cfg.deadlines.offset());
    match (policy.hours, policy.working_days) {
        (Some(hours), _) => Ok(Due {
            at: Calendar::add_hours(local, hours),
            provisional_year: None,
        }),
        (None, Some(days)) => {
            let day_end = cfg.deadlines.day_end().map_err(NotifyError::Invalid)?;
            let (at, provisional_year) =
                calendar.add_working_days_provisional(local, days, day_end);
            if let Some(year) = provisional_year {
                crate::telemetry::deadline_provisional(year);
            }
            Ok(Due {
                at,
                provisional_year,
            })
        }
        (None, None) => Err(NotifyError::UnknownPriority {
            priority: priority.to_string(),
        }),
    }
}

/// Records the assignment's deadline, its audit row, the `deadline` facet of the case's
/// complaints, and the 交办 emails — inside `tx`, which the caller commits. A repeated
/// assignment of the same case (re-routing) replaces its deadline and resets its reminders.
pub async fn on_assignment(
    tx: &mut dyn DerivedTx,
    a: &Assignment,
    cfg: &Config,
    calendar: &Calendar,
    templates: &MailTemplates,
) -> Result<CaseDeadline, NotifyError> {
    assignment::on_assignments(tx, std::slice::from_ref(a), cfg, calendar, templates).await?;
    tx.case_deadline(&a.case_id)
        .await?
        .ok_or_else(|| NotifyError::Corrupt(format!("case {} vanished", a.case_id)))
}

/// Sets the `deadline` facet of every complaint of the case (and of `complaint_id`).
async fn set_deadline_facet(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    complaint_id: &str,
    due: &DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    let due_text = due.to_rfc3339();
    set_case_facet(tx, case_id, complaint_id, Facet::Deadline, Some(&due_text)).await
}

/// Sets the status facet (`overdue`, `answered`) of every complaint of the case.
async fn set_status_facet(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    complaint_id: &str,
    status: &str,
) -> Result<(), StoreError> {
    set_case_facet(tx, case_id, complaint_id, Facet::Status, Some(status)).await
}

/// Sets (or, with `None`, clears) the status facet of every complaint of the case: `closed`
/// for a case loaded as history, routing's status again when a live complaint reopens it.
pub async fn set_case_status_facet(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    complaint_id: &str,
    status: Option<&str>,
) -> Result<(), StoreError> {
    set_case_facet(tx, case_id, complaint_id, Facet::Status, status).await
}

/// Sets `facet` to `value` on every complaint of the case (and `complaint_id`) in one
/// statement, whatever the size of the case; only the changed ones are queued for the index.
async fn set_case_facet(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    complaint_id: &str,
    facet: Facet,
    value: Option<&str>,
) -> Result<(), StoreError> {
    set_cases_facet(tx, &[case_id], &[complaint_id], facet, value).await
}

/// [`set_case_facet`] for many cases at once: `facet` set to `value` on every complaint of
/// `case_ids` and on those of `complaint_ids` that exist, in one statement.
pub async fn set_cases_facet(
    tx: &mut dyn DerivedTx,
    case_ids: &[&str],
    complaint_ids: &[&str],
    facet: Facet,
    value: Option<&str>,
) -> Result<(), StoreError> {
    let mut ids: Vec<String> = tx
        .case_members(case_ids)
        .await?
        .into_iter()
        .map(|m| m.complaint_id)
        .collect();
    ids.extend(tx.existing_complaints(complaint_ids).await?);
    ids.sort_unstable();
    ids.dedup();
    let values: Vec<(&str, Option<&str>)> = ids.iter().map(|id| (id.as_str(), value)).collect();
    tx.set_facet_many(facet, &values).await?;
    Ok(())
}

/// Appends to the audit trail.
pub async fn audit(
    tx: &mut dyn DerivedTx,
    case_id: Option<&str>,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let entry = NewAuditEntry {
        case_id: case_id.map(str::to_string),
        at,
        actor: actor.to_string(),
        action: action.to_string(),
        detail,
    };
    tx.append_deadline_audit(std::slice::from_ref(&entry)).await
}
