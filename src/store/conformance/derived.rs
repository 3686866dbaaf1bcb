//! Conformance: derived-data transactions (the pipeline's batches: facets, the re-index
//! queue, normalised text, the cursor in the stages' state) and the log as the pipeline reads
//! it.

use super::{Open, batch, complaint, item};
use crate::store::facets::Facet;
use crate::store::{Store, WriteOutcome};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    the_pipeline_reads_the_log_in_sequence_order_after_a_cursor(open).await;
    state_commits_with_the_transaction_and_a_rollback_leaves_nothing(open).await;
    set_facets_reports_and_queues_only_changes(open).await;
    set_facet_many_keeps_the_last_value_and_queues_only_changes(open).await;
    clearing_every_facet_queues_what_had_facets(open).await;
    the_normalised_text_is_replaced(open).await;
}

async fn add(store: &Store, external_id: &str, body: &str) -> String {
    let out = store
        .submit(batch(vec![complaint("t", item(external_id, body))]))
        .await
        .unwrap();
    out[0].id().to_string()
}

/// Entries in the re-index queue (its sequence: nothing here prunes it).
async fn queued(store: &Store) -> i64 {
    store.max_index_queue_seq().await.unwrap()
}

async fn the_pipeline_reads_the_log_in_sequence_order_after_a_cursor(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let a = add(store, "a", "一").await;
    let b = add(store, "b", "二").await;
    let c = add(store, "c", "三").await;
    // A revision moves `a` to the end of the log.
    let revised = store
        .submit(batch(vec![complaint("t", item("a", "一改"))]))
        .await
        .unwrap();
    assert!(matches!(
        revised[0],
        WriteOutcome::Revised { revision: 2, .. }
    ));
    let all = store.complaints_after(0, 10).await.unwrap();
    let order: Vec<(&str, &str)> = all
        .iter()
        .map(|c| (c.id.as_str(), c.body.as_str()))
        .collect();
    assert_eq!(order, [(&*b, "二"), (&*c, "三"), (&*a, "一改")]);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(all.iter().all(|c| c.case_id.is_none()));
    assert_eq!(all[2].revision, 2);
    let after = store.complaints_after(all[0].seq, 1).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, c);
    assert!(
        store
            .complaints_after(all[2].seq, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn state_commits_with_the_transaction_and_a_rollback_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_state("pipeline.seq", "7").await.unwrap();
    assert_eq!(
        tx.state("pipeline.seq").await.unwrap().as_deref(),
        Some("7"),
        "a transaction reads its own writes"
    );
    tx.rollback().await.unwrap();
    assert_eq!(store.state("pipeline.seq").await.unwrap(), None);

    let mut tx = store.begin_derived().await.unwrap();
    tx.set_state("pipeline.seq", "7").await.unwrap();
    tx.set_state("pipeline.seq", "9").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.state("pipeline.seq").await.unwrap().as_deref(),
        Some("9")
    );

    // Dropped without a commit: rolled back.
    {
        let mut tx = store.begin_derived().await.unwrap();
        tx.delete_state("pipeline.seq").await.unwrap();
    }
    assert_eq!(
        store.state("pipeline.seq").await.unwrap().as_deref(),
        Some("9")
    );
    let mut tx = store.begin_decision().await.unwrap();
    tx.delete_state("pipeline.seq").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.state("pipeline.seq").await.unwrap(), None);

    store.set_state("grouping.key", "k").await.unwrap();
    assert_eq!(
        store.state("grouping.key").await.unwrap().as_deref(),
        Some("k")
    );
}

async fn set_facets_reports_and_queues_only_changes(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let a = add(store, "a", "小区电梯坏了").await;
    let mut tx = store.begin_derived().await.unwrap();
    let values = [
        (Facet::Category, Some("城乡建设")),
        (Facet::Tags, Some("repeat media_exposed")),
    ];
    assert!(tx.set_facets(&a, &values).await.unwrap());
    assert!(
        !tx.set_facets(&a, &values).await.unwrap(),
        "nothing changed"
    );
    tx.commit().await.unwrap();
    assert_eq!(queued(store).await, 1);
    let facets = store.complaint(&a).await.unwrap().unwrap().facets;
    assert_eq!(facets.category.as_deref(), Some("城乡建设"));
    assert_eq!(facets.tags, ["repeat", "media_exposed"]);
    assert_eq!(facets.queue, None);

    let mut tx = store.begin_derived().await.unwrap();
    assert!(tx.set_facets(&a, &[(Facet::Tags, None)]).await.unwrap());
    tx.queue_for_index(&a).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued(store).await, 3);
    let facets = store.complaint(&a).await.unwrap().unwrap().facets;
    assert!(facets.tags.is_empty());
    assert_eq!(
        facets.category.as_deref(),
        Some("城乡建设"),
        "other facets stay"
    );
}

async fn set_facet_many_keeps_the_last_value_and_queues_only_changes(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let a = add(store, "a", "小区电梯坏了").await;
    let b = add(store, "b", "路灯不亮").await;
    let mut tx = store.begin_derived().await.unwrap();
    let changed = tx
        .set_facet_many(
            Facet::Category,
            &[
                (&a, Some("环境保护")),
                (&b, Some("交通运输")),
                (&a, Some("城乡建设")),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(changed, 2);
    assert_eq!(queued(store).await, 2);
    let record = store.complaint(&a).await.unwrap().unwrap();
    assert_eq!(record.facets.category.as_deref(), Some("城乡建设"));

    // The same values again change nothing and queue nothing; a cleared value does.
    let mut tx = store.begin_derived().await.unwrap();
    let same = tx
        .set_facet_many(
            Facet::Category,
            &[(&a, Some("城乡建设")), (&b, Some("交通运输"))],
        )
        .await
        .unwrap();
    let cleared = tx
        .set_facet_many(Facet::Category, &[(&b, None)])
        .await
        .unwrap();
    let none = tx.set_facet_many(Facet::Queue, &[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((same, cleared, none), (0, 1, 0));
    assert_eq!(queued(store).await, 3);
    let record = store.complaint(&b).await.unwrap().unwrap();
    assert_eq!(record.facets.category, None);
}

async fn clearing_every_facet_queues_what_had_facets(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let a = add(store, "a", "一").await;
    let b = add(store, "b", "二").await;
    let _c = add(store, "c", "三").await;
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facets(&a, &[(Facet::Queue, Some("triage"))])
        .await
        .unwrap();
    tx.set_facets(&b, &[(Facet::Priority, Some("urgent"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued(store).await, 2);
    let mut tx = store.begin_derived().await.unwrap();
    tx.clear_facets().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(queued(store).await, 4, "the two complaints that had facets");
    for id in [&a, &b] {
        let facets = store.complaint(id).await.unwrap().unwrap().facets;
        assert_eq!(facets, Default::default());
    }
}

async fn the_normalised_text_is_replaced(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let a = add(store, "a", "路灯不亮").await;
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_text_norm(&a, "路灯 不亮").await.unwrap();
    tx.commit().await.unwrap();
    let record = store.complaint(&a).await.unwrap().unwrap();
    assert_eq!(record.text_norm, "路灯 不亮");
    assert_eq!(record.body, "路灯不亮", "the text itself stays");
    let read = store.complaints_after(0, 1).await.unwrap();
    assert_eq!(read[0].text_norm, "路灯 不亮");
}
