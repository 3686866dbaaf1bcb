//! Closing the cases of an archive load (`import --historical`) in bulk: the states a batch
//! needs read at once, every case it closes closed in a few statements
//! ([`crate::store::workflow::WorkflowWrites::close_history`]), the `status` facet set on their
//! complaints in one. One case at a time cost about ten statements a case, the largest stage
//! of an archive load.

use std::collections::HashSet;

use crate::routing::RoutedCase;
use crate::store::DerivedTx;
use crate::store::facets::Facet;
use crate::store::workflow::{HistoryClose, HistoryCloses};
use crate::workflow::{self, State};

use super::PipelineError;

/// Why a case loaded as history is closed (its state's note and its status's reason).
const HISTORICAL_WHY: &str = "historical import: answered elsewhere, long ago";

/// Closes the cases of `history` (routed complaints of an archive load whose case no live
/// complaint has given a deadline): a case closed before only gives its newcomer the `closed`
/// facet; any other gets the `closed` status (and, without a workflow state, the state
/// `closed` and its `close` transition), and every member the facet.
pub(super) async fn close(
    tx: &mut dyn DerivedTx,
    history: &[&RoutedCase],
    status_actor: &str,
) -> Result<(), PipelineError> {
    if history.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<&str> = history.iter().map(|c| c.route_key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let states = tx.case_states(&keys).await?;
    let closed = State::Closed.as_str();
    let mut closing: Vec<HistoryClose> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for case in history {
        let closed_before = states
            .get(&case.route_key)
            .is_some_and(|s| s.state == closed);
        if closed_before || !seen.insert(&case.route_key) {
            continue;
        }
        closing.push(HistoryClose {
            case_id: case.route_key.clone(),
            queue: case.queue.clone(),
            detail: serde_json::json!({"queue": case.queue, "by": "routing"}),
            status_case: case.case_id.clone(),
        });
    }
    let at = crate::store::format_utc(chrono::Utc::now());
    tx.close_history(&HistoryCloses {
        cases: &closing,
        state: closed,
        note: HISTORICAL_WHY,
        actor: workflow::entry::ACTOR,
        at: &at,
        action: "close",
        from_state: State::New.as_str(),
        status: "closed",
        status_actor,
        status_why: HISTORICAL_WHY,
    })
    .await?;
    // The facet: every member of a case closed now, and each newcomer.
    let closing_keys: Vec<&str> = closing.iter().map(|c| c.case_id.as_str()).collect();
    let newcomers: Vec<&str> = history.iter().map(|c| c.complaint_id.as_str()).collect();
    crate::notify::set_cases_facet(tx, &closing_keys, &newcomers, Facet::Status, Some(closed))
        .await?;
    Ok(())
}
