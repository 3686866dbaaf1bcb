//! Classification and queues:
//! - `GET /v1/complaints/{id}/classification`: category, tags and route with why (the model's
//!   top 3 with scores, the rules that fired, a correction if any).
//! - `POST /v1/complaints/{id}/classification`: a human correction; it wins over the model and
//!   the rules, is applied at once, survives `reprocess` and becomes training data.
//! - `GET /v1/queues`: every queue with its unit, people and open case counts.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path};
use crate::routing::config::PRIORITIES;
use crate::routing::correct::apply_correction;
use crate::routing::{CaseRoute, ClassificationRecord, Correction, TopLabel};
use crate::store::StoreError;

/// The route of the complaint's case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteView {
    /// Case id, or the complaint id when it belongs to no case.
    pub route_key: String,
    pub queue: String,
    /// The queue's unit name.
    pub queue_name: Option<String>,
    pub priority: String,
    pub informed: Vec<String>,
    /// The route rule that decided (`correction`, `unmatched`, …).
    pub rule: String,
    /// A human chose the queue.
    pub pinned: bool,
    pub complaints: i64,
}

/// A complaint's classification with its why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClassificationView {
    pub complaint_id: String,
    pub category: Option<String>,
    /// `model`, `override`, `correction` or `none` (no model active).
    pub category_source: String,
    pub model_version: Option<u32>,
    /// Calibrated probability of the model's best label.
    pub confidence: Option<f32>,
    /// The model's category was below the confidence threshold (routed as unknown).
    pub low_confidence: bool,
    /// The model's best labels, most probable first.
    pub top: Vec<TopLabel>,
    pub tags: Vec<String>,
    /// Rules that fired: `tag:…`, `override:…`, `route:…`.
    pub rules: Vec<String>,
    /// Evidence of each tag, override and route.
    #[schema(value_type = Object)]
    pub why: serde_json::Value,
    pub route: Option<RouteView>,
    pub correction: Option<Correction>,
    pub classified_at: String,
}

/// A correction; omitted fields keep the automatic decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub category: Option<String>,
    /// Replaces the rule-derived tags.
    pub tags: Option<Vec<String>>,
    /// Queue key (see `GET /v1/queues`); pins the case to it.
    pub queue: Option<String>,
    /// `urgent`, `high`, `normal` or `low`.
    pub priority: Option<String>,
    pub note: Option<String>,
    /// Ignored (deprecated): the correction is recorded under the authenticated caller.
    #[serde(default)]
    pub corrected_by: Option<String>,
}

/// One queue with its open work.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    pub key: String,
    #[serde(flatten)]
    pub queue: crate::routing::QueueConfig,
    /// Cases in the queue not yet answered.
    pub open_cases: i64,
    /// Complaints of those cases.
    pub open_complaints: i64,
}

fn view(
    state: &AppState,
    record: ClassificationRecord,
    route: Option<CaseRoute>,
    correction: Option<Correction>,
) -> ClassificationView {
    ClassificationView {
        complaint_id: record.complaint_id,
        category: record.category,
        category_source: record.category_source,
        model_version: record.model_version,
        confidence: record.confidence,
        low_confidence: record.low_confidence,
        top: record.top,
        tags: route
            .as_ref()
            .map(|r| r.tags.clone())
            .unwrap_or(record.tags),
        rules: record.rules,
        why: serde_json::to_value(&record.why).unwrap_or_default(),
        route: route.map(|r| RouteView {
            queue_name: state.routing.queue(&r.queue).map(|q| q.name.to_string()),
            route_key: r.route_key,
            queue: r.queue,
            priority: r.priority,
            informed: r.informed,
            rule: r.rule,
            pinned: r.pinned,
            complaints: r.complaints,
        }),
        correction,
        classified_at: record.classified_at,
    }
}

async fn load_view(state: &AppState, id: &str) -> Result<ClassificationView, ApiError> {
    let db = |e: StoreError| ApiError::internal("classification", &e);
    let record = state
        .store
        .classification(id)
        .await
        .map_err(db)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ClassificationPending,
                format!("complaint `{id}` is not classified yet"),
            )
        })?;
    let route = state
        .store
        .case_route(&record.route_key)
        .await
        .map_err(db)?;
    let correction = state.store.correction(id).await.map_err(db)?;
    Ok(view(state, record, route, correction))
}

/// A complaint's category, tags and route, with why.
#[utoipa::path(
    get,
    path = "/v1/complaints/{id}/classification",
    tag = "routing",
    params(("id" = String, Path, description = "Gateway complaint id")),
    responses(
        (status = 200, description = "The classification", body = ClassificationView),
        (status = 404, description = "No such complaint, or not classified yet", body = super::error::ErrorBody),
    )
)]
pub async fn get_classification(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClassificationView>, ApiError> {
    if state.store.complaint(&id).await?.is_none() {
        return Err(ApiError::not_found("complaint", &id));
    }
    Ok(Json(load_view(&state, &id).await?))
}

/// Corrects a complaint's category, tags, queue or priority; applied at once.
#[utoipa::path(
    post,
    path = "/v1/complaints/{id}/classification",
    tag = "routing",
    params(("id" = String, Path, description = "Gateway complaint id")),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "The corrected classification", body = ClassificationView),
        (status = 400, description = "Unknown queue or priority, or nothing to correct", body = super::error::ErrorBody),
        (status = 404, description = "No such complaint", body = super::error::ErrorBody),
    )
)]
pub async fn correct_classification(
    State(state): State<AppState>,
    principal: super::auth::Principal,
    Path(id): Path<String>,
    Json(request): Json<CorrectionRequest>,
) -> Result<(axum::http::HeaderMap, Json<ClassificationView>), ApiError> {
    let note = super::auth::ignored_fields_note(if request.corrected_by.is_some() {
        &["corrected_by"]
    } else {
        &[]
    });
    Ok((note, Json(correct(&state, &principal, &id, request).await?)))
}

/// Applies `principal`'s correction of complaint `id`, as
/// `POST /v1/complaints/{id}/classification` does (the console's form calls it too).
pub async fn correct(
    state: &AppState,
    principal: &super::auth::Principal,
    id: &str,
    request: CorrectionRequest,
) -> Result<ClassificationView, ApiError> {
    let complaint = state
        .store
        .complaint(id)
        .await?
        .ok_or_else(|| ApiError::not_found("complaint", id))?;
    if request.category.is_none()
        && request.tags.is_none()
        && request.queue.is_none()
        && request.priority.is_none()
    {
        return Err(ApiError::new(
            ErrorCode::CorrectionEmpty,
            "give at least one of category, tags, queue, priority",
        ));
    }
    if let Some(queue) = request.queue.as_deref()
        && state.routing.queue(queue).is_none()
    {
        return Err(ApiError::new(
            ErrorCode::QueueUnknown,
            format!("`{queue}` is not a queue; see GET /v1/queues"),
        ));
    }
    if let Some(priority) = request.priority.as_deref()
        && !PRIORITIES.contains(&priority)
    {
        return Err(ApiError::new(
            ErrorCode::PriorityUnknown,
            format!("priority must be one of {}", PRIORITIES.join(", ")),
        ));
    }
    let now = crate::store::format_utc(chrono::Utc::now());
    let correction = Correction {
        category: request.category.filter(|c| !c.trim().is_empty()),
        tags: request.tags,
        queue: request.queue,
        priority: request.priority,
        note: request.note,
        corrected_by: Some(principal.actor.to_string()),
        corrected_at: now.clone(),
    };
    let db = |e: StoreError| ApiError::internal("correction", &e);
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    let routed = apply_correction(&mut *tx, &state.routing, &complaint, correction, &now)
        .await
        .map_err(db)?;
    // The case follows its new queue in the workflow at once (a reassignment), and so does
    // its deadline.
    let (actor, at) = (principal.actor.to_string(), chrono::Utc::now());
    let (key, queue) = (&routed.route_key, &routed.queue);
    if crate::workflow::entry::routed(&mut *tx, &state.routing, key, queue, &actor, at).await? {
        let why = "reassigned by a correction";
        state
            .clocks()
            .restart(&mut *tx, key, queue, &actor, why, at)
            .await?;
    }
    let mut entry = principal.decision(
        "classification.correct",
        Some(&routed.route_key),
        serde_json::json!({"category": routed.category, "tags": routed.tags,
            "queue": routed.queue, "priority": routed.priority}),
    );
    entry.complaint_ids = vec![id.to_string()];
    tx.append_audit(&[entry]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(queue = %routed.queue, "classification corrected");
    load_view(state, id).await
}

/// Every queue with its unit, members, supervisor and open case counts.
#[utoipa::path(
    get,
    path = "/v1/queues",
    tag = "routing",
    responses((status = 200, description = "The queues", body = [QueueView]))
)]
pub async fn list_queues(State(state): State<AppState>) -> Result<Json<Vec<QueueView>>, ApiError> {
    let counts = state
        .store
        .open_counts_by_queue()
        .await
        .map_err(|e| ApiError::internal("queues", &e))?;
    Ok(Json(
        state
            .routing
            .queues
            .iter()
            .map(|(key, queue)| {
                let (open_cases, open_complaints) = counts
                    .iter()
                    .find(|count| count.queue == *key)
                    .map_or((0, 0), |count| (count.open_cases, count.open_complaints));
                QueueView {
                    key: key.clone(),
                    queue: queue.clone(),
                    open_cases,
                    open_complaints,
                }
            })
            .collect(),
    ))
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/complaints/{id}/classification",
            get(get_classification).post(correct_classification),
        )
        .route("/v1/queues", get(list_queues))
}
