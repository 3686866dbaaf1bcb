//! Writing routing decisions: a batch of the pipeline (hundreds of complaints) becomes a
//! handful of store writes — case routes, audit events, classifications, the category facet of
//! each complaint and the shared facets of each case's members — each of which the store makes
//! in a few statements. One statement per row made routing the slowest part of an import.
//!
//! Decisions are written in the order given; for a case routed several times in the batch
//! the last route is the case's, and the facets of its members are set once, to the final
//! values (the same state the decisions would leave written one by one).

use std::collections::HashMap;

use super::decide::Decided;
use crate::store::facets::Facet;
use crate::store::routes::{CaseRoute, ClassificationRecord, RouteEvent, RouteFacets};
use crate::store::{DerivedTx, StoreError};

/// Writes `decided` (in order) and sets the facets they imply.
pub async fn write_decisions(
    tx: &mut dyn DerivedTx,
    decided: &[Decided],
) -> Result<(), StoreError> {
    if decided.is_empty() {
        return Ok(());
    }
    // The last route of each case, in order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    let mut last: HashMap<&str, &Decided> = HashMap::new();
    let mut moved: HashMap<&str, bool> = HashMap::new();
    let mut changed: HashMap<&str, bool> = HashMap::new();
    let mut arrived: HashMap<&str, Vec<&str>> = HashMap::new();
    for d in decided {
        let key = d.route.route_key.as_str();
        if last.insert(key, d).is_none() {
            order.push(key);
        }
        *moved.entry(key).or_default() |= d.routed.is_new_assignment;
        *changed.entry(key).or_default() |= d.case_facets_changed;
        arrived.entry(key).or_default().push(&d.record.complaint_id);
    }
    let routes: Vec<&CaseRoute> = order.iter().map(|k| &last[k].route).collect();
    tx.upsert_case_routes(&routes).await?;
    let events: Vec<&RouteEvent> = decided.iter().map(|d| &d.event).collect();
    tx.add_route_events(&events).await?;
    let records: Vec<&ClassificationRecord> = decided.iter().map(|d| &d.record).collect();
    tx.upsert_classifications(&records).await?;
    let categories: Vec<(&str, Option<&str>)> = decided
        .iter()
        .map(|d| (d.record.complaint_id.as_str(), d.record.category.as_deref()))
        .collect();
    tx.set_facet_many(Facet::Category, &categories).await?;
    let cases: Vec<RouteFacets> = order
        .iter()
        .map(|k| {
            let d = last[k];
            RouteFacets {
                route_key: k,
                // Unchanged case facets are already on the earlier members.
                only: (!changed[k] && !moved[k]).then(|| arrived[k].clone()),
                tags: d.route.tags.join(" "),
                queue: &d.route.queue,
                informed: d.route.informed.join(" "),
                priority: &d.route.priority,
                status: d.status,
                new_assignment: moved[k],
            }
        })
        .collect();
    tx.set_route_facets(&cases).await
}
