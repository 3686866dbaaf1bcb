//! Who am I (`GET /v1/me`), the audit record (`GET /v1/audit`) and a case's decisions
//! (`GET /v1/cases/{id}/history`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Principal, Via};
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use crate::store::audit::{AuditFilter, AuditRecord};

/// The caller as the gateway sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// What decisions are recorded under: a user name, `service:<variable>`, `open:loopback`.
    pub actor: String,
    pub roles: Vec<String>,
    pub queues: Vec<MeQueue>,
    /// `token`, `service` or `open`.
    pub via: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeQueue {
    pub queue: String,
    pub lead: bool,
}

/// The authenticated caller: actor, roles, queues.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "people",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not signed in", body = super::error::ErrorBody),
    )
)]
pub async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        actor: principal.actor.to_string(),
        roles: principal
            .roles
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        queues: principal
            .queues
            .iter()
            .map(|q| MeQueue {
                queue: q.queue.clone(),
                lead: q.lead,
            })
            .collect(),
        via: match principal.via {
            Via::Open => "open",
            Via::Service => "service",
            Via::Token(_) => "token",
            Via::Session => "session",
        }
        .into(),
    })
}

/// One audit entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub case_id: Option<String>,
    pub complaint_ids: Vec<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// SHA-256 chaining this entry to the one before (see `complaint-gateway audit verify`).
    pub hash: String,
}

impl From<AuditRecord> for AuditEntryView {
    fn from(r: AuditRecord) -> Self {
        AuditEntryView {
            seq: r.seq,
            detail: serde_json::from_str(&r.event.detail)
                .unwrap_or(serde_json::Value::String(r.event.detail)),
            at: r.event.at,
            actor: r.event.actor,
            action: r.event.action,
            case_id: r.event.case_id,
            complaint_ids: r.event.complaint_ids,
            hash: r.hash,
        }
    }
}

/// Filters of the audit record.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Entries of this actor (a user name, `system:<stage>`, `service:<variable>`).
    pub user: Option<String>,
    /// Entries about this case.
    pub case: Option<String>,
    /// Entries of this action, e.g. `case.merge`, `login_failed`, `personal_data.view`.
    pub action: Option<String>,
    /// From this time (RFC 3339, inclusive).
    pub since: Option<String>,
    /// Up to this time (RFC 3339, inclusive).
    pub until: Option<String>,
    /// Entries after this sequence number (the last `seq` of the previous page).
    pub after: Option<i64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// The audit record, oldest first.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "people",
    params(AuditParams),
    responses(
        (status = 200, description = "Entries", body = [AuditEntryView]),
        (status = 403, description = "Needs `audit.read`", body = super::error::ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    Query(params): Query<AuditParams>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    let filter = AuditFilter {
        actor: params.user,
        action: params.action,
        case_id: params.case,
        complaint_id: None,
        since: params.since,
        until: params.until,
        after_seq: params.after.unwrap_or(0),
        limit: params.limit.unwrap_or(100).clamp(1, 1000),
    };
    entries(&state, &filter).await
}

async fn entries(
    state: &AppState,
    filter: &AuditFilter,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    let records = state
        .store
        .audit_entries(filter)
        .await
        .map_err(|e| ApiError::internal("audit", &e))?;
    Ok(Json(records.into_iter().map(Into::into).collect()))
}

/// The decisions about one case (merges, splits, status changes, corrections, deadline
/// changes and answers), oldest first.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/history",
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "Decisions", body = [AuditEntryView]),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
    )
)]
pub async fn case_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    // 404 for a case that does not exist (or that the caller may not see).
    crate::cases::read::get_case(&state.store, &id).await?;
    let filter = AuditFilter {
        case_id: Some(id),
        limit: 10_000,
        ..AuditFilter::default()
    };
    entries(&state, &filter).await
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/audit", get(audit))
}
