//! 延期: the unit holding a case asks for more working days with a reason; triage approves
//! (the deadline moves by that many working days, recorded as an extension next to the
//! request) or denies with a note. The case keeps its state meanwhile; one request may wait per
//! case at a time. Each step is in the audit chain.

use chrono::{DateTime, Utc};

use super::clocks::Clocks;
use super::machine::{Caller, State};
use super::transition::{WorkflowError, current};
use crate::people::{Actor, Role};
use crate::store::audit::NewAuditEvent;
use crate::store::workflow::{ExtensionRequest, NewExtensionRequest};
use crate::store::{DerivedTx, format_utc};

/// Most working days one request may ask for.
pub const MAX_WORKING_DAYS: i64 = 30;

/// Whether `caller` is the unit holding a case held by `queue` (its investigators, or an
/// admin): who asks for a 延期.
pub fn is_holding_unit(caller: Caller<'_>, queue: Option<&str>) -> bool {
    caller.roles.contains(&Role::Admin)
        || (caller.roles.contains(&Role::Investigator)
            && queue.is_some_and(|q| caller.queues.iter().any(|m| m.queue == q)))
}

/// Whether `caller` may ask for a 延期 on a case in `flow` held by `queue` (the console offers
/// the form then; [`request`] decides, with the pending request and the deadline).
pub fn may_request(caller: Caller<'_>, flow: State, queue: Option<&str>) -> bool {
    is_holding_unit(caller, queue) && flow.with_unit()
}

/// Whether `caller` approves or denies 延期 requests: the complaint centre (admin or triage).
pub fn may_decide(caller: Caller<'_>) -> bool {
    caller.roles.contains(&Role::Admin) || caller.roles.contains(&Role::Triage)
}

/// Records a request by `actor` (an investigator of the unit holding `case_id`) for
/// `working_days` more, because `reason`.
#[allow(clippy::too_many_arguments)]
pub async fn request(
    tx: &mut dyn DerivedTx,
    clocks: Clocks<'_>,
    case_id: &str,
    working_days: i64,
    reason: &str,
    caller: Caller<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ExtensionRequest, WorkflowError> {
    let state = current(tx, clocks.routing, case_id)
        .await?
        .ok_or_else(|| WorkflowError::NotFound(case_id.to_string()))?;
    let flow: State = state
        .state
        .parse()
        .map_err(|e: String| WorkflowError::Corrupt(format!("case {case_id}: {e}")))?;
    let queue = state.queue_key.as_deref();
    if !is_holding_unit(caller, queue) {
        return Err(WorkflowError::Forbidden(
            "a 延期 is asked for by the unit holding the case".into(),
        ));
    }
    if !flow.with_unit() {
        return Err(WorkflowError::Invalid(format!(
            "a 延期 is asked for while a unit works on the case; it is `{flow}`"
        )));
    }
    if !(1..=MAX_WORKING_DAYS).contains(&working_days) {
        return Err(WorkflowError::Invalid(format!(
            "`working_days` is 1 to {MAX_WORKING_DAYS}"
        )));
    }
    if reason.trim().is_empty() {
        return Err(WorkflowError::Invalid("a 延期 says why (`reason`)".into()));
    }
    let pending = tx
        .case_extension_requests(case_id)
        .await?
        .into_iter()
        .any(|r| r.state == "requested");
    if pending {
        return Err(WorkflowError::Pending(case_id.to_string()));
    }
    if tx.stored_deadline(case_id).await?.is_none() {
        return Err(WorkflowError::Invalid(format!(
            "case {case_id} has no deadline"
        )));
    }
    let new = NewExtensionRequest {
        case_id: case_id.to_string(),
        requested_by: actor.to_string(),
        requested_at: format_utc(now),
        working_days,
        reason: reason.trim().to_string(),
    };
    let id = tx.add_extension_request(&new).await?;
    let detail = serde_json::json!({"request": id, "working_days": working_days,
        "reason": new.reason});
    audit(tx, actor, "case.extension_requested", case_id, detail, now).await?;
    Ok(ExtensionRequest {
        id,
        request: new,
        state: "requested".into(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
    })
}

/// Triage's decision on request `id` of `case_id`: approved moves the deadline by the working
/// days asked; denied needs a note.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut dyn DerivedTx,
    clocks: Clocks<'_>,
    case_id: &str,
    id: i64,
    approve: bool,
    note: Option<&str>,
    caller: Caller<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ExtensionRequest, WorkflowError> {
    if !may_decide(caller) {
        return Err(WorkflowError::Forbidden(
            "a 延期 is approved or denied by the complaint centre (admin or triage)".into(),
        ));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if !approve && note.is_none() {
        return Err(WorkflowError::Invalid("a denial says why (`note`)".into()));
    }
    let found = tx
        .case_extension_requests(case_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| WorkflowError::NotFound(format!("{case_id} extension request {id}")))?;
    let state = if approve { "approved" } else { "denied" };
    let at = format_utc(now);
    let who = actor.to_string();
    if !tx
        .decide_extension_request(id, state, &who, &at, note)
        .await?
    {
        return Err(WorkflowError::Decided {
            id,
            state: found.state,
        });
    }
    if approve {
        let extend = crate::notify::deadline::ExtendRequest {
            requested_by: found.request.requested_by.clone(),
            reason: found.request.reason.clone(),
            working_days: Some(u32::try_from(found.request.working_days).unwrap_or(1)),
            hours: None,
            until: None,
        };
        crate::notify::deadline::extend(tx, clocks.config, &clocks.calendar, case_id, &extend, now)
            .await
            .map_err(|e| WorkflowError::Invalid(e.to_string()))?;
    }
    let detail = serde_json::json!({"request": id, "working_days": found.request.working_days,
        "note": note});
    audit(
        tx,
        actor,
        &format!("case.extension_{state}"),
        case_id,
        detail,
        now,
    )
    .await?;
    Ok(ExtensionRequest {
        state: state.to_string(),
        decided_by: Some(who),
        decided_at: Some(at),
        decision_note: note.map(str::to_string),
        ..found
    })
}

async fn audit(
    tx: &mut dyn DerivedTx,
    actor: &Actor,
    action: &str,
    case_id: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    tx.append_audit(&[NewAuditEvent {
        at: format_utc(now),
        actor: actor.to_string(),
        action: action.to_string(),
        case_id: Some(case_id.to_string()),
        complaint_ids: Vec::new(),
        detail: detail.to_string(),
    }])
    .await?;
    Ok(())
}
