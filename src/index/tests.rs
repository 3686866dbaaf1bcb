//! The index follows the store: new complaints, revisions and derived-data (facet) changes.

use chrono::Utc;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use serde_json::json;

use super::SearchIndex;
use super::query::Filters;
use super::search::SearchRequest;
use crate::store::facets::Facet;
use crate::store::{CommitSettings, NewComplaint, Store, WriteBatch, WriteOp, WriteOutcome};

pub(super) async fn add(store: &Store, external_id: &str, body: &str) -> String {
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
        chrono::Duration::days(1),
    ));
    let out = store
        .submit(WriteBatch {
            ops: vec![op],
            ..Default::default()
        })
        .await
        .unwrap();
    out[0].id().to_string()
}

pub(super) async fn catch_up(index: &SearchIndex, store: &Store) {
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
                    chrono::Duration::days(1),
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
    let mut tx = store.begin_derived().await.unwrap();
    assert!(
        tx.set_facets(
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
        !tx.set_facets(&a, &[(Facet::Category, Some("城乡建设"))])
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

    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&a, &[(Facet::Category, Some("环境保护"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    catch_up(&index, &store).await;
    assert!(ids(&index, "", by_category).is_empty());
    assert_eq!(index.num_docs(), 2);
    store.close().await;
}

/// A store and an index in a new temporary directory (kept alive by the first value).
pub(super) async fn store_and_index() -> (tempfile::TempDir, Store, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let (index, _) = SearchIndex::open_or_create(dir.path()).unwrap();
    (dir, store, index)
}

/// Indexes everything and returns how many rows were added (a complaint re-indexed counts
/// again).
async fn catch_up_counting(index: &SearchIndex, store: &Store) -> u64 {
    let (index, store) = (index.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        let mut writer = index.writer(32 << 20).unwrap();
        let mut added = 0;
        index
            .catch_up(
                &mut writer,
                &store,
                &tokio::runtime::Handle::current(),
                &mut |n| added = n,
            )
            .unwrap();
        added
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn derived_changes_before_indexing_index_each_complaint_once() {
    let (_dir, store, index) = store_and_index().await;
    let a = add(&store, "a", "小区电梯坏了").await;
    let b = add(&store, "b", "路灯不亮").await;
    // As after an import: the pipeline set facets (twice for `a`) before the index ran.
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&a, &[(Facet::Category, Some("城乡建设"))])
        .await
        .unwrap();
    tx.set_facets(&b, &[(Facet::Queue, Some("triage"))])
        .await
        .unwrap();
    tx.set_facets(&a, &[(Facet::Queue, Some("supervision"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(catch_up_counting(&index, &store).await, 2, "once each");
    let in_supervision = Filters {
        queue: Some("supervision".into()),
        category: Some("城乡建设".into()),
        ..Default::default()
    };
    assert_eq!(ids(&index, "", in_supervision), ["a"]);

    // A change after the complaint was indexed re-indexes it.
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&b, &[(Facet::Queue, Some("finance"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(catch_up_counting(&index, &store).await, 1);
    let in_finance = Filters {
        queue: Some("finance".into()),
        ..Default::default()
    };
    assert_eq!(ids(&index, "", in_finance), ["b"]);
    assert_eq!(index.num_docs(), 2);

    // Several changes while the index was away (a case growing during an archive load):
    // each complaint once more, with its last data.
    let mut tx = store.begin_derived().await.unwrap();
    for queue in ["finance", "urban", "education"] {
        tx.set_facets(&a, &[(Facet::Queue, Some(queue))])
            .await
            .unwrap();
    }
    tx.set_facets(&b, &[(Facet::Queue, Some("urban"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(catch_up_counting(&index, &store).await, 2, "once each");
    let in_queue = |queue: &str| Filters {
        queue: Some(queue.into()),
        ..Default::default()
    };
    assert_eq!(ids(&index, "", in_queue("education")), ["a"]);
    assert_eq!(ids(&index, "", in_queue("urban")), ["b"]);
    assert_eq!(index.num_docs(), 2);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_complaint_changed_while_the_index_follows_is_indexed_once_with_its_last_data() {
    let (_dir, store, index) = store_and_index().await;
    let a = add(&store, "a", "小区电梯坏了").await;
    let b = add(&store, "b", "路灯不亮").await;
    // An entry before the follower starts: its window on the queue stays open.
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&b, &[(Facet::Queue, Some("triage"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (idx, st, id) = (index.clone(), store.clone(), a.clone());
    let added = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Handle::current();
        let mut writer = idx.writer(32 << 20).unwrap();
        let mut calls = 0;
        // The first poll admits nothing (the follower opens its window on the queue); before
        // the second, the pipeline changes `a` twice, as a case grows during an import.
        let mut ceiling = || {
            calls += 1;
            if calls == 1 {
                return Ok((0, false));
            }
            if calls == 2 {
                runtime.block_on(async {
                    let mut tx = st.begin_derived().await.unwrap();
                    for queue in ["finance", "urban"] {
                        tx.set_facets(&id, &[(Facet::Queue, Some(queue))])
                            .await
                            .unwrap();
                    }
                    tx.commit().await.unwrap();
                });
            }
            Ok((i64::MAX, true))
        };
        let mut added = 0;
        idx.catch_up_behind(&mut writer, &st, &runtime, &mut ceiling, &mut |n| added = n)
            .unwrap();
        added
    })
    .await
    .unwrap();
    assert_eq!(added, 2, "each complaint once, `a` by its last queue entry");
    let urban = Filters {
        queue: Some("urban".into()),
        ..Default::default()
    };
    assert_eq!(ids(&index, "", urban), ["a"]);
    assert_eq!(index.num_docs(), 2);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reach_counts_only_complaints_routed_or_informed_to_the_queues() {
    let (_dir, store, index) = store_and_index().await;
    let routed = add(&store, "routed", "小区电梯坏了").await;
    let informing = add(&store, "informing", "小区电梯停运").await;
    let elsewhere = add(&store, "elsewhere", "小区电梯噪音").await;
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&routed, &[(Facet::Queue, Some("audit"))])
        .await
        .unwrap();
    let informed = [
        (Facet::Queue, Some("finance")),
        (Facet::Informed, Some("audit")),
    ];
    tx.set_facets(&informing, &informed).await.unwrap();
    tx.set_facets(&elsewhere, &[(Facet::Queue, Some("finance"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    catch_up(&index, &store).await;
    let search = |reach: Option<Vec<&str>>, queue: Option<&str>| {
        let filters = Filters {
            reach: reach.map(|r| r.into_iter().map(str::to_string).collect()),
            queue: queue.map(str::to_string),
            ..Default::default()
        };
        let request = SearchRequest {
            query: "电梯".into(),
            filters,
            limit: 10,
            ..Default::default()
        };
        let results = index.search(&request).unwrap();
        let mut ids: Vec<String> = results.hits.into_iter().map(|h| h.external_id).collect();
        ids.sort();
        (results.total, ids)
    };
    assert_eq!(search(None, None).0, 3);
    assert_eq!(
        search(Some(vec!["audit"]), None),
        (2, vec!["informing".to_string(), "routed".to_string()])
    );
    assert_eq!(
        search(Some(vec!["audit"]), Some("finance")),
        (1, vec!["informing".to_string()]),
        "a facet filter counts within the reach"
    );
    assert_eq!(search(Some(vec!["personnel"]), None), (0, vec![]));
    assert_eq!(search(Some(vec![]), None), (0, vec![]), "no queue, no hit");

    // Informed no more: out of reach once re-indexed.
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&informing, &[(Facet::Informed, None)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    catch_up(&index, &store).await;
    assert_eq!(
        search(Some(vec!["audit"]), None),
        (1, vec!["routed".to_string()])
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn catch_up_behind_stays_under_the_ceiling_until_told_it_is_the_last() {
    let (_dir, store, index) = store_and_index().await;
    let first = add(&store, "a", "小区电梯坏了").await;
    add(&store, "b", "路灯不亮").await;
    add(&store, "c", "噪音扰民").await;
    let first_seq = store.complaint(&first).await.unwrap().unwrap().seq;
    let (idx, st) = (index.clone(), store.clone());
    let (ceilings, progress) = tokio::task::spawn_blocking(move || {
        let mut writer = idx.writer(32 << 20).unwrap();
        // The ceiling admits the first complaint, then the first two, then says last; each
        // call records the ceiling and how many rows were indexed by then.
        let added = std::cell::Cell::new(0u64);
        let mut calls = 0;
        let mut seen = Vec::new();
        let mut ceiling = || {
            calls += 1;
            let answer = match calls {
                1..=3 => (first_seq, false),
                4..=6 => (first_seq + 1, false),
                _ => (i64::MAX, true),
            };
            seen.push((answer.0, added.get()));
            Ok(answer)
        };
        let progress = idx
            .catch_up_behind(
                &mut writer,
                &st,
                &tokio::runtime::Handle::current(),
                &mut ceiling,
                &mut |n| added.set(n),
            )
            .unwrap();
        (seen, progress)
    })
    .await
    .unwrap();
    // Polled until told it was the last, never past the ceiling of the moment.
    assert!(ceilings.len() >= 7, "{ceilings:?}");
    assert_eq!(ceilings[2], (first_seq, 1), "{ceilings:?}");
    assert_eq!(ceilings[5], (first_seq + 1, 2), "{ceilings:?}");
    assert_eq!(index.num_docs(), 3);
    let last_seq = store.max_seq().await.unwrap();
    assert_eq!(progress.seq, last_seq);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mixed_script_queries_match_as_adjacent_words_through_shingles() {
    let (_dir, store, index) = store_and_index().await;
    add(&store, "call", "拨打12345热线反映问题").await;
    add(&store, "comma", "12345，热线无人接听").await;
    add(&store, "apart", "12345号楼旁边的热线杆倒了").await;
    add(&store, "after", "热线电话12345打不通").await;
    add(&store, "block", "3号楼电梯坏了").await;
    add(&store, "other", "13号楼电梯坏了").await;
    add(&store, "order", "工单号1024无人处理").await;
    add(&store, "number", "快递单号查不到").await;
    catch_up(&index, &store).await;
    let sorted = |query: &str| {
        let mut found = ids(&index, query, Filters::default());
        found.sort();
        found
    };
    assert_eq!(sorted("12345热线"), ["call", "comma"]);
    assert_eq!(sorted("热线电话12345"), ["after"]);
    assert_eq!(sorted("电话12345打不通"), ["after"]);
    assert_eq!(sorted("3号楼"), ["block"], "13 is another word than 3");
    assert_eq!(sorted("号楼"), ["apart", "block", "other"]);
    // Still found through bigrams where no shingle applies.
    assert_eq!(sorted("12345"), ["after", "apart", "call", "comma"]);
    // Every hit matches: a word of the query (`单`, `号`) does not bring in other documents.
    assert_eq!(sorted("工单号"), ["order"]);
    let compiled = super::query::compile(&index, "12345热线", &Filters::default());
    assert!(
        compiled.fast_ranking.is_some(),
        "a word with two CJK characters is one term"
    );
    store.close().await;
}
