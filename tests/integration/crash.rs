//! Crash test: the real binary, many concurrent clients, `kill -9` mid-stream, restart; every
//! acknowledged item must be present and searchable.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::operations::spawn_server;
use crate::common::{SECRET, eventually, install_tls};
use complaint_gateway::webhook::auth::sign;

const CLIENTS: usize = 8;

#[tokio::test]
async fn acknowledged_items_survive_kill_9() {
    install_tls();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, crate::common::config_text(dir.path(), "")).unwrap();
    let (mut child, base) = spawn_server(dir.path(), &config);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    eventually("ready", || async {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;

    // (external id, unique search code, gateway id) of every acknowledged item.
    let acknowledged: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let items: Vec<Value> = (0..5)
                    .map(|k| {
                        let code = format!("crashc{c}n{n}k{k}");
                        json!({"external_id": format!("{c}-{n}-{k}"), "title": "崩溃测试",
                               "body": format!("编号 {code} 的市民反映小区电梯故障。")})
                    })
                    .collect();
                let body = serde_json::to_vec(&items).unwrap();
                let ts = chrono::Utc::now().timestamp();
                let sent = client
                    .post(format!("{base}/v1/webhooks/demo"))
                    .header("content-type", "application/json")
                    .header("x-signature-timestamp", ts.to_string())
                    .header("x-signature", sign(SECRET.as_bytes(), ts, &body))
                    .body(body)
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                if response.status() != 202 {
                    return;
                }
                let Ok(answer) = response.json::<Value>().await else {
                    return;
                };
                let mut acked = acknowledged.lock().unwrap();
                for (k, a) in answer["accepted"].as_array().unwrap().iter().enumerate() {
                    acked.push((
                        a["external_id"].as_str().unwrap().to_string(),
                        format!("crashc{c}n{n}k{k}"),
                        a["id"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }));
    }
    // Let the load run, then kill without warning.
    eventually("some items acknowledged", || async {
        (acknowledged.lock().unwrap().len() >= 400).then_some(())
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(acked.len() >= 400);

    let (mut child, base) = spawn_server(dir.path(), &config);
    eventually("ready after restart", || async {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    for (external_id, code, id) in &acked {
        let record = client
            .get(format!("{base}/v1/complaints/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            record.status(),
            200,
            "acknowledged {external_id} missing after kill -9"
        );
        let found = eventually(&format!("{code} searchable"), || async {
            let r: Value = client
                .get(format!("{base}/v1/search"))
                .query(&[("q", code.as_str())])
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (r["total"] == 1).then_some(r)
        })
        .await;
        assert_eq!(found["hits"][0]["id"], id.as_str());
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
