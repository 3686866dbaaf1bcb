//! The monthly report on a running gateway: its CSV's figures are `GET /v1/stats`'s for the
//! same month (every unit, every channel, the total, the accountability rows), its HTML page
//! has a row per unit, and `complaint-gateway report` writes the same to a file.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::access::account;
use super::accountability::{answered_as, local_today, record_body, send};
use super::import_export::run_beside;
use super::workflow::{case_in, investigator};
use crate::common::TestApp;

/// The CSV's lines by (section, key): their fields by column name.
fn csv_lines(text: &str) -> BTreeMap<(String, String, String), BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut lines = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let fields: BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(record.iter().map(String::from))
            .collect();
        let key = (
            fields["section"].clone(),
            fields["key"].clone(),
            fields["measure"].clone(),
        );
        assert!(lines.insert(key, fields).is_none(), "one line per key");
    }
    lines
}

/// A stats line's figures as the CSV writes them: counts as integers, rates with one decimal,
/// an empty rate empty.
fn expected_fields(line: &Value) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for (name, value) in line["counts"].as_object().unwrap() {
        fields.insert(name.clone(), value.to_string());
    }
    for (name, value) in line["rates"].as_object().unwrap() {
        let column = match name.as_str() {
            "response" => "response_rate",
            "resolution" => "resolution_rate",
            "satisfaction" => "satisfaction_rate",
            "accepted_on_time" => "accepted_on_time_rate",
            "answered_on_time" => "answered_on_time_rate",
            other => panic!("a rate the test does not know: {other}"),
        };
        let text = value.as_f64().map_or(String::new(), |v| format!("{v:.1}"));
        fields.insert(column.to_string(), text);
    }
    fields
}

fn assert_same_figures(csv: &BTreeMap<String, String>, stats: &Value, what: &str) {
    for (column, value) in expected_fields(stats) {
        assert_eq!(csv[&column], value, "{what}: {column}");
    }
}

#[tokio::test]
async fn the_monthly_report_has_the_figures_of_get_stats_for_its_month() {
    let app = TestApp::start().await;
    let first = case_in(
        &app,
        "mr-1",
        "不动产登记窗口超过承诺时限未办结。",
        "finance",
    )
    .await;
    let second = case_in(
        &app,
        "mr-2",
        "社保转移接续手续被要求重复提交材料。",
        "personnel",
    )
    .await;
    case_in(&app, "mr-3", "路政部门对占道经营长期不处理。", "personnel").await;
    let li = investigator(&app, "li", "finance", false).await;
    let wang = investigator(&app, "wang", "personnel", false).await;
    let jian = investigator(&app, "jian", "supervision", false).await;
    let boss = account(&app.data_dir(), "boss", &["--role", "supervisor"]).await;
    answered_as(&app, &li, &first, "substantiated").await;
    answered_as(&app, &wang, &second, "partly_substantiated").await;
    for (case, measure) in [
        (&first, "效能告诫"),
        (&second, "效能告诫"),
        (&second, "通报批评"),
    ] {
        let unit = if case == &first {
            "finance"
        } else {
            "personnel"
        };
        let path = format!("/v1/cases/{case}/accountability");
        let (status, body) = send(&app, &jian, "POST", &path, record_body(unit, measure)).await;
        assert_eq!(status, 200, "{body}");
    }

    let today = local_today();
    let month = today.format("%Y-%m").to_string();
    let first_day = format!("{month}-01");
    let last_day = chrono::NaiveDate::parse_from_str(&first_day, "%Y-%m-%d")
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap()
        .pred_opt()
        .unwrap();
    let stats = |by: &str| format!("/v1/stats?from={first_day}&to={last_day}&by={by}");
    let (status, units) = send(&app, &boss, "GET", &stats("unit"), Value::Null).await;
    assert_eq!(status, 200, "{units}");
    let (status, channels) = send(&app, &boss, "GET", &stats("channel"), Value::Null).await;
    assert_eq!(status, 200, "{channels}");

    let get = |query: String| {
        app.client
            .get(format!("{}/v1/reports/monthly?{query}", app.base))
            .bearer_auth(&boss)
            .send()
    };
    let response = get(format!("month={month}&format=csv")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/csv"), "{kind}");
    let text = response.text().await.unwrap();
    let lines = csv_lines(&text);
    let line = |section: &str, key: &str| {
        lines
            .get(&(section.to_string(), key.to_string(), String::new()))
            .unwrap_or_else(|| panic!("no {section} line for `{key}`: {text}"))
    };
    assert_same_figures(line("total", ""), &units["total"], "total");
    let groups = units["groups"].as_array().unwrap();
    assert!(groups.len() >= 2, "{units}");
    for group in groups {
        let key = group["key"].as_str().unwrap_or("");
        assert_same_figures(line("unit", key), group, key);
    }
    let unit_lines = lines.keys().filter(|(s, _, _)| s == "unit").count();
    assert_eq!(unit_lines, groups.len(), "a line per unit, no more");
    for group in channels["groups"].as_array().unwrap() {
        let key = group["key"].as_str().unwrap_or("");
        assert_same_figures(line("channel", key), group, key);
    }
    let rows = units["accountability"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{units}");
    for row in rows {
        let key = (
            "accountability".to_string(),
            row["unit"].as_str().unwrap().to_string(),
            row["measure"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            lines[&key]["records"],
            row["records"].to_string(),
            "{key:?}"
        );
    }
    assert_eq!(
        lines
            .keys()
            .filter(|(s, _, _)| s == "accountability")
            .count(),
        rows.len()
    );
    assert_eq!(line("unit", "finance")["name"], "市财政局");
    assert!(lines.keys().any(|(s, _, _)| s == "hot_issue"), "{text}");

    // The page: Chinese, a row per unit of the statistics, the accountability table.
    let response = get(format!("month={month}")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = response.text().await.unwrap();
    assert!(page.contains("行政效能投诉办理情况月报"), "{page}");
    for group in groups {
        let key = group["key"].as_str().unwrap_or("");
        assert!(
            page.contains(&format!("data-unit=\"{key}\"")),
            "{key}: {page}"
        );
    }
    assert!(page.contains("<td>市人事局</td>"), "{page}");
    assert!(page.contains("<th>通报批评</th>"), "{page}");

    // Refusals: a month that is not one, one not begun, another format, an investigator.
    for query in [
        "month=2026-13".to_string(),
        format!("month={}", today.format("%Y-%m-%d")),
        format!(
            "month={}-12",
            today.format("%Y").to_string().parse::<i32>().unwrap() + 1
        ),
        format!("month={month}&format=pdf"),
    ] {
        let response = get(query.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{query}");
    }
    let (status, refused) = send(
        &app,
        &li,
        "GET",
        &format!("/v1/reports/monthly?month={month}"),
        json!(null),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["permission"], "stats.read");

    // The command writes the same figures to a file, beside the running gateway.
    let out = app.dir.path().join("report.csv");
    let (ok, _, stderr) = run_beside(
        &app.data_dir(),
        &[
            "report",
            "--month",
            &month,
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(ok, "{stderr}");
    let written = std::fs::read_to_string(&out).unwrap();
    let from_file = csv_lines(&written);
    for group in groups {
        let key = group["key"].as_str().unwrap_or("");
        let file_line = &from_file[&("unit".to_string(), key.to_string(), String::new())];
        assert_same_figures(file_line, group, key);
    }
    let page_file = app.dir.path().join("report.html");
    let (ok, _, stderr) = run_beside(
        &app.data_dir(),
        &[
            "report",
            "--month",
            &month,
            "--out",
            page_file.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(ok, "{stderr}");
    let written = std::fs::read_to_string(&page_file).unwrap();
    assert!(written.contains("data-unit=\"finance\""), "{written}");
}
