//! Browser sessions: login, a wrong password, CSRF on changes, logout, idle expiry, the lock
//! after repeated failures and its unlock, and the per-name login limit.

use std::path::Path;

use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::import_export::run_beside;
use crate::common::{TestApp, config_text};

const PASSWORD: &str = "城东区投诉中心 2026";

async fn start(api: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let text =
        config_text(dir.path(), "").replace("token_envs = []", &format!("token_envs = []\n{api}"));
    TestApp::start_in(dir, &text).await
}

async fn add_user(data: &Path, name: &str) {
    let line = format!("{PASSWORD}\n");
    let (ok, _, stderr) = run_beside(
        data,
        &["user", "add", name, "--role", "triage", "--password-stdin"],
        Some(line.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
}

/// Logs in; answers status, body and the cookie pair (`cg_session=…`) when one was set.
async fn login(app: &TestApp, name: &str, password: &str) -> (u16, Value, Option<String>) {
    let response = app
        .client
        .post(format!("{}/v1/session", app.base))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let mut body: Value = response.json().await.unwrap_or(Value::Null);
    if let Some(retry_after) = retry_after {
        body["retry_after"] = json!(retry_after);
    }
    (status, body, cookie)
}

async fn with_cookie(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("cookie", format!("theme=light; {cookie}"));
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let response = request.json(&json!({})).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sqlite(data: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new()
        .filename(data.join("gateway.sqlite3"))
        .busy_timeout(std::time::Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await.unwrap()
}

#[tokio::test]
async fn login_csrf_logout_and_idle_expiry() {
    let app = start("").await;
    let data = app.data_dir();
    add_user(&data, "wang").await;

    let (status, body, cookie) = login(&app, "wang", "not the password").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "login_failed");
    assert!(cookie.is_none());
    let (status, unknown, _) = login(&app, "nobody", PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(
        unknown["error"], body["error"],
        "an unknown name answers the same"
    );

    let (status, session, cookie) = login(&app, "wang", PASSWORD).await;
    assert_eq!(status, 200, "{session}");
    let cookie = cookie.expect("a cookie is set");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "not over plain HTTP unless configured"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(session["user"], "wang");

    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let (status, me) = with_cookie(&app, get.clone(), "/v1/me", &pair, None).await;
    assert_eq!((status, me["via"].as_str()), (200, Some("session")), "{me}");
    assert_eq!(me["actor"], "wang");
    // A change with the cookie needs the CSRF token.
    let (status, body) = with_cookie(&app, post.clone(), "/v1/cases/x/status", &pair, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "csrf_invalid");
    let (status, body) = with_cookie(
        &app,
        post.clone(),
        "/v1/cases/x/status",
        &pair,
        Some("wrong"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        with_cookie(&app, post.clone(), "/v1/cases/x/status", &pair, Some(&csrf)).await;
    assert_ne!(status, 403, "the token lets the request through: {body}");

    // Logout needs the token too, then ends the session at once.
    let delete = reqwest::Method::DELETE;
    let (status, _) = with_cookie(&app, delete.clone(), "/v1/session", &pair, None).await;
    assert_eq!(status, 403);
    let (status, _) = with_cookie(&app, delete, "/v1/session", &pair, Some(&csrf)).await;
    assert_eq!(status, 204);
    let (status, body) = with_cookie(&app, get.clone(), "/v1/me", &pair, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "session_expired");

    // A session idle for longer than allowed has ended.
    let (_, _, cookie) = login(&app, "wang", PASSWORD).await;
    let pair = cookie.unwrap().split(';').next().unwrap().to_string();
    assert_eq!(
        with_cookie(&app, get.clone(), "/v1/me", &pair, None)
            .await
            .0,
        200
    );
    let mut conn = sqlite(&data).await;
    sqlx::query("UPDATE sessions SET last_seen_at = '2020-01-01T00:00:00.000000Z'")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (status, body) = with_cookie(&app, get, "/v1/me", &pair, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("session_expired"))
    );

    // Every login and failure is in the record.
    let actions: Vec<String> = app_audit(&app, &csrf_login(&app).await).await;
    for expected in ["login_failed", "login", "logout"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    app.stop().await;
}

/// A fresh admin session's cookie pair, to read the audit record.
async fn csrf_login(app: &TestApp) -> String {
    let data = app.data_dir();
    let line = format!("{PASSWORD}\n");
    let (ok, _, stderr) = run_beside(
        &data,
        &["user", "add", "boss", "--role", "admin", "--password-stdin"],
        Some(line.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
    let (_, _, cookie) = login(app, "boss", PASSWORD).await;
    cookie.unwrap().split(';').next().unwrap().to_string()
}

async fn app_audit(app: &TestApp, pair: &str) -> Vec<String> {
    let (status, entries) = with_cookie(
        app,
        reqwest::Method::GET,
        "/v1/audit?limit=1000",
        pair,
        None,
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_an_admin_unlocks_it() {
    let app = start("lock_after_failures = 3").await;
    let data = app.data_dir();
    add_user(&data, "li").await;
    for attempt in 1..=2 {
        let (status, body, _) = login(&app, "li", "wrong password").await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    let (status, body, _) = login(&app, "li", "wrong password").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "account_locked");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user unlock li")
    );
    let (status, body, cookie) = login(&app, "li", PASSWORD).await;
    assert_eq!(
        (status, cookie),
        (403, None),
        "locked even with the right password: {body}"
    );
    let (ok, listed, _) = run_beside(&data, &["user", "list"], None).await;
    assert!(ok && listed.contains("\tlocked\t"), "{listed}");
    let (ok, _, stderr) = run_beside(&data, &["user", "unlock", "li"], None).await;
    assert!(ok, "{stderr}");
    let (status, body, _) = login(&app, "li", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn logins_are_limited_per_name() {
    let app = start("logins_per_minute = 3\nlock_after_failures = 100").await;
    add_user(&app.data_dir(), "zhao").await;
    for _ in 0..3 {
        assert_eq!(login(&app, "zhao", "wrong password").await.0, 401);
    }
    let (status, body, _) = login(&app, "zhao", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_logins");
    let wait: u64 = body["retry_after"].as_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    app.stop().await;
}
