//! Classification and routing: every complaint gets a category (model, override rule or human
//! correction) and tags (rules), and its case gets a queue, a priority and the queues to
//! inform, from the routing table in `config/routing.toml`.
//!
//! Contract:
//! - Nothing is dropped: a case no rule matches, or whose category is a low-confidence guess
//!   with no tag to route it, goes to the triage queue.
//! - Every decision records why (model version and top 3 with scores, rule names, evidence).
//! - A human correction wins over rules and model, survives `reprocess` and is training data.
//! - Routing writes the facets category, tags, queue, priority and the statuses `triage` and
//!   `assigned`; `overdue`/`answered` and the deadline belong to the notify stage.
//! - Nothing here logs complaint text: it may contain personal data.
//!
//! Modules:
//! - [`config`]: the routing file (queues, tag rules, overrides, routing table), strict.
//! - [`rules`]: applying tag rules, overrides and the table (pure functions).
//! - [`decide`]: one complaint's decision (pure), shared by stage and API.
//! - [`write`]: a batch of decisions turned into the store's bulk writes.
//!
//! What routing keeps (classifications, case routes, routing events, corrections) is stored
//! through [`crate::store::routes`]; its records are re-exported here.

pub mod config;
pub mod correct;
pub mod decide;
pub mod rules;
pub mod write;

use std::path::{Path, PathBuf};

pub use crate::store::routes::{
    CaseRoute, ClassificationRecord, Correction, QueueCount, RouteEventRecord, TopLabel, Why,
};
pub use config::{AssignPolicy, QueueConfig, QueueInfo, RoutingConfig, RoutingConfigError};

use crate::classify::Example;
use crate::store::{Store, StoreError};

/// Directory of the classifier's model versions inside the data directory.
pub fn model_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// A case (or lone complaint) the classify-route stage just routed: the seam for the notify
/// stage, which drains [`crate::pipeline::ClassifyRouteStage::routed_cases`] inside the same
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedCase {
    /// The case id, or the complaint id when the complaint belongs to no case.
    pub route_key: String,
    pub case_id: Option<String>,
    /// The complaint whose arrival caused this routing.
    pub complaint_id: String,
    /// Queue key (see [`RoutingConfig::queue`]).
    pub queue: String,
    /// `urgent`, `high`, `normal` or `low`.
    pub priority: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    /// Queues informed without owning the case.
    pub informed: Vec<String>,
    /// The route rule that decided (`correction` when a human did).
    pub rule: String,
    /// The queue that rule declares the complaint to be about (`subject` in the routing file).
    pub subject: Option<String>,
    /// The case is new to this queue (first routing or a re-route): tell the queue.
    pub is_new_assignment: bool,
    /// The complaint joined the case with this batch (not a re-delivery or revision).
    pub new_member: bool,
}

/// Corrected categories as training examples (`classifier train --include-corrections`), in
/// the complaints' order.
pub async fn correction_examples(store: &Store) -> Result<Vec<Example>, StoreError> {
    Ok(store
        .corrected_examples()
        .await?
        .into_iter()
        .map(|corrected| Example {
            external_id: corrected.external_id,
            title: corrected.title,
            body: corrected.body,
            label: corrected.category,
        })
        .collect())
}

#[cfg(test)]
mod tests;
