//! A full store: with `intake.store_max_pages` just above what the database holds (SQLite's
//! `max_page_count`, so no test needs root or a small disk), pushes are refused with 503
//! `store_full` and `Retry-After` and nothing refused is stored; once pages are free again the
//! gateway accepts and derives without a restart. The pull-source half is in `full_store_pull`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::common::{TestApp, complaint, config_text};

/// A connection of the test's own, outside the gateway (no page bound unless it sets one).
pub(super) async fn connect(db: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(std::time::Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await.unwrap()
}

/// How many complaints are stored under `external_id` (any source).
pub(super) async fn copies(db: &Path, external_id: &str) -> i64 {
    let mut conn = connect(db).await;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM complaints WHERE external_id = ?")
        .bind(external_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    count
}

/// A data directory whose database a first start created, with a table `filler` taking 400
/// pages of it (dropping that table is space returning). Answers the directory, the database
/// and its size in pages; no connector files are written yet.
pub(super) async fn store_with_filler() -> (tempfile::TempDir, PathBuf, i64) {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), "");
    let dir = TestApp::start_in(dir, &text).await.stop().await;
    let db = dir.path().join("data").join("gateway.sqlite3");
    assert!(db.exists(), "{}", db.display());
    let mut conn = connect(&db).await;
    sqlx::query("CREATE TABLE filler (x BLOB)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO filler VALUES (zeroblob(4096 * 400))")
        .execute(&mut conn)
        .await
        .unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (dir, db, pages)
}

/// Space returns: the filler's pages go back to the free list (the gateway keeps running).
pub(super) async fn drop_filler(db: &Path) {
    let mut conn = connect(db).await;
    sqlx::query("DROP TABLE filler")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_full_store_refuses_with_503_and_recovers_when_space_returns() {
    // A filler table takes most of what the bound will allow.
    let (dir, db, pages) = store_with_filler().await;
    let limited = config_text(
        dir.path(),
        &format!("[intake]\nstore_max_pages = {}\n", pages + 40),
    );
    let app = TestApp::start_in(dir, &limited).await;
    let body = "城南片区夜间施工噪音扰民，已持续一个月，多次反映无人处理，请尽快核查。";
    let mut refused = None;
    for n in 0..2000 {
        let id = format!("full-{n}");
        let response = app
            .push(&complaint(&id, "施工噪音", &format!("{body}{n}")))
            .await;
        let status = response.status().as_u16();
        if status == 202 {
            continue;
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let answer: Value = response.json().await.unwrap();
        refused = Some((n, status, answer, retry_after));
        break;
    }
    let (n, status, answer, retry_after) = refused.expect("the bound was reached");
    assert!(n > 0, "some complaints fitted before the bound");
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "store_full", "{answer}");
    assert_eq!(retry_after.as_deref(), Some("30"));
    assert_eq!(
        copies(&db, &format!("full-{}", n - 1)).await,
        1,
        "acknowledged, stored"
    );
    assert_eq!(
        copies(&db, &format!("full-{n}")).await,
        0,
        "refused, not stored"
    );

    drop_filler(&db).await;
    let again = complaint(
        &format!("full-{n}"),
        "施工噪音",
        "城南片区夜间施工噪音扰民，恢复之后再次提交。",
    );
    let response = app.push(&again).await;
    assert_eq!(response.status(), 202, "accepted without a restart");
    assert_eq!(copies(&db, &format!("full-{n}")).await, 1);
    // Derived work resumed too: the new complaint is searchable.
    app.wait_searchable("恢复之后再次提交", 1).await;
    app.stop().await;
}
