//! One item must not bend how the others are processed: a `submitted_at` more than
//! `intake.future_tolerance_secs` past its receipt is kept as given and flagged, and grouping,
//! hot issues, deadlines and search order use the received time for it.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use complaint_gateway::cases::read::hot_issues;
use connectors::Channel;
use serde_json::{Value, json};

use super::cases::{CONSTRUCTION_BODY, Harness, LIFT_FIRST, SIGNAL_BODY, item};
use super::import_export::run;
use crate::common::{TestApp, eventually};

/// `now + offset` in Beijing time, as senders write it.
fn at(offset: Duration) -> String {
    (Utc::now() + offset)
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339()
}

const TEN_YEARS: i64 = 3652;

fn time(value: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{value}: {e}"))
}

#[tokio::test]
async fn a_far_future_item_does_not_stop_identical_complaints_joining_their_case() {
    let h = Harness::new().await;
    let title = "锦绣花园小区旁工地夜间施工噪音扰民";
    h.add(
        Channel::Online,
        &[item(
            "first",
            Some(title),
            CONSTRUCTION_BODY,
            &at(-Duration::hours(3)),
        )],
    )
    .await;
    // An unrelated complaint dated ten years ahead (a sender's clock, a typo in the year).
    let given = at(Duration::days(TEN_YEARS));
    h.add(
        Channel::Hotline,
        &[item("future", None, SIGNAL_BODY, &given)],
    )
    .await;
    h.run().await;
    // Later arrivals, grouped by a freshly started pipeline (its clock rebuilt from the store)
    // and, for the second, by the engine that has just seen the first.
    h.add(
        Channel::Online,
        &[
            item(
                "again",
                Some(title),
                CONSTRUCTION_BODY,
                &at(-Duration::hours(2)),
            ),
            item(
                "same",
                Some(title),
                CONSTRUCTION_BODY,
                &at(-Duration::hours(1)),
            ),
        ],
    )
    .await;
    h.run().await;
    let case = h.case_of("first").await;
    assert_eq!(h.case_of("again").await, case);
    assert_eq!(h.case_of("same").await, case);
    assert_ne!(h.case_of("future").await, case);

    // Kept as given, flagged; its case's times are its receipt, not ten years ahead.
    let record = h
        .store
        .complaint(&h.id_of("future").await)
        .await
        .unwrap()
        .unwrap();
    assert!(record.future_dated);
    assert_eq!(time(&json!(record.submitted_at)), time(&json!(given)));
    assert!(
        !h.store
            .complaint(&h.id_of("same").await)
            .await
            .unwrap()
            .unwrap()
            .future_dated
    );
    let future_case = h.detail(&h.case_of("future").await).await.case;
    assert!(time(&json!(future_case.last_seen)) < Utc::now() + Duration::days(1));
}

#[tokio::test]
async fn hot_issue_windows_count_a_future_dated_complaint_at_its_receipt() {
    let h = Harness::new().await;
    h.add(
        Channel::Hotline,
        &[item(
            "future",
            None,
            SIGNAL_BODY,
            &at(Duration::days(TEN_YEARS)),
        )],
    )
    .await;
    h.add(
        Channel::Online,
        &[
            item("lift-1", None, LIFT_FIRST, &at(-Duration::hours(5))),
            item("lift-2", None, LIFT_FIRST, &at(-Duration::hours(4))),
        ],
    )
    .await;
    h.run().await;
    let future_case = h.case_of("future").await;
    let lift_case = h.case_of("lift-1").await;
    let now = Utc::now();
    let heat = &h.config.grouping.heat;
    let hot = hot_issues(&h.store, now, Duration::days(7), 10, heat)
        .await
        .unwrap();
    let ranked: Vec<&str> = hot.iter().map(|i| i.case.id.as_str()).collect();
    assert_eq!(ranked, [lift_case.as_str(), future_case.as_str()]);
    assert_eq!(hot[1].window_complaints, 1);
    // Ten years on, nothing of today is in the window.
    let later = hot_issues(
        &h.store,
        now + Duration::days(TEN_YEARS),
        Duration::days(30),
        10,
        heat,
    )
    .await
    .unwrap();
    assert!(later.is_empty(), "{later:?}");
}

#[tokio::test]
async fn a_future_dated_complaint_is_flagged_and_its_deadline_counts_from_receipt() {
    let app = TestApp::start().await;
    let given = at(Duration::days(TEN_YEARS));
    let id = app.push_for_id(&json!({
            "external_id": "future-permit",
            "title": "营业执照变更被拖了两个月",
            "body": "我公司两个月前在政务大厅提交营业执照变更材料，窗口一直说不予受理，审批拖延严重，\
                     投诉市监察局对此不作为，请尽快督办。",
            "submitted_at": given,
            "complainant": {"name": "钱某某", "phone": "13700004321"},
            "target_unit": "市监察局",
            "location": {"district": "城东区"}
        }),
    )
    .await;
    let record = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(record["future_dated"], true, "{record}");
    assert_eq!(time(&record["submitted_at"]), time(&json!(given)));
    // Twelve hours ahead is within the default day: accepted as given.
    let near = app
        .push_for_id(
            &json!({"external_id": "near", "body": "人民路菜市场门口流动摊贩占道经营。",
                "submitted_at": at(Duration::hours(12))}),
        )
        .await;
    let near = app.get_json(&format!("/v1/complaints/{near}")).await;
    assert_eq!(near["future_dated"], false, "{near}");

    let case = eventually("route of the complaint", || async {
        let r = app
            .get(&format!("/v1/complaints/{id}/classification"))
            .await;
        let c: Value = r.json().await.ok()?;
        c["route"]["route_key"].as_str().map(str::to_string)
    })
    .await;
    let deadline = eventually("deadline of the case", || async {
        let r = app.get(&format!("/v1/cases/{case}/deadline")).await;
        if r.status().is_success() {
            r.json::<Value>().await.ok()
        } else {
            None
        }
    })
    .await;
    assert_eq!(
        time(&deadline["assigned_at"]),
        time(&record["received_at"]),
        "{deadline}"
    );
    assert!(
        time(&deadline["due_at"]) < Utc::now() + Duration::days(60),
        "{deadline}"
    );
    app.stop().await;
}

#[tokio::test]
async fn search_orders_and_filters_a_future_dated_complaint_by_its_receipt() {
    let app = TestApp::start().await;
    let future = app
        .push_for_id(
            &json!({"external_id": "s-future", "body": "滨江公园健身器材损坏无人维修。",
                "submitted_at": at(Duration::days(TEN_YEARS))}),
        )
        .await;
    let tomorrow = app
        .push_for_id(
            &json!({"external_id": "s-soon", "body": "滨江公园夜间照明不足存在安全隐患。",
                "submitted_at": at(Duration::hours(12))}),
        )
        .await;
    app.wait_searchable("滨江公园", 2).await;
    let newest = app.search(&[("q", "滨江公园"), ("sort", "newest")]).await;
    let order: Vec<&str> = newest["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [tomorrow.as_str(), future.as_str()], "{newest}");
    // Results still show the time as given.
    assert!(time(&newest["hits"][1]["submitted_at"]) > time(&json!(at(Duration::days(3000)))));
    let two_days = at(Duration::days(2));
    let from = app.search(&[("q", "滨江公园"), ("from", &two_days)]).await;
    assert_eq!(from["total"], 0, "{from}");
    let to = app.search(&[("q", "滨江公园"), ("to", &two_days)]).await;
    assert_eq!(to["total"], 2, "{to}");
    app.stop().await;
}

#[tokio::test]
async fn a_configured_tolerance_flags_what_the_default_accepts() {
    let app = TestApp::start_with("[intake]\nfuture_tolerance_secs = 3600\n").await;
    let two_hours = app
        .push_for_id(
            &json!({"external_id": "t-2h", "body": "小区垃圾清运不及时。",
                "submitted_at": at(Duration::hours(2))}),
        )
        .await;
    let record = app.get_json(&format!("/v1/complaints/{two_hours}")).await;
    assert_eq!(record["future_dated"], true, "{record}");
    let half_hour = app
        .push_for_id(&json!({"external_id": "t-30m", "body": "小区路灯不亮。",
                "submitted_at": at(Duration::minutes(30))}))
        .await;
    let record = app.get_json(&format!("/v1/complaints/{half_hour}")).await;
    assert_eq!(record["future_dated"], false, "{record}");

    // The dead-letter replay applies the same rule.
    let broken = json!({"external_id": "t-dl", "body": "   "});
    let answer: Value = app.push(&broken).await.json().await.unwrap();
    let letter = answer["rejected"][0]["dead_letter_id"].as_str().unwrap();
    let fixed = json!({"external_id": "t-dl", "body": "井盖缺失，夜间危险。",
                       "submitted_at": at(Duration::hours(2))});
    let replayed: Value = app
        .client
        .post(format!("{}/v1/dead-letters/{letter}/replay", app.base))
        .json(&fixed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = replayed["accepted"][0]["id"].as_str().unwrap();
    let record = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(record["future_dated"], true, "{record}");
    app.stop().await;
}

#[test]
fn import_flags_a_future_dated_line_and_export_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let given = at(Duration::days(TEN_YEARS));
    let lines = format!(
        "{}\n{}\n",
        json!({"external_id": "i-future", "body": "学校周边黑车拉客。", "submitted_at": given}),
        json!({"external_id": "i-now", "body": "菜市场油烟扰民。", "submitted_at": at(-Duration::hours(1))}),
    );
    let (ok, _, stderr) = run(
        &data,
        &["import", "-", "--source", "files"],
        Some(lines.as_bytes()),
    );
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = run(&data, &["export"], None);
    assert!(ok);
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["external_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(row("i-future")["future_dated"], true, "{stdout}");
    assert_eq!(time(&row("i-future")["submitted_at"]), time(&json!(given)));
    assert_eq!(row("i-now")["future_dated"], false, "{stdout}");
    let (ok, csv, _) = run(&data, &["export", "--format", "csv"], None);
    assert!(ok);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "future_dated")
        .unwrap();
    let flags: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[column].to_string())
        .collect();
    assert_eq!(flags, ["true", "false"]);
}
