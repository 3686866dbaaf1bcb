//! `GET /v1/search`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::FixedOffset;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Query};
use crate::index::search::{SearchRequest, SearchResults, Sort};
use crate::index::search_query::SearchQuery;

/// Query parameters of a search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Query: terms (all required, substring match after folding), `"phrases"`, `-excluded`.
    #[serde(default)]
    pub q: String,
    /// Only this channel (`petition`, `hotline`, `online`, `media`, …).
    pub channel: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only complaints with this tag (e.g. `media_exposed`).
    pub tag: Option<String>,
    /// Only this investigation queue.
    pub queue: Option<String>,
    /// Only this priority (`urgent`, `high`, `normal`, `low`).
    pub priority: Option<String>,
    /// Only complaints whose case has this status (`open`, `investigating`, `answered`,
    /// `closed`).
    pub status: Option<String>,
    /// Only the complaints of this case.
    pub case: Option<String>,
    /// Submitted at or after (RFC 3339 or `YYYY-MM-DD`); a future-dated complaint counts as
    /// submitted when it was received.
    pub from: Option<String>,
    /// Submitted before (RFC 3339 or `YYYY-MM-DD`); a future-dated complaint counts as
    /// submitted when it was received.
    pub to: Option<String>,
    /// Hits per page (default 20, at most 200).
    pub limit: Option<usize>,
    /// Hits to skip.
    pub offset: Option<usize>,
    /// `relevance` (default) or `newest`.
    pub sort: Option<Sort>,
}

/// Full-text search over every complaint.
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "search",
    params(SearchParams),
    responses(
        (status = 200, description = "A page of hits", body = SearchResults),
        (status = 400, description = "Invalid parameter", body = super::error::ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = request_from_params(params, state.config.parse_options().default_offset)?;
    let index = state.index.clone();
    let results = tokio::task::spawn_blocking(move || index.search(&request))
        .await
        .map_err(|e| ApiError::internal("search task", &e))??;
    Ok(Json(results))
}

/// Validates parameters into a request.
pub fn request_from_params(
    params: SearchParams,
    offset: FixedOffset,
) -> Result<SearchRequest, ApiError> {
    let query = SearchQuery {
        q: params.q,
        channel: params.channel,
        source: params.source,
        category: params.category,
        tag: params.tag,
        queue: params.queue,
        priority: params.priority,
        status: params.status,
        case: params.case,
        from: params.from,
        to: params.to,
        limit: params.limit,
        offset: params.offset,
        sort: params.sort,
    };
    query.into_request(offset).map_err(ApiError::from)
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/search", get(search))
}
