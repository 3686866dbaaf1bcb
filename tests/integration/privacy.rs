//! The complainant's privacy on a complaint's detail: the unit a complaint is about sees no
//! identity (not in `complainant`, `meta`, the text or the raw payload), another unit's
//! investigators see it and the view is recorded, a queue out of reach gets 404, supervisors
//! see masked, triage sees all (recorded), and anonymity holds for all but admins.

use serde_json::{Value, json};

use super::access::account;
use crate::common::TestApp;

const PHONE: &str = "13876543210";
const NAME: &str = "欧阳某某";
const EMAIL: &str = "ouyang@example.net";

/// The queue `id`'s case is routed to, once routed (read with the app client's credentials).
pub async fn routed_queue(app: &TestApp, id: &str) -> String {
    app.classified(id).await["route"]["queue"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn detail(app: &TestApp, id: &str, token: &str) -> (u16, Value) {
    let response = app
        .client
        .get(format!("{}/v1/complaints/{id}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_no_identity(shown: &Value) {
    let text = shown.to_string();
    for secret in [PHONE, NAME, EMAIL] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    assert_eq!(shown["identity"], "masked");
    assert!(shown["item"]["complainant"].is_null());
    assert_eq!(shown["raw"]["withheld"], true);
}

fn assert_identity(shown: &Value) {
    assert_eq!(shown["identity"], "shown", "{shown}");
    assert_eq!(shown["item"]["complainant"]["phone"], PHONE);
    assert!(
        shown["raw"]["base64"]
            .as_str()
            .is_some_and(|b| !b.is_empty())
    );
}

#[tokio::test]
async fn each_viewer_sees_the_complainant_as_the_rules_say() {
    let app = TestApp::start().await;
    let accused = json!({
        "external_id": "p-accused",
        "title": "市监察局办事拖延",
        "body": format!("我多次去市监察局办事被推诿。联系我：{PHONE}，邮箱{EMAIL}。"),
        "target_unit": "市监察局",
        "complainant": {"name": NAME, "phone": PHONE},
        "meta": {"mobile": PHONE, "联系人": NAME, "办理渠道": "网站"}
    });
    let other = json!({
        "external_id": "p-other",
        "title": "小区路灯坏了",
        "body": "锦绣花园小区路灯坏了两周，晚上出行不便。",
        "complainant": {"name": NAME, "phone": PHONE}
    });
    let anonymous = json!({
        "external_id": "p-anon",
        "title": "餐馆油烟扰民",
        "body": "楼下餐馆油烟直排，请处理。",
        "complainant": {"name": NAME, "phone": PHONE, "anonymous": true}
    });
    let mut ids = Vec::new();
    for item in [&accused, &other, &anonymous] {
        ids.push(app.push_for_id(item).await);
    }
    let (accused_id, other_id, anonymous_id) = (&ids[0], &ids[1], &ids[2]);
    for id in &ids {
        routed_queue(&app, id).await;
    }
    // Triage sends the accused complaint to the bureau it accuses (市监察局, queue
    // `supervision`), and the other one to `finance` (before any account exists, the API is
    // open on loopback).
    for (id, queue) in [(accused_id, "supervision"), (other_id, "finance")] {
        let response = app
            .client
            .post(format!("{}/v1/complaints/{id}/classification", app.base))
            .json(&json!({"queue": queue}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        assert_eq!(routed_queue(&app, id).await, queue);
    }
    let searched = app.wait_searchable("推诿", 1).await;
    assert!(
        searched.to_string().contains(PHONE),
        "the snippet holds the phone: {searched}"
    );
    let classified = app
        .get_json(&format!("/v1/complaints/{accused_id}/classification"))
        .await;
    let case_id = classified["route"]["route_key"]
        .as_str()
        .expect("the route names its case")
        .to_string();
    let data = app.data_dir();
    let investigator = |queue: &'static str| ["--role", "investigator", "--queue", queue];
    let inv_accused = account(&data, "inv-jc", &investigator("supervision")).await;
    let inv_other = account(&data, "inv-other", &investigator("finance")).await;
    let inv_far = account(&data, "inv-far", &investigator("personnel")).await;
    let triage = account(&data, "centre", &["--role", "triage"]).await;
    let supervisor = account(&data, "boss", &["--role", "supervisor"]).await;
    let admin = account(&data, "root", &["--role", "admin"]).await;

    // The accused unit's investigator sees no identity anywhere; an investigator of an
    // unrelated queue gets 404.
    let (status, shown) = detail(&app, accused_id, &inv_accused).await;
    assert_eq!(status, 200, "{shown}");
    assert_no_identity(&shown);
    assert_eq!(shown["item"]["meta"]["办理渠道"], "网站");
    assert!(
        shown["body"].as_str().unwrap().contains("[电话已隐去]"),
        "{shown}"
    );
    let (status, body) = detail(&app, accused_id, &inv_far).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    // An investigator of a unit the complaint is not about sees the identity (call-backs).
    let (status, shown) = detail(&app, other_id, &inv_other).await;
    assert_eq!(status, 200, "{shown}");
    assert_identity(&shown);
    let (status, _) = detail(&app, accused_id, &inv_other).await;
    assert_eq!(status, 404, "another queue's complaint");

    // The centre sees everything; supervisors see it masked.
    let (status, shown) = detail(&app, accused_id, &triage).await;
    assert_eq!(status, 200);
    assert_identity(&shown);
    let (_, shown) = detail(&app, accused_id, &supervisor).await;
    assert_no_identity(&shown);

    // Whole-store reads by a supervisor are masked whatever their shape: search, a case.
    let get = |path: String, token: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(format!("{}{path}", app.base))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, hits) = get("/v1/search?q=推诿".into(), supervisor.clone()).await;
    assert_eq!(status, 200, "{hits}");
    assert!(
        hits.contains("[电话已隐去]") && !hits.contains(PHONE),
        "{hits}"
    );
    let (_, hits) = get("/v1/search?q=推诿".into(), triage.clone()).await;
    assert!(
        hits.contains(PHONE),
        "the centre sees the text as written: {hits}"
    );
    let (status, case) = get(format!("/v1/cases/{case_id}"), supervisor.clone()).await;
    assert_eq!(status, 200, "{case}");
    assert!(!case.contains(PHONE) && !case.contains(NAME), "{case}");
    let (_, case) = get(format!("/v1/cases/{case_id}"), triage.clone()).await;
    assert!(
        case.contains(PHONE),
        "the centre's view of the case holds it: {case}"
    );
    // The accused unit's case list holds the case (masked); an unrelated queue's is empty.
    let (status, listed) = get("/v1/cases?limit=100".into(), inv_accused.clone()).await;
    assert_eq!(status, 200, "{listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![case_id.as_str()], "{listed}");
    assert!(!listed.to_string().contains(PHONE), "{listed}");
    let (_, far_list) = get("/v1/cases?limit=100".into(), inv_far.clone()).await;
    assert_eq!(far_list, "[]");
    // The case, its history and its classification, through the accused unit's eyes: within
    // reach and masked; other queues do not learn it exists.
    for path in [
        format!("/v1/cases/{case_id}"),
        format!("/v1/cases/{case_id}/history"),
        format!("/v1/complaints/{accused_id}/classification"),
    ] {
        let (status, shown) = get(path.clone(), inv_accused.clone()).await;
        assert_eq!(status, 200, "{path}: {shown}");
        assert!(
            !shown.contains(PHONE) && !shown.contains(NAME),
            "{path}: {shown}"
        );
        for outsider in [&inv_far, &inv_other] {
            let (status, body) = get(path.clone(), outsider.to_string()).await;
            assert_eq!(status, 404, "{path}: {body}");
        }
    }

    // Anonymity: masked even for the centre, shown to admins.
    let (_, shown) = detail(&app, anonymous_id, &triage).await;
    assert_no_identity(&shown);
    let (_, shown) = detail(&app, anonymous_id, &admin).await;
    assert_identity(&shown);

    // Every unmasked view is recorded, with the complaint shown; masked views are not.
    let entries = app
        .client
        .get(format!("{}/v1/audit?action=personal_data.view", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let views: Vec<(String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["complaint_ids"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        views.contains(&("centre".into(), accused_id.clone())),
        "{views:?}"
    );
    assert!(
        views.contains(&("root".into(), anonymous_id.clone())),
        "{views:?}"
    );
    assert!(
        !views.iter().any(|(actor, _)| actor == "boss"),
        "masked views: {views:?}"
    );
    assert!(
        !views.iter().any(|(actor, _)| actor == "inv-jc"),
        "the accused unit saw nothing to record: {views:?}"
    );
    assert!(
        views.contains(&("inv-other".into(), other_id.clone())),
        "an investigator's unmasked view: {views:?}"
    );
    let case_views: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"]["route"] == "GET /v1/cases/{id}")
        .collect();
    assert_eq!(
        case_views.len(),
        1,
        "the centre's view of the case: {entries}"
    );
    assert_eq!(case_views[0]["actor"], "centre");
    assert_eq!(case_views[0]["complaint_ids"], json!([accused_id]));
    app.stop().await;
}
