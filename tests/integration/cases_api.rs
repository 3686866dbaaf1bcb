//! The cases API over a running gateway: list, detail with the why, search by case, staff
//! merge / split / status with their errors, hot issues, the OpenAPI document.

use serde_json::{Value, json};

use super::cases::{CONSTRUCTION_BODY, DANCE_HAPPY, DANCE_SUNSHINE, SIGNAL_BODY, item};
use crate::common::{SECRET, TestApp, eventually};

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn case_with(app: &TestApp, title: &str) -> Value {
    let cases = app.get_json("/v1/cases?limit=100").await;
    cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == title)
        .unwrap_or_else(|| panic!("no case titled {title}: {cases}"))
        .clone()
}

#[tokio::test]
async fn cases_are_listed_explained_searchable_and_corrected_by_staff() {
    let mut app = TestApp::start().await;
    app.sign_in_as("triage-wang", "triage").await;
    let online = json!([
        item(
            "w-1",
            Some("锦绣花园工地夜间施工扰民"),
            CONSTRUCTION_BODY,
            "2024-05-02T21:00:00+08:00"
        ),
        item(
            "w-2",
            Some("再次反映锦绣花园工地"),
            CONSTRUCTION_BODY,
            "2024-05-04T22:10:00+08:00"
        ),
        item(
            "w-3",
            Some("南湖路路口信号灯损坏"),
            SIGNAL_BODY,
            "2024-05-05T08:30:00+08:00"
        ),
        item(
            "w-5",
            Some("阳光小区广场舞扰民"),
            DANCE_SUNSHINE,
            "2024-05-06T21:30:00+08:00"
        ),
        item(
            "w-6",
            Some("幸福家园广场舞噪音"),
            DANCE_HAPPY,
            "2024-05-07T21:40:00+08:00"
        ),
    ]);
    assert!(app.push(&online).await.status().is_success());
    let hotline = json!([item("h-3", None, SIGNAL_BODY, "2024-05-05T09:05:00+08:00")]);
    let response = app
        .push_signed(
            "hot",
            hotline.to_string().as_bytes(),
            "application/json",
            SECRET,
        )
        .await;
    assert!(response.status().is_success());

    let cases = eventually("six complaints in cases", || async {
        let cases = app.get_json("/v1/cases?limit=100").await;
        let total: i64 = cases
            .as_array()?
            .iter()
            .map(|c| c["complaints"].as_i64().unwrap_or(0))
            .sum();
        (total == 6).then_some(cases)
    })
    .await;
    assert_eq!(cases.as_array().unwrap().len(), 4, "{cases}");

    // Detail: members with channel, snippet and why.
    let construction = case_with(&app, "锦绣花园工地夜间施工扰民").await;
    let id = construction["id"].as_str().unwrap();
    let detail = app.get_json(&format!("/v1/cases/{id}")).await;
    let members = detail["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["why"]["kind"], "new");
    assert_eq!(members[1]["why"]["kind"], "exact");
    assert_eq!(members[1]["why"]["matched_complaint_id"], id);
    assert_eq!(members[1]["channel"], "online");
    assert!(members[1]["snippet"].as_str().unwrap().contains("锦绣花园"));
    let signal = case_with(&app, "南湖路路口信号灯损坏").await;
    assert_eq!(signal["channels"], json!(["hotline", "online"]));
    assert_eq!(app.get("/v1/cases/nope").await.status().as_u16(), 404);

    // Search follows the case facet.
    eventually("search by case", || async {
        let result = app.search(&[("case", id)]).await;
        (result["total"].as_u64() == Some(2)).then_some(())
    })
    .await;

    // Merge: errors first, then the real thing.
    let sunshine = case_with(&app, "阳光小区广场舞扰民").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let happy = case_with(&app, "幸福家园广场舞噪音").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = post(
        &app,
        &format!("/v1/cases/{happy}/merge"),
        json!({"with": sunshine, "by": "triage-wang", "why": ""}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = post(
        &app,
        "/v1/cases/nope/merge",
        json!({"with": sunshine, "by": "triage-wang", "why": "same organiser"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, merged) = post(
        &app,
        &format!("/v1/cases/{happy}/merge"),
        json!({"with": sunshine, "by": "triage-wang", "why": "same organiser"}),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["id"], sunshine.as_str());
    assert_eq!(merged["complaints"], 2);
    assert_eq!(merged["decisions"][0]["actor"], "triage-wang");
    // The decision is in the case's history, under the signed-in user (the `by` sent above
    // is ignored).
    let history = app.get_json(&format!("/v1/cases/{sunshine}/history")).await;
    assert_eq!(history[0]["action"], "case.merge", "{history}");
    assert_eq!(history[0]["actor"], "triage-wang", "{history}");
    assert_eq!(history[0]["detail"]["why"], "same organiser", "{history}");
    assert_eq!(merged["members"][1]["why"]["kind"], "pinned");

    // Split it out again.
    let (status, split) = post(
        &app,
        &format!("/v1/cases/{sunshine}/split"),
        json!({"complaint_id": happy, "by": "triage-wang", "why": "different squares after all"}),
    )
    .await;
    assert_eq!(status, 200, "{split}");
    assert_eq!(split["split_case"], happy.as_str());
    assert_eq!(split["remaining_case"], sunshine.as_str());
    let (status, _) = post(
        &app,
        &format!("/v1/cases/{sunshine}/split"),
        json!({"complaint_id": sunshine, "by": "triage-wang", "why": "alone"}),
    )
    .await;
    assert_eq!(
        status, 400,
        "a complaint alone in its case cannot be split out"
    );

    // The free status is replaced by the workflow (410); the list filters by workflow state.
    let (status, gone) = post(
        &app,
        &format!("/v1/cases/{id}/status"),
        json!({"status": "investigating", "why": "site visit booked"}),
    )
    .await;
    assert_eq!(status, 410, "{gone}");
    let detail = app.get_json(&format!("/v1/cases/{id}")).await;
    let state = detail["state"]
        .as_str()
        .unwrap_or_else(|| panic!("a routed case is in the workflow: {detail}"))
        .to_string();
    let listed = app.get_json(&format!("/v1/cases?state={state}")).await;
    assert!(
        listed.as_array().unwrap().iter().any(|c| c["id"] == id),
        "{listed}"
    );
    assert_eq!(app.get("/v1/cases?state=lost").await.status().as_u16(), 400);

    // Hot issues, over a window that reaches back to the fixtures.
    let hot = app
        .get_json("/v1/hot-issues?window=30d&limit=2&at=2024-05-10T00:00:00%2B08:00")
        .await;
    let hot = hot.as_array().unwrap();
    assert_eq!(hot.len(), 2);
    assert_eq!(hot[0]["complaints"], 2);
    assert!(hot[0]["heat"]["score"].as_f64().unwrap() >= hot[1]["heat"]["score"].as_f64().unwrap());
    assert_eq!(
        app.get("/v1/hot-issues?window=soon")
            .await
            .status()
            .as_u16(),
        400
    );

    let openapi = app.get_json("/openapi.json").await;
    for path in [
        "/v1/cases",
        "/v1/cases/{id}",
        "/v1/cases/{id}/merge",
        "/v1/cases/{id}/split",
        "/v1/cases/{id}/status",
        "/v1/hot-issues",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
    app.stop().await;
}
