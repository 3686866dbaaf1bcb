//! 统计 (`/console/stats?from=&to=`): received by channel and by category over the period
//! (inline SVG charts made on the server, the numbers in tables beside them), the per-unit
//! 三率 and timeliness table, overdue now and the period's 责任追究 — every figure read through
//! `api::stats::report_for` (`stats::read_report`, as `GET /v1/stats`; the charts' through
//! `received_report_for`, the same read counting received alone); and the same CSV as
//! `GET /v1/stats?format=csv` at `/console/stats/csv`. Default period: this month, local time.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::home::queue_name;
use super::labels;
use super::page::{ConsoleError, Layout, offset, render};
use super::svg::{Line, legend, line_chart};
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::api::stats::{StatsParams, csv_answer, received_report_for, report_for};
use crate::stats::{Rates, Report};

/// Lines drawn per chart (the groups with most received; the rest summed as 其他).
const CHART_LINES: usize = 6;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A chart with its legend and its numbers.
pub struct ChartView {
    pub title: &'static str,
    pub svg: String,
    pub legend: Vec<(String, String)>,
    /// The table's columns after the bucket: the lines' labels.
    pub columns: Vec<String>,
    /// (bucket, one value per column).
    pub rows: Vec<(String, Vec<u64>)>,
    /// (group, received in the period), most first.
    pub totals: Vec<(String, i64)>,
}

/// One unit's line of the 三率 table.
pub struct UnitRow {
    pub unit: String,
    pub received: i64,
    pub accepted_on_time: String,
    pub response: String,
    pub answered: i64,
    pub answered_on_time: String,
    pub resolution: String,
    pub satisfaction: String,
    pub returned: i64,
    pub reopened: i64,
    pub overdue_now: i64,
}

#[derive(Template)]
#[template(path = "console/stats.html")]
struct StatsPage {
    layout: Layout,
    from: String,
    to: String,
    error: Option<String>,
    /// (label, href) of the quick periods.
    periods: Vec<(&'static str, String)>,
    series_label: &'static str,
    charts: Vec<ChartView>,
    units: Vec<UnitRow>,
    total: Option<UnitRow>,
    accountability_total: i64,
    /// (unit, records).
    accountability: Vec<(String, i64)>,
    csv: String,
}

/// `GET /console/stats`.
pub async fn stats(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    match build(&state, &session, query).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// `GET /console/stats/csv?from=&to=`: the CSV of `GET /v1/stats?format=csv&by=unit`.
pub async fn csv(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let (from, to) = period(&state, &query);
    let params = StatsParams {
        series: Some(series_for(&from, &to).0.into()),
        by: Some("unit".into()),
        from: Some(from),
        to: Some(to),
        format: Some("csv".into()),
    };
    match report_for(&state, &params).await {
        Ok(report) => csv_answer(&report),
        Err(error) => ConsoleError::from(error).page(&state, Some(&session)),
    }
}

/// The period asked for, else this month up to today (local dates, both included).
fn period(state: &AppState, query: &PeriodQuery) -> (String, String) {
    let today = Utc::now().with_timezone(&offset(state)).date_naive();
    let first = today.with_day(1).expect("the first of the month");
    let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    (
        given(&query.from).unwrap_or_else(|| first.to_string()),
        given(&query.to).unwrap_or_else(|| today.to_string()),
    )
}

/// The series a period is drawn by: days up to two months, weeks up to a year, else months.
fn series_for(from: &str, to: &str) -> (&'static str, &'static str) {
    let days = match (
        NaiveDate::parse_from_str(from, "%Y-%m-%d"),
        NaiveDate::parse_from_str(to, "%Y-%m-%d"),
    ) {
        (Ok(f), Ok(t)) => (t - f).num_days(),
        _ => 0,
    };
    match days {
        ..=62 => ("day", "日"),
        63..=370 => ("week", "周"),
        _ => ("month", "月"),
    }
}

fn quick_periods(state: &AppState) -> Vec<(&'static str, String)> {
    let today = Utc::now().with_timezone(&offset(state)).date_naive();
    let first = today.with_day(1).expect("the first of the month");
    let last_month_end = first - Duration::days(1);
    let last_month = last_month_end.with_day(1).expect("the first of the month");
    let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("1 January");
    let href = |f: NaiveDate, t: NaiveDate| format!("/console/stats?from={f}&to={t}");
    vec![
        ("本月", href(first, today)),
        ("上月", href(last_month, last_month_end)),
        ("近30天", href(today - Duration::days(29), today)),
        ("今年", href(year, today)),
    ]
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    query: PeriodQuery,
) -> Result<StatsPage, ConsoleError> {
    let (from, to) = period(state, &query);
    let (series, series_label) = series_for(&from, &to);
    let mut page = StatsPage {
        layout: Layout::new(state, session, "统计", "/console/stats"),
        csv: format!("/console/stats/csv?from={from}&to={to}"),
        from: from.clone(),
        to: to.clone(),
        error: None,
        periods: quick_periods(state),
        series_label,
        charts: Vec::new(),
        units: Vec::new(),
        total: None,
        accountability_total: 0,
        accountability: Vec::new(),
    };
    let params = |by: &str, series: Option<&str>| StatsParams {
        from: Some(from.clone()),
        to: Some(to.clone()),
        by: Some(by.to_string()),
        series: series.map(str::to_string),
        format: None,
    };
    // The three reads at once (the store's readers serve them side by side).
    let (unit_params, channel_params, category_params) = (
        params("unit", None),
        params("channel", Some(series)),
        params("category", Some(series)),
    );
    // The charts draw received alone: their reports count nothing else.
    let (by_unit, by_channel, by_category) = tokio::join!(
        report_for(state, &unit_params),
        received_report_for(state, &channel_params),
        received_report_for(state, &category_params)
    );
    let by_unit = match by_unit {
        Ok(report) => report,
        Err(error) if error.status.is_client_error() => {
            page.error = Some(format!("统计时段无效：{}", error.message));
            return Ok(page);
        }
        Err(error) => return Err(error.into()),
    };
    let (by_channel, by_category) = (by_channel?, by_category?);
    let days = (series == "day").then(|| every_day(&from, &to));
    page.charts = vec![
        chart("按渠道收件", &by_channel, days.as_deref(), |key| {
            key.map_or_else(|| "未记录".into(), |k| labels::channel(k).to_string())
        }),
        chart("按类别收件", &by_category, days.as_deref(), |key| {
            key.map_or_else(|| "未分类".into(), str::to_string)
        }),
    ];
    page.units = by_unit
        .groups
        .iter()
        .map(|g| unit_row(queue_name(state, g.key.as_deref()), &g.counts, &g.rates))
        .collect();
    page.total = Some(unit_row(
        "合计".into(),
        &by_unit.total.counts,
        &by_unit.total.rates,
    ));
    page.accountability_total = by_unit.accountability.total;
    page.accountability = by_unit
        .accountability
        .by_unit
        .iter()
        .map(|l| (queue_name(state, l.unit.as_deref()), l.records))
        .collect();
    Ok(page)
}

/// Every local date from `from` to `to`, both included.
fn every_day(from: &str, to: &str) -> Vec<String> {
    let (Ok(mut day), Ok(last)) = (
        NaiveDate::parse_from_str(from, "%Y-%m-%d"),
        NaiveDate::parse_from_str(to, "%Y-%m-%d"),
    ) else {
        return Vec::new();
    };
    let mut days = Vec::new();
    while day <= last && days.len() < 400 {
        days.push(day.to_string());
        day += Duration::days(1);
    }
    days
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{r:.1}%"))
}

fn unit_row(unit: String, c: &crate::stats::Counts, r: &Rates) -> UnitRow {
    UnitRow {
        unit,
        received: c.received,
        accepted_on_time: percent(r.accepted_on_time),
        response: percent(r.response),
        answered: c.answered,
        answered_on_time: percent(r.answered_on_time),
        resolution: percent(r.resolution),
        satisfaction: percent(r.satisfaction),
        returned: c.returned,
        reopened: c.reopened,
        overdue_now: c.overdue_now,
    }
}

/// The received-over-time chart of `report` (grouped, with a series): the groups with most
/// received drawn, the rest summed; `days` fills a daily series' empty days.
fn chart(
    title: &'static str,
    report: &Report,
    days: Option<&[String]>,
    name: impl Fn(Option<&str>) -> String,
) -> ChartView {
    let buckets: Vec<String> = match days {
        Some(days) => days.to_vec(),
        None => report
            .series
            .iter()
            .filter_map(|l| l.bucket.clone())
            .collect(),
    };
    let mut groups: Vec<(Option<String>, i64)> = report
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.counts.received))
        .filter(|(_, n)| *n > 0)
        .collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let drawn: Vec<Option<String>> = groups
        .iter()
        .take(CHART_LINES)
        .map(|(k, _)| k.clone())
        .collect();
    let mut lines: Vec<Line> = drawn
        .iter()
        .map(|k| Line {
            label: name(k.as_deref()),
            values: vec![0; buckets.len()],
        })
        .collect();
    let mut rest = vec![0u64; buckets.len()];
    for line in &report.group_series {
        let Some(at) = line
            .bucket
            .as_ref()
            .and_then(|b| buckets.iter().position(|x| x == b))
        else {
            continue;
        };
        let n = line.counts.received.max(0) as u64;
        match drawn.iter().position(|k| *k == line.key) {
            Some(i) => lines[i].values[at] += n,
            None => rest[at] += n,
        }
    }
    if rest.iter().any(|n| *n > 0) {
        lines.push(Line {
            label: "其他".into(),
            values: rest,
        });
    }
    // A day's or a week's date without its year (the period says it); a month as it is.
    let short = |b: &String| match b.len() {
        10 => b[5..].to_string(),
        _ => b.clone(),
    };
    let x_labels: Vec<String> = buckets.iter().map(short).collect();
    ChartView {
        title,
        svg: line_chart(title, &x_labels, &lines),
        legend: legend(&lines)
            .into_iter()
            .map(|(l, c)| (l, c.to_string()))
            .collect(),
        columns: lines.iter().map(|l| l.label.clone()).collect(),
        rows: buckets
            .iter()
            .enumerate()
            .map(|(i, b)| (b.clone(), lines.iter().map(|l| l.values[i]).collect()))
            .collect(),
        totals: groups
            .into_iter()
            .map(|(k, n)| (name(k.as_deref()), n))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_drawn_by_day_week_or_month() {
        assert_eq!(series_for("2026-12-01", "2026-12-31").0, "day");
        assert_eq!(series_for("2026-01-01", "2026-12-31").0, "week");
        assert_eq!(series_for("2024-01-01", "2026-12-31").0, "month");
        assert_eq!(every_day("2026-11-29", "2026-12-01").len(), 3);
        assert!(every_day("not a date", "2026-12-01").is_empty());
    }
}
