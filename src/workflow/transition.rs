//! Taking a transition: read the case's state, check the action against it and against the
//! caller, validate what the request carries, and write the new state, the transition, the
//! answer (for 办结) and the audit entry — all in the caller's decision transaction, so a
//! transition takes effect at once and entirely, or not at all.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::machine::{
    Action, CLOSE_WITHOUT_ANSWER, Caller, Finding, RETURN_REASONS, State, allowed, may_take, next,
};
use crate::people::Actor;
use crate::routing::RoutingConfig;
use crate::store::audit::NewAuditEvent;
use crate::store::workflow::{CaseState, NewAnswer, NewTransition};
use crate::store::{DerivedTx, Store, StoreError, format_utc};

/// What a transition request carries; which fields an action needs is checked by [`take`].
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Details {
    /// `assign`: the queue the case goes to.
    #[serde(default)]
    pub queue: Option<String>,
    /// `assign_investigator`: the user who works on the case.
    #[serde(default)]
    pub assignee: Option<String>,
    /// `return`: one of the configured return reasons; `close` without an answer:
    /// `duplicate` or `not_our_remit`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Free text: required for `reopen`, for a `return` whose reason is `other`, and for a
    /// `close` without an answer.
    #[serde(default)]
    pub note: Option<String>,
    /// `answer`: the finding.
    #[serde(default)]
    pub finding: Option<Finding>,
    /// `answer`: the reply to the complainant.
    #[serde(default)]
    pub reply: Option<String>,
    /// `answer`: references of attachments (document numbers, file names).
    #[serde(default)]
    pub attachments: Vec<String>,
    /// `merge`: the case this one is merged into.
    #[serde(default)]
    pub merged_into: Option<String>,
}

/// Why a transition was not taken.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("case `{0}` not found")]
    NotFound(String),
    /// The action is not legal from the case's state.
    #[error("`{action}` is not possible while the case is `{current}`")]
    Illegal {
        action: Action,
        current: State,
        allowed: Vec<Action>,
    },
    /// The caller may not take the action on this case.
    #[error("{0}")]
    Forbidden(String),
    /// The request lacks what the action needs.
    #[error("{0}")]
    Invalid(String),
    /// A 延期 request of the case waits for triage already.
    #[error("case `{0}` has a 延期 request waiting for triage")]
    Pending(String),
    /// The 延期 request was decided already.
    #[error("extension request {id} is {state} already")]
    Decided { id: i64, state: String },
    /// A follow-up (回访) of a case not answered yet.
    #[error("a follow-up (回访) comes after the answer: the case is `{0}`")]
    NotAnswered(State),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored workflow data is corrupt: {0}")]
    Corrupt(String),
}

/// What a transition did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub from: State,
    pub state: CaseState,
    /// The transition's id in the store.
    pub transition_id: i64,
}

impl Outcome {
    /// The state the case is in now.
    pub fn to(&self) -> State {
        self.state.state.parse().expect("a state this module wrote")
    }
}

/// The state of a case the workflow has not recorded yet (routed before the workflow existed,
/// or not routed yet): `assigned` to its route's queue, or `new` in triage.
pub fn initial(case_id: &str, route_queue: Option<String>, routing: &RoutingConfig) -> CaseState {
    let state = match route_queue.as_deref() {
        Some(q) if q != routing.triage_queue() => State::Assigned,
        _ => State::New,
    };
    CaseState {
        case_id: case_id.to_string(),
        state: state.as_str().to_string(),
        queue_key: route_queue,
        assignee: None,
        merged_into: None,
        note: None,
        updated_at: String::new(),
        updated_by: String::new(),
        version: 0,
    }
}

/// Where `case_id` stands, as `tx` sees it; `None` when there is no such case (nor complaint).
pub async fn current(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    case_id: &str,
) -> Result<Option<CaseState>, WorkflowError> {
    if let Some(state) = tx.case_state(case_id).await? {
        return Ok(Some(state));
    }
    let exists =
        tx.case_exists(case_id).await? || !tx.existing_complaints(&[case_id]).await?.is_empty();
    if !exists {
        return Ok(None);
    }
    let queue = tx.case_route(case_id).await?.map(|r| r.queue);
    Ok(Some(initial(case_id, queue, routing)))
}

/// [`current`] read from the store (no transaction).
pub async fn current_read(
    store: &Store,
    routing: &RoutingConfig,
    case_id: &str,
) -> Result<Option<CaseState>, WorkflowError> {
    if let Some(state) = store.case_state(case_id).await? {
        return Ok(Some(state));
    }
    let exists =
        store.case_summary(case_id).await?.is_some() || store.complaint(case_id).await?.is_some();
    if !exists {
        return Ok(None);
    }
    let queue = store.case_route(case_id).await?.map(|r| r.queue);
    Ok(Some(initial(case_id, queue, routing)))
}

/// Takes `action` on `case_id` for `caller` (recorded as `actor`) at `now`.
#[allow(clippy::too_many_arguments)]
pub async fn take(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    case_id: &str,
    action: Action,
    details: &Details,
    caller: Caller<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome, WorkflowError> {
    let Some(before) = current(tx, routing, case_id).await? else {
        return Err(WorkflowError::NotFound(case_id.to_string()));
    };
    let from: State = before
        .state
        .parse()
        .map_err(|e: String| WorkflowError::Corrupt(format!("case {case_id}: {e}")))?;
    let Some(to) = next(from, action) else {
        return Err(WorkflowError::Illegal {
            action,
            current: from,
            allowed: allowed(from),
        });
    };
    if !may_take(caller, action, before.queue_key.as_deref()) {
        return Err(WorkflowError::Forbidden(refusal(
            action,
            before.queue_key.as_deref(),
        )));
    }
    let mut after = CaseState {
        state: to.as_str().to_string(),
        updated_at: format_utc(now),
        updated_by: actor.to_string(),
        ..before.clone()
    };
    let detail = apply(tx, routing, action, from, details, actor, &mut after).await?;
    let expected = (before.version > 0).then_some(before.version);
    tx.put_case_state(&after, expected).await?;
    after.version = before.version + 1;
    let transition = NewTransition {
        case_id: case_id.to_string(),
        action: action.as_str().to_string(),
        from_state: from.as_str().to_string(),
        to_state: to.as_str().to_string(),
        actor: actor.to_string(),
        at: format_utc(now),
        detail: detail.clone(),
    };
    let transition_id = tx.append_transition(&transition).await?;
    if action == Action::Answer {
        let answer_id = tx
            .record_answer(&NewAnswer {
                case_id: case_id.to_string(),
                finding: details
                    .finding
                    .map(Finding::as_str)
                    .unwrap_or_default()
                    .to_string(),
                reply: details.reply.clone().unwrap_or_default().trim().to_string(),
                attachments: details.attachments.clone(),
                answered_by: actor.to_string(),
                answered_at: format_utc(now),
            })
            .await?;
        // The answer goes back where each complaint came from (`answers`).
        tx.queue_answer_outcomes(case_id, answer_id, after.queue_key.as_deref(), now)
            .await?;
    }
    let mut audit_detail = serde_json::json!({"from": from.as_str(), "to": to.as_str()});
    if let (Some(target), serde_json::Value::Object(extra)) = (audit_detail.as_object_mut(), detail)
    {
        target.extend(extra);
    }
    tx.append_audit(&[NewAuditEvent {
        at: format_utc(now),
        actor: actor.to_string(),
        action: format!("case.{}", action.as_str()),
        case_id: Some(case_id.to_string()),
        complaint_ids: Vec::new(),
        detail: audit_detail.to_string(),
    }])
    .await?;
    Ok(Outcome {
        from,
        state: after,
        transition_id,
    })
}

/// Why `action` is refused to the caller.
fn refusal(action: Action, queue: Option<&str>) -> String {
    use super::machine::Party;
    let holder = queue.map_or("no unit holds it".to_string(), |q| {
        format!("queue `{q}` holds it")
    });
    match action.by() {
        Party::Centre => format!("`{action}` is the complaint centre's (admin or triage)"),
        Party::Unit => format!("`{action}` is for the unit holding the case ({holder})"),
        Party::UnitLead => {
            format!("`{action}` is for the lead of the unit holding the case ({holder})")
        }
    }
}

/// Checks what `action` needs and sets what it changes on `after`; returns what the
/// transition records.
async fn apply(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    action: Action,
    from: State,
    details: &Details,
    actor: &Actor,
    after: &mut CaseState,
) -> Result<serde_json::Value, WorkflowError> {
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let note = text(&details.note);
    let detail = match action {
        Action::Assign => {
            let queue = text(&details.queue)
                .ok_or_else(|| WorkflowError::Invalid("`assign` needs `queue`".into()))?;
            if routing.queue(&queue).is_none() {
                return Err(WorkflowError::Invalid(format!(
                    "no queue `{queue}` in the routing"
                )));
            }
            after.queue_key = Some(queue.clone());
            after.assignee = None;
            after.note = note.clone();
            serde_json::json!({"queue": queue, "note": note})
        }
        Action::AssignInvestigator => {
            let assignee = text(&details.assignee).ok_or_else(|| {
                WorkflowError::Invalid("`assign_investigator` needs `assignee`".into())
            })?;
            let queue = after.queue_key.clone().unwrap_or_default();
            let member = tx.user_for_update(&assignee).await?.is_some_and(|user| {
                !user.disabled
                    && user.roles.iter().any(|r| r == "investigator")
                    && user.queues.iter().any(|m| m.queue == queue)
            });
            if !member {
                return Err(WorkflowError::Invalid(format!(
                    "`{assignee}` is not an active investigator of queue `{queue}`"
                )));
            }
            after.assignee = Some(assignee.clone());
            serde_json::json!({"assignee": assignee})
        }
        Action::Return => {
            let reason = text(&details.reason).ok_or_else(|| {
                WorkflowError::Invalid(format!(
                    "`return` needs `reason`: one of {}",
                    RETURN_REASONS.join(", ")
                ))
            })?;
            if !RETURN_REASONS.contains(&reason.as_str()) {
                return Err(WorkflowError::Invalid(format!(
                    "unknown return reason `{reason}`: one of {}",
                    RETURN_REASONS.join(", ")
                )));
            }
            if reason == "other" && note.is_none() {
                return Err(WorkflowError::Invalid(
                    "a return for `other` needs `note`".into(),
                ));
            }
            let returned_by = after.queue_key.take();
            after.queue_key = Some(routing.triage_queue().to_string());
            after.assignee = None;
            after.note = Some(match &note {
                Some(n) => format!("{reason}: {n}"),
                None => reason.clone(),
            });
            serde_json::json!({"reason": reason, "note": note, "returned_by": returned_by})
        }
        Action::Answer => {
            let finding = details
                .finding
                .ok_or_else(|| WorkflowError::Invalid("`answer` needs `finding`".into()))?;
            if text(&details.reply).is_none() {
                return Err(WorkflowError::Invalid(
                    "`answer` needs `reply`: what the complainant is told".into(),
                ));
            }
            serde_json::json!({"finding": finding.as_str(), "attachments": details.attachments})
        }
        Action::Close if from != State::Answered => {
            let reason = text(&details.reason).unwrap_or_default();
            if !CLOSE_WITHOUT_ANSWER.contains(&reason.as_str()) || note.is_none() {
                return Err(WorkflowError::Invalid(format!(
                    "a case that was not answered is closed with `reason` ({}) and `note`",
                    CLOSE_WITHOUT_ANSWER.join(" or ")
                )));
            }
            after.note = note.clone().map(|n| format!("{reason}: {n}"));
            serde_json::json!({"reason": reason, "note": note})
        }
        Action::Reopen => {
            let note = note.ok_or_else(|| {
                WorkflowError::Invalid("`reopen` needs `note`: why the case goes back".into())
            })?;
            after.note = Some(note.clone());
            after.assignee = None;
            serde_json::json!({"note": note})
        }
        Action::Merge => {
            let into = text(&details.merged_into)
                .ok_or_else(|| WorkflowError::Invalid("`merge` needs `merged_into`".into()))?;
            if into == after.case_id {
                return Err(WorkflowError::Invalid(
                    "a case is not merged into itself".into(),
                ));
            }
            after.merged_into = Some(into.clone());
            serde_json::json!({"merged_into": into, "note": note})
        }
        Action::Accept | Action::Start => {
            if action == Action::Accept && after.assignee.is_none() {
                let accepter = match actor {
                    Actor::User(name) => Some(name.as_str()),
                    _ => None,
                };
                let queue = after.queue_key.clone().unwrap_or_default();
                after.assignee = super::assign::choose(tx, routing, &queue, accepter).await?;
            }
            serde_json::json!({"note": note, "assignee": after.assignee})
        }
        Action::Triage | Action::Close => serde_json::json!({"note": note}),
    };
    Ok(detail)
}

/// Records in the workflow an answer the centre enters for the unit holding `case_id` (one
/// that came back on paper, by phone; `POST /v1/cases/{id}/answer`, `deadline answer`): a
/// case a unit holds becomes `answered`, with `summary` as the reply and finding `other`. A
/// case no unit holds is left as it is (the deadline alone records the answer).
pub async fn answered_on_behalf(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    case_id: &str,
    summary: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    let Some(before) = current(tx, routing, case_id).await? else {
        return Ok(false);
    };
    let from: State = before
        .state
        .parse()
        .map_err(|e: String| WorkflowError::Corrupt(format!("case {case_id}: {e}")))?;
    if !from.with_unit() {
        return Ok(false);
    }
    let expected = (before.version > 0).then_some(before.version);
    let after = CaseState {
        state: State::Answered.as_str().to_string(),
        updated_at: format_utc(now),
        updated_by: actor.to_string(),
        ..before
    };
    tx.put_case_state(&after, expected).await?;
    tx.append_transition(&NewTransition {
        case_id: case_id.to_string(),
        action: Action::Answer.as_str().to_string(),
        from_state: from.as_str().to_string(),
        to_state: State::Answered.as_str().to_string(),
        actor: actor.to_string(),
        at: format_utc(now),
        detail: serde_json::json!({"finding": "other", "on_behalf_of": after.queue_key}),
    })
    .await?;
    let answer_id = tx
        .record_answer(&NewAnswer {
            case_id: case_id.to_string(),
            finding: Finding::Other.as_str().to_string(),
            reply: summary.trim().to_string(),
            attachments: Vec::new(),
            answered_by: actor.to_string(),
            answered_at: format_utc(now),
        })
        .await?;
    tx.queue_answer_outcomes(case_id, answer_id, after.queue_key.as_deref(), now)
        .await?;
    Ok(true)
}
