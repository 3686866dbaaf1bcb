//! 责任追究 on a running gateway: recorded, edited and withdrawn by the supervision queue's
//! investigators and admins (another unit's investigator, triage and supervisors are refused),
//! only on a case answered 查实 or 部分查实, with a configured measure; every change in the
//! audit record with before and after; counted at once in `GET /v1/stats`.

use serde_json::{Value, json};

use super::access::account;
use super::workflow::{case_in, investigator, step, triage};
use crate::common::TestApp;

/// `method path` with `token` and a JSON body (GET, POST, PUT, DELETE); the status and body.
pub(super) async fn send(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    let request = match method {
        "GET" => app.client.get(url),
        "PUT" => app.client.put(url).json(&body),
        "DELETE" => app.client.delete(url),
        _ => app.client.post(url).json(&body),
    };
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The unit accepts, starts and answers `case` with `finding`.
pub(super) async fn answered_as(app: &TestApp, unit: &str, case: &str, finding: &str) {
    for action in ["accept", "start"] {
        let (status, body) = step(app, unit, case, json!({"action": action})).await;
        assert_eq!(status, 200, "{body}");
    }
    let answer = json!({"action": "answer", "finding": finding,
        "reply": "经核查，已责令整改并答复。"});
    let (status, body) = step(app, unit, case, answer).await;
    assert_eq!(status, 200, "{body}");
}

/// Today in the gateway's local time (the default offset, UTC+8).
pub(super) fn local_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

pub(super) fn record_body(unit: &str, measure: &str) -> Value {
    json!({"unit": unit, "role": "行政审批科科长", "measure": measure,
        "decided_on": local_today().to_string(), "deciding_body": "市监察局",
        "note": "审批超时未告知，经核实属实"})
}

#[tokio::test]
async fn the_supervision_queue_and_admins_record_edit_and_withdraw_with_every_change_audited() {
    let app = TestApp::start().await;
    let case = case_in(
        &app,
        "acc-1",
        "办理营业执照变更超过法定时限仍无答复。",
        "finance",
    )
    .await;
    let untrue = case_in(
        &app,
        "acc-2",
        "反映窗口人员态度差，经查与事实不符。",
        "finance",
    )
    .await;
    let open = case_in(&app, "acc-3", "公积金提取材料被反复退回。", "finance").await;
    let li = investigator(&app, "li", "finance", false).await;
    let jian = investigator(&app, "jian", "supervision", false).await;
    let centre = triage(&app, "centre").await;
    let boss = account(&app.data_dir(), "boss", &["--role", "supervisor"]).await;
    let admin = account(&app.data_dir(), "root", &["--role", "admin"]).await;
    answered_as(&app, &li, &case, "substantiated").await;
    answered_as(&app, &li, &untrue, "unsubstantiated").await;

    let path = format!("/v1/cases/{case}/accountability");
    let body = record_body("finance", "通报批评");
    for (who, token) in [
        ("another unit", &li),
        ("triage", &centre),
        ("supervisor", &boss),
    ] {
        let (status, refused) = send(&app, token, "POST", &path, body.clone()).await;
        assert_eq!(status, 403, "{who}: {refused}");
        assert_eq!(refused["error"]["permission"], "accountability.manage");
    }
    let (status, first) = send(&app, &jian, "POST", &path, body.clone()).await;
    assert_eq!(status, 200, "the supervision queue records: {first}");
    assert_eq!(first["measure"], "通报批评");
    assert_eq!(first["unit_name"], "市财政局");
    assert_eq!(first["recorded_by"], "jian");
    let (status, second) = send(
        &app,
        &admin,
        "POST",
        &path,
        record_body("finance", "效能告诫"),
    )
    .await;
    assert_eq!(status, 200, "an admin records: {second}");

    // The rules: a configured measure, a known unit, a 查实 answer, a case that exists.
    let (status, refused) = send(&app, &jian, "POST", &path, record_body("finance", "罚款")).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "measure_unknown");
    assert_eq!(refused["error"]["allowed"][0], "效能告诫");
    let (status, refused) = send(&app, &jian, "POST", &path, record_body("nowhere", "其他")).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (400, &json!("queue_unknown"))
    );
    let elsewhere = |id: &str| format!("/v1/cases/{id}/accountability");
    let (status, refused) = send(&app, &jian, "POST", &elsewhere(&untrue), body.clone()).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "not_substantiated");
    assert_eq!(refused["error"]["finding"], "unsubstantiated");
    let (status, refused) = send(&app, &jian, "POST", &elsewhere(&open), body.clone()).await;
    assert_eq!(
        (status, &refused["error"]["finding"]),
        (409, &Value::Null),
        "{refused}"
    );
    let (status, _) = send(
        &app,
        &jian,
        "POST",
        &elsewhere("no-such-case"),
        body.clone(),
    )
    .await;
    assert_eq!(status, 404);

    // Reading: supervisors and the supervision queue; not another unit.
    let (status, listed) = send(&app, &boss, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (status, _) = send(&app, &li, "GET", &path, Value::Null).await;
    assert_eq!(status, 403);

    // Edit: every field replaced; the edit is in force at once.
    let one = format!("{path}/{}", first["id"]);
    let edited = record_body("finance", "诫勉谈话");
    for token in [&li, &centre] {
        let (status, _) = send(&app, token, "PUT", &one, edited.clone()).await;
        assert_eq!(status, 403);
    }
    let (status, changed) = send(&app, &jian, "PUT", &one, edited).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["measure"], "诫勉谈话");
    assert_eq!(changed["updated_by"], "jian");

    // Withdraw: kept, counted nowhere; a second withdrawal finds nothing in force.
    let two = format!("{path}/{}", second["id"]);
    let (status, _) = send(&app, &centre, "DELETE", &two, Value::Null).await;
    assert_eq!(status, 403);
    let (status, withdrawn) = send(&app, &admin, "DELETE", &two, Value::Null).await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["withdrawn_by"], "root");
    let (status, _) = send(&app, &admin, "DELETE", &two, Value::Null).await;
    assert_eq!(status, 404);
    let (status, _) = send(&app, &jian, "PUT", &two, record_body("finance", "其他")).await;
    assert_eq!(status, 404);
    let (_, listed) = send(&app, &jian, "GET", &path, Value::Null).await;
    let measures: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["measure"])
        .collect();
    assert_eq!(measures, [&json!("诫勉谈话")]);

    // The audit record: each change with the record before and after.
    let history = format!("/v1/cases/{case}/history");
    let (status, audit) = send(&app, &admin, "GET", &history, Value::Null).await;
    assert_eq!(status, 200, "{audit}");
    let entries: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("case.accountability."))
        })
        .collect();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("case.accountability.record", "jian"),
            ("case.accountability.record", "root"),
            ("case.accountability.edit", "jian"),
            ("case.accountability.withdraw", "root"),
        ],
        "{audit}"
    );
    let detail = |e: &Value| -> Value {
        match &e["detail"] {
            Value::String(text) => serde_json::from_str(text).unwrap(),
            other => other.clone(),
        }
    };
    let edit = detail(entries[2]);
    assert_eq!(edit["before"]["measure"], "通报批评", "{edit}");
    assert_eq!(edit["after"]["measure"], "诫勉谈话", "{edit}");
    let withdrawal = detail(entries[3]);
    assert_eq!(withdrawal["before"]["measure"], "效能告诫");
    assert!(withdrawal["after"].is_null(), "{withdrawal}");
    assert!(detail(entries[0])["before"].is_null());

    // Counted at once, per unit and measure; listed for supervisors.
    let (status, stats) = send(&app, &boss, "GET", "/v1/stats?by=unit", Value::Null).await;
    assert_eq!(status, 200, "{stats}");
    let section = &stats["accountability"];
    assert_eq!(section["total"], 1, "{section}");
    assert_eq!(
        section["rows"],
        json!([{"unit": "finance", "measure": "诫勉谈话", "records": 1}])
    );
    let (status, period) = send(&app, &boss, "GET", "/v1/accountability", Value::Null).await;
    assert_eq!(status, 200, "{period}");
    assert_eq!(period.as_array().unwrap().len(), 1);
    let (status, _) = send(&app, &jian, "GET", "/v1/accountability", Value::Null).await;
    assert_eq!(status, 403, "the list is the statistics'");
    let (status, none) = send(
        &app,
        &boss,
        "GET",
        "/v1/accountability?unit=personnel",
        Value::Null,
    )
    .await;
    assert_eq!((status, none), (200, json!([])));
}
