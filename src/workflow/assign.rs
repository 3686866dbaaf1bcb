//! Inside a unit: which investigator an accepted case goes to, by the queue's policy
//! ([`AssignPolicy`]): the fewest open cases, in turn, or whoever accepted. Members marked away
//! are skipped; with nobody available, whoever accepted works on it (when they are an
//! investigator of the unit).

use super::machine::State;
use crate::routing::{AssignPolicy, RoutingConfig};
use crate::store::workflow::QueueInvestigator;
use crate::store::{DerivedTx, StoreError};

/// The states in which a case counts as open work of its assignee.
pub const OPEN_STATES: [&str; 4] = [
    State::Assigned.as_str(),
    State::Accepted.as_str(),
    State::Investigating.as_str(),
    State::Reopened.as_str(),
];

/// The investigator of `queue` who works on a case `accepter` accepts now.
pub async fn choose(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    queue: &str,
    accepter: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let policy = routing
        .queue(queue)
        .map_or(AssignPolicy::Accepter, |q| q.assign);
    let members = tx.queue_investigators(queue).await?;
    let fallback = accepter
        .filter(|a| members.iter().any(|m| m.name == *a))
        .map(str::to_string);
    let available: Vec<&QueueInvestigator> = members.iter().filter(|m| !m.away).collect();
    if available.is_empty() || policy == AssignPolicy::Accepter {
        return Ok(fallback);
    }
    let chosen = match policy {
        AssignPolicy::LeastOpen => {
            let load = tx.queue_workload(queue, &OPEN_STATES).await?;
            let open = |name: &str| {
                load.iter()
                    .find(|w| w.assignee.as_deref() == Some(name))
                    .map_or(0, |w| w.open_cases)
            };
            available
                .iter()
                .min_by_key(|m| (open(&m.name), Some(m.name.as_str()) != accepter, &m.name))
                .map(|m| m.name.clone())
        }
        AssignPolicy::RoundRobin => {
            let key = format!("workflow.round_robin.{queue}");
            let last = tx.state(&key).await?;
            let next = available
                .iter()
                .find(|m| last.as_deref().is_none_or(|l| m.name.as_str() > l))
                .or_else(|| available.first())
                .map(|m| m.name.clone());
            if let Some(name) = &next {
                tx.set_state(&key, name).await?;
            }
            next
        }
        AssignPolicy::Accepter => unreachable!("answered above"),
    };
    Ok(chosen.or(fallback))
}
