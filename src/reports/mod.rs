//! The monthly report to the city government (`complaint-gateway report --month YYYY-MM`,
//! `GET /v1/reports/monthly`): received by channel, the 三率 and the timeliness rates per unit,
//! overdue now, the month's hot issues and the 责任追究 outcomes per unit and measure — as a
//! printable HTML page in Chinese ([`html`]) or as CSV ([`csv`]).
//!
//! Every figure comes from the statistics' own code: the month is the request
//! `from = first day, to = last day` that `GET /v1/stats` parses the same way (local days at
//! the configured offset), read once by unit (with the accountability section) and once by
//! channel ([`crate::stats::read_report`]); the hot issues are `cases::read::hot_issues` over
//! the month. Nothing is counted here.

pub mod csv;
pub mod html;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

use crate::cases::CaseError;
use crate::cases::read::hot_issues;
use crate::config::Config;
use crate::routing::RoutingConfig;
use crate::stats::{Report, StatsRequest, parse, read_report};
use crate::store::{Store, StoreError, format_utc};

/// How many hot issues the report lists.
pub const HOT_ISSUES: usize = 10;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A month that is not `YYYY-MM`, or not begun yet.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("hot issues: {0}")]
    Cases(#[from] CaseError),
    #[error("rendering the report: {0}")]
    Render(String),
}

/// A month's first and last day, from `YYYY-MM`.
pub fn month_days(month: &str) -> Result<(NaiveDate, NaiveDate), ReportError> {
    let invalid = || ReportError::Invalid(format!("`month` must be YYYY-MM, not `{month}`"));
    let (year, number) = month.split_once('-').ok_or_else(invalid)?;
    if year.len() != 4 || number.len() != 2 {
        return Err(invalid());
    }
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let number: u32 = number.parse().map_err(|_| invalid())?;
    let first = NaiveDate::from_ymd_opt(year, number, 1).ok_or_else(invalid)?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(invalid)?;
    Ok((first, next.pred_opt().ok_or_else(invalid)?))
}

/// One hot issue of the month, as the report shows it (no personal data: the title is masked).
#[derive(Debug, Clone, PartialEq)]
pub struct HotLine {
    pub case_id: String,
    pub title: String,
    /// Complaints of the case in the month.
    pub complaints: i64,
    pub complainants: i64,
    pub channels: Vec<String>,
    pub queue: Option<String>,
    pub heat: f64,
}

/// The month's report.
#[derive(Debug, Clone)]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The local offset the month's days are counted in.
    pub offset: FixedOffset,
    pub generated_at: DateTime<Utc>,
    /// `GET /v1/stats?from=<first day>&to=<last day>&by=unit` (with its accountability section).
    pub by_unit: Report,
    /// The same with `by=channel`.
    pub by_channel: Report,
    pub hot_issues: Vec<HotLine>,
    /// Queue key → the unit's name, for every queue of the routing file.
    pub unit_names: BTreeMap<String, String>,
    /// The configured measures, in order.
    pub measures: Vec<String>,
}

impl MonthlyReport {
    /// The unit's name (its key when the routing file has no such queue any more).
    pub fn unit_name(&self, key: Option<&str>) -> String {
        match key {
            None => "（未分派）".to_string(),
            Some(key) => self
                .unit_names
                .get(key)
                .cloned()
                .unwrap_or_else(|| key.to_string()),
        }
    }
}

/// The report of `month` (`YYYY-MM`) at `now`.
pub async fn monthly(
    store: &Store,
    config: &Config,
    routing: &RoutingConfig,
    month: &str,
    now: DateTime<Utc>,
) -> Result<MonthlyReport, ReportError> {
    let (first_day, last_day) = month_days(month)?;
    let offset = config.parse_options().default_offset;
    let this_month = now.with_timezone(&offset).date_naive().with_day(1);
    if this_month.is_some_and(|m| first_day > m) {
        return Err(ReportError::Invalid(format!(
            "the month {month} has not begun yet"
        )));
    }
    let (from, to) = (first_day.to_string(), last_day.to_string());
    let request = |by: &'static str| StatsRequest {
        from: Some(&from),
        to: Some(&to),
        by: Some(by),
        series: None,
    };
    let measures = &config.accountability.measures;
    let (units, channels) = (request("unit"), request("channel"));
    let query = parse(&units, offset, now).map_err(ReportError::Invalid)?;
    let by_unit = read_report(store, &units, &query, measures).await?;
    let channel_query = parse(&channels, offset, now).map_err(ReportError::Invalid)?;
    let by_channel = read_report(store, &channels, &channel_query, measures).await?;
    let until = query.to.min(now);
    let hot = hot_issues(
        store,
        until,
        until - query.from,
        HOT_ISSUES,
        &config.grouping.heat,
    )
    .await?;
    let hot_issues = hot
        .into_iter()
        .map(|h| HotLine {
            case_id: h.case.id,
            title: crate::people::pii::mask_text(&h.case.title),
            complaints: h.window_complaints,
            complainants: h.case.complainants,
            channels: h.case.channels,
            queue: h.case.queue,
            heat: h.heat.score,
        })
        .collect();
    let unit_names = routing
        .queues
        .iter()
        .map(|(key, queue)| (key.clone(), queue.name.clone()))
        .collect();
    Ok(MonthlyReport {
        month: month.to_string(),
        first_day,
        last_day,
        offset,
        generated_at: now,
        by_unit,
        by_channel,
        hot_issues,
        unit_names,
        measures: measures.clone(),
    })
}

/// When the report was made, as its footer says it (local time).
pub fn generated_label(report: &MonthlyReport) -> String {
    let local = report.generated_at.with_timezone(&report.offset);
    format!(
        "{}（UTC{}）；数据截至 {}",
        local.format("%Y-%m-%d %H:%M"),
        report.offset,
        format_utc(report.generated_at)
    )
}

#[cfg(test)]
mod tests;
