//! 回访 on a running gateway: only after the answer; an unreached attempt, then a reached one
//! with its verdict; an unhappy verdict reopening the case in the same request (the unit gets
//! it back and may accept it again); fields that do not fit together refused; who may record.

use serde_json::{Value, json};

use super::workflow::{call, case_in, investigator, step, triage};
use crate::common::TestApp;

async fn follow_up(app: &TestApp, token: &str, case: &str, body: Value) -> (u16, Value) {
    call(
        app,
        token,
        "POST",
        &format!("/v1/cases/{case}/follow-ups"),
        body,
    )
    .await
}

async fn answered(app: &TestApp, unit: &str, case: &str) {
    for action in ["accept", "start"] {
        let (status, body) = step(app, unit, case, json!({"action": action})).await;
        assert_eq!(status, 200, "{body}");
    }
    let answer = json!({"action": "answer", "finding": "substantiated",
        "reply": "已安排清运并整改。"});
    let (status, body) = step(app, unit, case, answer).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_follow_up_records_the_verdict_and_an_unhappy_one_reopens_the_case() {
    let app = TestApp::start().await;
    let case = case_in(&app, "fu-1", "小区垃圾连续五天无人清运。", "finance").await;
    let li = investigator(&app, "li", "finance", false).await;
    let centre = triage(&app, "centre").await;

    let reached = json!({"reached": true, "contact": "phone", "solved": false,
        "verdict": "dissatisfied", "note": "仍未清运", "reopen": true});
    let (status, refused) = follow_up(&app, &centre, &case, reached.clone()).await;
    assert_eq!(status, 409, "not answered yet: {refused}");
    assert_eq!(refused["error"]["current_state"], "assigned");

    answered(&app, &li, &case).await;
    let (status, refused) = follow_up(&app, &li, &case, reached.clone()).await;
    assert_eq!(
        status, 403,
        "the centre calls back, not the unit: {refused}"
    );

    // Fields that do not fit together.
    for bad in [
        json!({"reached": true, "contact": "phone"}),
        json!({"reached": false, "contact": "phone", "verdict": "satisfied"}),
        json!({"reached": true, "contact": "phone", "solved": true, "verdict": "satisfied",
            "reopen": true}),
    ] {
        let (status, refused) = follow_up(&app, &centre, &case, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {refused}");
    }

    let (status, first) = follow_up(
        &app,
        &centre,
        &case,
        json!({"reached": false, "contact": "phone", "note": "无人接听"}),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["workflow"]["state"], "answered");
    assert_eq!(first["follow_up"]["reached"], false);

    let (status, second) = follow_up(&app, &centre, &case, reached).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["workflow"]["state"], "reopened", "{second}");
    assert_eq!(second["workflow"]["queue"], "finance");
    assert_eq!(second["follow_up"]["verdict_label"], "不满意");
    assert_eq!(second["follow_up"]["reopened"], true);

    let path = format!("/v1/cases/{case}/workflow");
    let (status, seen) = call(&app, &centre, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{seen}");
    let kept = seen["follow_ups"].as_array().unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        (&kept[0]["reached"], &kept[1]["solved"]),
        (&json!(false), &json!(false))
    );
    let last = seen["transitions"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["action"], &last["actor"]),
        (&json!("reopen"), &json!("centre"))
    );
    assert!(
        seen["note"].as_str().unwrap().contains("不满意"),
        "the reopen says why: {seen}"
    );
    let path = format!("/v1/cases/{case}/follow-ups");
    let (status, listed) = call(&app, &li, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // Reopened: a follow-up waits for the next answer; the unit takes the case again.
    let happy = json!({"reached": true, "contact": "sms", "solved": true,
        "verdict": "basically_satisfied"});
    let (status, _) = follow_up(&app, &centre, &case, happy.clone()).await;
    assert_eq!(status, 409);
    answered(&app, &li, &case).await;
    let (status, third) = follow_up(&app, &centre, &case, happy).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["workflow"]["state"], "answered");
    let (status, closed) = step(&app, &centre, &case, json!({"action": "close"})).await;
    assert_eq!(
        (status, &closed["state"]),
        (200, &json!("closed")),
        "{closed}"
    );

    let (status, audit) = call(
        &app,
        &centre,
        "GET",
        &format!("/v1/cases/{case}/history"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit.as_array().unwrap();
    let follow_ups: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "case.follow_up")
        .collect();
    assert_eq!(follow_ups.len(), 3, "{audit}");
    assert!(
        follow_ups
            .iter()
            .all(|e| !e.to_string().contains("仍未清运")),
        "the note stays out of the follow-up's audit entry"
    );
}

#[tokio::test]
async fn stats_count_the_answer_and_the_follow_up_for_supervisors_in_json_and_csv() {
    let app = TestApp::start().await;
    let case = case_in(&app, "st-1", "路灯不亮已经一周。", "finance").await;
    let li = investigator(&app, "li", "finance", false).await;
    let centre = triage(&app, "centre").await;
    let boss = super::access::account(&app.data_dir(), "boss", &["--role", "supervisor"]).await;
    answered(&app, &li, &case).await;
    let happy = json!({"reached": true, "contact": "phone", "solved": true,
        "verdict": "satisfied"});
    let (status, body) = follow_up(&app, &centre, &case, happy).await;
    assert_eq!(status, 200, "{body}");

    let (status, stats) = call(&app, &boss, "GET", "/v1/stats?by=unit", Value::Null).await;
    assert_eq!(status, 200, "{stats}");
    let total = &stats["total"];
    assert_eq!(total["counts"]["received"], 1);
    assert_eq!(total["counts"]["answered"], 1);
    assert_eq!(total["rates"]["answered_on_time"], 100.0);
    assert_eq!(total["rates"]["resolution"], 100.0);
    assert_eq!(total["rates"]["satisfaction"], 100.0);
    assert_eq!(
        total["rates"]["response"],
        Value::Null,
        "no deadline has fallen yet"
    );
    let groups = stats["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["key"] == "finance" && g["counts"]["answered"] == 1),
        "{stats}"
    );

    let (status, refused) = call(&app, &li, "GET", "/v1/stats", Value::Null).await;
    assert_eq!(status, 403, "not an investigator's: {refused}");
    let (status, refused) = call(&app, &centre, "GET", "/v1/stats?by=person", Value::Null).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`by`")
    );

    let response = app
        .client
        .get(format!("{}/v1/stats?series=day&format=csv", app.base))
        .bearer_auth(&centre)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("scope,key,bucket,received,"));
    assert!(lines[1].starts_with("total,,,1,"), "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("series,,")), "{csv}");
}
