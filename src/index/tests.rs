//! The index follows the store: new complaints, revisions and derived-data (facet) changes.

use chrono::Utc;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use serde_json::json;

use super::SearchIndex;
use super::query::Filters;
use super::search::SearchRequest;
use crate::store::facets::{Facet, set_facets};
use crate::store::{CommitSettings, NewComplaint, Store, WriteBatch, WriteOp, WriteOutcome};

async fn add(store: &Store, external_id: &str, body: &str) -> String {
    let item = Item::from_value(
        json!({"external_id": external_id, "body": body}),
        &ParseOptions::default(),
    )
    .unwrap();
    let op = WriteOp::Complaint(NewComplaint::new(
        "t",
        Channel::Hotline,
        item,
        b"{}".to_vec(),
        "application/json".into(),
        Utc::now(),
    ));
    let out = store
        .writer()
        .submit(WriteBatch {
            ops: vec![op],
            ..Default::default()
        })
        .await
        .unwrap();
    out[0].id().to_string()
}

async fn catch_up(index: &SearchIndex, store: &Store) {
    let (index, store) = (index.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        let mut writer = index.writer(32 << 20).unwrap();
        index
            .catch_up(
                &mut writer,
                &store,
                &tokio::runtime::Handle::current(),
                &mut |_| {},
            )
            .unwrap();
    })
    .await
    .unwrap();
}

fn ids(index: &SearchIndex, query: &str, filters: Filters) -> Vec<String> {
    let request = SearchRequest {
        query: query.into(),
        filters,
        limit: 10,
        ..Default::default()
    };
    index
        .search(&request)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.external_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_new_revised_and_derived_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let (index, _) = SearchIndex::open_or_create(dir.path()).unwrap();
    let a = add(&store, "a", "小区电梯坏了").await;
    add(&store, "b", "小区停车难").await;
    catch_up(&index, &store).await;
    assert_eq!(ids(&index, "电梯", Filters::default()), ["a"]);

    // A revision replaces the indexed version.
    let revised = store
        .writer()
        .submit(WriteBatch {
            ops: vec![WriteOp::Complaint({
                let item = Item::from_value(
                    json!({"external_id": "a", "body": "小区电梯修好了又坏"}),
                    &ParseOptions::default(),
                )
                .unwrap();
                NewComplaint::new(
                    "t",
                    Channel::Hotline,
                    item,
                    b"{}".to_vec(),
                    "application/json".into(),
                    Utc::now(),
                )
            })],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(revised[0], WriteOutcome::Revised { .. }));
    catch_up(&index, &store).await;
    assert_eq!(ids(&index, "修好", Filters::default()), ["a"]);
    assert_eq!(index.num_docs(), 2, "the old version is gone");

    // Derived data: setting a facet re-indexes the complaint.
    let mut tx = store.pool().begin().await.unwrap();
    assert!(
        set_facets(
            &mut tx,
            &a,
            &[
                (Facet::Category, Some("城乡建设")),
                (Facet::Tags, Some("repeat media_exposed"))
            ]
        )
        .await
        .unwrap()
    );
    assert!(
        !set_facets(&mut tx, &a, &[(Facet::Category, Some("城乡建设"))])
            .await
            .unwrap(),
        "unchanged"
    );
    tx.commit().await.unwrap();
    catch_up(&index, &store).await;
    let by_category = Filters {
        category: Some("城乡建设".into()),
        ..Default::default()
    };
    assert_eq!(ids(&index, "", by_category.clone()), ["a"]);
    let by_tag = Filters {
        tag: Some("media_exposed".into()),
        ..Default::default()
    };
    assert_eq!(ids(&index, "小区", by_tag), ["a"]);
    let record = store.complaint(&a).await.unwrap().unwrap();
    assert_eq!(record.facets.tags, ["repeat", "media_exposed"]);

    let mut tx = store.pool().begin().await.unwrap();
    set_facets(&mut tx, &a, &[(Facet::Category, Some("环境保护"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    catch_up(&index, &store).await;
    assert!(ids(&index, "", by_category).is_empty());
    assert_eq!(index.num_docs(), 2);
    store.close().await;
}
