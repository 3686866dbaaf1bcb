//! A period's statistics as shown: the whole, each group, and the series (each bucket, and
//! each group's buckets), from the store's rows, with the accountability records of the period
//! ([`super::accountability`]); and as CSV.

use std::collections::BTreeMap;

use serde::Serialize;

use super::accountability::AccountabilitySection;
use super::{Counts, Rates};
use crate::store::stats::StatsRow;

/// One line of a report: a group (or everything) over the period or one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportLine {
    /// The unit, channel or category (`null`: the whole, or none recorded).
    pub key: Option<String>,
    /// The series' bucket (`null`: the whole period).
    pub bucket: Option<String>,
    pub counts: Counts,
    pub rates: Rates,
}

impl ReportLine {
    fn new(key: Option<String>, bucket: Option<String>, counts: Counts) -> ReportLine {
        ReportLine {
            key,
            bucket,
            rates: counts.rates(),
            counts,
        }
    }
}

/// A period's statistics.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// RFC 3339: from (inclusive) to (exclusive).
    pub from: String,
    pub to: String,
    /// `unit`, `channel`, `category`, or `null`.
    pub by: Option<String>,
    /// `day`, `week`, `month`, or `null`.
    pub series_by: Option<String>,
    pub total: ReportLine,
    /// Each group over the period, by key.
    pub groups: Vec<ReportLine>,
    /// Each bucket, everything together (overdue-now is a whole-period figure: 0 here).
    pub series: Vec<ReportLine>,
    /// Each group's buckets (with `by` and a series).
    pub group_series: Vec<ReportLine>,
    /// 责任追究: the accountability records decided in the period, per unit and measure.
    pub accountability: AccountabilitySection,
}

/// The report of `rows` (the store's counts for one period, grouped as `by` says).
pub fn report(
    rows: &[StatsRow],
    from: String,
    to: String,
    by: Option<&str>,
    series_by: Option<&str>,
) -> Report {
    let mut total = Counts::default();
    let mut groups: BTreeMap<Option<String>, Counts> = BTreeMap::new();
    let mut series: BTreeMap<String, Counts> = BTreeMap::new();
    let mut group_series: BTreeMap<(Option<String>, String), Counts> = BTreeMap::new();
    for row in rows {
        total.add(row);
        if by.is_some() {
            groups.entry(row.group.clone()).or_default().add(row);
        }
        if let Some(bucket) = &row.bucket {
            series.entry(bucket.clone()).or_default().add(row);
            if by.is_some() {
                group_series
                    .entry((row.group.clone(), bucket.clone()))
                    .or_default()
                    .add(row);
            }
        }
    }
    Report {
        from,
        to,
        by: by.map(str::to_string),
        series_by: series_by.map(str::to_string),
        total: ReportLine::new(None, None, total),
        groups: groups
            .into_iter()
            .map(|(key, counts)| ReportLine::new(key, None, counts))
            .collect(),
        series: series
            .into_iter()
            .map(|(bucket, counts)| ReportLine::new(None, Some(bucket), counts))
            .collect(),
        group_series: group_series
            .into_iter()
            .map(|((key, bucket), counts)| ReportLine::new(key, Some(bucket), counts))
            .collect(),
        accountability: AccountabilitySection::default(),
    }
}

/// The columns of a line's figures: its counts, then its rates.
pub const FIGURE_COLUMNS: &str = "received,due,due_answered_on_time,accept_due,\
accepted_on_time,answered,answered_on_time,follow_ups,reached,solved,satisfied,returned,\
reopened,overdue_now,response_rate,resolution_rate,satisfaction_rate,accepted_on_time_rate,\
answered_on_time_rate";

/// How many columns [`FIGURE_COLUMNS`] names.
pub const FIGURE_COUNT: usize = 19;

/// The columns of an accountability line: the measure and the number of records.
pub const ACCOUNTABILITY_COLUMNS: &str = "measure,records";

/// A CSV field: quoted when it holds a comma, a quote or a line break.
pub fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The figures of `l` as CSV fields ([`FIGURE_COLUMNS`]); a rate with nothing to count is
/// empty.
pub fn figure_fields(l: &ReportLine) -> String {
    let c = &l.counts;
    let r = &l.rates;
    let rate = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    let counts = [
        c.received,
        c.due,
        c.due_answered_on_time,
        c.accept_due,
        c.accepted_on_time,
        c.answered,
        c.answered_on_time,
        c.follow_ups,
        c.reached,
        c.solved,
        c.satisfied,
        c.returned,
        c.reopened,
        c.overdue_now,
    ]
    .map(|n| n.to_string())
    .join(",");
    let rates = [
        r.response,
        r.resolution,
        r.satisfaction,
        r.accepted_on_time,
        r.answered_on_time,
    ]
    .map(rate)
    .join(",");
    format!("{counts},{rates}")
}

fn line(scope: &str, l: &ReportLine) -> String {
    format!(
        "{scope},{},{},{},,\n",
        field(l.key.as_deref().unwrap_or("")),
        field(l.bucket.as_deref().unwrap_or("")),
        figure_fields(l)
    )
}

/// The report as CSV: a header, the total, each group, each bucket, each group's buckets, then
/// the accountability records per unit and measure (`accountability` lines: the unit as `key`,
/// the figures empty, `measure` and `records`); a rate with nothing to count is empty.
pub fn to_csv(report: &Report) -> String {
    let mut out = format!("scope,key,bucket,{FIGURE_COLUMNS},{ACCOUNTABILITY_COLUMNS}\n");
    out.push_str(&line("total", &report.total));
    for l in &report.groups {
        out.push_str(&line("group", l));
    }
    for l in &report.series {
        out.push_str(&line("series", l));
    }
    for l in &report.group_series {
        out.push_str(&line("group_series", l));
    }
    let no_figures = ",".repeat(FIGURE_COUNT - 1);
    for l in &report.accountability.rows {
        out.push_str(&format!(
            "accountability,{},,{no_figures},{},{}\n",
            field(l.unit.as_deref().unwrap_or("")),
            field(l.measure.as_deref().unwrap_or("")),
            l.records
        ));
    }
    out
}
