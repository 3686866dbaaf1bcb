//! The units a case is about, named and removed by staff: `POST /v1/cases/{id}/subjects` and
//! `DELETE /v1/cases/{id}/subjects/{queue}` (`cases.decide`). Each change is recorded in the
//! decision's transaction with its audit entry (`case.subject_named`, `case.subject_removed`,
//! actor the authenticated caller) and counts from the next request on: the views of the
//! case's complaints are decided per request from the recorded subjects (`api::privacy`).
//!
//! A subject found automatically (the target unit or the text names the unit, a routing rule
//! declares it) can be removed too, to correct a false alias match: the row stays, marked
//! removed, and the pipeline does not find it again.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path, Query};
use crate::store::StoreError;
use crate::store::subjects::{CaseSubject, NewSubject, ORIGIN_STAFF, SubjectRemoval};

/// Naming a unit as a subject of the case.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameSubject {
    /// The unit's queue key (see `GET /v1/queues`).
    pub queue: String,
    /// Why the case is about that unit.
    #[serde(default)]
    pub note: Option<String>,
}

/// Why a subject is removed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RemoveParams {
    /// Why the case is not about that unit (e.g. a false alias match).
    pub note: Option<String>,
}

/// A case's subjects after a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectsView {
    pub case_id: String,
    /// Whether the request changed anything (`false`: it already was so; nothing recorded).
    pub changed: bool,
    /// Every subject of the case, removed ones included.
    pub subjects: Vec<CaseSubject>,
}

fn db(e: StoreError) -> ApiError {
    ApiError::internal("subjects", &e)
}

/// Names a unit as a subject of the case: its investigators see the case's complaints masked
/// from their next request on.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/subjects",
    tag = "cases",
    params(("id" = String, Path, description = "Case id (or a complaint outside any case)")),
    request_body = NameSubject,
    responses(
        (status = 201, description = "Named (or a removed subject named again)", body = SubjectsView),
        (status = 200, description = "Already a subject: nothing changed", body = SubjectsView),
        (status = 400, description = "Unknown queue", body = super::error::ErrorBody),
        (status = 404, description = "No such case", body = super::error::ErrorBody),
    )
)]
pub async fn name_subject(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(request): Json<NameSubject>,
) -> Result<(StatusCode, Json<SubjectsView>), ApiError> {
    let queue = request.queue.trim();
    if state.routing.queue(queue).is_none() {
        return Err(ApiError::new(
            ErrorCode::QueueUnknown,
            format!("`{queue}` is not a queue; see GET /v1/queues for the queue keys"),
        ));
    }
    let note = request
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let by = principal.actor.to_string();
    let at = crate::store::format_utc(chrono::Utc::now());
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    if tx.case_route(&id).await.map_err(db)?.is_none() {
        return Err(ApiError::not_found("case", &id));
    }
    let subject = NewSubject {
        case_id: &id,
        queue,
        origin: ORIGIN_STAFF,
        by: &by,
        at: &at,
        note,
    };
    let changed = tx.name_subject(&subject).await.map_err(db)?;
    if changed {
        let detail = json!({"queue": queue, "note": note});
        let entry = principal.decision("case.subject_named", Some(&id), detail);
        tx.append_audit(&[entry]).await.map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    let status = if changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&state, id, changed).await?)))
}

/// Removes a unit from the case's subjects, a subject found automatically included (the
/// removal is kept: the pipeline does not find it again). Its investigators see the case's
/// complaints as they would for any other case from their next request on.
#[utoipa::path(
    delete,
    path = "/v1/cases/{id}/subjects/{queue}",
    tag = "cases",
    params(
        ("id" = String, Path, description = "Case id (or a complaint outside any case)"),
        ("queue" = String, Path, description = "The subject's queue key"),
        RemoveParams,
    ),
    responses(
        (status = 200, description = "Removed (or already removed: `changed` false)", body = SubjectsView),
        (status = 404, description = "No such case, or the unit is not a subject of it", body = super::error::ErrorBody),
    )
)]
pub async fn remove_subject(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, queue)): Path<(String, String)>,
    Query(params): Query<RemoveParams>,
) -> Result<Json<SubjectsView>, ApiError> {
    let note = params
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let by = principal.actor.to_string();
    let at = crate::store::format_utc(chrono::Utc::now());
    if state.store.case_route(&id).await.map_err(db)?.is_none() {
        return Err(ApiError::not_found("case", &id));
    }
    // A subject found on the fly (before subjects were recorded) is recorded removed.
    let found = found_on_the_fly(&state, &id, &queue).await?;
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    let removal = SubjectRemoval {
        case_id: &id,
        queue: &queue,
        origin_if_absent: found,
        by: &by,
        at: &at,
        note,
    };
    let changed = tx.remove_subject(&removal).await.map_err(db)?;
    if changed {
        let detail = json!({"queue": queue, "note": note});
        let entry = principal.decision("case.subject_removed", Some(&id), detail);
        tx.append_audit(&[entry]).await.map_err(db)?;
    } else {
        let recorded = tx.cases_subjects(&[&id]).await.map_err(db)?;
        let known = recorded
            .get(&id)
            .into_iter()
            .flatten()
            .any(|s| s.queue == queue);
        if !known {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "`{queue}` is not a subject of case `{id}`; GET /v1/cases/{id} lists its \
                     subjects"
                ),
            ));
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(Json(view(&state, id, changed).await?))
}

/// How `queue` is found on the fly to be what the case's complaints are about (the origin),
/// if it is.
async fn found_on_the_fly(
    state: &AppState,
    case_id: &str,
    queue: &str,
) -> Result<Option<&'static str>, ApiError> {
    let mut ids: Vec<String> = state
        .store
        .case_members(case_id)
        .await
        .map_err(db)?
        .into_iter()
        .map(|m| m.complaint_id)
        .collect();
    if ids.is_empty() {
        ids.push(case_id.to_string());
    }
    for id in ids {
        let Some(complaint) = state.store.complaint(&id).await.map_err(db)? else {
            continue;
        };
        let target = complaint.item.target_unit.as_deref();
        let found = state
            .routing
            .concerns(target, &complaint.text_norm)
            .into_iter()
            .find(|(key, _)| *key == queue);
        if let Some((_, concern)) = found {
            return Ok(Some(concern.origin));
        }
    }
    Ok(None)
}

async fn view(state: &AppState, case_id: String, changed: bool) -> Result<SubjectsView, ApiError> {
    let subjects = state.store.case_subjects(&case_id).await.map_err(db)?;
    Ok(SubjectsView {
        case_id,
        changed,
        subjects,
    })
}

/// This module's routes (staff endpoints).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases/{id}/subjects", post(name_subject))
        .route("/v1/cases/{id}/subjects/{queue}", delete(remove_subject))
}
