//! How cases enter and move in the workflow without a person: the pipeline's assignment stage
//! records what routing decided, in the batch's transaction, as `system:assign`.
//!
//! - A case new to the workflow enters `assigned` to its unit's queue (that is the 交办), or
//!   `new` when routing sends it to the triage queue.
//! - Routing moving a case to another unit's queue (a correction, a rule change through
//!   `reprocess`) while it waits in triage or a unit holds it is a reassignment (`assign`).
//!   A move to the triage queue leaves a unit's case where it is: taking a case back from a
//!   unit is the centre's decision (or the unit's 退单).
//! - Answered, closed and merged cases stay as they are, except that a live complaint joining
//!   a case loaded as history (closed) reopens it for the unit routing names.
//! - A case loaded as history enters `closed`.
//!
//! These transitions are in `case_transitions` like any other; they are not in the audit
//! chain (one per routed case would make the chain as long as the archive), where people's
//! decisions are.

use chrono::{DateTime, Utc};

use super::machine::State;
use super::transition::{WorkflowError, initial};
use crate::routing::RoutingConfig;
use crate::store::workflow::{CaseState, NewTransition};
use crate::store::{DerivedTx, format_utc};

/// Who these transitions are recorded under.
pub const ACTOR: &str = "system:assign";

/// Records that routing sent `case_id` to `queue` at `at`, as decided by `actor` (the
/// pipeline's [`ACTOR`], or the person whose correction moved it; see the module
/// documentation). Returns whether the case moved to another holder (its clock follows).
pub async fn routed(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    case_id: &str,
    queue: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    let triage = routing.triage_queue();
    let Some(before) = tx.case_state(case_id).await? else {
        let mut state = initial(case_id, Some(queue.to_string()), routing);
        stamp(&mut state, actor, at);
        tx.put_case_state(&state, None).await?;
        if state.state == State::Assigned.as_str() {
            let step = (State::New, State::Assigned);
            record(tx, case_id, "assign", step, queue, actor, at).await?;
        }
        return Ok(false);
    };
    if before.queue_key.as_deref() == Some(queue) {
        return Ok(false);
    }
    let from = parse(&before)?;
    let (action, to) = match from {
        State::New | State::Triaged | State::Returned if queue != triage => {
            ("assign", State::Assigned)
        }
        from if from.with_unit() && queue != triage => ("assign", State::Assigned),
        _ => return Ok(false),
    };
    move_to(tx, before, to, queue, actor, at).await?;
    record(tx, case_id, action, (from, to), queue, actor, at).await?;
    Ok(true)
}

/// Records that a live complaint joined `case_id`, loaded as history, and routing sends it to
/// `queue`: a closed case is reopened for that unit (a case not closed is left to
/// [`routed`]).
pub async fn reopened_by_live(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    case_id: &str,
    queue: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    match tx.case_state(case_id).await? {
        Some(before) if before.state == State::Closed.as_str() => {
            move_to(tx, before, State::Reopened, queue, ACTOR, at).await?;
            let step = (State::Closed, State::Reopened);
            record(tx, case_id, "reopen", step, queue, ACTOR, at).await
        }
        _ => routed(tx, routing, case_id, queue, ACTOR, at)
            .await
            .map(|_| ()),
    }
}

fn parse(state: &CaseState) -> Result<State, WorkflowError> {
    state
        .state
        .parse()
        .map_err(|e: String| WorkflowError::Corrupt(format!("case {}: {e}", state.case_id)))
}

fn stamp(state: &mut CaseState, actor: &str, at: DateTime<Utc>) {
    state.updated_at = format_utc(at);
    state.updated_by = actor.to_string();
}

async fn move_to(
    tx: &mut dyn DerivedTx,
    before: CaseState,
    to: State,
    queue: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let expected = Some(before.version);
    let mut after = CaseState {
        state: to.as_str().to_string(),
        queue_key: Some(queue.to_string()),
        assignee: None,
        note: None,
        ..before
    };
    stamp(&mut after, actor, at);
    tx.put_case_state(&after, expected).await?;
    Ok(())
}

async fn record(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    action: &str,
    (from, to): (State, State),
    queue: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let by = if actor == ACTOR {
        "routing"
    } else {
        "correction"
    };
    tx.append_transition(&NewTransition {
        case_id: case_id.to_string(),
        action: action.to_string(),
        from_state: from.as_str().to_string(),
        to_state: to.as_str().to_string(),
        actor: actor.to_string(),
        at: format_utc(at),
        detail: serde_json::json!({"queue": queue, "by": by}),
    })
    .await?;
    Ok(())
}

/// Records a staff merge: `away` ends `merged`, linked to `into` (a case already merged stays
/// as it is).
pub async fn merged(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    away: &str,
    into: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let Some(before) = super::transition::current(tx, routing, away).await? else {
        return Ok(());
    };
    let from = parse(&before)?;
    if from == State::Merged {
        return Ok(());
    }
    let expected = (before.version > 0).then_some(before.version);
    let mut after = CaseState {
        state: State::Merged.as_str().to_string(),
        merged_into: Some(into.to_string()),
        ..before
    };
    stamp(&mut after, actor, at);
    tx.put_case_state(&after, expected).await?;
    tx.append_transition(&NewTransition {
        case_id: away.to_string(),
        action: "merge".into(),
        from_state: from.as_str().to_string(),
        to_state: State::Merged.as_str().to_string(),
        actor: actor.to_string(),
        at: format_utc(at),
        detail: serde_json::json!({"merged_into": into}),
    })
    .await?;
    Ok(())
}

/// Records a staff split: the split-out case starts in triage (`new`), whatever the case it
/// left was doing.
pub async fn split_out(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    case_id: &str,
    from_case: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let before = tx.case_state(case_id).await?;
    let from = match &before {
        Some(state) => parse(state)?,
        None => State::New,
    };
    let expected = before.as_ref().map(|b| b.version);
    let mut state = CaseState {
        case_id: case_id.to_string(),
        state: State::New.as_str().to_string(),
        queue_key: Some(routing.triage_queue().to_string()),
        assignee: None,
        merged_into: None,
        note: Some(format!("split out of case {from_case}")),
        updated_at: String::new(),
        updated_by: String::new(),
        version: 0,
    };
    stamp(&mut state, actor, at);
    tx.put_case_state(&state, expected).await?;
    tx.append_transition(&NewTransition {
        case_id: case_id.to_string(),
        action: "split_out".into(),
        from_state: from.as_str().to_string(),
        to_state: State::New.as_str().to_string(),
        actor: actor.to_string(),
        at: format_utc(at),
        detail: serde_json::json!({"from_case": from_case}),
    })
    .await?;
    Ok(())
}

/// Records that the members left in `old` after a split now form case `new` (the founder was
/// split out, and a case is named after its founder): `new` takes over where `old` stood.
pub async fn renamed(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    old: &str,
    new: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let Some(before) = super::transition::current(tx, routing, old).await? else {
        return Ok(());
    };
    let expected = tx.case_state(new).await?.map(|s| s.version);
    let mut state = CaseState {
        case_id: new.to_string(),
        ..before.clone()
    };
    stamp(&mut state, actor, at);
    tx.put_case_state(&state, expected).await?;
    tx.append_transition(&NewTransition {
        case_id: new.to_string(),
        action: "renamed".into(),
        from_state: before.state.clone(),
        to_state: before.state,
        actor: actor.to_string(),
        at: format_utc(at),
        detail: serde_json::json!({"from_case": old}),
    })
    .await?;
    Ok(())
}
