//! What only SQLite has: one file shared by two handles, the checkpointer, pragmas, the
//! index queue's chunked pruning, a migration's backfill. Everything else is in the
//! conformance suite.

use super::SqliteStore;
use crate::store::conformance::{batch, complaint, item};
use crate::store::*;

/// The SQLite store itself (its connections are what these tests look at).
async fn open(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open(dir, CommitSettings::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn two_handles_on_one_file_never_reuse_a_seq() {
    // Like `import` running while `serve` holds the store.
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path()).await;
    let b = open(dir.path()).await;
    let (wa, wb) = (a.clone(), b.clone());
    let ta = tokio::spawn(async move {
        for n in 0..50 {
            wa.submit(batch(vec![complaint("a", item(&n.to_string(), "甲"))]))
                .await
                .unwrap();
        }
    });
    let tb = tokio::spawn(async move {
        for n in 0..50 {
            wb.submit(batch(vec![complaint("b", item(&n.to_string(), "乙"))]))
                .await
                .unwrap();
        }
    });
    ta.await.unwrap();
    tb.await.unwrap();
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM complaints ORDER BY seq")
        .fetch_all(&a.pool)
        .await
        .unwrap();
    assert_eq!(seqs, (1..=100).collect::<Vec<i64>>());
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn the_log_is_checkpointed_into_the_database_file_while_the_store_is_open() {
    // No commit checkpoints (wal_autocheckpoint = 0 everywhere): the checkpointer thread must
    // copy the log into the database file, or it would grow without bound.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let db = dir.path().join(DB_FILE);
    let before = std::fs::metadata(&db).unwrap().len();
    let ops: Vec<WriteOp> = (0..400)
        .map(|n| complaint("cp", item(&n.to_string(), &"检查点测试内容".repeat(40))))
        .collect();
    store.submit(batch(ops)).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let grown = std::fs::metadata(&db).unwrap().len();
        if grown > before + 400 * 400 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "database file still {grown} bytes (was {before}): nothing was checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(
        autocheckpoint, 0,
        "readers and derived writers never checkpoint"
    );
    store.close().await;
}

#[tokio::test]
async fn the_log_file_is_cut_back_when_the_log_starts_over() {
    // A burst leaves a log far beyond the limit; once it is copied back, the next commit starts
    // the log over and cuts the file back, instead of keeping the burst's size on disk.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let wal = dir.path().join(format!("{DB_FILE}-wal"));
    let ops: Vec<WriteOp> = (0..3000)
        .map(|n| {
            complaint(
                "burst",
                item(&format!("b{n}"), &format!("{n}号楼日志测试").repeat(200)),
            )
        })
        .collect();
    store.submit(batch(ops)).await.unwrap();
    let burst = std::fs::metadata(&wal).unwrap().len();
    let limit = super::checkpoint::LOG_LIMIT_BYTES as u64;
    assert!(
        burst > 2 * limit,
        "the burst left a log of {burst} bytes only"
    );
    let started = std::time::Instant::now();
    let mut n = 0;
    loop {
        n += 1;
        store
            .submit(batch(vec![complaint(
                "after",
                item(&n.to_string(), "之后"),
            )]))
            .await
            .unwrap();
        let size = std::fs::metadata(&wal).unwrap().len();
        if size <= limit {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the log file is still {size} bytes (limit {limit}) {n} commits after the burst"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    store.close().await;
}

#[tokio::test]
async fn reopening_keeps_everything_and_continues_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .submit(batch(vec![complaint("s", item("x", "一"))]))
        .await
        .unwrap();
    store.close().await;
    let store = open(dir.path()).await;
    let out = store
        .submit(batch(vec![complaint("s", item("y", "二"))]))
        .await
        .unwrap();
    assert!(matches!(out[0], WriteOutcome::Created { seq: 2, .. }));
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    store.close().await;
}

#[tokio::test]
async fn pruning_the_index_queue_removes_exactly_the_followed_entries_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    // More entries than one chunk, with a gap in the sequence (entries already pruned).
    for n in 0..1_700 {
        sqlx::query("INSERT INTO index_queue (complaint_id) VALUES (?)")
            .bind(format!("c{n}"))
            .execute(&store.derived_pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM index_queue WHERE seq > 100 AND seq <= 400")
        .execute(&store.derived_pool)
        .await
        .unwrap();
    store.prune_index_queue(1_234).await.unwrap();
    let left: Vec<i64> = sqlx::query_scalar("SELECT seq FROM index_queue ORDER BY seq")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    assert_eq!(left, (1_235..=1_700).collect::<Vec<i64>>());
    // Nothing to prune, or a bound below every entry: nothing changes.
    store.prune_index_queue(1_000).await.unwrap();
    store.prune_index_queue(1_234).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM index_queue")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(count, 466);
    store.close().await;
}

#[tokio::test]
async fn the_migration_gives_existing_members_the_queues_their_case_informs() {
    let dir = tempfile::tempdir().unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join(super::DB_FILE))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    super::schema::migrator().run_to(60, &pool).await.unwrap();
    for (id, route_key) in [("a", "case-1"), ("b", "case-1"), ("c", "case-2")] {
        sqlx::query(
            "INSERT INTO complaints (id, seq, source, channel, external_id, received_at,
                submitted_at, submitted_ms, body, text_norm, item, content_hash, raw,
                raw_content_type)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM complaints), 's', 'online', ?,
                '2026-01-05T10:00:00.000000Z', '2026-01-05T10:00:00Z', 0, 'b', 'b', ?, 'h',
                x'', 'application/json')",
        )
        .bind(id)
        .bind(id)
        .bind(serde_json::to_string(&item(id, "b")).unwrap())
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO classifications (complaint_id, route_key, category_source, top, rules,
                why, classified_at) VALUES (?, ?, 'none', '[]', '[]', '{}', 'x')",
        )
        .bind(id)
        .bind(route_key)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO complaint_facets (complaint_id, queue) VALUES (?, 'finance')")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }
    for (route_key, informed) in [("case-1", "audit press_office"), ("case-2", "")] {
        sqlx::query(
            "INSERT INTO case_routes (route_key, queue, priority, informed, rule, created_at,
                updated_at) VALUES (?, 'finance', 'normal', ?, 'r', 'x', 'x')",
        )
        .bind(route_key)
        .bind(informed)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = open(dir.path()).await;
    for (id, informed) in [
        ("a", vec!["audit", "press_office"]),
        ("b", vec!["audit", "press_office"]),
        ("c", vec![]),
    ] {
        let facets = store.complaint(id).await.unwrap().unwrap().facets;
        assert_eq!(facets.informed, informed, "{id}");
        assert_eq!(facets.queue.as_deref(), Some("finance"));
    }
    store.close().await;
}
