//! 回访 on the API: `POST /v1/cases/{id}/follow-ups` records the centre's call back to the
//! complainant after the answer (and reopens the case when asked, with an unhappy verdict);
//! `GET /v1/cases/{id}/follow-ups` lists them (they are in `GET /v1/cases/{id}/workflow` too).

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Serialize;

use super::AppState;
use super::auth::Principal;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::workflow::WorkflowView;
use crate::store::StoreError;
use crate::store::follow_ups::FollowUp;
use crate::workflow::follow_up::{FollowUpRequest, Verdict, record};

/// A follow-up (回访) as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowUpView {
    pub id: i64,
    /// The answer it follows.
    pub answer_id: Option<i64>,
    /// The unit that held the case when it was answered.
    pub queue: Option<String>,
    pub reached: bool,
    /// `phone`, `sms`, `visit`, `email` or `other`.
    pub contact: String,
    pub note: Option<String>,
    /// Reached: solved (已解决) or not (未解决).
    pub solved: Option<bool>,
    /// Reached: `satisfied`, `basically_satisfied` or `dissatisfied`.
    pub verdict: Option<String>,
    /// 满意, 基本满意, 不满意.
    pub verdict_label: Option<String>,
    /// Whether the case was reopened with it.
    pub reopened: bool,
    pub recorded_by: String,
    /// RFC 3339, UTC.
    pub recorded_at: String,
}

impl From<FollowUp> for FollowUpView {
    fn from(f: FollowUp) -> Self {
        let r = f.follow_up;
        FollowUpView {
            id: f.id,
            answer_id: r.answer_id,
            queue: r.queue_key,
            reached: r.reached,
            contact: r.contact,
            note: r.note,
            solved: r.solved,
            verdict_label: r
                .verdict
                .as_deref()
                .and_then(Verdict::parse)
                .map(|v| v.label().to_string()),
            verdict: r.verdict,
            reopened: r.reopened,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
        }
    }
}

/// What recording a follow-up answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowUpRecorded {
    pub follow_up: FollowUpView,
    /// Where the case stands now (reopened when asked).
    pub workflow: WorkflowView,
}

/// The follow-ups of a case, oldest first.
pub async fn views(state: &AppState, case_id: &str) -> Result<Vec<FollowUpView>, ApiError> {
    Ok(state
        .store
        .case_follow_ups(case_id)
        .await
        .map_err(|e: StoreError| ApiError::internal("follow-ups", &e))?
        .into_iter()
        .map(FollowUpView::from)
        .collect())
}

/// Records a follow-up (回访) of an answered case.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/follow-ups",
    tag = "workflow",
    params(("id" = String, Path, description = "Case id")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, description = "Recorded (and the case reopened when asked)", body = FollowUpRecorded),
        (status = 400, description = "Fields that do not fit together (a reached follow-up without its verdict, a reopen without an unhappy verdict)", body = super::error::ErrorBody),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
        (status = 409, description = "The case is not answered (`illegal_transition` with `current_state`), or changed meanwhile (`case_changed`)", body = super::error::ErrorBody),
    )
)]
pub async fn record_follow_up(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(request): Json<FollowUpRequest>,
) -> Result<Json<FollowUpRecorded>, ApiError> {
    Ok(Json(record_for(&state, &principal, &id, &request).await?))
}

/// Records `request` for case `id` by `principal`, as `POST /v1/cases/{id}/follow-ups` does
/// (the console's 回访 form calls it too).
pub async fn record_for(
    state: &AppState,
    principal: &Principal,
    id: &str,
    request: &FollowUpRequest,
) -> Result<FollowUpRecorded, ApiError> {
    let recorded = record(
        &state.store,
        state.clocks(),
        id,
        request,
        principal.caller(),
        &principal.actor,
        chrono::Utc::now(),
    )
    .await?;
    let follow_up = views(state, id)
        .await?
        .into_iter()
        .find(|f| f.id == recorded.id)
        .ok_or_else(|| ApiError::internal("follow-ups", &"a follow-up just recorded"))?;
    let case_state = crate::workflow::transition::current_read(&state.store, &state.routing, id)
        .await?
        .ok_or_else(|| ApiError::not_found("case", id))?;
    Ok(FollowUpRecorded {
        follow_up,
        workflow: WorkflowView::new(&case_state, principal)?,
    })
}

/// The follow-ups (回访) of a case, oldest first.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/follow-ups",
    tag = "workflow",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case's follow-ups, oldest first", body = [FollowUpView]),
        (status = 404, description = "No such case (or not in the caller's reach)", body = super::error::ErrorBody),
    )
)]
pub async fn list_follow_ups(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<FollowUpView>>, ApiError> {
    crate::workflow::transition::current_read(&state.store, &state.routing, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("case", &id))?;
    Ok(Json(views(&state, &id).await?))
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/cases/{id}/follow-ups",
        post(record_follow_up).get(list_follow_ups),
    )
}
