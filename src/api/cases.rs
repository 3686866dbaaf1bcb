//! Cases: list, detail with members and the why, staff merge / split / status, hot issues.
//!
//! Staff changes are recorded with who and why and are never undone by `reprocess`; the
//! running grouping stage applies them before its next batch.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::auth::{Principal, ignored_fields_note};
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path, Query, one_of};
use crate::cases::read::{HotIssue, get_case, hot_issues_within, list_cases, parse_window};
use crate::cases::staff::{Actor, SplitResult, merge, split};
use crate::cases::{CaseDetail, CaseError, CaseSummary};
use crate::store::DerivedTx;
use crate::store::cases::{CaseFilter, CaseSort};
use axum::http::HeaderMap;
use serde_json::json;

impl From<CaseError> for ApiError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::NotFound(id) => ApiError::not_found("case", &id),
            CaseError::Invalid(message) => ApiError::new(ErrorCode::InvalidRequest, message),
            other => ApiError::internal("cases", &other),
        }
    }
}

/// Listing filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only cases with this (old, free) status: `open`, `investigating`, `answered`, `closed`.
    pub status: Option<String>,
    /// Only cases in this workflow state (`new`, `triaged`, `assigned`, `accepted`,
    /// `investigating`, `answered`, `closed`, `returned`, `reopened`, `merged`).
    pub state: Option<String>,
    /// Only cases held by this queue.
    pub queue: Option<String>,
    /// Only cases of this priority (`urgent`, `high`, `normal`, `low`).
    pub priority: Option<String>,
    /// Only cases about this queue's unit: it is a recorded subject of the case, not removed
    /// (see `POST /v1/cases/{id}/subjects`).
    pub subject: Option<String>,
    /// Only cases whose deadline is (`true`) or is not (`false`) past.
    pub overdue: Option<bool>,
    /// Only cases with an open deadline before this time (RFC 3339).
    pub due_before: Option<String>,
    /// Only cases with a complaint the gateway received at or after this time (RFC 3339 or
    /// `YYYY-MM-DD`): "what arrived", whatever the complaint says about when it was sent.
    pub received_from: Option<String>,
    /// Only cases with a complaint the gateway received before this time.
    pub received_to: Option<String>,
    /// `recent` (default: most recently active first) or `deadline` (earliest deadline first;
    /// only cases with a deadline).
    pub sort: Option<String>,
    /// Only cases with at least this many complaints (default 1).
    pub min_complaints: Option<i64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<i64>,
    /// Cases skipped.
    pub offset: Option<i64>,
}

/// Cases, most recently active first.
#[utoipa::path(
    get,
    path = "/v1/cases",
    tag = "cases",
    params(ListParams),
    responses(
        (status = 200, description = "Cases", body = [CaseSummary]),
        (status = 400, description = "Unknown parameter or status", body = super::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    Ok(Json(list_as(&state, &principal, &params).await?))
}

/// The cases `params` asks for as `principal` may see them: the API's list (`GET /v1/cases`)
/// and the console's (`/console/queues`), one code path. An investigator lists the cases of
/// their queues (routed or informed); a caller who does not see identities gets the titles
/// masked (the API's answer is also masked whole before it leaves: `api::auth`).
pub async fn list_as(
    state: &AppState,
    principal: &Principal,
    params: &ListParams,
) -> Result<Vec<CaseSummary>, ApiError> {
    let reach = principal.reach();
    one_of("status", params.status.as_deref(), crate::cases::STATUSES)?;
    let states = crate::workflow::State::ALL.map(|s| s.as_str());
    one_of("state", params.state.as_deref(), &states)?;
    for queue in [&params.queue, &params.subject] {
        if let Some(queue) = queue.as_deref().filter(|q| !q.is_empty())
            && state.routing.queue(queue).is_none()
        {
            return Err(ApiError::new(
                ErrorCode::QueueUnknown,
                format!("`{queue}` is not a queue; see GET /v1/queues"),
            ));
        }
    }
    one_of(
        "priority",
        params.priority.as_deref(),
        &crate::routing::config::PRIORITIES,
    )?;
    one_of("sort", params.sort.as_deref(), &["recent", "deadline"])?;
    let due_before_ms = match params.due_before.as_deref().filter(|d| !d.is_empty()) {
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|e| {
                    ApiError::new(
                        ErrorCode::InvalidParameter,
                        format!("`due_before` is an RFC 3339 time: {e}"),
                    )
                    .with("param", "due_before")
                })?
                .timestamp_millis(),
        ),
        None => None,
    };
    let offset = state.config.parse_options().default_offset;
    let received = |name, value: &Option<String>| {
        crate::index::search_query::time(name, value.clone(), offset)
            .map(|t| t.map(|t| t.with_timezone(&chrono::Utc)))
    };
    let received_from = received("received_from", &params.received_from)?;
    let received_to = received("received_to", &params.received_to)?;
    let filter = CaseFilter {
        received_from,
        received_to,
        status: params.status.as_deref().filter(|s| !s.is_empty()),
        state: params.state.as_deref().filter(|s| !s.is_empty()),
        queue: params.queue.as_deref().filter(|s| !s.is_empty()),
        priority: params.priority.as_deref().filter(|s| !s.is_empty()),
        subject: params.subject.as_deref().filter(|s| !s.is_empty()),
        overdue: params.overdue,
        due_before_ms,
        sort: match params.sort.as_deref() {
            Some("deadline") => CaseSort::Deadline,
            _ => CaseSort::Recent,
        },
        min_complaints: params.min_complaints.unwrap_or(1),
        limit: params.limit.unwrap_or(50),
        offset: params.offset.unwrap_or(0),
        queues: reach.as_deref(),
    };
    let mut cases = list_cases(&state.store, filter).await?;
    if !principal.sees_identities() {
        cases.iter_mut().for_each(mask_title);
    }
    Ok(cases)
}

/// A listed case as a caller who does not see identities sees it.
fn mask_title(case: &mut CaseSummary) {
    case.title = crate::people::pii::mask_text(&case.title);
}

/// One case: members with channel, snippet and why, and the staff decisions about them.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (its founding complaint's id)")),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    Ok(Json(get_case(&state.store, &id).await?))
}

/// A staff merge.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The other case.
    pub with: String,
    /// Ignored (deprecated): the decision is recorded under the authenticated caller.
    #[serde(default)]
    pub by: Option<String>,
    /// Why.
    pub why: String,
}

/// Merges another case into this one (the merged case keeps the id of the case founded first).
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/merge",
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The merged case", body = CaseDetail),
        (status = 400, description = "Invalid request", body = super::error::ErrorBody),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
    )
)]
pub async fn merge_cases(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(request): Json<MergeRequest>,
) -> Result<(HeaderMap, Json<CaseDetail>), ApiError> {
    let note = by_note(&request.by);
    let merged = merge_as(&state, &principal, &id, &request.with, request.why).await?;
    Ok((note, Json(get_case(&state.store, &merged).await?)))
}

/// Merges case `with` and case `id` as `principal` decided (`why`): the merge, the workflow's
/// and the deadlines' following of it and the audit entry, in one transaction, as
/// `POST /v1/cases/{id}/merge` does (the console's form calls it too). Answers the merged
/// case's id (the one founded first).
pub async fn merge_as(
    state: &AppState,
    principal: &Principal,
    id: &str,
    with: &str,
    why: String,
) -> Result<String, ApiError> {
    let actor = Actor {
        who: principal.actor.to_string(),
        why,
    };
    let mut tx = begin(state).await?;
    let merged = merge(&mut *tx, id, with, &actor).await?;
    let away = if merged == id { with } else { id };
    let now = chrono::Utc::now();
    crate::workflow::entry::merged(&mut *tx, &state.routing, away, &merged, &actor.who, now)
        .await?;
    let merge = crate::workflow::Action::Merge;
    let from = crate::workflow::State::Merged;
    state
        .clocks()
        .follow(&mut *tx, away, merge, from, None, &actor.who, &merged, now)
        .await?;
    let entry = principal.decision(
        "case.merge",
        Some(&merged),
        json!({"cases": [id, with], "why": actor.why}),
    );
    commit(tx, entry).await?;
    Ok(merged)
}

fn by_note(by: &Option<String>) -> HeaderMap {
    ignored_fields_note(if by.is_some() { &["by"] } else { &[] })
}

/// A staff split.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// The complaint to take out of the case into a case of its own.
    pub complaint_id: String,
    /// Ignored (deprecated): the decision is recorded under the authenticated caller.
    #[serde(default)]
    pub by: Option<String>,
    /// Why.
    pub why: String,
}

/// Splits one complaint out of this case.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/split",
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = SplitRequest,
    responses(
        (status = 200, description = "Where the complaints are now", body = SplitResult),
        (status = 400, description = "Invalid request", body = super::error::ErrorBody),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
    )
)]
pub async fn split_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(request): Json<SplitRequest>,
) -> Result<(HeaderMap, Json<SplitResult>), ApiError> {
    let note = by_note(&request.by);
    let result = split_as(&state, &principal, &id, &request.complaint_id, request.why).await?;
    Ok((note, Json(result)))
}

/// Splits `complaint_id` out of case `id` as `principal` decided (`why`): the split, the
/// workflow and deadlines of both cases and the audit entry, in one transaction, as
/// `POST /v1/cases/{id}/split` does (the console's form calls it too).
pub async fn split_as(
    state: &AppState,
    principal: &Principal,
    id: &str,
    complaint_id: &str,
    why: String,
) -> Result<SplitResult, ApiError> {
    let actor = Actor {
        who: principal.actor.to_string(),
        why,
    };
    let mut tx = begin(state).await?;
    let result = split(&mut *tx, id, complaint_id, &actor).await?;
    let now = chrono::Utc::now();
    let routing = &state.routing;
    if result.remaining_case != id {
        let remaining = &result.remaining_case;
        crate::workflow::entry::renamed(&mut *tx, routing, id, remaining, &actor.who, now).await?;
        state.clocks().carry(&mut *tx, id, remaining).await?;
    }
    let split_case = &result.split_case;
    crate::workflow::entry::split_out(&mut *tx, routing, split_case, id, &actor.who, now).await?;
    state
        .clocks()
        .start_split(&mut *tx, split_case, id, &actor.who, now)
        .await?;
    let mut entry = principal.decision("case.split", Some(id), json!({"why": actor.why}));
    entry.complaint_ids = vec![complaint_id.to_string()];
    commit(tx, entry).await?;
    Ok(result)
}

/// Replaced by the workflow: answers `410 status_replaced` naming the transitions route.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/status",
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 410, description = "Replaced by `POST /v1/cases/{id}/transitions`", body = super::error::ErrorBody),
    )
)]
pub async fn status(Path(id): Path<String>) -> ApiError {
    let transitions = format!("/v1/cases/{id}/transitions");
    ApiError::new(
        ErrorCode::StatusReplaced,
        format!(
            "free statuses are replaced by the case workflow: POST {transitions} with an \
             `action` (GET /v1/cases/{id}/workflow lists those possible now)"
        ),
    )
    .with("transitions", transitions)
}

/// Hot-issue parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HotParams {
    /// Window of complaints counted: `30d`, `12h`, `90m` (default 30d).
    pub window: Option<String>,
    /// Most cases returned (default 10, at most 500).
    pub limit: Option<usize>,
    /// End of the window, RFC 3339 (default: now).
    pub at: Option<String>,
}

/// The hottest cases of the window, with the parts of their heat score; an investigator's
/// count only the complaints of the cases routed or informed to their queues.
#[utoipa::path(
    get,
    path = "/v1/hot-issues",
    tag = "cases",
    params(HotParams),
    responses(
        (status = 200, description = "Hot issues, hottest first", body = [HotIssue]),
        (status = 400, description = "Invalid window", body = super::error::ErrorBody),
    )
)]
pub async fn hot(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HotParams>,
) -> Result<Json<Vec<HotIssue>>, ApiError> {
    Ok(Json(hot_as(&state, &principal, &params).await?))
}

/// The hot issues `params` asks for as `principal` may see them: the API's
/// (`GET /v1/hot-issues`) and the console's (`/console/hot`), one code path. An investigator's
/// count only the complaints of cases routed or informed to their queues; a caller who does
/// not see identities gets the titles masked (as [`list_as`]).
pub async fn hot_as(
    state: &AppState,
    principal: &Principal,
    params: &HotParams,
) -> Result<Vec<HotIssue>, ApiError> {
    let window = parse_window(params.window.as_deref().unwrap_or("30d"))?;
    let now = match params.at.as_deref().filter(|a| !a.is_empty()) {
        Some(at) => chrono::DateTime::parse_from_rfc3339(at)
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("at `{at}`: {e}")))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let limit = params.limit.unwrap_or(10).clamp(1, 500);
    let mut hot = hot_issues_within(
        &state.store,
        now,
        window,
        limit,
        &state.config.grouping.heat,
        principal.reach().as_deref(),
    )
    .await?;
    if !principal.sees_identities() {
        hot.iter_mut().for_each(|h| mask_title(&mut h.case));
    }
    Ok(hot)
}

/// Starts a staff decision's transaction.
async fn begin(state: &AppState) -> Result<Box<dyn DerivedTx>, ApiError> {
    state
        .store
        .begin_decision()
        .await
        .map_err(|e| ApiError::internal("cases", &e))
}

/// Commits a staff decision with its audit entry.
async fn commit(
    mut tx: Box<dyn DerivedTx>,
    entry: crate::store::audit::NewAuditEvent,
) -> Result<(), ApiError> {
    let db = |e: crate::store::StoreError| ApiError::internal("cases", &e);
    tx.append_audit(&[entry]).await.map_err(db)?;
    tx.commit().await.map_err(db)
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases", get(list))
        .route("/v1/cases/{id}", get(get_one))
        .route("/v1/cases/{id}/history", get(super::people::case_history))
        .route("/v1/cases/{id}/merge", post(merge_cases))
        .route("/v1/cases/{id}/split", post(split_case))
        .route("/v1/cases/{id}/status", post(status))
        .route("/v1/hot-issues", get(hot))
}
