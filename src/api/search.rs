//! `GET /v1/search`.
//!
//! A caller who reads every case searches every complaint. An investigator searches their
//! reach only: the index itself narrows the query to complaints whose case is routed or
//! informed to one of their queues, so the hits, the `total` and any facet filter count
//! within it (no queue, no hit). Each of their hits then shows as their view of the complaint
//! (`people::privacy`): masked hits have their title, excerpt and identifiers masked. Hits
//! shown in full with personal data in what they show are recorded (`personal_data.view`,
//! one entry per answer); a supervisor's answer is masked whole by the auth middleware. A
//! search for personal data by a caller who does not see identities leaves out the hits that
//! caller would see masked (see [`search`]).

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Query};
use super::privacy::{complaint_view, record_view, shown_at};
use crate::index::facet_counts::FacetCounts;
use crate::index::search::{SearchHit, SearchRequest, SearchResults};
use crate::index::search_query::SearchQuery;
use crate::people::pii;
use crate::people::privacy::View;

/// Most hits a search for personal data examines for a caller who may see some of them
/// masked; a query matching more is refused (`search_too_broad`).
pub const PERSONAL_SEARCH_LIMIT: usize = 1000;

/// Full-text search over every complaint (an investigator's: over their reach).
///
/// A search cannot confirm what a mask hides: when the query looks for personal data (a
/// phone or ID number, an e-mail address, or a part of one: `pii::query_seeks_personal_data`)
/// and the caller does not see identities (not admin or triage), the hits this caller would
/// see masked are left out of the hits and the `total`. A supervisor's would all be masked, so
/// the answer is empty; an investigator's are examined in full (at most
/// [`PERSONAL_SEARCH_LIMIT`] matches in reach, else `400 search_too_broad`) and paged after.
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of hits", body = SearchResults),
        (status = 400, description = "Invalid parameter, or a search for personal data matching too much", body = super::error::ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = query.into_request(state.config.parse_options().default_offset)?;
    let found = search_as(&state, &principal, request, false, "GET /v1/search").await?;
    Ok(Json(found.results))
}

/// A search's answer as its caller may see it, with its facet counts when asked for.
#[derive(Debug, Clone)]
pub struct Found {
    pub results: SearchResults,
    /// The matches per channel, category, queue, status and day of receipt, within the
    /// caller's reach; `None` when not asked for, or for a search for personal data by a
    /// caller who does not see identities (counts would tell what the left-out hits hold).
    pub facets: Option<FacetCounts>,
}

/// `request` run for `principal`: the API's search (`GET /v1/search`) and the console's
/// (`GET /console/search`), one code path. The caller's reach narrows the query; each hit is
/// shown as the caller's view of it (see [`search`]); a caller who reads every case but does
/// not see identities (a supervisor) gets every hit masked; hits shown in full with personal
/// data are recorded under `route`.
pub async fn search_as(
    state: &AppState,
    principal: &Principal,
    mut request: SearchRequest,
    with_facets: bool,
    route: &str,
) -> Result<Found, ApiError> {
    request.filters.reach = principal.reach();
    let scoped = request.filters.reach.is_some();
    let guarded = !principal.sees_identities() && pii::query_seeks_personal_data(&request.query);
    if guarded && !scoped {
        // Every hit would be shown masked: none is shown.
        return Ok(Found {
            results: SearchResults {
                total: 0,
                hits: Vec::new(),
                highlight: Vec::new(),
            },
            facets: None,
        });
    }
    let facets = if with_facets && !guarded {
        let index = state.index.clone();
        let counted = request.clone();
        let offset = state.config.parse_options().default_offset;
        Some(
            tokio::task::spawn_blocking(move || index.facet_counts(&counted, offset))
                .await
                .map_err(|e| ApiError::internal("search task", &e))??,
        )
    } else {
        None
    };
    let page = (request.offset, request.limit);
    if guarded {
        request.offset = 0;
        request.limit = PERSONAL_SEARCH_LIMIT;
    }
    let index = state.index.clone();
    let mut results = tokio::task::spawn_blocking(move || index.search(&request))
        .await
        .map_err(|e| ApiError::internal("search task", &e))??;
    let shown = if guarded {
        if results.total > PERSONAL_SEARCH_LIMIT {
            return Err(ApiError::new(
                ErrorCode::SearchTooBroad,
                format!(
                    "this search looks for personal data and matches more than \
                     {PERSONAL_SEARCH_LIMIT} complaints in your queues; narrow it (a longer \
                     number, `from`/`to`, `queue`, `case`)"
                ),
            ));
        }
        let shown = view_hits(state, principal, &mut results, Masked::LeftOut).await?;
        let (offset, limit) = page;
        results.total = results.hits.len();
        results.hits = results.hits.into_iter().skip(offset).take(limit).collect();
        let on_page: std::collections::HashSet<&str> =
            results.hits.iter().map(|h| h.id.as_str()).collect();
        shown
            .into_iter()
            .filter(|id| on_page.contains(id.as_str()))
            .collect()
    } else if scoped {
        view_hits(state, principal, &mut results, Masked::Shown).await?
    } else if principal.sees_identities() {
        results
            .hits
            .iter()
            .filter(|hit| shows_personal_data(hit))
            .map(|hit| hit.id.clone())
            .collect()
    } else {
        // Every hit masked (the API's answer is also masked whole before it leaves:
        // `api::auth`).
        let highlight = results.highlight.clone();
        for hit in &mut results.hits {
            hit.mask_with(pii::mask_text, &highlight);
        }
        Vec::new()
    };
    record_view(state, principal, shown, shown_at(route)).await?;
    Ok(Found { results, facets })
}

/// What becomes of a hit the caller sees masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Masked {
    /// Shown masked.
    Shown,
    /// Left out, and out of the total (a search for personal data).
    LeftOut,
}

/// Shows each hit as `principal` views its complaint: masked (or left out, see [`Masked`]),
/// in full, or not at all (its case left the caller's queues after the index last saw it:
/// taken out of the total too). Returns the hits shown in full with personal data.
async fn view_hits(
    state: &AppState,
    principal: &Principal,
    results: &mut SearchResults,
    masked: Masked,
) -> Result<Vec<String>, ApiError> {
    let mut kept = Vec::with_capacity(results.hits.len());
    let mut shown = Vec::new();
    for mut hit in std::mem::take(&mut results.hits) {
        let complaint = state
            .store
            .complaint(&hit.id)
            .await
            .map_err(|e| ApiError::internal("search", &e))?;
        let view = match &complaint {
            Some(complaint) => complaint_view(state, principal, complaint).await?,
            None => View::Hidden,
        };
        match view {
            View::Hidden => {
                results.total = results.total.saturating_sub(1);
                continue;
            }
            View::Masked if masked == Masked::LeftOut => {
                results.total = results.total.saturating_sub(1);
                continue;
            }
            View::Masked => hit.mask_with(pii::mask_text, &results.highlight),
            View::Full if shows_personal_data(&hit) => shown.push(hit.id.clone()),
            View::Full => {}
        }
        kept.push(hit);
    }
    results.hits = kept;
    Ok(shown)
}

/// Whether what `hit` shows (its title and excerpt) holds personal data.
fn shows_personal_data(hit: &SearchHit) -> bool {
    let excerpt = hit.snippet.replace("<b>", "").replace("</b>", "");
    pii::contains_personal_data(&excerpt)
        || hit
            .title
            .as_deref()
            .is_some_and(pii::contains_personal_data)
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/search", get(search))
}
