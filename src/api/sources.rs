//! `GET /v1/sources` and `GET /v1/sources/{name}`: the health of every source.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::sources::status::SourceStatus;

/// Every source: pull connectors with their poll history, and webhook senders (`kind =
/// "webhook"`, `state = "push"`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceList {
    /// Sources by name.
    pub sources: Vec<SourceStatus>,
    /// True when every pull source's last poll succeeded.
    pub healthy: bool,
}

/// The status of every source.
#[utoipa::path(
    get,
    path = "/v1/sources",
    tag = "sources",
    responses((status = 200, description = "Every source and its health", body = SourceList))
)]
pub async fn list(State(state): State<AppState>) -> Json<SourceList> {
    Json(source_list(&state))
}

/// Every source's status, as `GET /v1/sources` answers it (the console's 渠道 page reads it).
pub fn source_list(state: &AppState) -> SourceList {
    let sources = state.sources.list();
    let healthy = sources.iter().all(|s| s.healthy);
    SourceList { sources, healthy }
}

/// The status of one source.
#[utoipa::path(
    get,
    path = "/v1/sources/{name}",
    tag = "sources",
    params(("name" = String, Path, description = "Source name")),
    responses(
        (status = 200, description = "The source's status", body = SourceStatus),
        (status = 404, description = "No such source", body = super::error::ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SourceStatus>, ApiError> {
    state
        .sources
        .get(&name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("source", &name))
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sources", get(list))
        .route("/v1/sources/{name}", get(get_one))
}
