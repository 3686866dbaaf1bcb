//! Answers going back where the complaint came from: a reply to send by phone or letter,
//! through its transitions and audited; a signed status update to a channel's system that
//! fails twice and is then accepted, delivered once, its signature verified as a channel
//! would; a callback out of attempts marked failed and retried by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::sources::{start_with_connectors, wait_stored, write_connector};
use super::upstream::{Reply, Upstream};
use super::workflow::{call_open as call, case_in};
use crate::common::{TestApp, eventually};
use complaint_gateway::webhook::auth::Verifier;

/// The reply of an answer the centre enters for the unit (the open API, before any account).
async fn answer(app: &TestApp, case: &str, summary: &str) {
    let (status, body) = call(
        app,
        "POST",
        &format!("/v1/cases/{case}/answer"),
        json!({"summary": summary}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_reply_without_a_channel_system_waits_for_staff_to_send_it() {
    let app = TestApp::start().await;
    let case = case_in(&app, "ans-1", "小区门口路灯不亮已两周。", "finance").await;
    let (_, listed) = call(&app, "GET", "/v1/replies", Value::Null).await;
    assert_eq!(listed["items"], json!([]), "nothing before the answer");
    answer(&app, &case, "已督促物业更换灯具，本周内修复。").await;

    let (status, listed) = call(&app, "GET", "/v1/replies", Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    let reply = &items[0];
    assert_eq!(reply["case_id"], case.as_str());
    assert_eq!(reply["external_id"], "ans-1");
    assert_eq!(reply["channel_name"], "网上政府在线");
    assert_eq!(reply["state"], "pending");
    assert_eq!(reply["reply"], "已督促物业更换灯具，本周内修复。");
    assert!(
        reply["queue"].as_str().is_some_and(|q| !q.is_empty()),
        "{reply}"
    );
    let id = reply["id"].as_i64().unwrap();
    let sent = format!("/v1/replies/{id}/sent");

    let (status, refused) = call(&app, "POST", &sent, json!({"method": "fax"})).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("phone")
    );
    let body = json!({"method": "phone", "note": "已电话告知投诉人"});
    let (status, done) = call(&app, "POST", &sent, body.clone()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (&done["state"], &done["method"], &done["note"]),
        (&json!("sent"), &json!("phone"), &json!("已电话告知投诉人"))
    );
    assert!(done["done_by"].as_str().is_some_and(|by| !by.is_empty()));
    let (status, again) = call(&app, "POST", &sent, body).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "already_decided");

    let (_, pending) = call(&app, "GET", "/v1/replies", Value::Null).await;
    assert_eq!(pending["items"], json!([]), "sent: off the list");
    let (_, done_list) = call(&app, "GET", "/v1/replies?state=sent", Value::Null).await;
    assert_eq!(done_list["items"][0]["id"], id);
    let (status, _) = call(&app, "GET", "/v1/replies?state=delivered", Value::Null).await;
    assert_eq!(status, 400);
    let (_, history) = call(
        &app,
        "GET",
        &format!("/v1/cases/{case}/history"),
        Value::Null,
    )
    .await;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"reply.sent"), "{history}");
    let (_, callbacks) = call(&app, "GET", "/v1/callbacks", Value::Null).await;
    assert_eq!(
        callbacks["items"],
        json!([]),
        "no channel system: no callback"
    );
    app.stop().await;
}

const SECRET_ENV: &str = "CG_TEST_CALLBACK_SECRET";
const SECRET: &str = "callback-secret-for-tests";

fn hotline(base: &str, max_attempts: u32) -> String {
    format!(
        r#"type = "http_json"
channel = "hotline"
url = "{base}/api/orders"
items_pointer = "/data/list"
poll_interval_secs = 3600

[fields]
external_id = "/id"
title = "/title"
body = "/content"
submitted_at = "/time"

[callback]
url = "{base}/api/orders/{{external_id}}/result"
secret_env = "{SECRET_ENV}"
max_attempts = {max_attempts}
retry_initial_ms = 100
retry_max_secs = 1

[callback.fields]
orderNo = "external_id"
result = "reply"
handleDept = "unit"
state = "status"
"#
    )
}

/// An upstream listing `orders`, whose result endpoint answers 500 to the first `failures`
/// posts and 200 after; returns it with the count of result posts.
async fn upstream(orders: Value, failures: usize) -> (Upstream, Arc<AtomicUsize>) {
    let posts = Arc::new(AtomicUsize::new(0));
    let seen = posts.clone();
    let page = json!({"data": {"list": orders}}).to_string();
    let upstream = Upstream::start(move |request| {
        if request.method == "POST" {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            return if n < failures {
                Reply::status(500)
            } else {
                Reply::json("{\"ok\":true}")
            };
        }
        Reply::json(&page)
    })
    .await;
    (upstream, posts)
}

#[tokio::test]
async fn a_channel_system_gets_a_signed_update_retried_until_accepted_once() {
    unsafe { std::env::set_var(SECRET_ENV, SECRET) };
    let orders = json!([{"id": "WO 2026/001", "title": "噪音扰民",
        "content": "楼下餐馆油烟和噪音每天到深夜。", "time": "2026-03-02 09:30:00"}]);
    let (upstream, posts) = upstream(orders, 2).await;
    let base = upstream.base.clone();
    let app = start_with_connectors(|dir| {
        write_connector(dir, "hotline", &hotline(&base, 5));
    })
    .await;
    let found = wait_stored(&app, "hotline", 1).await;
    let id = found["hits"][0]["id"].as_str().unwrap().to_string();
    let case = case_of(&app, &id, "finance").await;
    answer(&app, &case, "已责令餐馆加装隔音设施。").await;

    let delivered = eventually("the callback delivered", || async {
        let (_, page) = call(&app, "GET", "/v1/callbacks", Value::Null).await;
        let item = page["items"].get(0)?.clone();
        (item["state"] == "delivered").then_some(item)
    })
    .await;
    assert_eq!(delivered["attempts"], 3, "{delivered}");
    assert_eq!(posts.load(Ordering::SeqCst), 3, "two failures, then once");
    let results: Vec<_> = upstream
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(
        results
            .iter()
            .all(|r| r.target == "/api/orders/WO%202026%2F001/result"),
        "{:?}",
        results.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    let verifier = Verifier::new(vec![SECRET.as_bytes().to_vec()], 300);
    let last = results.last().unwrap();
    verifier
        .verify(
            last.header("x-signature-timestamp"),
            last.header("x-signature"),
            &last.body,
            chrono::Utc::now().timestamp(),
        )
        .expect("signed as the gateway's webhooks are");
    let sent: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(sent["orderNo"], "WO 2026/001");
    assert_eq!(sent["result"], "已责令餐馆加装隔音设施。");
    assert_eq!(sent["state"], "answered");
    assert!(
        sent["handleDept"].as_str().is_some_and(|u| !u.is_empty()),
        "{sent}"
    );
    let (_, replies) = call(&app, "GET", "/v1/replies", Value::Null).await;
    assert_eq!(
        replies["items"],
        json!([]),
        "a callback is no reply to send by hand"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_callback_out_of_attempts_is_failed_and_retried_by_hand() {
    unsafe { std::env::set_var(SECRET_ENV, SECRET) };
    let orders = json!([{"id": "WO-9", "title": "占道", "content": "夜市摊位占满人行道。",
        "time": "2026-03-02 10:00:00"}]);
    let (upstream, posts) = upstream(orders, 3).await;
    let base = upstream.base.clone();
    let app = start_with_connectors(|dir| {
        write_connector(dir, "hotline", &hotline(&base, 2));
    })
    .await;
    let found = wait_stored(&app, "hotline", 1).await;
    let id = found["hits"][0]["id"].as_str().unwrap().to_string();
    let case = case_of(&app, &id, "finance").await;
    answer(&app, &case, "已清理占道摊位。").await;
    let failed = eventually("the callback failed", || async {
        let (_, page) = call(&app, "GET", "/v1/callbacks?state=failed", Value::Null).await;
        page["items"].get(0).cloned()
    })
    .await;
    assert_eq!(failed["attempts"], 2);
    assert!(
        failed["last_error"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    let retry = format!("/v1/callbacks/{}/retry", failed["id"]);
    let (status, pending) = call(&app, "POST", &retry, Value::Null).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["attempts"], 0);
    eventually("delivered after the retry", || async {
        let (_, page) = call(&app, "GET", "/v1/callbacks?state=delivered", Value::Null).await;
        page["items"].get(0).cloned()
    })
    .await;
    assert_eq!(
        posts.load(Ordering::SeqCst),
        4,
        "2 + 2 attempts, the last accepted"
    );
    let (status, refused) = call(&app, "POST", &retry, Value::Null).await;
    assert_eq!(status, 400, "only a failed callback is retried: {refused}");
    assert_eq!(refused["error"]["code"], "invalid_state");
    app.stop().await;
}

/// Routes complaint `id`'s case to `queue` (a correction, on the open API); returns the case.
async fn case_of(app: &TestApp, id: &str, queue: &str) -> String {
    // Searchable before classified: wait for the route (a 404 until then).
    let classified = app.classified(id).await;
    let path = format!("/v1/complaints/{id}/classification");
    let (status, body) = call(app, "POST", &path, json!({"queue": queue})).await;
    assert_eq!(status, 200, "{body}");
    classified["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string()
}
