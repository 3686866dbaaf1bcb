//! Health, readiness, metrics, the OpenAPI document, the staff-API token, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{TestApp, binary, complaint};

#[tokio::test]
async fn health_metrics_and_openapi() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");

    app.push(&complaint("m-1", "测试", "指标测试投诉内容。"))
        .await;
    app.wait_searchable("指标测试", 1).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("gateway_intake_items_total{source=\"demo\",outcome=\"created\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("gateway_commit_seconds"), "{metrics}");
    // The lags are measured at scrape time: both reach 0 once the complaint is indexed and
    // processed (1 stored complaint, so a gauge that reported the store's sequence would
    // read 1).
    let started = Instant::now();
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        let caught_up = metrics.lines().any(|l| l == "gateway_index_lag 0")
            && metrics.lines().any(|l| l == "gateway_pipeline_lag 0");
        if caught_up {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let spec = app.get_json("/openapi.json").await;
    for path in [
        "/v1/webhooks/{source}",
        "/v1/search",
        "/v1/complaints/{id}",
        "/v1/dead-letters",
        "/v1/dead-letters/{id}/replay",
    ] {
        assert!(spec["paths"][path].is_object(), "missing {path} in OpenAPI");
    }
    assert_eq!(app.get("/docs/").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn staff_api_requires_the_token_when_one_is_set() {
    // A variable name unique to this test, so parallel tests are unaffected.
    // SAFETY: no other thread reads this variable.
    unsafe { std::env::set_var("CG_TEST_TOKEN_OPS", "t0ken") };
    let dir = tempfile::tempdir().unwrap();
    let text = crate::common::config_text(dir.path(), "")
        .replace("token_envs = []", "token_envs = [\"CG_TEST_TOKEN_OPS\"]");
    let app = TestApp::start_in(dir, &text).await;
    let denied = app.get("/v1/search?q=x").await;
    assert_eq!(denied.status(), 401);
    let allowed = app
        .client
        .get(format!("{}/v1/search?q=x", app.base))
        .bearer_auth("t0ken")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    // Webhooks authenticate by signature, not by the staff token.
    assert_eq!(
        app.push(&complaint("t-1", "标题", "内容")).await.status(),
        202
    );
    app.stop().await;
}

/// Starts the real binary; returns the child and its base URL (read from its JSON log).
pub fn spawn_server(
    dir: &std::path::Path,
    config: &std::path::Path,
) -> (std::process::Child, String) {
    let mut child = Command::new(binary())
        .args(["--log-json", "--config"])
        .arg(config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent
                && let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["fields"]["message"] == "complaint-gateway listening"
            {
                let _ = tx.send(v["fields"]["address"].as_str().unwrap().to_string());
                sent = true;
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server printed its address");
    (child, format!("http://{address}"))
}

#[tokio::test]
async fn sigterm_stops_gracefully_within_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, crate::common::config_text(dir.path(), "")).unwrap();
    let (mut child, base) = spawn_server(dir.path(), &config);
    crate::common::install_tls();
    let client = reqwest::Client::new();
    crate::common::eventually("ready", || async {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
}
