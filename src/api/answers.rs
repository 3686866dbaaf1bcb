//! Answers going back to the channels: the replies staff send by phone or letter
//! (`GET /v1/replies`, `POST /v1/replies/{id}/sent`) and the callbacks to the channels' systems
//! (`GET /v1/callbacks`, `POST /v1/callbacks/{id}/retry`). See [`crate::answers`].

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path, Query};
use crate::answers::REPLY_METHODS;
use crate::store::StoreError;
use crate::store::answers::{AnswerOutcome, OutcomeFilter};
use crate::store::workflow::AnswerRecord;

/// Filters of the replies and callbacks lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutcomeParams {
    /// Replies: `pending` (to send, the default) or `sent`. Callbacks: `pending`, `delivered`
    /// or `failed` (default: every state).
    pub state: Option<String>,
    /// Only this case's.
    pub case_id: Option<String>,
    /// The page after this id (the last `id` of the previous page).
    pub before: Option<i64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<i64>,
}

/// One complaint's answer on its way back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutcomeView {
    pub id: i64,
    pub case_id: String,
    pub complaint_id: String,
    pub source: String,
    pub channel: String,
    /// The channel as staff know it (`12345热线`, `信访举报` …).
    pub channel_name: String,
    /// The complaint's id in its source's system.
    pub external_id: String,
    /// The unit that answered.
    pub queue: Option<String>,
    pub state: String,
    /// 查实 / 部分查实 / 不属实 / 其他, as `substantiated` …
    pub finding: Option<String>,
    /// The reply to the complainant.
    pub reply: Option<String>,
    pub answered_at: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
    pub method: Option<String>,
    pub note: Option<String>,
}

/// A page of outcomes, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutcomePage {
    pub items: Vec<OutcomeView>,
}

/// How a reply was sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplySent {
    /// `phone`, `sms`, `letter`, `email`, `in_person`, `portal` or `other`.
    pub method: String,
    /// Anything worth keeping (who was reached, the letter's number).
    pub note: Option<String>,
}

async fn page(
    state: &AppState,
    params: &OutcomeParams,
    default_state: Option<&str>,
    states: &[&str],
    replies: bool,
) -> Result<OutcomePage, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "`limit` must be 1 to 500",
        ));
    }
    let wanted = params.state.as_deref().or(default_state);
    if let Some(s) = wanted
        && !states.contains(&s)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("`state` must be one of: {}", states.join(", ")),
        ));
    }
    let callback_sources = state.callbacks.sources();
    let filter = OutcomeFilter {
        state: wanted,
        case_id: params.case_id.as_deref(),
        sources: (!replies).then_some(callback_sources.as_slice()),
        exclude_sources: if replies { &callback_sources } else { &[] },
        // An Open311 app reads the answer itself (`status_notes`).
        exclude_source_prefix: replies.then_some(crate::open311::filing::SOURCE_PREFIX),
        before_id: params.before,
        limit,
    };
    let outcomes = state.store.answer_outcomes(&filter).await?;
    let mut answers: HashMap<String, Vec<AnswerRecord>> = HashMap::new();
    let mut items = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        if !answers.contains_key(&outcome.case_id) {
            let read = state.store.case_answers(&outcome.case_id).await?;
            answers.insert(outcome.case_id.clone(), read);
        }
        let answer = answers[&outcome.case_id]
            .iter()
            .find(|a| a.id == outcome.answer_id);
        items.push(view(state, outcome, answer));
    }
    Ok(OutcomePage { items })
}

fn view(state: &AppState, o: AnswerOutcome, answer: Option<&AnswerRecord>) -> OutcomeView {
    OutcomeView {
        channel_name: crate::notify::templates::channel_label(&o.channel).to_string(),
        queue: o
            .queue_key
            .as_deref()
            .map(|k| state.routing.queue(k).map_or(k, |q| q.name).to_string()),
        finding: answer.map(|a| a.answer.finding.clone()),
        reply: answer.map(|a| a.answer.reply.clone()),
        answered_at: answer.map(|a| a.answer.answered_at.clone()),
        id: o.id,
        case_id: o.case_id,
        complaint_id: o.complaint_id,
        source: o.source,
        channel: o.channel,
        external_id: o.external_id,
        state: o.state,
        attempts: o.attempts,
        last_error: o.last_error,
        next_attempt_at: o.next_attempt_at,
        done_at: o.done_at,
        done_by: o.done_by,
        method: o.method,
        note: o.note,
    }
}

/// Replies to send: answered complaints whose channel has no way back but people (no
/// callback, not filed by an Open311 app), newest first.
#[utoipa::path(
    get,
    path = "/v1/replies",
    tag = "answers",
    params(OutcomeParams),
    responses((status = 200, description = "A page of replies", body = OutcomePage))
)]
pub async fn replies(
    State(state): State<AppState>,
    Query(params): Query<OutcomeParams>,
) -> Result<Json<OutcomePage>, ApiError> {
    reply_page(&state, &params).await.map(Json)
}

/// A page of replies to send, as `GET /v1/replies` answers it (the console's 待回复 reads it
/// too).
pub async fn reply_page(state: &AppState, params: &OutcomeParams) -> Result<OutcomePage, ApiError> {
    page(state, params, Some("pending"), &["pending", "sent"], true).await
}

/// Records that a reply was sent (phone, letter …): once, audited.
#[utoipa::path(
    post,
    path = "/v1/replies/{id}/sent",
    tag = "answers",
    params(("id" = i64, Path, description = "The reply's id")),
    request_body = ReplySent,
    responses(
        (status = 200, description = "Recorded", body = OutcomeView),
        (status = 400, description = "Unknown method", body = super::error::ErrorBody),
        (status = 404, description = "No such reply", body = super::error::ErrorBody),
        (status = 409, description = "Sent already (`already_decided`)", body = super::error::ErrorBody),
    )
)]
pub async fn reply_sent(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(sent): Json<ReplySent>,
) -> Result<Json<OutcomeView>, ApiError> {
    mark_sent(&state, &principal, id, &sent).await.map(Json)
}

/// Records reply `id` sent by `principal` (how, and a note), once, with its audit entry in the
/// same transaction: `POST /v1/replies/{id}/sent`, and the console's 待回复 form. Refused: an
/// unknown method (`invalid_parameter`), no such reply (a callback's outcome is none), sent
/// already (`already_decided`).
pub async fn mark_sent(
    state: &AppState,
    principal: &Principal,
    id: i64,
    sent: &ReplySent,
) -> Result<OutcomeView, ApiError> {
    if !REPLY_METHODS.contains(&sent.method.as_str()) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("`method` must be one of: {}", REPLY_METHODS.join(", ")),
        ));
    }
    let not_found = || ApiError::not_found("reply", &id.to_string());
    let outcome = state
        .store
        .answer_outcome(id)
        .await?
        .ok_or_else(not_found)?;
    if state.callbacks.target(&outcome.source).is_some()
        || outcome
            .source
            .starts_with(crate::open311::filing::SOURCE_PREFIX)
    {
        return Err(not_found());
    }
    let db = |e: StoreError| ApiError::internal("reply", &e);
    let now = chrono::Utc::now();
    let note = sent
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    let who = principal.actor.to_string();
    if !tx
        .mark_reply_sent(id, &who, &sent.method, note, now)
        .await
        .map_err(db)?
    {
        return Err(ApiError::new(
            ErrorCode::AlreadyDecided,
            format!(
                "reply {id} is {} already ({})",
                outcome.state,
                outcome.done_by.unwrap_or_default()
            ),
        ));
    }
    let entry = principal.decision(
        "reply.sent",
        Some(&outcome.case_id),
        serde_json::json!({"reply": id, "complaint_id": outcome.complaint_id,
                           "method": sent.method, "note": note}),
    );
    tx.append_audit(&[entry]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    view_by_id(state, id, not_found).await
}

/// Status updates to the channels' systems (sources with a `[callback]`), newest first.
#[utoipa::path(
    get,
    path = "/v1/callbacks",
    tag = "answers",
    params(OutcomeParams),
    responses((status = 200, description = "A page of callbacks", body = OutcomePage))
)]
pub async fn callbacks(
    State(state): State<AppState>,
    Query(params): Query<OutcomeParams>,
) -> Result<Json<OutcomePage>, ApiError> {
    page(
        &state,
        &params,
        None,
        &["pending", "delivered", "failed"],
        false,
    )
    .await
    .map(Json)
}

/// Sends a failed callback again (its attempts start afresh).
#[utoipa::path(
    post,
    path = "/v1/callbacks/{id}/retry",
    tag = "answers",
    params(("id" = i64, Path, description = "The callback's id")),
    responses(
        (status = 200, description = "Pending again", body = OutcomeView),
        (status = 404, description = "No such callback", body = super::error::ErrorBody),
        (status = 400, description = "Not failed (`invalid_state`)", body = super::error::ErrorBody),
    )
)]
pub async fn retry_callback(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<OutcomeView>, ApiError> {
    let not_found = || ApiError::not_found("callback", &id.to_string());
    let outcome = state
        .store
        .answer_outcome(id)
        .await?
        .ok_or_else(not_found)?;
    if state.callbacks.target(&outcome.source).is_none() {
        return Err(not_found());
    }
    if !state.store.retry_callback(id).await? {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!("callback {id} is {}, not failed", outcome.state),
        ));
    }
    tracing::info!(callback = id, actor = %principal.actor, "callback put back to pending");
    view_by_id(&state, id, not_found).await.map(Json)
}

/// Outcome `id` as it stands now, with its answer.
async fn view_by_id(
    state: &AppState,
    id: i64,
    not_found: impl Fn() -> ApiError,
) -> Result<OutcomeView, ApiError> {
    let outcome = state
        .store
        .answer_outcome(id)
        .await?
        .ok_or_else(not_found)?;
    let answers = state.store.case_answers(&outcome.case_id).await?;
    let answer = answers.iter().find(|a| a.id == outcome.answer_id);
    Ok(view(state, outcome, answer))
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/replies", get(replies))
        .route("/v1/replies/{id}/sent", post(reply_sent))
        .route("/v1/callbacks", get(callbacks))
        .route("/v1/callbacks/{id}/retry", post(retry_callback))
}
