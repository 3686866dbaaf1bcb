//! A full store and the pull sources, end to end: an `http_json` source pages through a local
//! upstream by cursor and a `file_drop` source watches a folder while the store is at its bound
//! (`intake.store_max_pages`, topped up by a filler table). A commit the store refuses leaves the
//! source retrying with a `store` error, the upstream asked again for the same cursor (never a
//! later one), nothing of the refused page stored and nothing acknowledged (the dropped file
//! stays where it is). Once the filler is dropped the sources recover by themselves: every item
//! stored exactly once, the cursor advanced, the sources healthy, the items searchable.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::Semaphore;

use super::full_store::{connect, copies, drop_filler, store_with_filler};
use super::sources::{wait_source, wait_stored, write_connector};
use super::upstream::{Reply, Upstream};
use crate::common::{TestApp, config_text, eventually};

const HOTLINE: &str = "hotline-full";
const PETITION: &str = "petition-full";

/// A long complaint (a few KB stored several times over: body, normalised text, item, raw), so
/// a page of them needs new pages and never fits in what is left free inside pages in use.
fn long_body(topic: &str) -> String {
    format!("{topic}。")
        + &"反映多次无人处理，希望有关部门尽快到现场核查并答复处理结果。".repeat(25)
}

fn order(n: usize, topic: &str) -> Value {
    json!({"id": format!("f-{n}"), "title": topic, "content": long_body(topic),
           "time": "2024-06-03 09:30:00", "phone": "13800000501"})
}

/// The upstream's pages: no cursor → page 1 (next `c1`), `c1` → page 2 (next `c2`), `c2` → the
/// last page (no next: the cursor stays on it).
fn page(cursor: Option<&str>) -> (Vec<Value>, Value) {
    match cursor {
        None => (
            vec![
                order(1, "供暖不热"),
                order(2, "路灯不亮"),
                order(3, "垃圾清运不及时"),
            ],
            json!("c1"),
        ),
        Some("c1") => (
            vec![
                order(4, "油烟扰民"),
                order(5, "占道施工"),
                order(6, "物业乱收费"),
            ],
            json!("c2"),
        ),
        _ => (vec![order(7, "公交改线")], Value::Null),
    }
}

fn hotline_config(base: &str) -> String {
    format!(
        r#"type = "http_json"
channel = "hotline"
url = "{base}/api/orders"
items_pointer = "/data/list"
poll_interval_secs = 1
max_requests_per_min = 6000

[pagination]
type = "cursor"
param = "cursor"
next_pointer = "/data/next"

[fields]
external_id = "/id"
title = "/title"
body = "/content"
submitted_at = "/time"
"complainant.phone" = "/phone"
"#
    )
}

fn petition_config(drop_dir: &Path) -> String {
    format!(
        "type = \"file_drop\"\nchannel = \"petition\"\ndir = \"{}\"\npoll_interval_secs = 1\n\n\
         [columns]\n\"编号\" = \"external_id\"\n\"标题\" = \"title\"\n\"内容\" = \"body\"\n\
         \"日期\" = \"submitted_at\"\n",
        drop_dir.display()
    )
}

/// Takes every page the bound still allows, on a connection of the test's own that keeps to the
/// same bound, until not one more can be had. Answers the page count and the free list.
async fn fill_to_bound(db: &Path, bound: i64) -> (i64, i64) {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(std::time::Duration::from_secs(10))
        .pragma("max_page_count", bound.to_string());
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    for size in [32 * 4096, 4000, 100] {
        loop {
            let inserted = sqlx::query("INSERT INTO filler VALUES (zeroblob(?))")
                .bind(size)
                .execute(&mut conn)
                .await;
            match inserted {
                Ok(_) => {}
                // SQLITE_FULL (13): not one more page.
                Err(sqlx::Error::Database(error))
                    if error
                        .code()
                        .and_then(|c| c.parse::<i32>().ok())
                        .is_some_and(|c| c & 0xff == 13) =>
                {
                    break;
                }
                Err(error) => panic!("filling the store: {error}"),
            }
        }
    }
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (pages, free)
}

/// The cursor committed for `source`, as the store holds it.
async fn stored_cursor(db: &Path, source: &str) -> Option<Value> {
    let mut conn = connect(db).await;
    let text: Option<String> =
        sqlx::query_scalar("SELECT cursor FROM source_cursors WHERE source = ?")
            .bind(source)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    text.map(|t| serde_json::from_str(&t).unwrap())
}

fn time(status: &Value, field: &str) -> DateTime<Utc> {
    status[field].as_str().unwrap().parse().unwrap()
}

/// How often the upstream was asked for each cursor (`-`: none), after checking that it was
/// asked in order: the first page once, then the second, then the last, never going back.
fn asked(upstream: &Upstream) -> [usize; 3] {
    let log = upstream.query_log("cursor");
    let phase = |c: &str| ["-", "c1", "c2"].iter().position(|p| *p == c).unwrap();
    let phases: Vec<usize> = log.iter().map(|c| phase(c)).collect();
    assert!(phases.is_sorted(), "cursors asked out of order: {log:?}");
    let mut counts = [0; 3];
    for p in phases {
        counts[p] += 1;
    }
    assert_eq!(counts[0], 1, "the first page was read once: {log:?}");
    counts
}

#[tokio::test]
async fn pull_sources_back_off_on_a_full_store_keep_their_cursors_and_recover_by_themselves() {
    // The first page is answered at once; the second only when the test lets it through, once
    // the store is full.
    let gate = Arc::new(Semaphore::new(0));
    let held = gate.clone();
    let upstream = Upstream::start(move |request| {
        let cursor = request.query("cursor");
        let (orders, next) = page(cursor.as_deref());
        let reply = Reply::json(&json!({"data": {"list": orders, "next": next}}).to_string());
        match cursor.as_deref() {
            Some("c1") => Reply::Held(held.clone(), Box::new(reply)),
            _ => reply,
        }
    })
    .await;

    let (dir, db, pages) = store_with_filler().await;
    let drop_dir = dir.path().join("drop");
    std::fs::create_dir_all(&drop_dir).unwrap();
    write_connector(dir.path(), HOTLINE, &hotline_config(&upstream.base));
    write_connector(dir.path(), PETITION, &petition_config(&drop_dir));
    // Room for the first page and what the gateway derives from it; the test takes the rest.
    let bound = pages + 400;
    let limited = config_text(
        dir.path(),
        &format!("[intake]\nstore_max_pages = {bound}\n"),
    );
    let app = TestApp::start_in(dir, &limited).await;

    wait_source(&app, HOTLINE, "first page committed", |s| {
        s["cursor"] == json!({"cursor": "c1"})
    })
    .await;
    eventually("the second page asked for", || async {
        upstream
            .query_log("cursor")
            .contains(&"c1".to_string())
            .then_some(())
    })
    .await;
    wait_stored(&app, HOTLINE, 3).await;

    // The disk fills up; then a petition export arrives and the upstream answers page 2.
    let (filled, free) = fill_to_bound(&db, bound).await;
    assert_eq!((filled, free), (bound, 0), "the store is at its bound");
    let export = format!(
        "编号,标题,内容,日期\r\nXF-1,拆迁补偿,{},2024-06-01 09:00\r\nXF-2,医保报销,{},2024-06-02 14:20\r\n",
        long_body("拆迁补偿"),
        long_body("医保报销")
    );
    std::fs::write(drop_dir.join("register.csv.part"), &export).unwrap();
    std::fs::rename(
        drop_dir.join("register.csv.part"),
        drop_dir.join("register.csv"),
    )
    .unwrap();
    gate.add_permits(1000);

    // While full: the commit is refused, the source retries, the cursor stays.
    let status = wait_source(&app, HOTLINE, "retrying after refused commits", |s| {
        s["state"] == "retrying" && s["consecutive_failures"].as_u64() >= Some(3)
    })
    .await;
    assert_eq!(status["healthy"], false);
    // The list says so too, also while a retry is polling (it stays false until one succeeds).
    let all = app.get_json("/v1/sources").await;
    assert_eq!(all["healthy"], false, "{all}");
    let error = &status["last_error"];
    assert_eq!(error["kind"], "store", "{status}");
    assert_eq!(error["permanent"], false);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("commit failed") && message.contains("full"),
        "{message}"
    );
    assert!(time(&status, "next_poll_at") > time(&status, "last_poll_at"));
    assert_eq!(status["cursor"], json!({"cursor": "c1"}));
    assert_eq!(status["received"]["stored"], 3);
    let [_, c1, c2] = asked(&upstream);
    assert!(c1 >= 3, "page 2 asked again and again: {c1}");
    assert_eq!(c2, 0, "the cursor did not move past the refused page");
    for n in 1..=6 {
        assert_eq!(
            copies(&db, &format!("f-{n}")).await,
            i64::from(n <= 3),
            "f-{n}"
        );
    }
    assert_eq!(
        stored_cursor(&db, HOTLINE).await,
        Some(json!({"cursor": "c1"}))
    );
    // The export was read and refused: not stored, and not acknowledged (not moved to done/).
    // (After a refused commit the folder source forgets the file until it is seen unchanged
    // again, so its state alternates between `retrying` and `ok`; its last error stays.)
    let petition = wait_source(&app, PETITION, "export refused", |s| {
        s["last_error"]["kind"] == "store"
    })
    .await;
    assert!(
        petition["last_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("full")),
        "{petition}"
    );
    assert_eq!(petition["received"]["stored"], 0);
    assert!(drop_dir.join("register.csv").exists());
    assert!(!drop_dir.join("done").join("register.csv").exists());
    assert!(
        !drop_dir
            .join("done")
            .join("register.csv.report.json")
            .exists()
    );
    assert_eq!(copies(&db, "XF-1").await + copies(&db, "XF-2").await, 0);

    // Space returns; no restart.
    drop_filler(&db).await;
    // Committing page 2 moves the cursor to `c2`; the last page is read from there.
    let status = wait_source(&app, HOTLINE, "caught up on the last page", |s| {
        s["received"]["stored"] == 7 && s["consecutive_failures"] == 0
    })
    .await;
    assert_eq!(status["healthy"], true);
    assert_eq!(status["cursor"], json!({"cursor": "c2"}));
    assert_eq!(status["received"]["revisions"], 0);
    assert_eq!(
        status["last_error"]["kind"], "store",
        "kept for the operator"
    );
    let [_, c1_after, c2_after] = asked(&upstream);
    assert!(c1_after > c1 && c2_after >= 1);
    for n in 1..=7 {
        assert_eq!(copies(&db, &format!("f-{n}")).await, 1, "f-{n}");
    }
    assert_eq!(
        stored_cursor(&db, HOTLINE).await,
        Some(json!({"cursor": "c2"}))
    );
    let petition = wait_source(&app, PETITION, "export stored", |s| {
        s["received"]["stored"] == 2 && s["consecutive_failures"] == 0
    })
    .await;
    assert_eq!(petition["healthy"], true);
    // Acknowledged after the commit: the report is written, then the file moves to done/.
    let done = drop_dir.join("done");
    eventually("the export acknowledged", || async {
        done.join("register.csv").exists().then_some(())
    })
    .await;
    assert!(!drop_dir.join("register.csv").exists());
    let report = std::fs::read(done.join("register.csv.report.json")).unwrap();
    let report: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["stored"], 2);
    assert_eq!(copies(&db, "XF-1").await + copies(&db, "XF-2").await, 2);
    eventually("every source healthy", || async {
        (app.get_json("/v1/sources").await["healthy"] == true).then_some(())
    })
    .await;

    // Derived work resumed: everything is searchable.
    wait_stored(&app, HOTLINE, 7).await;
    wait_stored(&app, PETITION, 2).await;
    assert_eq!(app.search(&[("q", "物业乱收费")]).await["total"], 1);
    app.stop().await;
}
