//! `import --historical`: an archive load is grouped, classified and routed like anything else,
//! but gets no deadline and no notice, and its cases are closed; a normal import beside it is
//! assigned as always, and a live complaint joining a case loaded as history reopens it.

use serde_json::{Value, json};

use super::import_export::run_beside;
use crate::common::{TestApp, eventually};

fn permit(external_id: &str, body: &str) -> Value {
    json!({
        "external_id": external_id,
        "title": "营业执照变更被拖了两个月",
        "body": body,
        "target_unit": "市监察局",
        "submitted_at": "2019-03-04T09:00:00+08:00",
        "location": {"district": "城东区"}
    })
}

fn jsonl(items: &[Value]) -> String {
    items.iter().map(|i| format!("{i}\n")).collect()
}

/// The route key (the case) and the category of a complaint, once routed.
async fn routed(app: &TestApp, id: &str) -> (String, Value) {
    let c = app.classified(id).await;
    (c["route"]["route_key"].as_str().unwrap().to_string(), c)
}

#[tokio::test]
async fn a_historical_import_records_cases_and_routes_without_deadlines_or_notices() {
    let app = TestApp::start().await;
    let data = app.data_dir();
    let archive = jsonl(&[
        permit(
            "old-1",
            "我公司在政务大厅提交营业执照变更材料，窗口一直说不予受理，审批拖延严重，投诉市监察局不作为。",
        ),
        json!({
            "external_id": "old-2",
            "title": "小区旁工地夜间施工噪音扰民",
            "body": "锦绣花园小区旁的工地每天夜里十一点以后还在施工，噪音很大，无法入睡。",
            "submitted_at": "2019-05-06T23:30:00+08:00"
        }),
    ]);
    let (ok, stdout, stderr) = run_beside(
        &data,
        &["import", "-", "--source", "archive", "--historical"],
        Some(archive.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("imported historical"), "{stdout}");
    assert!(stdout.contains("2 new"), "{stdout}");
    let live = jsonl(&[permit(
        "new-1",
        "我公司两周前在政务大厅提交营业执照变更材料，至今没有答复，审批拖延，请市监察局督办。",
    )]);
    let (ok, stdout, stderr) = run_beside(
        &data,
        &["import", "-", "--source", "files"],
        Some(live.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("historical"), "{stdout}");

    let (ok, exported, stderr) = run_beside(&data, &["export"], None).await;
    assert!(ok, "{stderr}");
    let rows: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |external_id: &str| {
        rows.iter()
            .find(|r| r["external_id"] == external_id)
            .unwrap_or_else(|| panic!("{external_id} in {exported}"))
            .clone()
    };
    assert_eq!(row("old-1")["historical"], true, "{exported}");
    assert_eq!(row("old-2")["historical"], true, "{exported}");
    assert_eq!(row("new-1")["historical"], false, "{exported}");
    // An archived complaint was received on its original date, not on the day of the load.
    let received = |external_id: &str| {
        let text = row(external_id)["received_at"]
            .as_str()
            .unwrap()
            .to_string();
        chrono::DateTime::parse_from_rfc3339(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    };
    assert_eq!(
        received("old-2"),
        chrono::DateTime::parse_from_rfc3339("2019-05-06T23:30:00+08:00").unwrap()
    );
    assert!(
        received("new-1") > chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
    );

    // The live one: a deadline and its 交办 notice, as always.
    let new_id = row("new-1")["id"].as_str().unwrap().to_string();
    let (new_case, _) = routed(&app, &new_id).await;
    eventually("deadline of the live case", || async {
        let r = app.get(&format!("/v1/cases/{new_case}/deadline")).await;
        r.status().is_success().then_some(())
    })
    .await;
    let outbox = app
        .get_json(&format!("/v1/outbox?case_id={new_case}"))
        .await;
    assert!(
        outbox["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "assignment"),
        "{outbox}"
    );

    // The live complaint joined the case of the archived one about the same permit: the case
    // is live again (its deadline and notice above), open, and its history stays history.
    let old_id = row("old-1")["id"].as_str().unwrap().to_string();
    let (old_case, _) = routed(&app, &old_id).await;
    assert_eq!(
        old_case, new_case,
        "the live complaint joins the archived case"
    );
    let detail = app.get_json(&format!("/v1/cases/{old_case}")).await;
    assert_eq!(detail["status"], "open", "{detail}");
    let record = app.get_json(&format!("/v1/complaints/{old_id}")).await;
    assert_eq!(record["historical"], true, "{record}");
    assert!(record["facets"]["tags"].is_array(), "{record}");
    assert_eq!(record["facets"]["status"], "assigned", "{record}");
    assert!(record["facets"]["deadline"].is_string(), "{record}");

    for old in ["old-2"] {
        let id = row(old)["id"].as_str().unwrap().to_string();
        let (case, classification) = routed(&app, &id).await;
        assert_ne!(case, new_case, "history stays its own case here");
        // The assign stage runs in the route's transaction: closed once routed.
        let record = eventually(&format!("{old} closed"), || async {
            let record = app.get_json(&format!("/v1/complaints/{id}")).await;
            (record["facets"]["status"] == "closed").then_some(record)
        })
        .await;
        assert_eq!(record["historical"], true, "{record}");
        assert!(record["facets"]["queue"].is_string(), "{record}");
        assert!(record["facets"]["deadline"].is_null(), "{record}");
        assert!(
            classification["route"]["queue"].is_string(),
            "{classification}"
        );
        let deadline = app.get(&format!("/v1/cases/{case}/deadline")).await;
        assert_eq!(deadline.status().as_u16(), 404, "no deadline for {old}");
        let outbox = app.get_json(&format!("/v1/outbox?case_id={case}")).await;
        assert_eq!(outbox["notifications"], json!([]), "{outbox}");
        let detail = app.get_json(&format!("/v1/cases/{case}")).await;
        assert_eq!(detail["status"], "closed", "{detail}");
    }
    let live_record = app.get_json(&format!("/v1/complaints/{new_id}")).await;
    assert_eq!(live_record["historical"], false, "{live_record}");

    // A later batch of history joining the closed case: the newcomer is closed with it.
    let more = jsonl(&[json!({
        "external_id": "old-3",
        "title": "小区旁工地夜间施工噪音扰民",
        "body": "锦绣花园小区旁的工地每天夜里十一点以后还在施工，噪音很大，根本无法入睡。",
        "submitted_at": "2019-05-08T23:10:00+08:00"
    })]);
    let (ok, stdout, stderr) = run_beside(
        &data,
        &["import", "-", "--source", "archive", "--historical"],
        Some(more.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 new"), "{stdout}");
    let (ok, exported, stderr) = run_beside(&data, &["export"], None).await;
    assert!(ok, "{stderr}");
    let id_of = |external_id: &str| {
        exported
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["external_id"] == external_id)
            .and_then(|r| r["id"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("{external_id} in {exported}"))
    };
    let (old_case, _) = routed(&app, &id_of("old-2")).await;
    let third = id_of("old-3");
    let (case, _) = routed(&app, &third).await;
    assert_eq!(case, old_case, "the same complaint again joins its case");
    let record = eventually("old-3 closed", || async {
        let record = app.get_json(&format!("/v1/complaints/{third}")).await;
        (record["facets"]["status"] == "closed").then_some(record)
    })
    .await;
    assert!(record["facets"]["deadline"].is_null(), "{record}");
    let detail = app.get_json(&format!("/v1/cases/{case}")).await;
    assert_eq!(detail["status"], "closed", "{detail}");
}
