//! The stage on a real store: per-case routing (decided once, updated as members arrive), the
//! routed-case seam, and a correction surviving `reprocess`.

use std::sync::Arc;

use crate::store::DerivedTx;
use chrono::Utc;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use futures::future::BoxFuture;
use serde_json::json;

use super::super::{Complaint, Pipeline, PipelineError, PipelineLock, Stage};
use super::ClassifyRouteStage;
use crate::routing::{Correction, RoutingConfig};
use crate::store::facets::Facets;
use crate::store::{CommitSettings, NewComplaint, Store, WriteBatch, WriteOp, WriteOutcome};

/// Stands in for the grouping stage: every complaint joins case `case-1`.
struct OneCase;

impl Stage for OneCase {
    fn name(&self) -> &'static str {
        "one_case"
    }
    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        _tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        for complaint in batch.iter_mut() {
            complaint.case_id = Some("case-1".into());
        }
        Box::pin(async { Ok(()) })
    }
}

async fn add(store: &Store, external_id: &str, body: &str) -> String {
    let item = Item::from_value(
        json!({"external_id": external_id, "body": body}),
        &ParseOptions::default(),
    )
    .unwrap();
    let complaint = NewComplaint::new(
        "t",
        Channel::Online,
        item,
        b"{}".to_vec(),
        "application/json".into(),
        Utc::now(),
        chrono::Duration::days(1),
    );
    let outcome = store
        .submit(WriteBatch {
            ops: vec![WriteOp::Complaint(complaint)],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(outcome[0], WriteOutcome::Created { .. }));
    outcome[0].id().to_string()
}

/// The facets of a stored complaint.
async fn facets(store: &Store, id: &str) -> Facets {
    store.complaint(id).await.unwrap().expect("stored").facets
}

#[tokio::test]
async fn a_case_is_routed_once_and_rerouted_when_a_member_raises_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let first = add(&store, "a", "小区门口路灯坏了一个月，晚上出行不便").await;
    let second = add(&store, "b", "此事已被媒体曝光，路灯至今仍未修好").await;
    let stage = ClassifyRouteStage::new(
        Arc::new(RoutingConfig::embedded().unwrap()),
        dir.path().join("models"),
    );
    let routed = stage.routed_cases();
    let mut pipeline = Pipeline::with_stages(vec![Box::new(OneCase), Box::new(stage)]);
    let lock = PipelineLock::try_acquire(dir.path()).unwrap().unwrap();
    pipeline
        .run_pending(&store, &lock, &mut |_| {})
        .await
        .unwrap();

    let cases = routed.lock().unwrap().clone();
    assert_eq!(cases.len(), 2);
    // No model, no tag: triage, a new assignment.
    assert_eq!(cases[0].queue, "triage");
    assert_eq!(cases[0].route_key, "case-1");
    assert!(cases[0].is_new_assignment && cases[0].new_member);
    // The media-exposed member moves the whole case, informs the press office, and makes it a
    // repeat.
    assert_eq!(cases[1].queue, "supervision");
    assert_eq!(cases[1].priority, "high");
    assert_eq!(cases[1].informed, vec!["press_office".to_string()]);
    assert!(cases[1].is_new_assignment);
    assert!(cases[1].tags.contains(&"media_exposed".to_string()));
    assert!(cases[1].tags.contains(&"repeat".to_string()));
    for id in [&first, &second] {
        let facets = facets(&store, id).await;
        assert_eq!(facets.queue.as_deref(), Some("supervision"));
        assert_eq!(facets.informed, ["press_office"], "search scopes by it");
        assert_eq!(facets.status.as_deref(), Some("assigned"));
        assert_eq!(facets.priority.as_deref(), Some("high"));
    }
    let events: Vec<String> = store
        .route_events("case-1")
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect();
    assert_eq!(events, ["assigned", "rerouted"]);

    // A third member that adds nothing keeps the queue and is not a new assignment; it gets
    // the case's facets like the others (only it is written: the case's did not change).
    let third = add(&store, "c", "同一处路灯还是不亮").await;
    pipeline
        .run_pending(&store, &lock, &mut |_| {})
        .await
        .unwrap();
    let cases = routed.lock().unwrap().clone();
    assert_eq!(cases.len(), 1, "the list holds the last batch only");
    assert_eq!(cases[0].queue, "supervision");
    assert!(!cases[0].is_new_assignment && cases[0].new_member);
    for id in [&first, &second, &third] {
        let facets = facets(&store, id).await;
        assert_eq!(facets.queue.as_deref(), Some("supervision"));
        assert_eq!(facets.informed, ["press_office"]);
        assert_eq!(facets.priority.as_deref(), Some("high"));
        let tags = facets.tags.join(" ");
        assert!(
            tags.contains("media_exposed") && tags.contains("repeat"),
            "{tags}"
        );
    }
}

#[tokio::test]
async fn a_correction_wins_and_survives_reprocess() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let id = add(&store, "a", "窗口对我的营业执照申请不予受理").await;
    let make = || {
        Pipeline::with_stages(vec![Box::new(ClassifyRouteStage::new(
            Arc::new(RoutingConfig::embedded().unwrap()),
            dir.path().join("models"),
        ))])
    };
    let lock = PipelineLock::try_acquire(dir.path()).unwrap().unwrap();
    make()
        .run_pending(&store, &lock, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        facets(&store, &id).await.queue.as_deref(),
        Some("supervision")
    );

    let mut tx = store.begin_decision().await.unwrap();
    tx.save_correction(
        &id,
        &Correction {
            category: Some("商贸旅游".into()),
            queue: Some("economic_development".into()),
            corrected_at: "2024-06-01T00:00:00Z".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    make().reprocess(&store, &lock, &mut |_| {}).await.unwrap();
    let corrected = facets(&store, &id).await;
    assert_eq!(corrected.queue.as_deref(), Some("economic_development"));
    assert_eq!(corrected.category.as_deref(), Some("商贸旅游"));
    let record = store.classification(&id).await.unwrap().unwrap();
    assert_eq!(record.category_source, "correction");
    assert!(record.why.corrected);
    // The rule-derived tag is still recorded: the correction did not replace tags.
    assert!(record.tags.contains(&"approval_delay".to_string()));
}

#[test]
fn the_stored_matching_text_splits_into_the_normalised_title_and_body() {
    use connectors::text::{matching_text, normalize};
    let cases: [(Option<&str>, &str); 6] = [
        (
            Some("關於小區噪音的投訴"),
            "ＡＢＣ物業  公司\r\n夜間施工\t擾民",
        ),
        (Some("  路灯不亮 "), "晚上出行不便_x000D_\n请尽快修复"),
        (None, "繁體字的來信，全角１２３"),
        (Some("只有标题"), ""),
        (Some("   "), "标题为空白"),
        (Some("Noise at NIGHT"), "construction  after 22:00"),
    ];
    // The item is not what is split (and an empty body would not be a valid one).
    let item = Item::from_value(
        json!({"external_id": "x", "body": "-"}),
        &ParseOptions::default(),
    )
    .unwrap();
    for (title, body) in cases {
        let complaint = Complaint {
            id: "x".into(),
            seq: 1,
            source: "t".into(),
            channel: "online".into(),
            external_id: "x".into(),
            revision: 1,
            received_at: "2026-01-05T09:00:00Z".into(),
            submitted_at: chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00+08:00")
                .unwrap(),
            effective_at: chrono::DateTime::parse_from_rfc3339("2026-01-05T01:00:00Z")
                .unwrap()
                .to_utc(),
            title: title.map(str::to_string),
            body: body.to_string(),
            text_norm: matching_text(title, body),
            historical: false,
            item: item.clone(),
            future_dated: false,
            content_hash: String::new(),
            raw: Vec::new(),
            raw_content_type: "application/json".into(),
            facets: Default::default(),
            case_id: None,
        };
        let (split_title, split_body) = super::split_normalized(&complaint).expect("splits");
        let title = title.map(normalize).filter(|t| !t.is_empty());
        assert_eq!(split_title, title, "{title:?}");
        assert_eq!(split_body, normalize(body), "{body:?}");
    }
}
