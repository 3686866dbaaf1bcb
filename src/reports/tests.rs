//! The month's days, and a hand-made month's report as CSV and as HTML: every unit's line,
//! the figures as the statistics format them, titles escaped.

use chrono::{TimeZone, Utc};

use super::*;
use crate::stats::{AccountabilityLine, report};
use crate::store::stats::StatsRow;

#[test]
fn a_month_is_its_first_and_last_day_and_anything_else_is_refused() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(
        month_days("2026-02").unwrap(),
        (day(2026, 2, 1), day(2026, 2, 28))
    );
    assert_eq!(
        month_days("2024-02").unwrap(),
        (day(2024, 2, 1), day(2024, 2, 29))
    );
    assert_eq!(
        month_days("2026-12").unwrap(),
        (day(2026, 12, 1), day(2026, 12, 31))
    );
    for bad in [
        "2026-13",
        "2026-3",
        "26-03",
        "2026/03",
        "2026-03-01",
        "",
        "abcd-ef",
    ] {
        assert!(
            matches!(month_days(bad), Err(ReportError::Invalid(ref m)) if m.contains("YYYY-MM")),
            "{bad}"
        );
    }
}

fn sample() -> MonthlyReport {
    let row = |m: &str, g: &str, total, hits| StatsRow {
        measure: m.into(),
        group: Some(g.into()),
        bucket: None,
        total,
        hits,
    };
    let units = [
        row("received", "finance", 4, 0),
        row("due", "finance", 4, 3),
        row("received", "personnel", 2, 0),
        row("overdue", "personnel", 1, 0),
    ];
    let mut by_unit = report(&units, "a".into(), "b".into(), Some("unit"), None);
    by_unit.accountability.total = 3;
    by_unit.accountability.by_unit = vec![AccountabilityLine {
        unit: Some("finance".into()),
        measure: None,
        records: 3,
    }];
    by_unit.accountability.by_measure = vec![AccountabilityLine {
        unit: None,
        measure: Some("通报批评".into()),
        records: 3,
    }];
    by_unit.accountability.rows = vec![AccountabilityLine {
        unit: Some("finance".into()),
        measure: Some("通报批评".into()),
        records: 3,
    }];
    let channels = [
        row("received", "hotline", 5, 0),
        row("received", "media", 1, 0),
    ];
    let by_channel = report(&channels, "a".into(), "b".into(), Some("channel"), None);
    MonthlyReport {
        month: "2026-03".into(),
        first_day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        last_day: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        offset: FixedOffset::east_opt(8 * 3600).unwrap(),
        generated_at: Utc.with_ymd_and_hms(2026, 4, 2, 1, 0, 0).unwrap(),
        by_unit,
        by_channel,
        hot_issues: vec![HotLine {
            case_id: "c-1".into(),
            title: "<b>路灯</b>, 不亮".into(),
            complaints: 4,
            complainants: 3,
            channels: vec!["hotline".into()],
            queue: Some("finance".into()),
            heat: 12.25,
        }],
        unit_names: [("finance", "市财政局"), ("personnel", "市人事局")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        measures: ["效能告诫", "通报批评"].map(String::from).to_vec(),
    }
}

#[test]
fn the_csv_has_every_section_in_one_table_with_the_statistics_figures() {
    let r = sample();
    let text = csv::to_csv(&r);
    let lines: Vec<&str> = text.lines().collect();
    let columns = lines[0].split(',').count();
    assert!(
        lines[0].starts_with("section,key,name,received,due,"),
        "{}",
        lines[0]
    );
    let finance = format!(
        "unit,finance,市财政局,{},,",
        crate::stats::figure_fields(&r.by_unit.groups[0])
    );
    assert!(lines.contains(&finance.as_str()), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("unit,personnel,市人事局,2,"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("channel,hotline,12345热线,5,"))
    );
    assert!(
        lines.iter().any(|l| l.starts_with("total,,合计,6,4,3,")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("hot_issue,c-1,\"<b>路灯</b>, 不亮\",") && l.ends_with(",4")),
        "{text}"
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("accountability,finance,市财政局,") && l.ends_with(",通报批评,3")
        ),
        "{text}"
    );
    // The hot issue's title holds a quoted comma: every other line has the header's columns.
    for l in lines.iter().filter(|l| !l.starts_with("hot_issue")) {
        assert_eq!(l.split(',').count(), columns, "{l}");
    }
}

#[test]
fn the_page_is_chinese_with_a_row_per_unit_and_escapes_what_it_is_given() {
    let r = sample();
    let page = html::to_html(&r).unwrap();
    assert!(page.contains("2026年3月行政效能投诉办理情况月报"), "{page}");
    assert!(page.contains("@media print"));
    assert!(page.contains("data-unit=\"finance\"><td>市财政局</td><td class=\"n\">4</td><td class=\"n\">75.0%</td>"), "{page}");
    assert!(page.contains("data-unit=\"personnel\"><td>市人事局</td>"));
    assert!(page.contains("12345热线"));
    assert!(
        page.contains("&#60;b&#62;路灯&#60;/b&#62;") || page.contains("&lt;b&gt;路灯&lt;/b&gt;"),
        "escaped: {page}"
    );
    assert!(!page.contains("<b>路灯"));
    assert!(
        page.contains("<th>效能告诫</th><th>通报批评</th><th>合计</th>"),
        "{page}"
    );
    assert!(
        page.contains(
            "<td>市财政局</td><td class=\"n\">0</td><td class=\"n\">3</td><td class=\"n\">3</td>"
        ),
        "{page}"
    );
}
