//! The monthly report's figures as CSV: one table, a `section` per kind of line, the same
//! figure columns (and formatting) as `GET /v1/stats?format=csv`.
//!
//! - `total`: the month, every unit together;
//! - `unit`: each unit (`key` the queue, `name` the unit's name);
//! - `channel`: each channel (`name` its Chinese name);
//! - `hot_issue`: each hot issue (`key` the case, `name` its title with personal data masked,
//!   `records` its complaints in the month), the figures empty;
//! - `accountability`: each unit and measure (`key` the unit, `measure`, `records`), the
//!   figures empty.

use super::MonthlyReport;
use crate::notify::templates::channel_label;
use crate::stats::{ACCOUNTABILITY_COLUMNS, FIGURE_COLUMNS, FIGURE_COUNT, field, figure_fields};

/// The report as CSV.
pub fn to_csv(report: &MonthlyReport) -> String {
    let mut out = format!("section,key,name,{FIGURE_COLUMNS},{ACCOUNTABILITY_COLUMNS}\n");
    let figures = |section: &str, key: Option<&str>, name: &str, l: &crate::stats::ReportLine| {
        format!(
            "{section},{},{},{},,\n",
            field(key.unwrap_or("")),
            field(name),
            figure_fields(l)
        )
    };
    out.push_str(&figures("total", None, "合计", &report.by_unit.total));
    for l in &report.by_unit.groups {
        let name = report.unit_name(l.key.as_deref());
        out.push_str(&figures("unit", l.key.as_deref(), &name, l));
    }
    for l in &report.by_channel.groups {
        let key = l.key.as_deref().unwrap_or("");
        out.push_str(&figures("channel", l.key.as_deref(), channel_label(key), l));
    }
    let no_figures = ",".repeat(FIGURE_COUNT - 1);
    for h in &report.hot_issues {
        out.push_str(&format!(
            "hot_issue,{},{},{no_figures},,{}\n",
            field(&h.case_id),
            field(&h.title),
            h.complaints
        ));
    }
    for l in &report.by_unit.accountability.rows {
        let name = report.unit_name(l.unit.as_deref());
        out.push_str(&format!(
            "accountability,{},{},{no_figures},{},{}\n",
            field(l.unit.as_deref().unwrap_or("")),
            field(&name),
            field(l.measure.as_deref().unwrap_or("")),
            l.records
        ));
    }
    out
}
