//! `GET /v1/search`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Query};
use crate::index::search::SearchResults;
use crate::index::search_query::SearchQuery;

/// Full-text search over every complaint.
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of hits", body = SearchResults),
        (status = 400, description = "Invalid parameter", body = super::error::ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = query.into_request(state.config.parse_options().default_offset)?;
    let index = state.index.clone();
    let results = tokio::task::spawn_blocking(move || index.search(&request))
        .await
        .map_err(|e| ApiError::internal("search task", &e))??;
    Ok(Json(results))
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/search", get(search))
}
