//! `GET /v1/complaints/{id}`: the full record, its revisions and its raw payload.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::store::{Complaint, RevisionRecord};

/// Raw bytes as received: base64 always, text when the bytes decode.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RawPayload {
    pub content_type: String,
    /// The payload decoded with its charset, when it is text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub base64: String,
}

impl RawPayload {
    pub fn new(bytes: &[u8], content_type: &str) -> RawPayload {
        let charset = connectors::text::charset_of_content_type(content_type);
        let text = connectors::text::decode(bytes, charset)
            .ok()
            .map(|d| d.text);
        RawPayload {
            content_type: content_type.to_string(),
            text,
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// A complaint with its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintView {
    /// The complaint as stored: ids, `received_at`, `submitted_at` as the item gave it,
    /// `future_dated` (true when that `submitted_at` lay more than `intake.future_tolerance_secs`
    /// past `received_at`; grouping, hot issues, deadlines and search order then use
    /// `received_at`), title, body, normalised text, parsed item, content hash and facets.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: Complaint,
    pub raw: RawPayload,
    /// Superseded versions, oldest first.
    pub revisions: Vec<RevisionView>,
}

/// A superseded version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevisionView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub revision: RevisionRecord,
    pub raw: RawPayload,
}

/// One complaint: current version, normalised text, revisions, raw payload.
#[utoipa::path(
    get,
    path = "/v1/complaints/{id}",
    tag = "complaints",
    params(("id" = String, Path, description = "Gateway complaint id")),
    responses(
        (status = 200, description = "The complaint", body = ComplaintView),
        (status = 404, description = "No such complaint", body = super::error::ErrorBody),
    )
)]
pub async fn get_complaint(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ComplaintView>, ApiError> {
    let record = state
        .store
        .complaint(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("complaint", &id))?;
    let revisions = state
        .store
        .revisions(&id)
        .await?
        .into_iter()
        .map(|revision| RevisionView {
            raw: RawPayload::new(&revision.raw, &revision.raw_content_type),
            revision,
        })
        .collect();
    Ok(Json(ComplaintView {
        raw: RawPayload::new(&record.raw, &record.raw_content_type),
        record,
        revisions,
    }))
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/complaints/{id}", get(get_complaint))
}
