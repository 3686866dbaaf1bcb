//! `GET /v1/search`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Query, one_of};
use crate::index::query::Filters;
use crate::index::search::{SearchRequest, SearchResults, Sort};

/// Most hits per page.
pub const MAX_LIMIT: usize = 200;

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

fn nonempty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Validates parameters into a request.
pub fn request_from_params(
    params: SearchParams,
    offset: FixedOffset,
) -> Result<SearchRequest, ApiError> {
    let time =
        |name: &str, value: Option<String>| -> Result<Option<DateTime<FixedOffset>>, ApiError> {
            let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            let options = connectors::item::ParseOptions {
                default_offset: offset,
                ..Default::default()
            };
            connectors::item::parse_time(&serde_json::Value::String(value), &options)
                .map(Some)
                .map_err(|problem| {
                    ApiError::bad_request("invalid_parameter", format!("`{name}`: {problem}"))
                })
        };
    let channels: Vec<&str> = connectors::Channel::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    one_of("channel", params.channel.as_deref(), &channels)?;
    one_of(
        "priority",
        params.priority.as_deref(),
        &crate::routing::config::PRIORITIES,
    )?;
    one_of("status", params.status.as_deref(), crate::cases::STATUSES)?;
    let limit = params.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(SearchRequest {
        query: params.q,
        filters: Filters {
            channel: nonempty(params.channel),
            source: nonempty(params.source),
            category: nonempty(params.category),
            tag: nonempty(params.tag),
            queue: nonempty(params.queue),
            priority: nonempty(params.priority),
            status: nonempty(params.status),
            case_id: nonempty(params.case),
            from: time("from", params.from)?,
            to: time("to", params.to)?,
        },
        limit,
        offset: params.offset.unwrap_or(0),
        sort: params.sort.unwrap_or_default(),
    })
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/search", get(search))
}
