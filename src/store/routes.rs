//! The store's operations on routes: classification results (why each complaint got its
//! category and tags), the route of each case, the routing event trail, human corrections and
//! the open work per queue. Classifications, case routes and events are derived (a full
//! reprocess rebuilds them); corrections are staff decisions and are never reset.
//!
//! Deciding is routing's business (`crate::routing`); the store keeps what was decided.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::subjects::{CaseSubject, NewSubject, SubjectRemoval};

/// One of the model's best labels, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopLabel {
    pub label: String,
    /// Calibrated probability.
    pub probability: f32,
    /// Raw one-vs-rest margin.
    pub score: f32,
}

/// A tag with the rule evidence that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagHit {
    pub tag: String,
    /// What matched: `keyword 审批`, `channel media`, `target_unit 城管`, `regex /…/`.
    pub evidence: String,
}

/// Where a case goes, and which rule said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDecision {
    /// Route rule name, or `triage (no rule matched)`.
    pub rule: String,
    pub queue: String,
    pub priority: String,
    pub informed: Vec<String>,
    /// The queue the rule declares the complaint to be about (its unit never sees who
    /// complained); recorded as a subject of the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Why a complaint got its category, tags and route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Why {
    /// Each tag with the evidence that set it.
    pub tag_hits: Vec<TagHit>,
    /// Tags that come from the case rather than this complaint's text (e.g. `repeat`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub case_tags: Vec<String>,
    /// The category override rule that applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_override: Option<String>,
    /// The route of the complaint's case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteDecision>,
    /// Set when a human correction decided.
    #[serde(default)]
    pub corrected: bool,
}

/// A complaint's classification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationRecord {
    pub complaint_id: String,
    /// Case id, or the complaint id when it belongs to no case.
    pub route_key: String,
    pub model_version: Option<u32>,
    pub category: Option<String>,
    /// `model`, `override`, `correction` or `none`.
    pub category_source: String,
    pub confidence: Option<f32>,
    pub low_confidence: bool,
    pub top: Vec<TopLabel>,
    pub tags: Vec<String>,
    /// Names of the rules that fired (tag rules, override, route).
    pub rules: Vec<String>,
    pub why: Why,
    pub classified_at: String,
}

/// A human correction; every field left `None` keeps the automatic decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Correction {
    pub category: Option<String>,
    pub tags: Option<Vec<String>>,
    pub queue: Option<String>,
    pub priority: Option<String>,
    pub note: Option<String>,
    pub corrected_by: Option<String>,
    #[serde(default)]
    pub corrected_at: String,
}

/// The route of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRoute {
    pub route_key: String,
    pub queue: String,
    pub priority: String,
    pub informed: Vec<String>,
    pub category: Option<String>,
    pub category_confident: bool,
    pub tags: Vec<String>,
    pub rule: String,
    pub pinned: bool,
    pub complaints: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A row of the routing audit trail, to append.
#[derive(Debug, Clone)]
pub struct RouteEvent {
    pub route_key: String,
    pub complaint_id: String,
    /// `assigned`, `rerouted`, `member_added`, `reclassified` or `corrected`.
    pub kind: &'static str,
    pub queue: String,
    pub priority: String,
    pub detail: serde_json::Value,
    pub at: String,
}

/// A row of the routing audit trail, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteEventRecord {
    /// Order of appending.
    pub id: i64,
    pub route_key: String,
    pub complaint_id: Option<String>,
    pub kind: String,
    pub queue: Option<String>,
    pub priority: Option<String>,
    pub detail: serde_json::Value,
    pub at: String,
}

/// A corrected category with its complaint's text: a training example.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectedExample {
    pub external_id: String,
    pub title: Option<String>,
    pub body: String,
    /// The category staff chose.
    pub category: String,
}

/// The open work of one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCount {
    pub queue: String,
    /// Distinct cases (a complaint outside any case counts as its own).
    pub open_cases: i64,
    /// Their complaints.
    pub open_complaints: i64,
}

/// The facets every member of a case shares (tags, queue, informed queues, priority, status),
/// to set on its members (see [`RouteWrites::set_route_facets`]).
#[derive(Debug, Clone)]
pub struct RouteFacets<'a> {
    /// The case's route key: without `only`, every complaint classified under it gets the
    /// values.
    pub route_key: &'a str,
    /// Set only these complaints rather than every member of the case.
    pub only: Option<Vec<&'a str>>,
    /// Space-separated tag names.
    pub tags: String,
    pub queue: &'a str,
    /// Space-separated keys of the queues informed of the case.
    pub informed: String,
    pub priority: &'a str,
    /// Routing's status: `triage` or `assigned`.
    pub status: &'a str,
    /// The case moved to a new queue: the status replaces any other stage's status.
    pub new_assignment: bool,
}

/// Reads (on the store).
#[async_trait]
pub trait RouteReads: Send + Sync {
    /// The classification of a complaint.
    async fn classification(
        &self,
        complaint_id: &str,
    ) -> Result<Option<ClassificationRecord>, StoreError>;

    /// The route of a case (or of a complaint outside any case) by route key.
    async fn case_route(&self, route_key: &str) -> Result<Option<CaseRoute>, StoreError>;

    /// The correction of a complaint, if staff made one.
    async fn correction(&self, complaint_id: &str) -> Result<Option<Correction>, StoreError>;

    /// The routing events of a route key, oldest first.
    async fn route_events(&self, route_key: &str) -> Result<Vec<RouteEventRecord>, StoreError>;

    /// Every correction that sets a category, with its complaint's current text, in the
    /// complaints' sequence order (`classifier train --include-corrections`).
    async fn corrected_examples(&self) -> Result<Vec<CorrectedExample>, StoreError>;

    /// Open cases and their complaints per queue, by the facets: a complaint counts while it
    /// has a queue and its status is neither `answered` nor `closed`; its case is its route
    /// key (else its `case_id` facet, else itself). Queues with no open work are absent.
    async fn open_counts_by_queue(&self) -> Result<Vec<QueueCount>, StoreError>;

    /// The subjects recorded on a case (removed ones too), by queue key.
    async fn case_subjects(&self, case_id: &str) -> Result<Vec<CaseSubject>, StoreError>;
}

/// Writes (inside a [`super::DerivedTx`]), and the reads a decision makes in the same
/// transaction (they see its writes).
#[async_trait]
pub trait RouteWrites: Send {
    /// The classification of a complaint, as this transaction sees it.
    async fn classification(
        &mut self,
        complaint_id: &str,
    ) -> Result<Option<ClassificationRecord>, StoreError>;

    /// The route of a case, as this transaction sees it.
    async fn case_route(&mut self, route_key: &str) -> Result<Option<CaseRoute>, StoreError>;

    /// The corrections of these complaints, by complaint id (absent: none).
    async fn corrections(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<HashMap<String, Correction>, StoreError>;

    /// The route key each of these complaints is classified under, by complaint id (absent:
    /// not classified).
    async fn previous_route_keys(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError>;

    /// The routes of these cases, by route key (absent: not routed yet).
    async fn case_routes(
        &mut self,
        route_keys: &[&str],
    ) -> Result<HashMap<String, CaseRoute>, StoreError>;

    /// Records a correction, replacing an earlier one of the same complaint.
    async fn save_correction(
        &mut self,
        complaint_id: &str,
        correction: &Correction,
    ) -> Result<(), StoreError>;

    /// Inserts or replaces case routes by route key (`created_at` of a route already stored
    /// is kept; everything else is replaced). For a key given twice the later route wins.
    async fn upsert_case_routes(&mut self, routes: &[&CaseRoute]) -> Result<(), StoreError>;

    /// Inserts or replaces classifications by complaint id; for a complaint given twice the
    /// later record wins.
    async fn upsert_classifications(
        &mut self,
        records: &[&ClassificationRecord],
    ) -> Result<(), StoreError>;

    /// Appends events to the routing audit trail, in order.
    async fn add_route_events(&mut self, events: &[&RouteEvent]) -> Result<(), StoreError>;

    /// Sets each case's shared facets (tags, queue, informed, priority, status) on its members: every
    /// complaint classified under its route key, or only the complaints it names. Routing owns
    /// the statuses `triage` and `assigned`: another status (`overdue`, `answered`, …) is
    /// replaced only when `new_assignment` is set. The complaints whose facets changed are
    /// queued for re-indexing.
    async fn set_route_facets(&mut self, cases: &[RouteFacets<'_>]) -> Result<(), StoreError>;

    /// The subjects recorded on these cases (removed ones too), by case id (absent: none).
    async fn cases_subjects(
        &mut self,
        case_ids: &[&str],
    ) -> Result<HashMap<String, Vec<CaseSubject>>, StoreError>;

    /// Records subjects found automatically; a unit already recorded on the case (active or
    /// removed by staff) is left as it is. Returns how many were new.
    async fn record_subjects(&mut self, subjects: &[NewSubject<'_>]) -> Result<usize, StoreError>;

    /// Records a subject staff named: a new row, or a removed one made active again with the
    /// new origin, author, time and note. Returns `false` when it was already active
    /// (nothing changed).
    async fn name_subject(&mut self, subject: &NewSubject<'_>) -> Result<bool, StoreError>;

    /// Marks a subject removed (see [`SubjectRemoval`]). Returns `false` when there was no
    /// active subject to remove.
    async fn remove_subject(&mut self, removal: &SubjectRemoval<'_>) -> Result<bool, StoreError>;

    /// Forgets derived routing data before a full reprocess: classifications, case routes,
    /// every event but `corrected` ones and the active subjects found automatically.
    /// Corrections, staff subjects and removals stay.
    async fn reset_routing(&mut self) -> Result<(), StoreError>;
}
