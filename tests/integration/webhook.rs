//! Signed webhook intake: authentication, limits, malformed bodies, batches, idempotency.

use serde_json::{Value, json};

use crate::common::{NEXT_SECRET, SECRET, TestApp, complaint};
use complaint_gateway::webhook::auth::sign;

async fn push_with_headers(
    app: &TestApp,
    body: &[u8],
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/v1/webhooks/demo", app.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        body,
    )
}

#[tokio::test]
async fn signatures_good_wrong_expired_replayed_and_rotated() {
    let app = TestApp::start().await;
    let body = complaint("sig-1", "路灯损坏", "人民路路灯损坏一个月无人维修。").to_string();
    let body = body.as_bytes();
    let now = chrono::Utc::now().timestamp();

    // Good, with the current secret.
    let sig = sign(SECRET.as_bytes(), now, body);
    let ok = push_with_headers(
        &app,
        body,
        &[
            ("x-signature-timestamp", now.to_string()),
            ("x-signature", sig.clone()),
        ],
    )
    .await;
    assert_eq!(ok.status(), 202);

    // The same (timestamp, signature) again: a replay.
    let replay = push_with_headers(
        &app,
        body,
        &[
            ("x-signature-timestamp", now.to_string()),
            ("x-signature", sig),
        ],
    )
    .await;
    assert_eq!(error_code(replay).await.1, "signature_replayed");

    // Wrong secret.
    let wrong = sign(b"not-the-secret", now, body);
    let (status, code, answer) = error_code(
        push_with_headers(
            &app,
            body,
            &[
                ("x-signature-timestamp", now.to_string()),
                ("x-signature", wrong),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "signature_invalid"));
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signature")
    );

    // Expired: signed correctly but 301 s ago.
    let old = now - 301;
    let expired = sign(SECRET.as_bytes(), old, body);
    let (status, code, _) = error_code(
        push_with_headers(
            &app,
            body,
            &[
                ("x-signature-timestamp", old.to_string()),
                ("x-signature", expired),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "signature_expired"));

    // Missing headers.
    let (status, code, _) = error_code(push_with_headers(&app, body, &[]).await).await;
    assert_eq!((status, code.as_str()), (401, "timestamp_missing"));

    // The next secret of a rotation is accepted too.
    let rotated = app
        .push_signed("demo", body, "application/json", NEXT_SECRET)
        .await;
    assert_eq!(rotated.status(), 202);
    let answer: Value = rotated.json().await.unwrap();
    assert_eq!(answer["accepted"][0]["duplicate"], true);
    app.stop().await;
}

#[tokio::test]
async fn unknown_source_is_404() {
    let app = TestApp::start().await;
    let response = app
        .push_signed("nobody", b"{}", "application/json", SECRET)
        .await;
    let (status, code, _) = error_code(response).await;
    assert_eq!((status, code.as_str()), (404, "unknown_source"));
    app.stop().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    let text = crate::common::config_text(
        dir.path(),
        &format!(
            "\n[webhooks.slow]\nchannel = \"hotline\"\nsecret_files = [\"{}\"]\nrate_limit_per_sec = 1\nrate_limit_burst = 2\n",
            secret.display()
        ),
    );
    let app = TestApp::start_in(dir, &text).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..4 {
        let body = complaint(&format!("rl-{n}"), "供水", "城南区停水三天。").to_string();
        let response = app
            .push_signed("slow", body.as_bytes(), "application/json", SECRET)
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let (_, code, _) = error_code(response).await;
            assert_eq!(code, "rate_limited");
        }
    }
    assert_eq!(&statuses[..2], &[202, 202], "{statuses:?}");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    let secs: u64 = retry_after.expect("Retry-After header").parse().unwrap();
    assert!(secs >= 1, "Retry-After {secs}");
    app.stop().await;
}

#[tokio::test]
async fn oversized_body_and_batch_are_413() {
    let app = TestApp::start_with("\n[intake]\nmax_body_bytes = 2048\nmax_batch_items = 3\n").await;
    let big = complaint("big", "长文", &"很长的投诉内容".repeat(200)).to_string();
    let (status, code, answer) = error_code(
        app.push_signed("demo", big.as_bytes(), "application/json", SECRET)
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (413, "body_too_large"));
    assert_eq!(answer["error"]["max_body_bytes"], 2048);

    let four: Vec<Value> = (0..4)
        .map(|n| complaint(&format!("b{n}"), "短", "短内容"))
        .collect();
    let (status, code, _) = error_code(app.push(&json!(four)).await).await;
    assert_eq!((status, code.as_str()), (413, "batch_too_large"));
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400_with_position_and_kept_verbatim() {
    let app = TestApp::start().await;
    let body = "{\"external_id\": \"m1\",\n  \"body\": 投诉内容}";
    let response = app
        .push_signed("demo", body.as_bytes(), "application/json", SECRET)
        .await;
    let (status, code, answer) = error_code(response).await;
    assert_eq!((status, code.as_str()), (400, "malformed_json"));
    assert_eq!(answer["error"]["line"], 2);
    assert_eq!(answer["error"]["column"], 11);
    let id = answer["error"]["dead_letter_id"]
        .as_str()
        .expect("dead_letter_id");
    let letter = app.get_json(&format!("/v1/dead-letters/{id}")).await;
    assert_eq!(letter["raw"]["text"], body);
    assert!(letter["reason"].as_str().unwrap().contains("line 2"));
    app.stop().await;
}

#[tokio::test]
async fn batch_with_valid_and_invalid_items_stores_the_valid_ones() {
    let app = TestApp::start().await;
    let batch = json!([
        complaint("mix-1", "垃圾清运", "幸福里小区垃圾三天未清运，气味难闻。"),
        {"external_id": "mix-2", "title": "没有正文"},
        complaint("mix-3", "占道经营", "解放路夜市占道经营，堵塞交通。"),
        {"external_id": "mix-4", "body": "坐标错误", "location": {"lat": 300}}
    ]);
    let response = app.push(&batch).await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    let accepted: Vec<&str> = answer["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(accepted, ["mix-1", "mix-3"]);
    let rejected = answer["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["index"], 1);
    assert!(rejected[0]["error"].as_str().unwrap().contains("`body`"));
    assert_eq!(rejected[1]["index"], 3);
    assert!(
        rejected[1]["error"]
            .as_str()
            .unwrap()
            .contains("location.lat")
    );
    let letters = app.get_json("/v1/dead-letters?source=demo").await;
    assert_eq!(letters["total"], 2);
    app.stop().await;
}

#[tokio::test]
async fn redelivery_is_idempotent_and_changes_become_revisions() {
    let app = TestApp::start().await;
    let first = complaint("rev-1", "噪音", "建设路酒吧深夜噪音扰民。");
    let a: Value = app.push(&first).await.json().await.unwrap();
    // A re-delivery is signed anew (same body, another timestamp).
    let later = chrono::Utc::now().timestamp() - 1;
    let b: Value = app.push_at(&first, later).await.json().await.unwrap();
    let id = a["accepted"][0]["id"].as_str().unwrap();
    assert_eq!(a["accepted"][0]["duplicate"], false);
    assert_eq!(b["accepted"][0]["duplicate"], true);
    assert_eq!(b["accepted"][0]["id"], id);

    let changed = complaint("rev-1", "噪音", "建设路酒吧深夜噪音扰民，已持续两周。");
    let c: Value = app.push(&changed).await.json().await.unwrap();
    assert_eq!(c["accepted"][0]["id"], id);
    assert_eq!(c["accepted"][0]["duplicate"], false);
    assert_eq!(c["accepted"][0]["revision"], 2);

    let record = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(record["revision"], 2);
    assert!(record["body"].as_str().unwrap().contains("两周"));
    assert_eq!(record["revisions"][0]["body"], "建设路酒吧深夜噪音扰民。");
    assert_eq!(record["revisions"][0]["raw"]["text"], first.to_string());
    // The newest version is what search finds.
    app.wait_searchable("两周", 1).await;
    app.stop().await;
}

#[tokio::test]
async fn json_lines_and_gb18030_bodies() {
    let app = TestApp::start().await;
    let lines = format!(
        "{}\n{}\n",
        complaint("nd-1", "公交", "12路公交车经常不按时发车。"),
        complaint("nd-2", "出租车", "出租车拒载，司机态度恶劣。")
    );
    let response = app
        .push_signed("demo", lines.as_bytes(), "application/x-ndjson", SECRET)
        .await;
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["accepted"].as_array().unwrap().len(), 2);

    let text = complaint(
        "gb-1",
        "供暖不热",
        "锦绣花园小区供暖温度不达标，室温只有十二度。",
    )
    .to_string();
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    let response = app
        .push_signed("demo", &bytes, "application/json; charset=GB18030", SECRET)
        .await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    let id = answer["accepted"][0]["id"].as_str().unwrap();
    let record = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(record["title"], "供暖不热");
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(record["raw"]["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, bytes.to_vec(), "raw payload kept verbatim in GB18030");
    app.stop().await;
}

#[tokio::test]
async fn a_senders_status_counts_its_pushes_and_refusals_across_a_restart() {
    let app = TestApp::start().await;
    let first = complaint("st-1", "夜间施工", "工地夜间施工噪音扰民，多次反映无果。");
    assert_eq!(app.push(&first).await.status(), 202);
    let second = complaint("st-2", "道路积水", "雨后解放路积水严重，行人无法通行。");
    let again = app.push(&json!([second, first])).await;
    assert_eq!(again.status(), 202);
    let answer: Value = again.json().await.unwrap();
    assert_eq!(answer["accepted"][1]["duplicate"], true);
    // Refused: a wrong secret, then a body that is not JSON (kept as a dead letter).
    let body = first.to_string();
    let wrong = app
        .push_signed(
            "demo",
            body.as_bytes(),
            "application/json",
            "not-the-secret",
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let broken = app
        .push_signed("demo", b"{\"external_id\": ", "application/json", SECRET)
        .await;
    assert_eq!(broken.status(), 400);

    let status = app.get_json("/v1/sources/demo").await;
    assert_eq!(
        (status["kind"].as_str(), status["state"].as_str()),
        (Some("webhook"), Some("push"))
    );
    assert_eq!(
        status["received"],
        json!({"stored": 2, "duplicates": 1, "revisions": 0, "dead_lettered": 1})
    );
    assert_eq!(status["consecutive_failures"], 2);
    assert_eq!(status["last_error"]["kind"], "malformed_json");
    assert!(status["last_success_at"].is_string(), "{status}");
    // A refused request does not make the sender unhealthy (anyone can send one) and its
    // status never quotes the body.
    assert_eq!(status["healthy"], true);
    assert!(!status.to_string().contains("external_id"), "{status}");

    // The counters survive a restart, like a polled source's.
    let dir = app.stop().await;
    let text = crate::common::config_text(dir.path(), "");
    let app = TestApp::start_in(dir, &text).await;
    let resumed = app.get_json("/v1/sources/demo").await;
    assert_eq!(resumed["received"], status["received"]);
    assert_eq!(resumed["counting_since"], status["counting_since"]);
    assert_eq!(resumed["state"], "push");
}
