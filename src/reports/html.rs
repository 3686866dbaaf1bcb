//! The monthly report as a printable HTML page in Chinese: a compile-time-checked askama
//! template (`templates/monthly_report.html`, escaping on) filled with figures already
//! formatted here.

use askama::Template;

use super::{MonthlyReport, ReportError, generated_label};
use crate::notify::templates::channel_label;
use crate::stats::ReportLine;

/// One unit's line (or the total's).
pub struct UnitRow {
    pub key: String,
    pub name: String,
    pub received: i64,
    pub response: String,
    pub resolution: String,
    pub satisfaction: String,
    pub accepted_on_time: String,
    pub answered_on_time: String,
    pub overdue_now: i64,
    pub returned: i64,
    pub reopened: i64,
}

/// One channel's received count.
pub struct ChannelRow {
    pub name: String,
    pub received: i64,
}

/// One hot issue.
pub struct HotRow {
    pub rank: usize,
    pub case_id: String,
    pub title: String,
    pub complaints: i64,
    pub complainants: i64,
    pub channels: String,
    pub unit: String,
    pub heat: String,
}

/// One unit's accountability records per measure (in the measures' order) and in all.
pub struct AccountabilityRow {
    pub name: String,
    pub cells: Vec<i64>,
    pub total: i64,
}

#[derive(Template)]
#[template(path = "monthly_report.html")]
struct Page {
    title: String,
    period: String,
    generated: String,
    received: i64,
    overdue_now: i64,
    accountability_total: i64,
    channels: Vec<ChannelRow>,
    units: Vec<UnitRow>,
    total: UnitRow,
    hot: Vec<HotRow>,
    measures: Vec<String>,
    accountability: Vec<AccountabilityRow>,
    accountability_totals: Vec<i64>,
}

/// A rate as the page shows it: `96.5%`, or `—` with nothing to count.
fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{r:.1}%"))
}

fn unit_row(key: Option<&str>, name: String, l: &ReportLine) -> UnitRow {
    let (c, r) = (&l.counts, &l.rates);
    UnitRow {
        key: key.unwrap_or("").to_string(),
        name,
        received: c.received,
        response: percent(r.response),
        resolution: percent(r.resolution),
        satisfaction: percent(r.satisfaction),
        accepted_on_time: percent(r.accepted_on_time),
        answered_on_time: percent(r.answered_on_time),
        overdue_now: c.overdue_now,
        returned: c.returned,
        reopened: c.reopened,
    }
}

/// The measures the page has columns for: the configured ones, then any counted measure no
/// longer configured.
fn measure_columns(report: &MonthlyReport) -> Vec<String> {
    let mut measures = report.measures.clone();
    for l in &report.by_unit.accountability.by_measure {
        if let Some(m) = &l.measure
            && !measures.contains(m)
        {
            measures.push(m.clone());
        }
    }
    measures
}

/// The report as an HTML page.
pub fn to_html(report: &MonthlyReport) -> Result<String, ReportError> {
    let (year, month) = report
        .month
        .split_once('-')
        .unwrap_or((report.month.as_str(), ""));
    let month_number = month.trim_start_matches('0');
    let measures = measure_columns(report);
    let section = &report.by_unit.accountability;
    let accountability = section
        .by_unit
        .iter()
        .map(|u| AccountabilityRow {
            name: report.unit_name(u.unit.as_deref()),
            cells: measures
                .iter()
                .map(|m| {
                    section
                        .rows
                        .iter()
                        .filter(|r| r.unit == u.unit && r.measure.as_deref() == Some(m.as_str()))
                        .map(|r| r.records)
                        .sum::<i64>()
                })
                .collect(),
            total: u.records,
        })
        .collect();
    let accountability_totals = measures
        .iter()
        .map(|m| {
            section
                .by_measure
                .iter()
                .filter(|l| l.measure.as_deref() == Some(m.as_str()))
                .map(|l| l.records)
                .sum::<i64>()
        })
        .collect();
    let page = Page {
        title: format!("{year}年{month_number}月行政效能投诉办理情况月报"),
        period: format!(
            "统计期间：{} 至 {}（UTC{}）",
            report.first_day, report.last_day, report.offset
        ),
        generated: generated_label(report),
        received: report.by_unit.total.counts.received,
        overdue_now: report.by_unit.total.counts.overdue_now,
        accountability_total: section.total,
        channels: report
            .by_channel
            .groups
            .iter()
            .map(|l| ChannelRow {
                name: l
                    .key
                    .as_deref()
                    .map_or("（未记录）", channel_label)
                    .to_string(),
                received: l.counts.received,
            })
            .collect(),
        units: report
            .by_unit
            .groups
            .iter()
            .map(|l| unit_row(l.key.as_deref(), report.unit_name(l.key.as_deref()), l))
            .collect(),
        total: unit_row(None, "合计".into(), &report.by_unit.total),
        hot: report
            .hot_issues
            .iter()
            .enumerate()
            .map(|(i, h)| HotRow {
                rank: i + 1,
                case_id: h.case_id.clone(),
                title: h.title.clone(),
                complaints: h.complaints,
                complainants: h.complainants,
                channels: h
                    .channels
                    .iter()
                    .map(|c| channel_label(c))
                    .collect::<Vec<_>>()
                    .join("、"),
                unit: report.unit_name(h.queue.as_deref()),
                heat: format!("{:.1}", h.heat),
            })
            .collect(),
        measures,
        accountability,
        accountability_totals,
    };
    page.render()
        .map_err(|e| ReportError::Render(e.to_string()))
}
