//! A full store: with `intake.store_max_pages` just above what the database holds (SQLite's
//! `max_page_count`, so no test needs root or a small disk), pushes are refused with 503
//! `store_full` and `Retry-After` and nothing refused is stored; once pages are free again the
//! gateway accepts and derives without a restart.

use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::common::{TestApp, complaint, config_text};

async fn connect(db: &std::path::Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(std::time::Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await.unwrap()
}

async fn stored(db: &std::path::Path, external_id: &str) -> bool {
    let mut conn = connect(db).await;
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM complaints WHERE external_id = ?")
            .bind(external_id)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    found.is_some()
}

#[tokio::test]
async fn a_full_store_refuses_with_503_and_recovers_when_space_returns() {
    // A first start creates the database; a filler table then takes most of what the bound
    // will allow.
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
    let db = app.data_dir().join("gateway.sqlite3");
    assert!(
        stored(&db, &format!("full-{}", n - 1)).await,
        "acknowledged, stored"
    );
    assert!(
        !stored(&db, &format!("full-{n}")).await,
        "refused, not stored"
    );

    // Space returns: the filler's pages go back to the free list.
    let mut conn = connect(&db).await;
    sqlx::query("DROP TABLE filler")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let again = complaint(
        &format!("full-{n}"),
        "施工噪音",
        "城南片区夜间施工噪音扰民，恢复之后再次提交。",
    );
    let response = app.push(&again).await;
    assert_eq!(response.status(), 202, "accepted without a restart");
    assert!(stored(&db, &format!("full-{n}")).await);
    // Derived work resumed too: the new complaint is searchable.
    app.wait_searchable("恢复之后再次提交", 1).await;
    app.stop().await;
}
