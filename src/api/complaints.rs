//! `GET /v1/complaints/{id}`: the full record, its revisions and its raw payload.

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use serde::Serialize;

use super::AppState;
use super::auth::{Principal, ScopedView};
use super::error::ApiError;
use super::extract::{Json, Path};
use super::privacy;
use crate::people::privacy::View;
use crate::store::{Complaint, RevisionRecord};

/// Raw bytes as received: base64 always, text when the bytes decode. Withheld (both empty,
/// `withheld` true) from a caller who may not see the complainant's identity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RawPayload {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
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
            withheld: false,
            content_type: content_type.to_string(),
            text,
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// The raw payload, withheld: it holds the complainant's identity as sent.
    pub fn withheld(content_type: &str) -> RawPayload {
        RawPayload {
            withheld: true,
            content_type: content_type.to_string(),
            text: None,
            base64: String::new(),
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
    /// `shown`, or `masked`: no `complainant`, no personal `meta` fields, personal data in
    /// the text masked, raw payloads withheld (the caller's unit is what the complaint is
    /// about, the complainant asked for anonymity, or the caller's role sees no identities).
    pub identity: &'static str,
    pub raw: RawPayload,
    /// Superseded versions, oldest first.
    pub revisions: Vec<RevisionView>,
    /// The units the complaint's case is about, with where each was found (see
    /// `GET /v1/cases/{id}`).
    pub subjects: Vec<crate::store::subjects::CaseSubject>,
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
    principal: Principal,
    Extension(ScopedView(view)): Extension<ScopedView>,
    Path(id): Path<String>,
) -> Result<Json<ComplaintView>, ApiError> {
    let mut record = state
        .store
        .complaint(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("complaint", &id))?;
    if view == View::Hidden {
        return Err(ApiError::not_found("complaint", &id));
    }
    let masked = view == View::Masked;
    let raw_of = |bytes: &[u8], content_type: &str| {
        if masked {
            RawPayload::withheld(content_type)
        } else {
            RawPayload::new(bytes, content_type)
        }
    };
    let revisions: Vec<RevisionView> = state
        .store
        .revisions(&id)
        .await?
        .into_iter()
        .map(|mut revision| {
            let raw = raw_of(&revision.raw, &revision.raw_content_type);
            if masked {
                crate::people::pii::mask_item(&mut revision.item);
                revision.title = revision.title.as_deref().map(crate::people::pii::mask_text);
                revision.body = crate::people::pii::mask_text(&revision.body);
            }
            RevisionView { raw, revision }
        })
        .collect();
    let raw = raw_of(&record.raw, &record.raw_content_type);
    let subjects = match state.store.classification(&id).await? {
        Some(classification) => state.store.case_subjects(&classification.route_key).await?,
        None => Vec::new(),
    };
    if masked {
        privacy::mask(&mut record);
    } else if privacy::holds_personal_data(&record) {
        privacy::record_view(
            &state,
            &principal,
            vec![id.clone()],
            privacy::shown_at("GET /v1/complaints/{id}"),
        )
        .await?;
    }
    Ok(Json(ComplaintView {
        identity: if masked { "masked" } else { "shown" },
        raw,
        record,
        revisions,
        subjects,
    }))
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/complaints/{id}", get(get_complaint))
}
