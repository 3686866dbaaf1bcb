//! The Open311 server's rules on a running gateway: keys refused (missing, wrong, disabled) in
//! the spec's error shape, a client never sees another's request, a POST over the cap is 413
//! and past the rate 429, a request answered through the workflow reads `closed` with the reply
//! and the unit, a report is never published, and the gateway's own `open311` connector reads
//! what the server answers.

use serde_json::{Value, json};

use super::access::account;
use super::import_export::run_beside;
use super::open311::{El, client_key, file, file_by, form, get, get_json, post};
use super::workflow::call;
use crate::common::{TestApp, eventually};

#[tokio::test]
async fn missing_wrong_and_disabled_keys_are_refused_in_the_specs_shape() {
    let app = TestApp::start().await;
    let key = client_key(&app, "city-app").await;
    let (id, _) = file(&app, &key, "办事大厅窗口长期无人。").await;

    let (status, content_type, body) = get(&app, "services.json", None, &[]).await;
    assert_eq!(status, 403, "{body}");
    assert!(content_type.starts_with("application/json"));
    let errors: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(errors[0]["code"], 403);
    assert!(
        errors[0]["description"]
            .as_str()
            .unwrap()
            .contains("api_key"),
        "{errors}"
    );

    // (Another last character than the key's own: a key may end in `x`.)
    let other = if key.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{other}", &key[..key.len() - 1]);
    for wrong in ["nonsense", forged.as_str()] {
        let (status, _, xml) = get(&app, "requests.xml", Some(wrong), &[]).await;
        assert_eq!(status, 403, "{xml}");
        let root = El::parse(&xml);
        assert_eq!(root.name, "errors");
        assert_eq!(root.child("error").names(), ["code", "description"]);
        assert_eq!(root.child("error").child("code").text, "403");
    }
    let (status, _, body) = post(
        &app,
        "json",
        form(&[("service_code", "general"), ("description", "x")]),
    )
    .await;
    assert_eq!(status, 403, "a POST without a key: {body}");
    // With a key: a missing field is a 400 naming it, an unknown parameter too.
    let (status, _, answer) = post(
        &app,
        "json",
        form(&[("api_key", &key), ("description", "x")]),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("service_code"), "{answer}");
    let (status, _, answer) = get(&app, "requests.json", Some(&key), &[("page", "2")]).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("`page`"), "{answer}");
    // A path that is not UTF-8, a resource without a format, a method the route does not take.
    for path in ["requests/%FF.json", "requests.yaml", "nothing.json"] {
        let (status, _, answer) = get(&app, path, Some(&key), &[]).await;
        assert!((400..500).contains(&status), "{path}: {status} {answer}");
    }
    let patched = app
        .client
        .patch(format!("{}/open311/v2/requests.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 405);

    let (ok, _, stderr) = run_beside(
        &app.data_dir(),
        &["open311", "client", "disable", "city-app"],
        None,
    )
    .await;
    assert!(ok, "{stderr}");
    let (ok, listed, _) = run_beside(&app.data_dir(), &["open311", "client", "list"], None).await;
    assert!(
        ok && listed.contains("city-app") && listed.contains("disabled"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "the key is never listed");
    let (ok, audit, _) = run_beside(
        &app.data_dir(),
        &["audit", "list", "--action", "open311.client_disable"],
        None,
    )
    .await;
    assert!(
        ok && audit.contains("\"client\":\"city-app\""),
        "the disable is audited: {audit}"
    );
    assert!(
        !audit.contains(&key[key.len() - 32..]),
        "no secret in the audit record"
    );
    let (status, _, body) = get(&app, &format!("requests/{id}.json"), Some(&key), &[]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("disabled"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_client_never_sees_another_clients_request() {
    let app = TestApp::start().await;
    let a = client_key(&app, "app-a").await;
    let b = client_key(&app, "app-b").await;
    let (id, token) = file(&app, &a, "公积金提取审批拖了三个月。").await;
    let (mine, _) = file(&app, &b, "社保窗口推诿。").await;

    let (status, _, body) = get(&app, &format!("requests/{id}.json"), Some(&b), &[]).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["code"],
        404
    );
    let (status, _, _) = get(&app, &format!("tokens/{token}.json"), Some(&b), &[]).await;
    assert_eq!(status, 404);
    let listed = get_json(&app, "requests.json", &b, &[]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["service_request_id"], json!(mine));
    let by_id = get_json(&app, "requests.json", &b, &[("service_request_id", &id)]).await;
    assert_eq!(by_id, json!([]));
    let (status, _, _) = get(&app, &format!("requests/{id}.json"), Some(&a), &[]).await;
    assert_eq!(status, 200, "its own client still reads it");

    // What intake cannot accept is kept as the client's dead letter and answered 400.
    let body = form(&[
        ("api_key", a.as_str()),
        ("service_code", "general"),
        ("description", "\u{7}"),
    ]);
    let (status, _, answer) = post(&app, "json", body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("dead letter"), "{answer}");
    let kept = app.get_json("/v1/dead-letters?source=open311:app-a").await;
    assert_eq!(kept["total"], 1, "{kept}");
    app.stop().await;
}

#[tokio::test]
async fn a_post_over_the_cap_is_413_and_past_the_rate_429_with_retry_after() {
    let app = TestApp::start_with("[open311]\nposts_per_minute = 1\npost_burst = 2\n").await;
    let key = client_key(&app, "city-app").await;

    let big = "长".repeat(22 * 1024);
    let body = form(&[
        ("api_key", key.as_str()),
        ("service_code", "general"),
        ("description", &big),
    ]);
    assert!(body.len() > 64 * 1024);
    let (status, _, answer) = post(&app, "json", body).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer).unwrap()[0]["code"],
        413
    );
    // Refused before the form is read: a key is not even looked at.
    let (status, _, _) = post(&app, "xml", "x".repeat(64 * 1024 + 1)).await;
    assert_eq!(status, 413);

    for n in 0..2 {
        let body = form(&[
            ("api_key", &key),
            ("service_code", "general"),
            ("description", &format!("第{n}件")),
        ]);
        let (status, _, answer) = post(&app, "json", body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let body = form(&[
        ("api_key", &key),
        ("service_code", "general"),
        ("description", "第三件"),
    ]);
    let (status, retry_after, answer) = post(&app, "json", body).await;
    assert_eq!(status, 429, "{answer}");
    let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer).unwrap()[0]["code"],
        429
    );

    app.stop().await;
}

/// Waits until the request's `field` reads `expected`; the request.
async fn request_until(app: &TestApp, key: &str, id: &str, field: &str, expected: Value) -> Value {
    eventually(&format!("{field} of {id} is {expected}"), || async {
        let r = get_json(app, &format!("requests/{id}.json"), key, &[]).await;
        (r[0][field] == expected).then(|| r[0].clone())
    })
    .await
}

#[tokio::test]
async fn an_answered_request_is_closed_with_the_reply_and_the_unit_and_a_report_is_never_shown() {
    let app = TestApp::start().await;
    let key = client_key(&app, "city-app").await;
    let (id, _) = file(&app, &key, "财政补贴申请交上去半年没有回音。").await;
    let (reported, token) = file_by(
        &app,
        &key,
        "某科长收受红包，请查处。",
        &[("phone", "13700001111")],
    )
    .await;

    // The centre sends the case to the finance bureau (on the open API, before any account).
    let routed = app.classified(&id).await;
    let case = routed["route"]["route_key"].as_str().unwrap().to_string();
    let corrected = app
        .client
        .post(format!("{}/v1/complaints/{id}/classification", app.base))
        .json(&json!({"queue": "finance"}))
        .send()
        .await
        .unwrap();
    assert!(corrected.status().is_success(), "{}", corrected.status());
    // Triage marks the other complaint a report (举报).
    app.classified(&reported).await;
    let marked = app
        .client
        .post(format!(
            "{}/v1/complaints/{reported}/classification",
            app.base
        ))
        .json(&json!({"tags": ["report"]}))
        .send()
        .await
        .unwrap();
    assert!(marked.status().is_success(), "{}", marked.status());

    let assigned = request_until(&app, &key, &id, "agency_responsible", json!("市财政局")).await;
    assert_eq!(assigned["status"], "open");
    assert!(
        assigned["expected_datetime"].is_string(),
        "the deadline runs: {assigned}"
    );

    let li = account(
        &app.data_dir(),
        "li",
        &["--role", "investigator", "--queue", "finance"],
    )
    .await;
    let path = format!("/v1/cases/{case}/transitions");
    for step in [json!({"action": "accept"}), json!({"action": "start"})] {
        let (status, body) = call(&app, &li, "POST", &path, step).await;
        assert_eq!(status, 200, "{body}");
    }
    let reply = "经核查，补贴已于本月发放到账，并已向申请人致歉。";
    let answer = json!({"action": "answer", "finding": "substantiated", "reply": reply});
    let (status, body) = call(&app, &li, "POST", &path, answer).await;
    assert_eq!(status, 200, "{body}");

    let closed = request_until(&app, &key, &id, "status", json!("closed")).await;
    assert_eq!(closed["status_notes"], reply);
    assert_eq!(closed["agency_responsible"], "市财政局");
    assert!(closed["expected_datetime"].is_null(), "{closed}");
    let (_, _, xml) = get(&app, &format!("requests/{id}.xml"), Some(&key), &[]).await;
    let request = El::parse(&xml);
    assert_eq!(request.child("request").child("status_notes").text, reply);
    let listed = get_json(&app, "requests.json", &key, &[("status", "closed")]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // The report: not found, not listed, its token resolves nothing — to its own client too.
    let (status, _, _) = get(&app, &format!("requests/{reported}.json"), Some(&key), &[]).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&app, &format!("tokens/{token}.json"), Some(&key), &[]).await;
    assert_eq!(status, 404);
    let all = get_json(&app, "requests.json", &key, &[]).await;
    assert!(!all.to_string().contains(&reported), "{all}");
    app.stop().await;
}

#[tokio::test]
async fn the_gateways_own_open311_connector_reads_the_servers_answers() {
    let app = TestApp::start().await;
    let key = client_key(&app, "mirror").await;
    let (id, _) = file(&app, &key, "不动产登记窗口要求重复提交材料。").await;
    let options = connectors::item::ParseOptions::default();
    for format in ["json", "xml"] {
        let (status, _, body) = get(&app, &format!("requests.{format}"), Some(&key), &[]).await;
        assert_eq!(status, 200, "{body}");
        let document = match format {
            "json" => connectors::open311::parse_json(&body),
            _ => connectors::open311::parse_xml(&body),
        }
        .unwrap();
        assert_eq!(document.records.len(), 1, "{format}: {body}");
        let record = &document.records[0];
        let raw = connectors::open311::map_record(
            record,
            record.raw.clone().into_bytes(),
            "text".into(),
            &options,
        );
        let item = raw.parsed.unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(item.external_id, id, "{format}");
        assert_eq!(item.title.as_deref(), Some("其他效能问题"), "{format}");
        assert!(
            item.body.starts_with("不动产登记窗口"),
            "{format}: {}",
            item.body
        );
        assert_eq!(item.location.and_then(|l| l.lat), Some(30.59), "{format}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_request_whose_case_is_merged_away_follows_the_surviving_case() {
    let app = TestApp::start().await;
    let key = client_key(&app, "city-app").await;
    let (a, _) = file_by(
        &app,
        &key,
        "人民路井盖缺失，夜间行人容易踩空。",
        &[("phone", "13700000001")],
    )
    .await;
    let (b, _) = file_by(
        &app,
        &key,
        "市图书馆周末开放时间缩短，不方便学生。",
        &[("phone", "13700000002")],
    )
    .await;
    let mut cases = Vec::new();
    for id in [&a, &b] {
        let routed = app.classified(id).await;
        cases.push(routed["route"]["route_key"].as_str().unwrap().to_string());
        let corrected = app
            .client
            .post(format!("{}/v1/complaints/{id}/classification", app.base))
            .json(&json!({"queue": "finance"}))
            .send()
            .await
            .unwrap();
        assert!(corrected.status().is_success(), "{}", corrected.status());
    }
    let centre = account(&app.data_dir(), "centre", &["--role", "triage"]).await;
    let (status, merged) = call(
        &app,
        &centre,
        "POST",
        &format!("/v1/cases/{}/merge", cases[0]),
        json!({"with": cases[1], "why": "同一来源"}),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    let survivor = merged["id"].as_str().unwrap().to_string();

    let li = account(
        &app.data_dir(),
        "li",
        &["--role", "investigator", "--queue", "finance"],
    )
    .await;
    let path = format!("/v1/cases/{survivor}/transitions");
    let reply = "两件事已分别转交市政和文旅部门办理。";
    for step in [
        json!({"action": "accept"}),
        json!({"action": "start"}),
        json!({"action": "answer", "finding": "other", "reply": reply}),
    ] {
        let (status, body) = call(&app, &li, "POST", &path, step).await;
        assert_eq!(status, 200, "{body}");
    }
    for id in [&a, &b] {
        let closed = request_until(&app, &key, id, "status", json!("closed")).await;
        assert_eq!(closed["status_notes"], reply, "{id}: {closed}");
        assert_eq!(closed["agency_responsible"], "市财政局");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_chosen_service_brings_its_tag_and_its_route() {
    let app = TestApp::start().await;
    let key = client_key(&app, "city-app").await;
    let body = form(&[
        ("api_key", key.as_str()),
        ("service_code", "approval_delay"),
        (
            "description",
            "营业执照变更材料交了两个月，窗口一直说等通知。",
        ),
    ]);
    let (status, _, answer) = post(&app, "json", body).await;
    assert_eq!(status, 201, "{answer}");
    let id = serde_json::from_str::<Value>(&answer).unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let classified = app.classified(&id).await;
    assert!(
        classified["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("approval_delay")),
        "{classified}"
    );
    assert_eq!(classified["route"]["queue"], "supervision", "{classified}");
    let request = request_until(&app, &key, &id, "agency_responsible", json!("市监察局")).await;
    assert_eq!(request["service_name"], "审批拖延、不予受理");
    app.stop().await;
}
