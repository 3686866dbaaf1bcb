//! 责任追究 on the API: a substantiated case's accountability records — recorded
//! (`POST /v1/cases/{id}/accountability`), listed (`GET`), edited (`PUT …/{record}`) and
//! withdrawn (`DELETE …/{record}`) by the accountability queue's investigators and admins,
//! each change audited with the record before and after; and the records of a period
//! (`GET /v1/accountability`) for supervisors. A note is shown with phones, ID numbers and
//! e-mail addresses masked to a caller who does not see complainants.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post, put};
use serde::Deserialize;

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path, Query};
use crate::accountability::{
    AccountabilityError, AccountabilityRequest, AccountabilityView, Rules, case_records, edit,
    record, withdraw,
};
use crate::store::accountability::{AccountabilityFilter, AccountabilityRecord};

impl From<AccountabilityError> for ApiError {
    fn from(error: AccountabilityError) -> Self {
        let message = error.to_string();
        match error {
            AccountabilityError::CaseNotFound(id) => ApiError::not_found("case", &id),
            AccountabilityError::RecordNotFound { .. } => {
                ApiError::new(ErrorCode::NotFound, message)
            }
            AccountabilityError::NotSubstantiated { finding, .. } => {
                ApiError::new(ErrorCode::NotSubstantiated, message)
                    .with("finding", finding.map(|f| f.as_str()))
            }
            AccountabilityError::MeasureUnknown { allowed, .. } => {
                ApiError::new(ErrorCode::MeasureUnknown, message).with("allowed", allowed)
            }
            AccountabilityError::UnitUnknown(_) => ApiError::new(ErrorCode::QueueUnknown, message),
            AccountabilityError::Invalid(_) => ApiError::new(ErrorCode::InvalidRequest, message),
            AccountabilityError::Store(error) => ApiError::from(error),
            AccountabilityError::Corrupt(_) => ApiError::internal("accountability", &message),
        }
    }
}

impl AppState {
    /// What the accountability rules read.
    pub fn accountability_rules(&self) -> Rules<'_> {
        Rules {
            config: &self.config.accountability,
            routing: &self.routing,
            offset: self.config.parse_options().default_offset,
        }
    }
}

/// A record as this caller sees it.
fn shown(state: &AppState, principal: &Principal, r: AccountabilityRecord) -> AccountabilityView {
    let mut view = AccountabilityView::new(r, &state.routing);
    if !principal.sees_identities() {
        view.note = view.note.as_deref().map(crate::people::pii::mask_text);
    }
    view
}

/// Records accountability (责任追究) on a case answered 查实 or 部分查实.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/accountability",
    tag = "accountability",
    params(("id" = String, Path, description = "Case id")),
    request_body = AccountabilityRequest,
    responses(
        (status = 200, description = "Recorded (and audited)", body = AccountabilityView),
        (status = 400, description = "A measure not configured (`measure_unknown` with `allowed`), an unknown unit (`queue_unknown`), an empty text or a decision after today (`invalid_request`)", body = super::error::ErrorBody),
        (status = 403, description = "Neither an admin nor an investigator of the accountability queue", body = super::error::ErrorBody),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
        (status = 409, description = "The case's answer is not 查实 or 部分查实 (`not_substantiated` with `finding`)", body = super::error::ErrorBody),
    )
)]
pub async fn record_accountability(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(request): Json<AccountabilityRequest>,
) -> Result<Json<AccountabilityView>, ApiError> {
    let now = chrono::Utc::now();
    let rules = state.accountability_rules();
    let stored = record(&state.store, rules, &id, &request, &principal.actor, now).await?;
    Ok(Json(shown(&state, &principal, stored)))
}

/// The accountability records in force of a case, oldest first.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/accountability",
    tag = "accountability",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The records in force, oldest first", body = [AccountabilityView]),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
    )
)]
pub async fn list_case_accountability(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<AccountabilityView>>, ApiError> {
    let records = case_records(&state.store, &state.routing, &id).await?;
    Ok(Json(
        records
            .into_iter()
            .map(|r| shown(&state, &principal, r))
            .collect(),
    ))
}

/// Replaces what an accountability record says (every field, as when recording).
#[utoipa::path(
    put,
    path = "/v1/cases/{id}/accountability/{record}",
    tag = "accountability",
    params(
        ("id" = String, Path, description = "Case id"),
        ("record" = i64, Path, description = "Record id"),
    ),
    request_body = AccountabilityRequest,
    responses(
        (status = 200, description = "Edited (and audited with before and after)", body = AccountabilityView),
        (status = 400, description = "As when recording", body = super::error::ErrorBody),
        (status = 403, description = "Neither an admin nor an investigator of the accountability queue", body = super::error::ErrorBody),
        (status = 404, description = "No such case, or no such record in force on it", body = super::error::ErrorBody),
    )
)]
pub async fn edit_accountability(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, record_id)): Path<(String, i64)>,
    Json(request): Json<AccountabilityRequest>,
) -> Result<Json<AccountabilityView>, ApiError> {
    let now = chrono::Utc::now();
    let rules = state.accountability_rules();
    let stored = edit(
        &state.store,
        rules,
        &id,
        record_id,
        &request,
        &principal.actor,
        now,
    )
    .await?;
    Ok(Json(shown(&state, &principal, stored)))
}

/// Withdraws an accountability record: kept with who withdrew it, counted nowhere.
#[utoipa::path(
    delete,
    path = "/v1/cases/{id}/accountability/{record}",
    tag = "accountability",
    params(
        ("id" = String, Path, description = "Case id"),
        ("record" = i64, Path, description = "Record id"),
    ),
    responses(
        (status = 200, description = "Withdrawn (and audited); the record with `withdrawn_by` and `withdrawn_at`", body = AccountabilityView),
        (status = 403, description = "Neither an admin nor an investigator of the accountability queue", body = super::error::ErrorBody),
        (status = 404, description = "No such case, or no such record in force on it", body = super::error::ErrorBody),
    )
)]
pub async fn withdraw_accountability(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, record_id)): Path<(String, i64)>,
) -> Result<Json<AccountabilityView>, ApiError> {
    let now = chrono::Utc::now();
    let rules = state.accountability_rules();
    let stored = withdraw(&state.store, rules, &id, record_id, &principal.actor, now).await?;
    Ok(Json(shown(&state, &principal, stored)))
}

/// Which records of a period to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountabilityParams {
    /// Decided on or after this date (`YYYY-MM-DD`).
    pub from: Option<chrono::NaiveDate>,
    /// Decided on or before this date (`YYYY-MM-DD`, included).
    pub to: Option<chrono::NaiveDate>,
    /// One unit's (a queue key).
    pub unit: Option<String>,
    /// Most records answered (default 500, at most 5000).
    pub limit: Option<i64>,
}

/// The accountability records in force decided in a period, by decision date.
#[utoipa::path(
    get,
    path = "/v1/accountability",
    tag = "accountability",
    params(AccountabilityParams),
    responses(
        (status = 200, description = "The records, by decision date", body = [AccountabilityView]),
        (status = 400, description = "A parameter that does not hold (named)", body = super::error::ErrorBody),
    )
)]
pub async fn list_accountability(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AccountabilityParams>,
) -> Result<Json<Vec<AccountabilityView>>, ApiError> {
    if let (Some(from), Some(to)) = (params.from, params.to)
        && from > to
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("`from` ({from}) comes after `to` ({to})"),
        )
        .with("parameter", "from"));
    }
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let from = params.from.map(day);
    let to = params.to.map(|d| day(d + chrono::Duration::days(1)));
    let filter = AccountabilityFilter {
        from: from.as_deref(),
        to: to.as_deref(),
        unit: params.unit.as_deref(),
        limit: params.limit.unwrap_or(500).clamp(1, 5000),
    };
    let records = state.store.accountability_records(&filter).await?;
    Ok(Json(
        records
            .into_iter()
            .map(|r| shown(&state, &principal, r))
            .collect(),
    ))
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/cases/{id}/accountability",
            post(record_accountability).get(list_case_accountability),
        )
        .route(
            "/v1/cases/{id}/accountability/{record}",
            put(edit_accountability).delete(withdraw_accountability),
        )
        .route("/v1/accountability", get(list_accountability))
}
