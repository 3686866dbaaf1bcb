//! Conformance: routes. Classification results and route events written and read back,
//! corrections and their training examples, previous route keys, case routes, the shared
//! facets of a case's members, open counts per queue, a reset that keeps corrections, and the
//! subjects of cases (`subjects`).

pub(super) mod data;
mod subjects;

use std::collections::HashMap;

use super::Open;
use crate::store::facets::Facet;
use crate::store::routes::{CorrectedExample, Correction, QueueCount, RouteFacets};
use data::{complaints, correction, event, facets, record, route, shared};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    records_round_trip(open).await;
    a_rolled_back_transaction_leaves_nothing(open).await;
    corrections_replace_and_become_examples(open).await;
    route_facets_reach_the_members(open).await;
    open_counts_follow_the_facets(open).await;
    reset_keeps_corrections(open).await;
    subjects::run(open).await;
}

async fn records_round_trip(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ids = complaints(
        store,
        &[("a", None, "路灯不亮"), ("b", None, "路灯还是不亮")],
    )
    .await;
    let (a, b) = (&ids[0], &ids[1]);
    let record_a = record(a, "case-1", Some("环境保护"));
    let record_b = record(b, "case-1", None);
    let first = route("case-1", "supervision", 2, "2026-01-05T09:00:00.000000Z");
    let assigned = event("case-1", a, "assigned");
    let added = event("case-1", b, "member_added");

    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_classifications(&[&record_a, &record_b])
        .await
        .unwrap();
    tx.upsert_case_routes(&[&first]).await.unwrap();
    tx.add_route_events(&[&assigned, &added]).await.unwrap();
    // The transaction reads its own writes.
    assert_eq!(
        tx.classification(a).await.unwrap().as_ref(),
        Some(&record_a)
    );
    assert_eq!(
        tx.case_route("case-1").await.unwrap().as_ref(),
        Some(&first)
    );
    tx.commit().await.unwrap();

    assert_eq!(store.classification(a).await.unwrap(), Some(record_a));
    assert_eq!(store.classification(b).await.unwrap(), Some(record_b));
    assert_eq!(store.classification("missing").await.unwrap(), None);
    assert_eq!(store.case_route("case-1").await.unwrap(), Some(first));
    assert_eq!(store.case_route("missing").await.unwrap(), None);
    let events = store.route_events("case-1").await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["assigned", "member_added"], "oldest first");
    assert!(events[0].id < events[1].id);
    assert_eq!(events[1].complaint_id.as_deref(), Some(b.as_str()));
    assert_eq!(events[1].queue.as_deref(), Some("supervision"));
    assert_eq!(events[1].priority.as_deref(), Some("high"));
    assert_eq!(events[1].detail, added.detail);
    assert_eq!(events[1].at, added.at);
    assert!(store.route_events("case-2").await.unwrap().is_empty());

    // Upserts replace by key: a route keeps its creation time; the later of two records of
    // one complaint in one call wins.
    let later = route("case-1", "legal_affairs", 3, "2026-01-07T09:00:00.000000Z");
    let moved = record(a, "case-2", Some("城乡建设"));
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_case_routes(&[&later]).await.unwrap();
    tx.upsert_classifications(&[&record(a, "case-9", None), &moved])
        .await
        .unwrap();
    let keys = tx.previous_route_keys(&[a, b, "missing"]).await.unwrap();
    let routes = tx.case_routes(&["case-1", "missing"]).await.unwrap();
    tx.commit().await.unwrap();
    let expected: HashMap<String, String> =
        HashMap::from([(a.clone(), "case-2".into()), (b.clone(), "case-1".into())]);
    assert_eq!(keys, expected);
    let stored = store.case_route("case-1").await.unwrap().unwrap();
    assert_eq!(stored.queue, "legal_affairs");
    assert_eq!(stored.complaints, 3);
    assert_eq!(stored.updated_at, later.updated_at);
    assert_eq!(stored.created_at, "2026-01-05T09:00:00.000000Z");
    assert_eq!(routes.len(), 1);
    assert_eq!(routes.get("case-1"), Some(&stored));
    assert_eq!(store.classification(a).await.unwrap(), Some(moved));
}

async fn a_rolled_back_transaction_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ids = complaints(store, &[("a", None, "噪音扰民")]).await;
    let a = &ids[0];
    for roll_back in [true, false] {
        let mut tx = store.begin_decision().await.unwrap();
        tx.save_correction(a, &correction(Some("环境保护"), None))
            .await
            .unwrap();
        tx.upsert_classifications(&[&record(a, "case-1", Some("环境保护"))])
            .await
            .unwrap();
        tx.upsert_case_routes(&[&route("case-1", "supervision", 1, "t")])
            .await
            .unwrap();
        tx.add_route_events(&[&event("case-1", a, "assigned")])
            .await
            .unwrap();
        if roll_back {
            tx.rollback().await.unwrap();
        } else {
            drop(tx);
        }
        assert_eq!(store.correction(a).await.unwrap(), None);
        assert_eq!(store.classification(a).await.unwrap(), None);
        assert_eq!(store.case_route("case-1").await.unwrap(), None);
        assert!(store.route_events("case-1").await.unwrap().is_empty());
    }
}

async fn corrections_replace_and_become_examples(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ids = complaints(
        store,
        &[
            ("a", Some("用地手续"), "投资项目用地手续办不下来"),
            ("b", None, "窗口态度差"),
            ("c", Some("拖欠工资"), "公司拖欠工资半年"),
        ],
    )
    .await;
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let first = correction(Some("城乡建设"), Some("supervision"));
    let mut tx = store.begin_decision().await.unwrap();
    // Saved out of the complaints' order: examples still come in it.
    tx.save_correction(c, &correction(Some("劳动和社会保障"), None))
        .await
        .unwrap();
    tx.save_correction(b, &correction(None, Some("personnel")))
        .await
        .unwrap();
    tx.save_correction(a, &first).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.correction(a).await.unwrap(), Some(first));
    assert_eq!(store.correction("missing").await.unwrap(), None);

    // A second correction replaces the first entirely.
    let second = Correction {
        category: Some("商贸旅游".into()),
        corrected_at: "2026-01-08T10:00:00.000000Z".into(),
        ..Default::default()
    };
    let mut tx = store.begin_decision().await.unwrap();
    tx.save_correction(a, &second).await.unwrap();
    let found = tx.corrections(&[a, b, "missing"]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.correction(a).await.unwrap(), Some(second.clone()));
    assert_eq!(found.len(), 2);
    assert_eq!(found.get(a.as_str()), Some(&second));
    assert_eq!(
        found.get(b.as_str()),
        Some(&correction(None, Some("personnel")))
    );

    // Only corrections that set a category are examples, with the complaint's text.
    let examples = store.corrected_examples().await.unwrap();
    assert_eq!(
        examples,
        vec![
            CorrectedExample {
                external_id: "a".into(),
                title: Some("用地手续".into()),
                body: "投资项目用地手续办不下来".into(),
                category: "商贸旅游".into(),
            },
            CorrectedExample {
                external_id: "c".into(),
                title: Some("拖欠工资".into()),
                body: "公司拖欠工资半年".into(),
                category: "劳动和社会保障".into(),
            },
        ]
    );
}

async fn route_facets_reach_the_members(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ids = complaints(
        store,
        &[("a", None, "一"), ("b", None, "二"), ("c", None, "三")],
    )
    .await;
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_classifications(&[
        &record(a, "case-1", None),
        &record(b, "case-1", None),
        &record(c, "case-2", None),
    ])
    .await
    .unwrap();
    tx.set_facets(b, &[(Facet::Status, Some("answered"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // The whole case: every member classified under its key; another stage's status stays.
    let before = store.max_index_queue_seq().await.unwrap();
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_route_facets(&[shared("case-1", "supervision", "assigned")])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let queued = store.max_index_queue_seq().await.unwrap();
    assert!(
        queued > before,
        "changed members are queued for re-indexing"
    );
    let facets_a = facets(store, a).await;
    assert_eq!(facets_a.queue.as_deref(), Some("supervision"));
    assert_eq!(facets_a.priority.as_deref(), Some("high"));
    assert_eq!(facets_a.status.as_deref(), Some("assigned"));
    assert_eq!(facets_a.tags, ["media_exposed", "repeat"]);
    assert_eq!(facets_a.informed, ["audit", "press_office"]);
    let facets_b = facets(store, b).await;
    assert_eq!(facets_b.queue.as_deref(), Some("supervision"));
    assert_eq!(facets_b.status.as_deref(), Some("answered"));
    assert_eq!(facets(store, c).await.queue, None, "another case");

    // The same values again change nothing and queue nothing.
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_route_facets(&[shared("case-1", "supervision", "assigned")])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.max_index_queue_seq().await.unwrap(), queued);

    // A new assignment replaces any status; `only` sets just the complaints it names.
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_route_facets(&[
        RouteFacets {
            new_assignment: true,
            ..shared("case-1", "triage", "triage")
        },
        RouteFacets {
            only: Some(vec![c.as_str()]),
            ..shared("case-9", "finance", "assigned")
        },
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let facets_b = facets(store, b).await;
    assert_eq!(facets_b.queue.as_deref(), Some("triage"));
    assert_eq!(facets_b.status.as_deref(), Some("triage"));
    assert_eq!(facets(store, a).await.status.as_deref(), Some("triage"));
    assert_eq!(facets(store, c).await.queue.as_deref(), Some("finance"));

    // Informing other queues (the queue unchanged) reaches every member and re-indexes them.
    let before = store.max_index_queue_seq().await.unwrap();
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_route_facets(&[RouteFacets {
        informed: "personnel".into(),
        ..shared("case-1", "triage", "triage")
    }])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(store.max_index_queue_seq().await.unwrap() > before);
    for member in [a, b] {
        assert_eq!(facets(store, member).await.informed, ["personnel"]);
    }
    assert_eq!(facets(store, c).await.informed, ["audit", "press_office"]);
}

async fn open_counts_follow_the_facets(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assert!(store.open_counts_by_queue().await.unwrap().is_empty());
    let ids = complaints(
        store,
        &[
            ("a", None, "一"),
            ("b", None, "二"),
            ("c", None, "三"),
            ("d", None, "四"),
            ("e", None, "五"),
            ("f", None, "六"),
        ],
    )
    .await;
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_classifications(&[
        &record(&ids[0], "case-1", None),
        &record(&ids[1], "case-1", None),
        &record(&ids[2], "case-2", None),
    ])
    .await
    .unwrap();
    tx.set_route_facets(&[
        shared("case-1", "supervision", "assigned"),
        shared("case-2", "supervision", "assigned"),
    ])
    .await
    .unwrap();
    // Answered: no longer open.
    tx.set_facets(&ids[2], &[(Facet::Status, Some("answered"))])
        .await
        .unwrap();
    // Not classified: its case facet, else itself, is its case.
    for (id, case) in [(&ids[3], Some("case-7")), (&ids[4], Some("case-7"))] {
        tx.set_facets(
            id,
            &[
                (Facet::Queue, Some("general_office")),
                (Facet::CaseId, case),
            ],
        )
        .await
        .unwrap();
    }
    tx.set_facets(&ids[5], &[(Facet::Queue, Some("general_office"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut counts = store.open_counts_by_queue().await.unwrap();
    counts.sort_by(|x, y| x.queue.cmp(&y.queue));
    let count = |queue: &str, open_cases, open_complaints| QueueCount {
        queue: queue.into(),
        open_cases,
        open_complaints,
    };
    assert_eq!(
        counts,
        [count("general_office", 2, 3), count("supervision", 1, 2)]
    );

    // Closed work leaves its queue's counts; a queue with none is absent.
    let mut tx = store.begin_derived().await.unwrap();
    for id in &ids[3..] {
        tx.set_facets(id, &[(Facet::Status, Some("closed"))])
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(
        store.open_counts_by_queue().await.unwrap(),
        [count("supervision", 1, 2)]
    );
}

async fn reset_keeps_corrections(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ids = complaints(store, &[("a", None, "一"), ("b", None, "二")]).await;
    let (a, b) = (&ids[0], &ids[1]);
    let kept = correction(Some("环境保护"), None);
    let mut tx = store.begin_decision().await.unwrap();
    tx.upsert_classifications(&[&record(a, "case-1", None), &record(b, "case-1", None)])
        .await
        .unwrap();
    tx.upsert_case_routes(&[&route("case-1", "supervision", 2, "t")])
        .await
        .unwrap();
    tx.add_route_events(&[
        &event("case-1", a, "assigned"),
        &event("case-1", a, "corrected"),
        &event("case-1", b, "member_added"),
    ])
    .await
    .unwrap();
    tx.save_correction(a, &kept).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin_derived().await.unwrap();
    tx.reset_routing().await.unwrap();
    assert!(tx.previous_route_keys(&[a, b]).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(store.classification(a).await.unwrap(), None);
    assert_eq!(store.classification(b).await.unwrap(), None);
    assert_eq!(store.case_route("case-1").await.unwrap(), None);
    let events = store.route_events("case-1").await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["corrected"]);
    assert_eq!(store.correction(a).await.unwrap(), Some(kept));
}
