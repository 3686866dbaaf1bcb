use std::collections::HashSet;

use chrono::Utc;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use serde_json::json;

use super::*;

fn item(external_id: &str, body: &str) -> Item {
    Item::from_value(
        json!({"external_id": external_id, "body": body}),
        &ParseOptions::default(),
    )
    .unwrap()
}

fn complaint(source: &str, item: Item) -> WriteOp {
    let raw = serde_json::to_vec(&item).unwrap();
    let complaint = NewComplaint::new(
        source,
        Channel::Hotline,
        item,
        raw,
        "application/json".into(),
        Utc::now(),
        chrono::Duration::days(1),
    );
    assert_eq!(
        complaint.content_hash,
        complaint.item.content_hash(),
        "one definition of the hash"
    );
    WriteOp::Complaint(complaint)
}

fn dead(source: &str, raw: &[u8]) -> WriteOp {
    WriteOp::DeadLetter(NewDeadLetter {
        source: source.into(),
        channel: None,
        external_id: None,
        reason: "malformed JSON at line 1, column 2: oops".into(),
        code: "malformed_json",
        raw: raw.to_vec(),
        raw_content_type: "application/json".into(),
        received_at: Utc::now(),
    })
}

fn batch(ops: Vec<WriteOp>) -> WriteBatch {
    WriteBatch {
        ops,
        ..WriteBatch::default()
    }
}

async fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, CommitSettings::default()).await.unwrap()
}

#[tokio::test]
async fn create_duplicate_and_revision_keep_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let w = &store;
    let first = w
        .submit(batch(vec![complaint("hotline", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    let WriteOutcome::Created { id, seq } = first[0].clone() else {
        panic!("{first:?}")
    };
    assert_eq!(seq, 1);

    let again = w
        .submit(batch(vec![complaint("hotline", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    assert_eq!(again[0], WriteOutcome::Duplicate { id: id.clone() });

    let changed = w
        .submit(batch(vec![complaint(
            "hotline",
            item("a", "路灯不亮，已经一周"),
        )]))
        .await
        .unwrap();
    assert_eq!(
        changed[0],
        WriteOutcome::Revised {
            id: id.clone(),
            revision: 2,
            seq: 2
        }
    );

    // Re-delivery of the first version is recognised, not stored as revision 3.
    let old = w
        .submit(batch(vec![complaint("hotline", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    assert_eq!(old[0], WriteOutcome::Duplicate { id: id.clone() });

    // Same external id from another source is another complaint.
    let other = w
        .submit(batch(vec![complaint("petition", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    assert!(matches!(other[0], WriteOutcome::Created { seq: 3, .. }));

    let current = store.complaint(&id).await.unwrap().unwrap();
    assert_eq!(current.body, "路灯不亮，已经一周");
    assert_eq!(current.revision, 2);
    let revisions = store.revisions(&id).await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].body, "路灯不亮");
    assert_eq!(revisions[0].revision, 1);
    assert_eq!(store.complaint_count().await.unwrap(), 2);
    store.close().await;
}

#[tokio::test]
async fn dead_letters_are_kept_verbatim_once_and_cursor_commits_with_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut b = batch(vec![
        complaint("hotline", item("1", "井盖缺失")),
        dead("hotline", b"{oops"),
    ]);
    b.cursor = Some(("hotline".into(), "page=7".into()));
    let outcomes = store.submit(b).await.unwrap();
    let WriteOutcome::DeadLettered {
        id,
        existing: false,
    } = outcomes[1].clone()
    else {
        panic!("{outcomes:?}")
    };
    assert_eq!(
        store.cursor("hotline").await.unwrap().as_deref(),
        Some("page=7")
    );
    let again = store
        .submit(batch(vec![dead("hotline", b"{oops")]))
        .await
        .unwrap();
    assert_eq!(
        again[0],
        WriteOutcome::DeadLettered {
            id: id.clone(),
            existing: true
        }
    );
    let letter = store.dead_letter(&id).await.unwrap().unwrap();
    assert_eq!(letter.raw, b"{oops");
    let (total, listed) = store
        .dead_letters(&DeadLetterFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((total, listed.len()), (1, 1));
    store.close().await;
}

#[tokio::test]
async fn concurrent_submissions_share_commits_and_get_unique_increasing_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut tasks = Vec::new();
    for client in 0..32 {
        let writer = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 0..20 {
                let op = complaint(
                    "load",
                    item(
                        &format!("{client}-{n}"),
                        &format!("第{client}号用户第{n}条投诉"),
                    ),
                );
                let outcome = writer.submit(batch(vec![op])).await.unwrap();
                let WriteOutcome::Created { seq, .. } = outcome[0] else {
                    panic!("{outcome:?}")
                };
                seqs.push(seq);
            }
            seqs
        }));
    }
    let mut all = HashSet::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one client's seqs increase: {seqs:?}"
        );
        all.extend(seqs);
    }
    assert_eq!(all.len(), 640);
    assert_eq!(store.max_seq().await.unwrap(), 640);
    assert_eq!(*store.committed_seq().borrow(), 640);
    store.close().await;
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
        .fetch_all(a.pool())
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
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(
        autocheckpoint, 0,
        "readers and derived writers never checkpoint"
    );
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
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    store.close().await;
}

#[tokio::test]
async fn one_batch_holding_repeats_behaves_like_separate_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let ops = vec![
        complaint("s", item("k", "第一版")),
        complaint("s", item("k", "第一版")),
        complaint("s", item("k", "第二版")),
        complaint("s", item("k", "第一版")),
        complaint("s", item("j", "另一件")),
        dead("s", b"\xff\xfe"),
        dead("s", b"\xff\xfe"),
    ];
    let out = store.submit(batch(ops)).await.unwrap();
    let WriteOutcome::Created { id, seq: 1 } = out[0].clone() else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], WriteOutcome::Duplicate { id: id.clone() });
    assert_eq!(
        out[2],
        WriteOutcome::Revised {
            id: id.clone(),
            revision: 2,
            seq: 2
        }
    );
    assert_eq!(
        out[3],
        WriteOutcome::Duplicate { id: id.clone() },
        "an earlier version in the same batch"
    );
    assert!(matches!(out[4], WriteOutcome::Created { seq: 3, .. }));
    let WriteOutcome::DeadLettered {
        id: letter,
        existing: false,
    } = out[5].clone()
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        out[6],
        WriteOutcome::DeadLettered {
            id: letter,
            existing: true
        }
    );
    assert_eq!(store.complaint(&id).await.unwrap().unwrap().body, "第二版");
    assert_eq!(store.revisions(&id).await.unwrap()[0].body, "第一版");
    // Counted by source in the same transaction: 2 created, 2 duplicates, 1 revision, 2 dead
    // letters (the second one kept once but counted, as the intake report counts it).
    let counts = store.source_counts().await.unwrap();
    assert_eq!(
        counts["s"],
        connectors::CommitSummary {
            stored: 2,
            duplicates: 2,
            revisions: 1,
            dead_lettered: 2
        }
    );
    // Another commit with two sources adds to the first and starts the second.
    store
        .submit(batch(vec![
            complaint("s", item("k", "第二版")),
            complaint("t", item("k", "别处")),
        ]))
        .await
        .unwrap();
    let counts = store.source_counts().await.unwrap();
    assert_eq!((counts["s"].stored, counts["s"].duplicates), (2, 3));
    assert_eq!((counts["t"].stored, counts["t"].duplicates), (1, 0));
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
            .execute(store.derived_pool())
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM index_queue WHERE seq > 100 AND seq <= 400")
        .execute(store.derived_pool())
        .await
        .unwrap();
    store.prune_index_queue(1_234).await.unwrap();
    let left: Vec<i64> = sqlx::query_scalar("SELECT seq FROM index_queue ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(left, (1_235..=1_700).collect::<Vec<i64>>());
    // Nothing to prune, or a bound below every entry: nothing changes.
    store.prune_index_queue(1_000).await.unwrap();
    store.prune_index_queue(1_234).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM index_queue")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(count, 466);
    store.close().await;
}
