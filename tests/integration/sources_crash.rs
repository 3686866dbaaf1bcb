//! A crash between fetch and commit: the real binary fetches a page while the test holds the
//! store's write lock, so the page is in the gateway's hands but cannot be committed; the
//! process is killed with `kill -9` right then. After a restart the page is read again: nothing
//! is lost, nothing is doubled, and the page before it is not read again.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::operations::spawn_server;
use super::sources::write_connector;
use super::upstream::{Reply, Upstream};
use crate::common::{config_text, eventually, install_tls};

fn page(ids: &[&str]) -> String {
    let list: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "content": format!("工单{id}：小区消防通道被私家车长期占用，物业不管。")}))
        .collect();
    json!({"data": {"list": list}}).to_string()
}

async fn store_state(db: &std::path::Path) -> (Option<String>, Vec<String>) {
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(db))
        .await
        .unwrap();
    let cursor =
        sqlx::query_scalar("SELECT cursor FROM source_cursors WHERE source = 'crash-hotline'")
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    let ids = sqlx::query_scalar(
        "SELECT external_id FROM complaints WHERE source = 'crash-hotline' ORDER BY external_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    (cursor, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_fetched_but_not_committed_is_read_again_after_kill_9() {
    install_tls();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upstream = {
        let (gate, held) = (gate.clone(), held.clone());
        Upstream::start(move |request| match request.query("page").as_deref() {
            Some("1") => Reply::json(&page(&["c-1", "c-2"])),
            Some("2") => {
                let reply = Reply::json(&page(&["c-3", "c-4"]));
                // Only the first request for page 2 is held until the test has locked the store.
                if held.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    reply
                } else {
                    Reply::Held(gate.clone(), Box::new(reply))
                }
            }
            Some("3") => Reply::json(&page(&["c-5"])),
            _ => Reply::json(&page(&[])),
        })
        .await
    };
    let dir = tempfile::tempdir().unwrap();
    write_connector(
        dir.path(),
        "crash-hotline",
        &format!(
            "type = \"http_json\"\nchannel = \"hotline\"\nurl = \"{}/orders\"\nitems_pointer = \"/data/list\"\ntimeout_secs = 30\npoll_interval_secs = 3600\n[pagination]\ntype = \"page\"\nparam = \"page\"\npage_size = 2\n[fields]\nexternal_id = \"/id\"\nbody = \"/content\"\n",
            upstream.base
        ),
    );
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_text(dir.path(), "")).unwrap();
    let db = dir.path().join("data").join("gateway.sqlite3");

    let (mut child, _) = spawn_server(dir.path(), &config);
    eventually("page 2 requested", || async {
        (upstream.query_log("page") == ["1", "2"]).then_some(())
    })
    .await;
    // Page 1 and its cursor are committed before page 2 is asked for.
    assert_eq!(
        store_state(&db).await,
        (
            Some(r#"{"page":2}"#.to_string()),
            vec!["c-1".into(), "c-2".into()]
        )
    );
    // Hold the store's write lock, then let the upstream answer page 2: the gateway has the
    // page and waits to commit it.
    let mut lock = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&db)
            .busy_timeout(Duration::from_secs(20)),
    )
    .await
    .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut lock)
        .await
        .unwrap();
    gate.add_permits(1);
    eventually("page 2 served", || async {
        upstream
            .released_written
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    lock.close().await.unwrap();
    assert_eq!(
        store_state(&db).await,
        (
            Some(r#"{"page":2}"#.to_string()),
            vec!["c-1".into(), "c-2".into()]
        ),
        "the fetched page and its cursor were not committed"
    );

    let requests_before = upstream.requests().len();
    let (mut child, base) = spawn_server(dir.path(), &config);
    let client = reqwest::Client::new();
    let status = eventually("caught up after the restart", || async {
        let status: Value = client
            .get(format!("{base}/v1/sources/crash-hotline"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        // The counts follow the cursor by a moment (the status merges them from the store).
        (status["cursor"] == json!({"page": 3})
            && status["state"] == "ok"
            && status["received"]["stored"] == 5)
            .then_some(status)
    })
    .await;
    let after: Vec<String> = upstream.query_log("page")[requests_before..].to_vec();
    assert_eq!(
        after,
        ["2", "3"],
        "the restart re-read page 2 and did not go back to page 1"
    );
    assert_eq!(
        status["received"]["duplicates"], 0,
        "page 2 had not been stored before"
    );
    // The counts are those the store committed with the items, page 1's included, although the
    // status saved every few seconds could not be written while the lock was held.
    assert_eq!(status["received"]["stored"], 5, "{status}");
    child.kill().unwrap();
    child.wait().unwrap();
    let (_, ids) = store_state(&db).await;
    assert_eq!(ids, ["c-1", "c-2", "c-3", "c-4", "c-5"]);
}
