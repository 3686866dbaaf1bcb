//! Dead letters: list, inspect, replay.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::complaints::RawPayload;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path, Query};
use crate::intake::IntakeReport;
use crate::replay::{ReplayError, replay};
use crate::store::{DeadLetterFilter, DeadLetterRecord};

/// Filters of the dead-letter list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterParams {
    /// Only this source.
    pub source: Option<String>,
    /// Also list dead letters that were replayed (default false).
    #[serde(default)]
    pub include_replayed: bool,
    /// Page size (default 50, at most 500).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A dead letter with its raw bytes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: DeadLetterRecord,
    pub raw: RawPayload,
}

/// A page of dead letters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterPage {
    pub total: i64,
    pub dead_letters: Vec<DeadLetterView>,
}

fn view(record: DeadLetterRecord) -> DeadLetterView {
    DeadLetterView {
        raw: RawPayload::new(&record.raw, &record.raw_content_type),
        record,
    }
}

/// Items that could not be accepted, newest first.
#[utoipa::path(
    get,
    path = "/v1/dead-letters",
    tag = "dead letters",
    params(DeadLetterParams),
    responses((status = 200, description = "A page of dead letters", body = DeadLetterPage))
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<DeadLetterParams>,
) -> Result<Json<DeadLetterPage>, ApiError> {
    Ok(Json(list_page(&state, params).await?))
}

/// A page of dead letters, as `GET /v1/dead-letters` answers it (the console reads it too).
pub async fn list_page(
    state: &AppState,
    params: DeadLetterParams,
) -> Result<DeadLetterPage, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "`limit` must be between 1 and 500",
        ));
    }
    let filter = DeadLetterFilter {
        source: params.source,
        include_replayed: params.include_replayed,
        limit,
        offset: params.offset.unwrap_or(0).max(0),
    };
    let (total, records) = state.store.dead_letters(&filter).await?;
    Ok(DeadLetterPage {
        total,
        dead_letters: records.into_iter().map(view).collect(),
    })
}

/// One dead letter with its raw bytes.
#[utoipa::path(
    get,
    path = "/v1/dead-letters/{id}",
    tag = "dead letters",
    params(("id" = String, Path, description = "Dead-letter id")),
    responses(
        (status = 200, description = "The dead letter", body = DeadLetterView),
        (status = 404, description = "No such dead letter", body = super::error::ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DeadLetterView>, ApiError> {
    Ok(Json(one(&state, &id).await?))
}

/// One dead letter with its raw bytes, as `GET /v1/dead-letters/{id}` answers it.
pub async fn one(state: &AppState, id: &str) -> Result<DeadLetterView, ApiError> {
    let record = state
        .store
        .dead_letter(id)
        .await?
        .ok_or_else(|| ApiError::not_found("dead letter", id))?;
    Ok(view(record))
}

/// Replays a dead letter: re-parses its bytes, or stores the corrected item given as the body.
#[utoipa::path(
    post,
    path = "/v1/dead-letters/{id}/replay",
    tag = "dead letters",
    params(("id" = String, Path, description = "Dead-letter id")),
    request_body(content = String, description = "Optional corrected item (JSON); empty to re-parse the kept bytes", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = IntakeReport),
        (status = 404, description = "No such dead letter", body = super::error::ErrorBody),
        (status = 409, description = "Already replayed", body = super::error::ErrorBody),
        (status = 422, description = "Still invalid, or needs a corrected item", body = super::error::ErrorBody),
    )
)]
pub async fn replay_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    let corrected = (!body.iter().all(u8::is_ascii_whitespace)).then(|| body.to_vec());
    Ok(Json(replay_letter(&state, &id, corrected).await?))
}

/// Replays dead letter `id` (with `corrected` JSON when given), as
/// `POST /v1/dead-letters/{id}/replay` does; the console's replay form calls it too.
pub async fn replay_letter(
    state: &AppState,
    id: &str,
    corrected: Option<Vec<u8>>,
) -> Result<IntakeReport, ApiError> {
    match replay(&state.store, &state.config, id, corrected).await {
        Ok(report) => Ok(report),
        Err(ReplayError::Store(e)) => Err(e.into()),
        Err(e @ ReplayError::NotFound(_)) => Err(ApiError::new(ErrorCode::NotFound, e.to_string())),
        Err(ReplayError::AlreadyReplayed(complaint)) => Err(ApiError::new(
            ErrorCode::AlreadyReplayed,
            format!("dead letter was already replayed as complaint {complaint}"),
        )
        .with("complaint_id", complaint)),
        Err(e @ ReplayError::StillInvalid(_)) => {
            Err(ApiError::new(ErrorCode::StillInvalid, e.to_string()))
        }
        Err(e @ ReplayError::NeedsCorrection(_)) => {
            Err(ApiError::new(ErrorCode::NeedsCorrection, e.to_string()))
        }
    }
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/dead-letters", get(list))
        .route("/v1/dead-letters/{id}", get(get_one))
        .route("/v1/dead-letters/{id}/replay", post(replay_one))
}
