//! One transition as a whole: its decision transaction, and what else it changes with it. An
//! `assign` to a queue other than the case's route is a person's routing decision: it is saved
//! as a correction of the case's founding complaint (so the route, search, the queues' counts
//! and who may see the case follow at once, and `reprocess` keeps it), in the same
//! transaction as the transition.

use chrono::{DateTime, Utc};

use super::clocks::Clocks;
use super::machine::{Action, Caller};
use super::transition::{Details, Outcome, WorkflowError, take};
use crate::people::Actor;
use crate::routing::Correction;
use crate::routing::correct::apply_correction;
use crate::store::{DerivedTx, Store, format_utc};

/// Takes `action` on `case_id` for `caller` (recorded as `actor`) at `now` and commits it.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: &Store,
    clocks: Clocks<'_>,
    case_id: &str,
    action: Action,
    details: &Details,
    caller: Caller<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Outcome, WorkflowError> {
    // What a re-route needs is read before the write lock is taken.
    let reroute = match (action, details.queue.as_deref().map(str::trim)) {
        (Action::Assign, Some(queue)) if !queue.is_empty() => {
            let route = store.case_route(case_id).await?;
            if route.as_ref().is_some_and(|r| r.queue == queue) {
                None
            } else {
                let founding = store.complaint(case_id).await?;
                let earlier = match &founding {
                    Some(c) => store.correction(&c.id).await?,
                    None => None,
                };
                founding.map(|c| (c, earlier, queue.to_string()))
            }
        }
        _ => None,
    };
    let routing = clocks.routing;
    let mut tx = store.begin_decision().await?;
    let outcome = take(
        &mut *tx, routing, case_id, action, details, caller, actor, now,
    )
    .await?;
    if let Some((complaint, earlier, queue)) = reroute {
        let correction = Correction {
            queue: Some(queue),
            note: details.note.clone(),
            corrected_by: Some(actor.to_string()),
            corrected_at: format_utc(now),
            ..earlier.unwrap_or_default()
        };
        apply_correction(&mut *tx, routing, &complaint, correction, &format_utc(now)).await?;
    }
    follow_step(
        &mut *tx, clocks, case_id, action, details, &outcome, actor, now,
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// What follows a step taken in `tx`: the deadline follows it, and search filters by the
/// step's state at once.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn follow_step(
    tx: &mut dyn DerivedTx,
    clocks: Clocks<'_>,
    case_id: &str,
    action: Action,
    details: &Details,
    outcome: &Outcome,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let reason = match action {
        Action::Answer => details.reply.clone().unwrap_or_default(),
        Action::Merge => details.merged_into.clone().unwrap_or_default(),
        _ => outcome.state.note.clone().unwrap_or_default(),
    };
    let queue = outcome.state.queue_key.as_deref();
    let who = actor.to_string();
    clocks
        .follow(tx, case_id, action, outcome.from, queue, &who, &reason, now)
        .await?;
    let state = Some(outcome.state.state.as_str());
    crate::notify::set_case_status_facet(tx, case_id, case_id, state).await?;
    Ok(())
}
