//! Shared test setup: a gateway on `127.0.0.1:0` in a temporary directory, signed pushes,
//! polling helpers. Secrets come from files in the temporary directory (environment variables
//! are process-global and tests run in parallel).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use complaint_gateway::config::Config;
use complaint_gateway::webhook::auth::sign;
use serde_json::Value;
use tokio::sync::oneshot;

pub const SECRET: &str = "test-secret-current";
pub const NEXT_SECRET: &str = "test-secret-next";

/// A running gateway.
pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Installs the TLS provider reqwest needs (once per process).
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A configuration for tests; `extra` is appended (e.g. more webhook sources). Pull sources are
/// the connector files in `<dir>/connectors` (none unless a test writes them).
pub fn config_text(dir: &Path, extra: &str) -> String {
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::write(dir.join("secret-next"), NEXT_SECRET).unwrap();
    format!(
        r#"
data_dir = "{data}"
listen = "127.0.0.1:0"

[search]
commit_interval_ms = 100

[api]
token_envs = []

# Pull sources: connector files written by a test into `<dir>/connectors`; quick retries.
[sources]
connectors_dir = "{connectors}"
retry_initial_ms = 100
retry_max_secs = 2

[webhooks.demo]
channel = "online"
secret_files = ["{secret}", "{next}"]
rate_limit_per_sec = 1000
rate_limit_burst = 1000

[webhooks.hot]
channel = "hotline"
secret_files = ["{secret}"]
{extra}
"#,
        data = dir.join("data").display(),
        connectors = dir.join("connectors").display(),
        secret = dir.join("secret").display(),
        next = dir.join("secret-next").display(),
    )
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with("").await
    }

    /// Starts with the test configuration plus `extra`.
    pub async fn start_with(extra: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(dir.path(), extra);
        Self::start_in(dir, &text).await
    }

    /// Starts in an existing directory (to restart on the same data).
    pub async fn start_in(dir: tempfile::TempDir, config_text: &str) -> TestApp {
        install_tls();
        let config = Config::from_toml(config_text, "test").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(complaint_gateway::app::run(config, listener, async move {
            let _ = rx.await;
        }));
        let app = TestApp {
            base,
            dir,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        };
        app.wait_ready().await;
        app
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Creates the account `name` with `role` and a token for it (through the command line,
    /// beside the running gateway), and sends that token with every later request of this
    /// app's client. Once an account exists, the staff API is no longer open.
    pub async fn sign_in_as(&mut self, name: &str, role: &str) -> String {
        let data = self.data_dir();
        let (name, role) = (name.to_string(), role.to_string());
        let token = tokio::task::spawn_blocking(move || {
            let cli = |args: &[&str]| {
                let out = std::process::Command::new(binary())
                    .arg("--data-dir")
                    .arg(&data)
                    .args(args)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            };
            cli(&["user", "add", &name, "--role", &role, "--no-password"]);
            cli(&["token", "create", "--user", &name, "--name", "tests"])
        })
        .await
        .unwrap();
        self.use_token(&token);
        token
    }

    /// Sends `token` with every later request of this app's client.
    pub fn use_token(&mut self, token: &str) {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        self.client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
    }

    pub async fn wait_ready(&self) {
        eventually("gateway ready", || async {
            let r = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .ok()?;
            r.status().is_success().then_some(())
        })
        .await;
    }

    /// Stops gracefully and returns the directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.shutdown.take().unwrap().send(());
        let result = tokio::time::timeout(Duration::from_secs(10), self.task.take().unwrap())
            .await
            .expect("gateway stops within 10 s");
        result.unwrap().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Pushes `body` to `source`, signed now with `secret`.
    pub async fn push_signed(
        &self,
        source: &str,
        body: &[u8],
        content_type: &str,
        secret: &str,
    ) -> reqwest::Response {
        let ts = chrono::Utc::now().timestamp();
        self.client
            .post(format!("{}/v1/webhooks/{source}", self.base))
            .header("content-type", content_type)
            .header("x-signature-timestamp", ts.to_string())
            .header("x-signature", sign(secret.as_bytes(), ts, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Pushes `body` signed at `timestamp` (a later re-delivery signs anew).
    pub async fn push_at(&self, body: &Value, timestamp: i64) -> reqwest::Response {
        let bytes = body.to_string().into_bytes();
        self.client
            .post(format!("{}/v1/webhooks/demo", self.base))
            .header("content-type", "application/json")
            .header("x-signature-timestamp", timestamp.to_string())
            .header("x-signature", sign(SECRET.as_bytes(), timestamp, &bytes))
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Pushes one item to `demo` and answers the gateway id it was stored under.
    pub async fn push_for_id(&self, item: &Value) -> String {
        let response = self.push(item).await;
        assert!(response.status().is_success(), "{}", response.status());
        let answer: Value = response.json().await.unwrap();
        answer["accepted"][0]["id"].as_str().unwrap().to_string()
    }

    /// Pushes JSON to the `demo` source with the current secret.
    pub async fn push(&self, body: &Value) -> reqwest::Response {
        self.push_signed(
            "demo",
            body.to_string().as_bytes(),
            "application/json",
            SECRET,
        )
        .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Searches with URL-encoded parameters.
    pub async fn search(&self, params: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .get(format!("{}/v1/search", self.base))
            .query(params)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "search {params:?}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// The classification of complaint `id` once routing has decided (its `route` names the
    /// queue and the case: `route_key`); waits for it.
    pub async fn classified(&self, id: &str) -> Value {
        eventually(&format!("route of {id}"), || async {
            let r = self
                .get(&format!("/v1/complaints/{id}/classification"))
                .await;
            if !r.status().is_success() {
                return None;
            }
            let c: Value = r.json().await.ok()?;
            c["route"]["queue"].is_string().then_some(c)
        })
        .await
    }

    /// Waits until a search for `q` has `total` hits.
    pub async fn wait_searchable(&self, q: &str, total: u64) -> Value {
        eventually(&format!("search `{q}` has {total} hits"), || async {
            let result = self.search(&[("q", q)]).await;
            (result["total"].as_u64() == Some(total)).then_some(result)
        })
        .await
    }
}

/// Polls `check` every 50 ms until it returns `Some`, failing after 20 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A realistic complaint item.
pub fn complaint(external_id: &str, title: &str, body: &str) -> Value {
    serde_json::json!({
        "external_id": external_id,
        "title": title,
        "body": body,
        "submitted_at": "2024-06-03T10:15:00+08:00",
        "complainant": {"name": "赵某", "phone": "13912345678"},
        "location": {"district": "城南区"}
    })
}

/// Path of the built binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_complaint-gateway")
}
