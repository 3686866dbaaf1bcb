//! Logs carry no personal data at any level: the real binary at `RUST_LOG=debug` logs a
//! search's path and parameter names, never the name and phone number searched for.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{binary, config_text, install_tls};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_name_parameters_but_never_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_text(dir.path(), "")).unwrap();
    let log = dir.path().join("gateway.log");
    let mut child = Command::new(binary())
        .args(["--log-json", "--config"])
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let address = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text.lines().find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            (v["fields"]["message"] == "complaint-gateway listening")
                .then(|| v["fields"]["address"].as_str().unwrap().to_string())
        });
        if let Some(address) = found {
            break address;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no address: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    install_tls();
    let client = reqwest::Client::new();
    let secret_name = "欧阳春花";
    let secret_phone = "13912345678";
    for query in [secret_name, secret_phone] {
        let response = client
            .get(format!("http://{address}/v1/search"))
            .query(&[("q", query), ("limit", "5")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/v1/search") && text.contains("q,limit"),
        "the request is logged by path and parameter names: {text}"
    );
    let encoded_name: String = url_encoded(secret_name);
    for secret in [secret_name, secret_phone, encoded_name.as_str()] {
        assert!(!text.contains(secret), "`{secret}` in the debug log");
    }
}

fn url_encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}
