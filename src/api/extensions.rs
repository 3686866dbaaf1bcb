//! 延期 requests on the API: the unit holding a case asks (`POST /v1/cases/{id}/extensions`),
//! triage approves or denies (`…/extensions/{request}/approve|deny`); the requests show in
//! `GET /v1/cases/{id}/workflow`.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Principal;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::store::StoreError;

/// A 延期 request as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExtensionView {
    pub id: i64,
    pub requested_by: String,
    pub requested_at: String,
    pub working_days: i64,
    pub reason: String,
    /// `requested`, `approved` or `denied`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note: Option<String>,
}

impl From<crate::store::workflow::ExtensionRequest> for ExtensionView {
    fn from(r: crate::store::workflow::ExtensionRequest) -> Self {
        ExtensionView {
            id: r.id,
            requested_by: r.request.requested_by,
            requested_at: r.request.requested_at,
            working_days: r.request.working_days,
            reason: r.request.reason,
            state: r.state,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            note: r.decision_note,
        }
    }
}

/// A 延期 request: more working days, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionAsk {
    /// 1 to 30.
    pub working_days: i64,
    pub reason: String,
}

/// Triage's decision on a 延期 request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDecision {
    /// Required to deny.
    #[serde(default)]
    pub note: Option<String>,
}

/// The unit holding a case asks for a 延期.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/extensions",
    tag = "workflow",
    params(("id" = String, Path, description = "Case id")),
    request_body = ExtensionAsk,
    responses(
        (status = 200, description = "The request, waiting for triage", body = ExtensionView),
        (status = 400, description = "Not while no unit works on the case, days out of 1–30, no reason", body = super::error::ErrorBody),
        (status = 403, description = "Not the unit holding the case", body = super::error::ErrorBody),
        (status = 404, description = "No such case (or not in the caller's reach)", body = super::error::ErrorBody),
        (status = 409, description = "A request waits already (`extension_pending`)", body = super::error::ErrorBody),
    )
)]
pub async fn ask_extension(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(ask): Json<ExtensionAsk>,
) -> Result<Json<ExtensionView>, ApiError> {
    Ok(Json(ask_for(&state, &principal, &id, &ask).await?))
}

/// Records `principal`'s 延期 request on case `id`, as `POST /v1/cases/{id}/extensions` does
/// (the console's form calls it too).
pub async fn ask_for(
    state: &AppState,
    principal: &Principal,
    id: &str,
    ask: &ExtensionAsk,
) -> Result<ExtensionView, ApiError> {
    let db = |e: StoreError| ApiError::internal("extension", &e);
    let caller = principal.caller();
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    let recorded = crate::workflow::extension::request(
        &mut *tx,
        state.clocks(),
        id,
        ask.working_days,
        &ask.reason,
        caller,
        &principal.actor,
        chrono::Utc::now(),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(recorded.into())
}

/// Triage's decision on request `request` of case `id`, as
/// `POST /v1/cases/{id}/extensions/{request}/approve|deny` takes it (the console's too).
pub async fn decide_extension(
    state: &AppState,
    principal: &Principal,
    (id, request): (String, i64),
    approve: bool,
    decision: ExtensionDecision,
) -> Result<Json<ExtensionView>, ApiError> {
    let db = |e: StoreError| ApiError::internal("extension", &e);
    let caller = principal.caller();
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    let decided = crate::workflow::extension::decide(
        &mut *tx,
        state.clocks(),
        &id,
        request,
        approve,
        decision.note.as_deref(),
        caller,
        &principal.actor,
        chrono::Utc::now(),
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(Json(decided.into()))
}

/// Triage approves a 延期 request: the deadline moves by the working days asked.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/extensions/{request}/approve",
    tag = "workflow",
    params(
        ("id" = String, Path, description = "Case id"),
        ("request" = i64, Path, description = "Request id"),
    ),
    request_body = ExtensionDecision,
    responses(
        (status = 200, description = "Approved", body = ExtensionView),
        (status = 403, description = "Not the complaint centre", body = super::error::ErrorBody),
        (status = 404, description = "No such request", body = super::error::ErrorBody),
        (status = 409, description = "Decided already (`already_decided`)", body = super::error::ErrorBody),
    )
)]
pub async fn approve_extension(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, request)): Path<(String, i64)>,
    Json(decision): Json<ExtensionDecision>,
) -> Result<Json<ExtensionView>, ApiError> {
    decide_extension(&state, &principal, (id, request), true, decision).await
}

/// Triage denies a 延期 request, saying why.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/extensions/{request}/deny",
    tag = "workflow",
    params(
        ("id" = String, Path, description = "Case id"),
        ("request" = i64, Path, description = "Request id"),
    ),
    request_body = ExtensionDecision,
    responses(
        (status = 200, description = "Denied", body = ExtensionView),
        (status = 400, description = "No note", body = super::error::ErrorBody),
        (status = 403, description = "Not the complaint centre", body = super::error::ErrorBody),
        (status = 404, description = "No such request", body = super::error::ErrorBody),
        (status = 409, description = "Decided already (`already_decided`)", body = super::error::ErrorBody),
    )
)]
pub async fn deny_extension(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, request)): Path<(String, i64)>,
    Json(decision): Json<ExtensionDecision>,
) -> Result<Json<ExtensionView>, ApiError> {
    decide_extension(&state, &principal, (id, request), false, decision).await
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases/{id}/extensions", post(ask_extension))
        .route(
            "/v1/cases/{id}/extensions/{request}/approve",
            post(approve_extension),
        )
        .route(
            "/v1/cases/{id}/extensions/{request}/deny",
            post(deny_extension),
        )
}
