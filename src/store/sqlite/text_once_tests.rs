//! The text is stored once: the `item` column keeps the item without its title and body, and
//! `text_norm` is derived from them; reads give back the whole item and the matching text, for
//! rows written this way and for rows written before (whole item, stored matching text). The
//! raw payload is kept compressed and read back byte for byte.

use chrono::Utc;
use serde_json::json;

use super::SqliteStore;
use crate::store::conformance::{batch, complaint_from};
use crate::store::*;

async fn open(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open(dir, CommitSettings::default())
        .await
        .unwrap()
}

/// The `item` and `text_norm` columns of `id`, as stored.
async fn stored_columns(store: &SqliteStore, id: &str) -> (String, String) {
    sqlx::query_as("SELECT item, text_norm FROM complaints WHERE id = ?")
        .bind(id)
        .fetch_one(&store.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_title_and_body_are_stored_once_and_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    // Full-width letters and a traditional character: the matching text differs from the body.
    let value = json!({
        "external_id": "t-1",
        "title": "噪音擾民 ＡＢＣ",
        "body": "夜间施工  噪音严重，影响休息。".repeat(6),
        "complainant": {"name": "张三", "phone": "13800000000"},
        "target_unit": "区城管局",
        "meta": {"工单号": "W-1"}
    });
    let op = complaint_from("s", value.clone(), Utc::now());
    let WriteOp::Complaint(ref new) = op else {
        unreachable!()
    };
    let (item, raw) = (new.item.clone(), new.raw.clone());
    let text_norm = item.normalized_text();
    assert_ne!(
        text_norm, item.body,
        "the fixture must normalise to something else"
    );
    let out = store.submit(batch(vec![op])).await.unwrap();
    let WriteOutcome::Created { id, .. } = &out[0] else {
        panic!("{out:?}")
    };

    let (item_column, text_norm_column) = stored_columns(&store, id).await;
    assert!(
        !item_column.contains("夜间施工"),
        "body stored again: {item_column}"
    );
    assert!(
        !item_column.contains("噪音擾民"),
        "title stored again: {item_column}"
    );
    assert!(
        item_column.contains("区城管局"),
        "the rest of the item is kept"
    );
    assert_eq!(
        text_norm_column, "",
        "the matching text is derived, not stored"
    );

    let (raw_column, encoding): (Vec<u8>, Option<String>) =
        sqlx::query_as("SELECT raw, raw_encoding FROM complaints WHERE id = ?")
            .bind(id)
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(encoding.as_deref(), Some("zstd"));
    assert!(
        raw_column.len() < raw.len(),
        "{} of {}",
        raw_column.len(),
        raw.len()
    );

    let read = store.complaint(id).await.unwrap().unwrap();
    assert_eq!(read.raw, raw, "the payload comes back verbatim");
    assert_eq!(read.item, item);
    assert_eq!(read.text_norm, text_norm);
    assert_eq!(read.item.content_hash(), read.content_hash);
    let batch_read = store.complaints_after(0, 10).await.unwrap();
    assert_eq!(batch_read[0].item, item);
    assert_eq!(batch_read[0].text_norm, text_norm);

    // A revision moves the stored form to the revisions; it reads back whole too.
    let mut changed = value;
    changed["body"] = json!("夜间施工噪音严重，补充：已持续一周。");
    store
        .submit(batch(vec![complaint_from("s", changed, Utc::now())]))
        .await
        .unwrap();
    let revisions = store.revisions(id).await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].item, item);
    assert_eq!(revisions[0].raw, raw);
    let current = store.complaint(id).await.unwrap().unwrap();
    assert_eq!(current.item.body, "夜间施工噪音严重，补充：已持续一周。");
    assert_eq!(current.item.title.as_deref(), Some("噪音擾民 ＡＢＣ"));
    assert_eq!(current.text_norm, current.item.normalized_text());
    store.close().await;
}

#[tokio::test]
async fn a_row_written_before_reads_as_it_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let whole = json!({"external_id": "old-1", "title": "旧标题", "body": "旧的正文"});
    sqlx::query(
        "INSERT INTO complaints (id, seq, source, channel, external_id, received_at,
            submitted_at, submitted_ms, title, body, text_norm, item, content_hash, raw,
            raw_content_type)
         VALUES ('old', 1, 's', 'hotline', 'old-1', '2026-01-05T10:00:00.000000Z',
            '2026-01-05T10:00:00Z', 0, '旧标题', '旧的正文', '旧标题 旧的 正文', ?, 'h', x'',
            'application/json')",
    )
    .bind(whole.to_string())
    .execute(&store.pool)
    .await
    .unwrap();
    let read = store.complaint("old").await.unwrap().unwrap();
    assert_eq!(read.item.body, "旧的正文");
    assert_eq!(read.item.title.as_deref(), Some("旧标题"));
    assert_eq!(
        read.text_norm, "旧标题 旧的 正文",
        "an older normaliser's text is kept"
    );
    store.close().await;
}
