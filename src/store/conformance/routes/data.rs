//! The records and complaints the routes checks write.

use chrono::Utc;
use serde_json::json;

use crate::store::Store;
use crate::store::conformance::{complaint_from, store_new};
use crate::store::facets::Facets;
use crate::store::routes::{
    CaseRoute, ClassificationRecord, Correction, RouteDecision, RouteEvent, RouteFacets, TagHit,
    TopLabel, Why,
};

/// Stores complaints `(external_id, title, body)` in one batch; their ids, in order.
pub async fn complaints(store: &Store, items: &[(&str, Option<&str>, &str)]) -> Vec<String> {
    let ops = items
        .iter()
        .map(|(external_id, title, body)| {
            let mut value = json!({"external_id": external_id, "body": body});
            if let Some(title) = title {
                value["title"] = json!(title);
            }
            complaint_from("conformance", value, Utc::now())
        })
        .collect();
    let stored = store_new(store, ops).await;
    stored.into_iter().map(|(id, _)| id).collect()
}

/// A classification under `route_key`: by the model when `category` is given, else none.
pub fn record(complaint_id: &str, route_key: &str, category: Option<&str>) -> ClassificationRecord {
    let with_model = category.is_some();
    ClassificationRecord {
        complaint_id: complaint_id.into(),
        route_key: route_key.into(),
        model_version: with_model.then_some(3),
        category: category.map(str::to_string),
        category_source: if with_model { "model" } else { "none" }.into(),
        confidence: with_model.then_some(0.75),
        low_confidence: with_model,
        top: if with_model {
            vec![
                TopLabel {
                    label: category.unwrap_or_default().into(),
                    probability: 0.75,
                    score: 1.5,
                },
                TopLabel {
                    label: "其他".into(),
                    probability: 0.125,
                    score: -0.5,
                },
            ]
        } else {
            Vec::new()
        },
        tags: vec!["media_exposed".into(), "repeat".into()],
        rules: vec!["tag:media_exposed".into(), "route:media".into()],
        why: Why {
            tag_hits: vec![TagHit {
                tag: "media_exposed".into(),
                evidence: "keyword 曝光".into(),
            }],
            case_tags: vec!["repeat".into()],
            category_override: None,
            route: Some(RouteDecision {
                subject: None,
                rule: "media".into(),
                queue: "supervision".into(),
                priority: "high".into(),
                informed: vec!["press_office".into()],
            }),
            corrected: false,
        },
        classified_at: "2026-01-05T09:00:00.000000Z".into(),
    }
}

/// A case route; pinned when it has more than one complaint.
pub fn route(route_key: &str, queue: &str, complaints: i64, at: &str) -> CaseRoute {
    CaseRoute {
        route_key: route_key.into(),
        queue: queue.into(),
        priority: "high".into(),
        informed: vec!["press_office".into(), "audit".into()],
        category: Some("城乡建设".into()),
        category_confident: true,
        tags: vec!["media_exposed".into()],
        rule: "media".into(),
        pinned: complaints > 1,
        complaints,
        created_at: at.into(),
        updated_at: at.into(),
    }
}

/// A routing event of `kind`.
pub fn event(route_key: &str, complaint_id: &str, kind: &'static str) -> RouteEvent {
    RouteEvent {
        route_key: route_key.into(),
        complaint_id: complaint_id.into(),
        kind,
        queue: "supervision".into(),
        priority: "high".into(),
        detail: json!({"rule": "media", "tags": ["media_exposed"], "from_queue": null}),
        at: "2026-01-05T09:00:00.000000Z".into(),
    }
}

/// A correction setting every field but the ones given as `None`.
pub fn correction(category: Option<&str>, queue: Option<&str>) -> Correction {
    Correction {
        category: category.map(str::to_string),
        tags: Some(vec!["enterprise".into(), "repeat".into()]),
        queue: queue.map(str::to_string),
        priority: Some("urgent".into()),
        note: Some("wrong unit".into()),
        corrected_by: Some("staff-7".into()),
        corrected_at: "2026-01-06T10:00:00.000000Z".into(),
    }
}

/// The facets of a stored complaint.
pub async fn facets(store: &Store, id: &str) -> Facets {
    store.complaint(id).await.unwrap().expect("stored").facets
}

/// The shared facets of a whole case.
pub fn shared<'a>(route_key: &'a str, queue: &'a str, status: &'a str) -> RouteFacets<'a> {
    RouteFacets {
        route_key,
        only: None,
        tags: "media_exposed repeat".into(),
        queue,
        informed: "audit press_office".into(),
        priority: "high",
        status,
        new_assignment: false,
    }
}
