//! The complainant's privacy on the API: which view of a complaint or case a caller gets
//! ([`crate::people::privacy`]; [`scoped_view`] for the `cases.read` routes, called by the
//! one auth middleware), masking an answer of any shape ([`mask_answer`]) or item by item
//! (search hits in `api::search`, notifications here: [`VIEWED_PER_ITEM`]), and recording
//! every unmasked view of personal data in the audit record (through the group-commit writer,
//! so reads stay fast).

use std::collections::HashMap;

use serde_json::json;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::Principal;
use super::error::ApiError;
use crate::config::IdentityShown;
use crate::people::Role;
use crate::people::access::Permission;
use crate::people::pii;
use crate::people::privacy::{Exposure, View, view};
use crate::store::audit::NewAuditEvent;
use crate::store::outbox::OutboxEntry;
use crate::store::subjects::effective_subjects;
use crate::store::{Complaint, WriteBatch, format_utc};

/// The routes whose answers an investigator's view shapes item by item (each search hit, each
/// notification), rather than the auth middleware masking the whole answer.
pub(super) const VIEWED_PER_ITEM: &[&str] = &["/v1/search", "/v1/outbox"];

/// The view of `complaint` for `principal`: reached through its case's route as it is now
/// (a reassignment made through another member of the case counts at once); the units it is
/// about are those found on the fly and the subjects recorded on its case, less those staff
/// removed.
pub async fn complaint_view(
    state: &AppState,
    principal: &Principal,
    complaint: &Complaint,
) -> Result<View, ApiError> {
    let db = |e: crate::store::StoreError| ApiError::internal("privacy", &e);
    let classification = state
        .store
        .classification(&complaint.id)
        .await
        .map_err(db)?;
    let current = match &classification {
        Some(c) => state.store.case_route(&c.route_key).await.map_err(db)?,
        None => None,
    };
    // The route recorded with the classification when the case's own is not stored.
    let recorded = classification.as_ref().and_then(|c| c.why.route.as_ref());
    let (queue, informed) = match (&current, recorded) {
        (Some(route), _) => (Some(route.queue.as_str()), route.informed.as_slice()),
        (None, Some(route)) => (Some(route.queue.as_str()), route.informed.as_slice()),
        (None, None) => (None, &[][..]),
    };
    let computed = state
        .routing
        .concerned_queues(complaint.item.target_unit.as_deref(), &complaint.text_norm);
    let route_key = classification.as_ref().map(|c| c.route_key.as_str());
    let recorded = match route_key {
        Some(key) => state.store.case_subjects(key).await.map_err(db)?,
        None => Vec::new(),
    };
    let concerned = effective_subjects(&recorded, &computed);
    let holder = match route_key {
        Some(key) => holder_of(state, principal, key).await?,
        None => None,
    };
    let exposure = Exposure {
        queue,
        informed,
        holder: holder.as_deref(),
        concerned: &concerned,
        anonymous: complaint
            .item
            .complainant
            .as_ref()
            .is_some_and(|c| c.anonymous),
    };
    let masked = state.config.privacy.investigator_identity == IdentityShown::Masked;
    Ok(view(&principal.roles, &principal.queues, &exposure, masked))
}

/// The view of case `case_id` for `principal`, and the members whose text holds personal data
/// (what a full view of the case shows): reached through the case's route; masked when one of
/// the caller's queues is what any member complaint is about (found on the fly, or a subject
/// recorded on the case and not removed), or a member asked for anonymity.
/// `None` when there is no such case.
pub async fn case_view(
    state: &AppState,
    principal: &Principal,
    case_id: &str,
) -> Result<Option<(View, Vec<String>)>, ApiError> {
    let db = |e: crate::store::StoreError| ApiError::internal("privacy", &e);
    let Some(route) = state.store.case_route(case_id).await.map_err(db)? else {
        // A complaint in no case yet answers under its own id.
        return match state.store.complaint(case_id).await.map_err(db)? {
            Some(complaint) => {
                let view = complaint_view(state, principal, &complaint).await?;
                let personal = personal_text(&complaint).then(|| complaint.id.clone());
                Ok(Some((view, personal.into_iter().collect())))
            }
            None => Ok(None),
        };
    };
    let mut computed = Vec::new();
    let mut personal = Vec::new();
    let mut anonymous = false;
    for member in state.store.case_members(case_id).await.map_err(db)? {
        if let Some(complaint) = state
            .store
            .complaint(&member.complaint_id)
            .await
            .map_err(db)?
        {
            computed.extend(
                state
                    .routing
                    .concerned_queues(complaint.item.target_unit.as_deref(), &complaint.text_norm),
            );
            anonymous |= complaint
                .item
                .complainant
                .as_ref()
                .is_some_and(|c| c.anonymous);
            if personal_text(&complaint) {
                personal.push(complaint.id);
            }
        }
    }
    let recorded = state.store.case_subjects(case_id).await.map_err(db)?;
    let concerned = effective_subjects(&recorded, &computed);
    let holder = holder_of(state, principal, case_id).await?;
    let exposure = Exposure {
        queue: Some(route.queue.as_str()),
        informed: &route.informed,
        holder: holder.as_deref(),
        concerned: &concerned,
        anonymous,
    };
    let masked = state.config.privacy.investigator_identity == IdentityShown::Masked;
    let view = view(&principal.roles, &principal.queues, &exposure, masked);
    Ok(Some((view, personal)))
}

/// The queue holding case `case_id` in the workflow (see `people::privacy`), if any.
/// Only an investigator's view depends on it: for anyone else it is not read (a search
/// decides a view per hit).
async fn holder_of(
    state: &AppState,
    principal: &Principal,
    case_id: &str,
) -> Result<Option<String>, ApiError> {
    if !principal.roles.contains(&Role::Investigator) {
        return Ok(None);
    }
    Ok(state
        .store
        .case_state(case_id)
        .await
        .map_err(|e| ApiError::internal("privacy", &e))?
        .and_then(|s| s.queue_key))
}

/// Whether the text of `complaint` (what lists and case views show of it) holds personal data.
fn personal_text(complaint: &Complaint) -> bool {
    pii::contains_personal_data(&complaint.text_norm)
        || complaint
            .title
            .as_deref()
            .is_some_and(pii::contains_personal_data)
}

/// Whether `complaint` holds personal data a full view would show.
pub fn holds_personal_data(complaint: &Complaint) -> bool {
    complaint.item.complainant.is_some()
        || complaint.item.meta.keys().any(|k| pii::is_personal_key(k))
        || pii::contains_personal_data(&complaint.body)
        || complaint
            .title
            .as_deref()
            .is_some_and(pii::contains_personal_data)
}

/// `complaint` as a masked view shows it (the stored record never changes).
pub fn mask(complaint: &mut Complaint) {
    pii::mask_item(&mut complaint.item);
    complaint.title = complaint.title.as_deref().map(pii::mask_text);
    complaint.body = pii::mask_text(&complaint.body);
    complaint.text_norm = pii::mask_text(&complaint.text_norm);
}

/// Records that `principal` was shown the personal data of `complaint_ids` (one entry per
/// response); `detail` says where (the route, an export's filter and count).
pub async fn record_view(
    state: &AppState,
    principal: &Principal,
    complaint_ids: Vec<String>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    if complaint_ids.is_empty() {
        return Ok(());
    }
    let entry = NewAuditEvent {
        at: format_utc(chrono::Utc::now()),
        actor: principal.actor.to_string(),
        action: "personal_data.view".into(),
        case_id: None,
        complaint_ids,
        detail: detail.to_string(),
    };
    state
        .store
        .submit(WriteBatch {
            audit: vec![entry],
            ..WriteBatch::default()
        })
        .await
        .map_err(|e| ApiError::internal("recording a view of personal data", &e))?;
    Ok(())
}

/// The `detail` of a view recorded for one route.
pub fn shown_at(route: &str) -> serde_json::Value {
    json!({"route": route})
}

/// The `{id}` of a case or complaint route, from the request's path.
fn path_id(uri: &axum::http::Uri) -> String {
    uri.path().split('/').nth(3).unwrap_or_default().to_string()
}

/// The caller's view of the case or complaint a `cases.read` route names.
/// Fills `shown` with the complaints whose personal data a full view of a case shows.
pub(super) async fn scoped_view(
    state: &AppState,
    principal: &Principal,
    route: &str,
    uri: &axum::http::Uri,
    shown: &mut Vec<String>,
) -> Result<View, ApiError> {
    let id = path_id(uri);
    let known = if route.starts_with("/v1/cases/{id}") {
        match case_view(state, principal, &id).await? {
            Some((view, personal)) => {
                shown.extend(personal);
                Some(view)
            }
            None => None,
        }
    } else {
        let complaint = state
            .store
            .complaint(&id)
            .await
            .map_err(|e| ApiError::internal("privacy", &e))?;
        match complaint {
            Some(complaint) => Some(complaint_view(state, principal, &complaint).await?),
            None => None,
        }
    };
    // Nothing to scope by (no such case or complaint, or a deadline without either): a caller
    // who may read everything gets the handler's answer, masked unless admin or triage;
    // anyone else learns nothing.
    Ok(
        known.unwrap_or(if !principal.may(Permission::CasesReadAll) {
            View::Hidden
        } else if principal
            .roles
            .iter()
            .any(|r| matches!(r, Role::Admin | Role::Triage))
        {
            View::Full
        } else {
            View::Masked
        }),
    )
}

/// Out of the caller's reach: answered as if it did not exist.
pub(super) fn hidden(route: &str, uri: &axum::http::Uri) -> ApiError {
    let what = if route.starts_with("/v1/cases/") {
        "case"
    } else {
        "complaint"
    };
    ApiError::not_found(what, &path_id(uri))
}

/// The notifications of an outbox page as `principal` (whose reach the store already applied)
/// sees them: each case's view decides, masked notifications have every text masked (subject,
/// errors, addresses), and one of a case out of reach meanwhile is left out.
pub async fn view_notifications(
    state: &AppState,
    principal: &Principal,
    notifications: Vec<OutboxEntry>,
) -> Result<Vec<OutboxEntry>, ApiError> {
    let mut views: HashMap<String, View> = HashMap::new();
    let mut shown = Vec::with_capacity(notifications.len());
    for mut entry in notifications {
        let Some(case_id) = entry.case_id.clone() else {
            continue;
        };
        let view = match views.get(&case_id) {
            Some(view) => *view,
            None => {
                let view = case_view(state, principal, &case_id)
                    .await?
                    .map_or(View::Hidden, |(view, _)| view);
                views.insert(case_id, view);
                view
            }
        };
        match view {
            View::Hidden => continue,
            View::Masked => mask_notification(&mut entry),
            View::Full => {}
        }
        shown.push(entry);
    }
    Ok(shown)
}

/// `entry` as a masked view shows it.
fn mask_notification(entry: &mut OutboxEntry) {
    entry.subject = pii::mask_text(&entry.subject);
    entry.last_error = entry.last_error.as_deref().map(pii::mask_text);
    for recipient in &mut entry.recipients {
        recipient.address = pii::mask_text(&recipient.address);
        recipient.last_error = recipient.last_error.as_deref().map(pii::mask_text);
    }
}

/// Largest answer [`mask_answer`] buffers (a page of search hits or cases is far smaller).
const MASK_LIMIT: usize = 64 << 20;

/// A JSON answer with every identity removed ([`crate::people::pii::mask_json`]).
pub(super) async fn mask_answer(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MASK_LIMIT).await else {
        return ApiError::internal("masking", &"the answer is too large to mask").into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return ApiError::internal("masking", &"the answer is not JSON").into_response();
    };
    crate::people::pii::mask_json(&mut value);
    let bytes = serde_json::to_vec(&value).expect("a JSON value serialises");
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
