//! The working-day calendar as admins maintain it at runtime. A year stored with
//! `calendar import FILE` or `PUT /v1/calendar/{year}` is checked, kept in the store (so it
//! survives restarts and every process sees it), recorded in the audit chain, and takes effect
//! at once: deadlines that were provisional for lack of that year are counted again in the same
//! transaction (each recount in the deadline's trail), and the running gateway's calendar is
//! replaced. A year stored by another process (the CLI beside a running gateway) reaches the
//! gateway at its scheduler's next tick ([`refresh`]).
//!
//! Precedence, lowest first: the years embedded in the binary, the files of
//! `deadlines.calendar_dir`, the stored years.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::NotifyError;
use super::provisional::{Recount, recount};
use crate::calendar::{Calendar, SharedCalendar, YearDays};
use crate::config::Config;
use crate::store::audit::NewAuditEvent;
use crate::store::calendar::CalendarYear;
use crate::store::{Store, format_utc};

/// What storing a year did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredYear {
    pub year: i32,
    pub holidays: usize,
    pub working_weekends: usize,
    /// Where the year came from before (`None`: the calendar did not know it).
    pub replaced: Option<String>,
    /// Provisional deadlines counted again on it.
    pub recounted: usize,
    /// Extended provisional deadlines whose mark was cleared for staff to check.
    pub kept_extended: usize,
    /// Which deadlines those are (in each case's deadline audit trail too).
    #[serde(skip)]
    pub cases: Vec<super::provisional::RecountedDeadline>,
}

/// The calendar of `dir` (over the embedded years) with the stored years on top, and the
/// stored years' version.
pub async fn load(store: &Store, dir: &Path) -> Result<(Calendar, i64), NotifyError> {
    let version = store.calendar_version().await?;
    let mut calendar = Calendar::load(dir)?;
    for stored in store.calendar_years().await? {
        let origin = stored_origin(&stored.updated_by, &stored.updated_at);
        calendar.add_file(&stored.text, &origin)?;
    }
    Ok((calendar, version))
}

/// [`load`] into a [`SharedCalendar`].
pub async fn load_shared(store: &Store, dir: &Path) -> Result<SharedCalendar, NotifyError> {
    let (calendar, version) = load(store, dir).await?;
    Ok(SharedCalendar::new(calendar, version))
}

/// Reloads `shared` when another process stored a year since it was built; whether it did.
pub async fn refresh(
    store: &Store,
    shared: &SharedCalendar,
    dir: &Path,
) -> Result<bool, NotifyError> {
    if store.calendar_version().await? == shared.version() {
        return Ok(false);
    }
    let (calendar, version) = load(store, dir).await?;
    tracing::info!(
        years = ?calendar.years(),
        "the working-day calendar changed in the store; counting on the new one"
    );
    shared.replace(calendar, version);
    Ok(true)
}

/// Checks (as the calendar adds a year) and stores `days` for `actor`, counts provisional deadlines again on it and makes
/// it the running calendar; all or nothing.
pub async fn store_year(
    store: &Store,
    shared: &SharedCalendar,
    config: &Config,
    days: &YearDays,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<StoredYear, NotifyError> {
    let at = format_utc(now);
    let mut candidate = (*shared.current()).clone();
    let replaced = candidate.origin(days.year).map(str::to_string);
    candidate.add_year(days, &stored_origin(actor, &at))?;

    let mut tx = store.begin_decision().await?;
    tx.put_calendar_year(&CalendarYear {
        year: days.year,
        text: days.to_toml(&format!(
            "Working-day calendar for {}, stored by {actor} at {at}.",
            days.year
        )),
        updated_by: actor.to_string(),
        updated_at: at.clone(),
    })
    .await?;
    let Recount {
        recounted,
        kept_extended,
        cases,
    } = recount(&mut *tx, config, &candidate, now).await?;
    let stored = StoredYear {
        year: days.year,
        holidays: days.holidays.len(),
        working_weekends: days.working_weekends.len(),
        replaced,
        recounted,
        kept_extended,
        cases,
    };
    tx.append_audit(&[NewAuditEvent {
        at,
        actor: actor.to_string(),
        action: "calendar.store_year".into(),
        case_id: None,
        complaint_ids: Vec::new(),
        detail: serde_json::to_string(&stored).expect("plain data serialises"),
    }])
    .await?;
    tx.commit().await?;
    // Built again from the store, so that a year another request stored meanwhile is kept.
    refresh(store, shared, &config.deadlines.calendar_dir).await?;
    Ok(stored)
}

fn stored_origin(by: &str, at: &str) -> String {
    format!("stored by {by} at {at}")
}
