//! Who may do what: the permission matrix over every staff route and every role, and how a
//! caller is recognised (open loopback API until the first account, user tokens checked on
//! every request, service tokens from the environment).

use std::collections::BTreeSet;
use std::path::Path;

use complaint_gateway::api::auth::{PUBLIC_ROUTES, ROUTES};
use complaint_gateway::people::Role;
use complaint_gateway::people::access::granted;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::import_export::run_beside;
use crate::common::{TestApp, config_text};

/// Creates `name` with `args` (roles, queues) and a token for it; returns the token.
pub async fn account(data: &Path, name: &str, args: &[&str]) -> String {
    let mut add = vec!["user", "add", name, "--no-password"];
    add.extend_from_slice(args);
    let (ok, _, stderr) = run_beside(data, &add, None).await;
    assert!(ok, "{stderr}");
    let (ok, token, stderr) = run_beside(
        data,
        &["token", "create", "--user", name, "--name", "matrix"],
        None,
    )
    .await;
    assert!(ok, "{stderr}");
    token.trim().to_string()
}

/// Calls `method path` (a POST or PUT with `{}`; GET, POST, PUT or DELETE) with `token`; answers
/// the status and the JSON body.
pub async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    let mut request = match method {
        "GET" => app.client.get(url),
        "POST" => app.client.post(url).json(&json!({})),
        "PUT" => app.client.put(url).json(&json!({})),
        "DELETE" => app.client.delete(url),
        other => panic!("no test request for {other}"),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every documented staff route has a row in the table, and every row is a documented route:
/// a route added later without a row fails here (and is refused at run time meanwhile).
#[tokio::test]
async fn every_staff_route_has_exactly_one_permission_row() {
    let app = TestApp::start().await;
    let openapi = app.get_json("/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/") || path.starts_with("/v1/webhooks/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if !PUBLIC_ROUTES.contains(&(method.as_str(), path.as_str())) {
                documented.insert((method, path.clone()));
            }
        }
    }
    let declared: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, r, _)| (m.to_string(), r.to_string()))
        .collect();
    assert_eq!(declared.len(), ROUTES.len(), "one row per route");
    assert_eq!(
        documented, declared,
        "documented staff routes vs the permission table"
    );
    // Both ways to authenticate are declared, on staff routes only (Swagger UI sends them).
    let schemes = &openapi["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["session"]["in"], "cookie", "{schemes}");
    assert_eq!(schemes["session"]["name"], "cg_session", "{schemes}");
    let security = &openapi["paths"]["/v1/cases"]["get"]["security"];
    assert_eq!(security, &json!([{"bearer": []}, {"session": []}]));
    assert!(openapi["paths"]["/v1/webhooks/{source}"]["post"]["security"].is_null());
    assert!(openapi["paths"]["/v1/session"]["post"]["security"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn each_role_gets_exactly_what_the_matrix_grants_on_every_route() {
    let app = TestApp::start().await;
    let data = app.data_dir();
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let mut args = vec!["--role", role.as_str()];
        if role == Role::Investigator {
            args.extend_from_slice(&["--queue", "finance"]);
        }
        let token = account(&data, &format!("matrix-{role}"), &args).await;
        tokens.push((role, token));
    }
    // The investigator's column of the README's matrix: what is within their queues' reach,
    // nothing whole-store, no decision but the steps of their own cases.
    let investigator: BTreeSet<(&str, &str)> = ROUTES
        .iter()
        .filter(|(_, _, permission)| granted(Role::Investigator, *permission))
        .map(|(method, route, _)| (*method, *route))
        .collect();
    for route in [
        "/v1/search",
        "/v1/hot-issues",
        "/v1/outbox",
        "/v1/cases",
        "/v1/cases/{id}",
        "/v1/complaints/{id}",
    ] {
        assert!(investigator.contains(&("GET", route)), "GET {route}");
    }
    for route in ["/v1/audit", "/v1/dead-letters", "/v1/sources"] {
        assert!(!investigator.contains(&("GET", route)), "GET {route}");
    }
    let changes: BTreeSet<(&str, &str)> = investigator
        .iter()
        .filter(|(method, _)| *method != "GET")
        .copied()
        .collect();
    assert_eq!(
        changes,
        BTreeSet::from([
            ("POST", "/v1/cases/{id}/transitions"),
            ("POST", "/v1/cases/{id}/extensions"),
        ]),
        "investigators only work their cases (which step: the workflow's rule)"
    );
    for (method, route, permission) in ROUTES {
        let path = route
            .replace("{id}", "x")
            .replace("{name}", "x")
            .replace("{key}", "x")
            .replace("{queue}", "x")
            .replace("{request}", "1")
            .replace("{record}", "1")
            .replace("{year}", "2027");
        let (status, body) = call(&app, method, &path, None).await;
        assert_eq!(status, 401, "{method} {route} without a token: {body}");
        assert_eq!(body["error"]["code"], "authentication_required");
        for (role, token) in &tokens {
            let (status, body) = call(&app, method, &path, Some(token)).await;
            if granted(*role, *permission) {
                assert!(
                    status != 401 && status != 403,
                    "{method} {route} as {role}: {status} {body}"
                );
            } else {
                assert_eq!(status, 403, "{method} {route} as {role}: {body}");
                assert_eq!(body["error"]["code"], "permission_denied");
                assert_eq!(body["error"]["permission"], permission.as_str(), "{body}");
            }
        }
    }
    app.stop().await;
}

/// A connection to the gateway's database beside it (to set up what no command does).
pub async fn sqlite(data: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new()
        .filename(data.join("gateway.sqlite3"))
        .busy_timeout(std::time::Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await.unwrap()
}

#[tokio::test]
async fn tokens_are_checked_on_every_request_and_the_open_api_closes_with_the_first_account() {
    let app = TestApp::start().await;
    let data = app.data_dir();
    let (status, me) = call(&app, "GET", "/v1/me", None).await;
    assert_eq!((status, me["actor"].as_str()), (200, Some("open:loopback")));

    let token = account(&data, "wang", &["--role", "triage"]).await;
    let (status, body) = call(&app, "GET", "/v1/me", None).await;
    assert_eq!(status, 401, "closed once an account exists: {body}");
    let (status, me) = call(&app, "GET", "/v1/me", Some(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["actor"], "wang");
    assert_eq!(me["roles"], json!(["triage"]));
    assert_eq!(me["via"], "token");

    // A wrong secret, a foreign token and an unknown id are refused alike.
    // (Another last character than the token's own: a token may end in `x`.)
    let other = if token.ends_with('x') { 'y' } else { 'x' };
    let wrong = format!("{}{other}", &token[..token.len() - 1]);
    let unknown = format!("cgt_{}_{}", "a".repeat(12), "b".repeat(32));
    for bad in [wrong.as_str(), "not-a-token", unknown.as_str()] {
        let (status, body) = call(&app, "GET", "/v1/me", Some(bad)).await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "token_invalid");
    }

    // Disabling the account stops its token at once; enabling restores it.
    let (ok, _, stderr) = run_beside(&data, &["user", "disable", "wang"], None).await;
    assert!(ok, "{stderr}");
    let (status, body) = call(&app, "GET", "/v1/me", Some(&token)).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    let (ok, _, stderr) = run_beside(&data, &["user", "enable", "wang"], None).await;
    assert!(ok, "{stderr}");
    assert_eq!(call(&app, "GET", "/v1/me", Some(&token)).await.0, 200);

    // An expired token is refused (its expiry moved into the past directly).
    let id = token.split('_').nth(1).unwrap().to_string();
    let mut conn = sqlite(&data).await;
    sqlx::query("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE id = ?")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = call(&app, "GET", "/v1/me", Some(&token)).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    sqlx::query("UPDATE api_tokens SET expires_at = NULL WHERE id = ?")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    // Revocation takes effect at the next request.
    assert_eq!(call(&app, "GET", "/v1/me", Some(&token)).await.0, 200);
    let (ok, _, stderr) = run_beside(&data, &["token", "revoke", &id], None).await;
    assert!(ok, "{stderr}");
    let (status, body) = call(&app, "GET", "/v1/me", Some(&token)).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    // The token's use was recorded once (several requests within the minute).
    let admin = account(&data, "auditor", &["--role", "supervisor"]).await;
    let (status, entries) = call(
        &app,
        "GET",
        "/v1/audit?user=wang&action=token.use",
        Some(&admin),
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["detail"]["token"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn service_tokens_from_the_environment_act_with_the_configured_role() {
    // A variable name unique to this test, so parallel tests are unaffected.
    // SAFETY: no other thread reads this variable.
    unsafe { std::env::set_var("CG_TEST_SERVICE_TOKEN", "svc-token-1") };
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), "").replace(
        "token_envs = []",
        "token_envs = [\"CG_TEST_SERVICE_TOKEN\"]\nservice_role = \"supervisor\"",
    );
    let app = TestApp::start_in(dir, &text).await;
    let (status, body) = call(&app, "GET", "/v1/me", None).await;
    assert_eq!(status, 401, "a configured token closes the API: {body}");
    let (status, me) = call(&app, "GET", "/v1/me", Some("svc-token-1")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["actor"], "service:CG_TEST_SERVICE_TOKEN");
    assert_eq!(me["roles"], json!(["supervisor"]));
    let (status, body) = call(&app, "POST", "/v1/cases/x/merge", Some("svc-token-1")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["permission"], "cases.decide");
    app.stop().await;
}
