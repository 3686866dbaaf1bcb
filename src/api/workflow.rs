//! The case workflow on the API: `POST /v1/cases/{id}/transitions` takes one transition
//! (交办, 签收, 办理, 办结, 退单, 重办, close, merge, an investigator) for the authenticated
//! caller; `GET /v1/cases/{id}/workflow` shows where the case stands, what may come next, its
//! transitions and its answers. An illegal transition answers `409 illegal_transition` with
//! the current state and the allowed actions.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path};
use crate::store::StoreError;
use crate::store::workflow::CaseState;
use crate::workflow::machine::{allowed, may_take};
use crate::workflow::transition::{Details, WorkflowError, current_read};
use crate::workflow::{Action, State as CaseFlow};

impl From<WorkflowError> for ApiError {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::NotFound(id) => ApiError::not_found("case", &id),
            WorkflowError::Illegal {
                action,
                current,
                allowed,
            } => ApiError::new(
                ErrorCode::IllegalTransition,
                format!("`{action}` is not possible while the case is `{current}`"),
            )
            .with("current_state", current.as_str())
            .with(
                "allowed",
                allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            ),
            WorkflowError::Forbidden(message) => {
                ApiError::new(ErrorCode::PermissionDenied, message)
            }
            WorkflowError::Invalid(message) => ApiError::new(ErrorCode::InvalidRequest, message),
            WorkflowError::NotAnswered(current) => {
                ApiError::new(ErrorCode::IllegalTransition, error.to_string())
                    .with("current_state", current.as_str())
            }
            WorkflowError::Pending(_) => {
                ApiError::new(ErrorCode::ExtensionPending, error.to_string())
            }
            WorkflowError::Decided { .. } => {
                ApiError::new(ErrorCode::AlreadyDecided, error.to_string())
            }
            WorkflowError::Store(StoreError::Conflict(message)) => ApiError::new(
                ErrorCode::CaseChanged,
                format!("{message}; read it and try again"),
            ),
            other => ApiError::internal("workflow", &other),
        }
    }
}

/// A transition request: the action and what it needs.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TransitionRequest {
    pub action: Action,
    #[serde(flatten)]
    pub details: Details,
}

/// Where a case stands in the workflow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkflowView {
    pub case_id: String,
    pub state: CaseFlow,
    /// The queue holding the case.
    pub queue: Option<String>,
    /// The investigator working on it.
    pub assignee: Option<String>,
    /// The surviving case, when merged.
    pub merged_into: Option<String>,
    /// Why it is where it is (a return's reason, a reopen's).
    pub note: Option<String>,
    /// Every action legal from this state.
    pub allowed: Vec<Action>,
    /// Those of `allowed` the caller may take.
    pub yours: Vec<Action>,
    /// Increases with every transition.
    pub version: i64,
}

impl WorkflowView {
    pub fn new(state: &CaseState, principal: &Principal) -> Result<WorkflowView, ApiError> {
        let flow: CaseFlow = state
            .state
            .parse()
            .map_err(|e: String| ApiError::internal("workflow", &e))?;
        let caller = principal.caller();
        let legal = allowed(flow);
        let yours = legal
            .iter()
            .copied()
            .filter(|a| may_take(caller, *a, state.queue_key.as_deref()))
            .collect();
        Ok(WorkflowView {
            case_id: state.case_id.clone(),
            state: flow,
            queue: state.queue_key.clone(),
            assignee: state.assignee.clone(),
            merged_into: state.merged_into.clone(),
            note: state.note.clone(),
            allowed: legal,
            yours,
            version: state.version,
        })
    }
}

/// A transition as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransitionView {
    pub action: String,
    pub from: String,
    pub to: String,
    pub actor: String,
    /// RFC 3339, UTC.
    pub at: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// An answer (办结) as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnswerView {
    pub finding: String,
    /// 查实, 部分查实, 不属实, 其他.
    pub finding_label: String,
    pub reply: String,
    pub attachments: Vec<String>,
    pub answered_by: String,
    pub answered_at: String,
}

/// The workflow of a case: state, transitions, answers and 延期 requests.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseWorkflow {
    #[serde(flatten)]
    pub workflow: WorkflowView,
    pub transitions: Vec<TransitionView>,
    pub answers: Vec<AnswerView>,
    pub extension_requests: Vec<super::extensions::ExtensionView>,
    /// 回访 after the answers, oldest first.
    pub follow_ups: Vec<super::follow_ups::FollowUpView>,
}

/// Takes one transition of a case.
#[utoipa::path(
    post,
    path = "/v1/cases/{id}/transitions",
    tag = "workflow",
    params(("id" = String, Path, description = "Case id")),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "Taken: where the case stands now", body = WorkflowView),
        (status = 400, description = "The action lacks what it needs", body = super::error::ErrorBody),
        (status = 403, description = "Not the caller's to take", body = super::error::ErrorBody),
        (status = 404, description = "No such case (or not in the caller's reach)", body = super::error::ErrorBody),
        (status = 409, description = "Not possible in the case's state (`illegal_transition`, with `current_state` and `allowed`), or changed meanwhile (`case_changed`)", body = super::error::ErrorBody),
    )
)]
pub async fn transition(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(request): Json<TransitionRequest>,
) -> Result<Json<WorkflowView>, ApiError> {
    let caller = principal.caller();
    let outcome = crate::workflow::service::run(
        &state.store,
        state.clocks(),
        &id,
        request.action,
        &request.details,
        caller,
        &principal.actor,
        chrono::Utc::now(),
    )
    .await?;
    Ok(Json(WorkflowView::new(&outcome.state, &principal)?))
}

/// Where a case stands, what may come next, its transitions and answers.
#[utoipa::path(
    get,
    path = "/v1/cases/{id}/workflow",
    tag = "workflow",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case's workflow", body = CaseWorkflow),
        (status = 404, description = "No such case (or not in the caller's reach)", body = super::error::ErrorBody),
    )
)]
pub async fn workflow(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseWorkflow>, ApiError> {
    let db = |e: StoreError| ApiError::internal("workflow", &e);
    let case_state = current_read(&state.store, &state.routing, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("case", &id))?;
    let transitions = state
        .store
        .case_transitions(&id)
        .await
        .map_err(db)?
        .into_iter()
        .map(|t| TransitionView {
            detail: serde_json::from_str(&t.detail).unwrap_or(serde_json::Value::Null),
            action: t.action,
            from: t.from_state,
            to: t.to_state,
            actor: t.actor,
            at: t.at,
        })
        .collect();
    let answers = state
        .store
        .case_answers(&id)
        .await
        .map_err(db)?
        .into_iter()
        .map(|a| {
            let a = a.answer;
            let finding_label = serde_json::from_value::<crate::workflow::Finding>(
                serde_json::Value::String(a.finding.clone()),
            )
            .map_or_else(|_| a.finding.clone(), |f| f.label().to_string());
            AnswerView {
                finding: a.finding,
                finding_label,
                reply: a.reply,
                attachments: a.attachments,
                answered_by: a.answered_by,
                answered_at: a.answered_at,
            }
        })
        .collect();
    let extension_requests = state
        .store
        .extension_requests(&id)
        .await
        .map_err(db)?
        .into_iter()
        .map(super::extensions::ExtensionView::from)
        .collect();
    Ok(Json(CaseWorkflow {
        workflow: WorkflowView::new(&case_state, &principal)?,
        transitions,
        answers,
        extension_requests,
        follow_ups: super::follow_ups::views(&state, &id).await?,
    }))
}

/// One investigator's open work in a queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvestigatorLoad {
    pub name: String,
    /// The unit's lead for this queue.
    pub lead: bool,
    /// Marked away: automatic assignment skips them.
    pub away: bool,
    /// Open cases (assigned, accepted, investigating, reopened) they work on in this queue.
    pub open_cases: i64,
}

/// Who works how many open cases of a queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueWorkload {
    pub queue: String,
    /// How the queue's accepted cases go to its investigators.
    pub assign: crate::routing::AssignPolicy,
    /// Active investigators, by name.
    pub investigators: Vec<InvestigatorLoad>,
    /// Open cases nobody works on yet.
    pub unassigned: i64,
    /// Open cases of people who are no longer active investigators of the queue.
    pub others: i64,
}

/// Who works how many open cases of a queue.
#[utoipa::path(
    get,
    path = "/v1/queues/{key}/workload",
    tag = "workflow",
    params(("key" = String, Path, description = "Queue key")),
    responses(
        (status = 200, description = "The queue's investigators and their open cases", body = QueueWorkload),
        (status = 404, description = "No such queue", body = super::error::ErrorBody),
    )
)]
pub async fn workload(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<QueueWorkload>, ApiError> {
    let db = |e: StoreError| ApiError::internal("workload", &e);
    let queue = state
        .routing
        .queue(&key)
        .ok_or_else(|| ApiError::not_found("queue", &key))?;
    let open = crate::workflow::assign::OPEN_STATES;
    let load = state.store.queue_workload(&key, &open).await.map_err(db)?;
    let people = state.store.queue_investigators(&key).await.map_err(db)?;
    let count = |name: Option<&str>| {
        load.iter()
            .find(|w| w.assignee.as_deref() == name)
            .map_or(0, |w| w.open_cases)
    };
    let investigators: Vec<InvestigatorLoad> = people
        .iter()
        .map(|p| InvestigatorLoad {
            name: p.name.clone(),
            lead: p.lead,
            away: p.away,
            open_cases: count(Some(&p.name)),
        })
        .collect();
    let counted: i64 = investigators.iter().map(|i| i.open_cases).sum();
    let unassigned = count(None);
    let total: i64 = load.iter().map(|w| w.open_cases).sum();
    Ok(Json(QueueWorkload {
        queue: key.clone(),
        assign: queue.assign,
        investigators,
        unassigned,
        others: total - counted - unassigned,
    }))
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases/{id}/transitions", post(transition))
        .route("/v1/cases/{id}/workflow", get(workflow))
        .route("/v1/queues/{key}/workload", get(workload))
}
