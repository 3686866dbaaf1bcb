//! Case deadlines and the notification outbox: read a deadline with its extensions and audit
//! trail, extend it (with who and why), record the answer, list the outbox with per-recipient
//! delivery status.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path, Query};
use crate::notify::deadline::{self, AuditEntry, ExtendRequest, Extension};
use crate::notify::outbox::{OutboxEntry, OutboxFilter};
use crate::notify::{CaseDeadline, NotifyError};

/// A case deadline with its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineView {
    #[serde(flatten)]
    pub deadline: CaseDeadline,
    pub extensions: Vec<Extension>,
    pub audit: Vec<AuditEntry>,
}

/// The unit's answer to a case.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// Ignored (deprecated): the answer is recorded under the authenticated caller.
    #[serde(default)]
    pub answered_by: Option<String>,
    /// A short summary of the findings.
    #[serde(default)]
    pub summary: String,
}

/// Filters of the outbox list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    /// `pending`, `sent` or `failed`.
    pub state: Option<String>,
    /// Only notifications of this case.
    pub case_id: Option<String>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<u32>,
}

/// The outbox, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub notifications: Vec<OutboxEntry>,
}

fn notify_error(error: NotifyError) -> ApiError {
    match error {
        NotifyError::NoDeadline { case_id } => ApiError::not_found("case deadline", &case_id),
        NotifyError::AlreadyAnswered { .. } => {
            ApiError::new(ErrorCode::AlreadyAnswered, error.to_string())
        }
        NotifyError::Invalid(_) => ApiError::new(ErrorCode::InvalidRequest, error.to_string()),
        NotifyError::Calendar(_) | NotifyError::UnknownPriority { .. } => {
            ApiError::new(ErrorCode::DeadlineNotComputable, error.to_string())
        }
        other => ApiError::internal("deadlines", &other),
    }
}

async fn view(state: &AppState, case_id: &str) -> Result<DeadlineView, ApiError> {
    let store = &state.store;
    let deadline = store
        .case_deadline(case_id)
        .await
        .map_err(|e| ApiError::internal("deadline", &e))?
        .ok_or_else(|| ApiError::not_found("case deadline", case_id))?;
    let extensions = store
        .deadline_extensions(case_id)
        .await
        .map_err(|e| ApiError::internal("deadline", &e))?;
    let audit = store
        .deadline_audit(case_id)
        .await
        .map_err(|e| ApiError::internal("deadline", &e))?;
    Ok(DeadlineView {
        deadline,
        extensions,
        audit,
    })
}

/// The deadline of a case, its extensions and its audit trail.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/deadline",
    tag = "deadlines",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The deadline", body = DeadlineView),
        (status = 404, description = "The case has no deadline", body = super::error::ErrorBody)
    )
)]
pub async fn get_deadline(
    State(state): State<AppState>,
    Path(case_id): Path<String>,
) -> Result<Json<DeadlineView>, ApiError> {
    Ok(Json(view(&state, &case_id).await?))
}

/// Extends the deadline of a case; the extension is recorded (who, why, old and new).
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/deadline/extend",
    tag = "deadlines",
    params(("id" = String, Path, description = "Case id")),
    request_body = ExtendRequest,
    responses(
        (status = 200, description = "The extended deadline", body = DeadlineView),
        (status = 400, description = "Invalid request", body = super::error::ErrorBody),
        (status = 404, description = "The case has no deadline", body = super::error::ErrorBody),
        (status = 409, description = "The case is answered", body = super::error::ErrorBody)
    )
)]
pub async fn extend(
    State(state): State<AppState>,
    principal: super::auth::Principal,
    Path(case_id): Path<String>,
    Json(mut request): Json<ExtendRequest>,
) -> Result<(axum::http::HeaderMap, Json<DeadlineView>), ApiError> {
    let note = super::auth::ignored_fields_note(if request.requested_by.is_empty() {
        &[]
    } else {
        &["requested_by"]
    });
    request.requested_by = principal.actor.to_string();
    let mut tx = state
        .store
        .begin_decision()
        .await
        .map_err(|e| ApiError::internal("extend", &e))?;
    deadline::extend(
        &mut *tx,
        &state.config,
        &state.calendar.current(),
        &case_id,
        &request,
        Utc::now(),
    )
    .await
    .map_err(notify_error)?;
    let entry = principal.decision(
        "deadline.extend",
        Some(&case_id),
        serde_json::json!({"reason": request.reason, "working_days": request.working_days,
            "hours": request.hours, "until": request.until}),
    );
    let db = |e: crate::store::StoreError| ApiError::internal("extend", &e);
    tx.append_audit(&[entry]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((note, Json(view(&state, &case_id).await?)))
}

/// Records the unit's answer: the case's status becomes `answered`, reminders stop.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/answer",
    tag = "deadlines",
    params(("id" = String, Path, description = "Case id")),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "The answered deadline", body = DeadlineView),
        (status = 404, description = "The case has no deadline", body = super::error::ErrorBody),
        (status = 409, description = "Already answered", body = super::error::ErrorBody)
    )
)]
pub async fn answer(
    State(state): State<AppState>,
    principal: super::auth::Principal,
    Path(case_id): Path<String>,
    Json(request): Json<AnswerRequest>,
) -> Result<(axum::http::HeaderMap, Json<DeadlineView>), ApiError> {
    let note = super::auth::ignored_fields_note(if request.answered_by.is_some() {
        &["answered_by"]
    } else {
        &[]
    });
    let answered_by = principal.actor.to_string();
    let mut tx = state
        .store
        .begin_decision()
        .await
        .map_err(|e| ApiError::internal("answer", &e))?;
    deadline::answer(
        &mut *tx,
        &case_id,
        &answered_by,
        &request.summary,
        Utc::now(),
    )
    .await
    .map_err(notify_error)?;
    crate::workflow::transition::answered_on_behalf(
        &mut *tx,
        &state.routing,
        &case_id,
        &request.summary,
        &principal.actor,
        Utc::now(),
    )
    .await?;
    let entry = principal.decision(
        "case.answer",
        Some(&case_id),
        serde_json::json!({"summary": request.summary}),
    );
    let db = |e: crate::store::StoreError| ApiError::internal("answer", &e);
    tx.append_audit(&[entry]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((note, Json(view(&state, &case_id).await?)))
}

/// Notifications with their per-recipient delivery status, newest first; an investigator's,
/// only those of the cases routed or informed to their queues, masked where their view of the
/// case is.
#[utoipa::path(
    get,
    path = "/v1/outbox",
    tag = "deadlines",
    params(OutboxParams),
    responses((status = 200, description = "Notifications", body = OutboxPage))
)]
pub async fn list_outbox(
    State(state): State<AppState>,
    principal: super::auth::Principal,
    Query(params): Query<OutboxParams>,
) -> Result<Json<OutboxPage>, ApiError> {
    if let Some(s) = &params.state
        && !matches!(s.as_str(), "pending" | "sent" | "failed")
    {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            "state must be `pending`, `sent` or `failed`",
        )
        .with("parameter", "state")
        .with("allowed", vec!["pending", "sent", "failed"]));
    }
    let filter = OutboxFilter {
        state: params.state,
        case_id: params.case_id,
        limit: params.limit.unwrap_or(50),
        queues: principal.reach(),
    };
    let mut notifications = state
        .store
        .notifications(&filter)
        .await
        .map_err(|e| ApiError::internal("outbox", &e))?;
    if filter.queues.is_some() {
        notifications =
            super::privacy::view_notifications(&state, &principal, notifications).await?;
    }
    Ok(Json(OutboxPage { notifications }))
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases/{id}/deadline", get(get_deadline))
        .route("/v1/cases/{id}/deadline/extend", post(extend))
        .route("/v1/cases/{id}/answer", post(answer))
        .route("/v1/outbox", get(list_outbox))
}
