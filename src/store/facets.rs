//! Facets: the derived attributes of a complaint that search filters on and export shows
//! (case, category, tags, queue, informed queues, priority, status, deadline). Pipeline stages set the facets
//! they own with `DerivedTx::set_facets`, inside their batch transaction; a change queues the complaint
//! for re-indexing, so search follows derived data as it follows new complaints.

use serde::Serialize;

/// The facets of one complaint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Facets {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Queues informed of the complaint's case (its route's `informed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub informed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
}

/// One facet column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    CaseId,
    DuplicateOf,
    Category,
    /// Space-separated tag names.
    Tags,
    Queue,
    /// Space-separated queue keys.
    Informed,
    Priority,
    Status,
    Deadline,
}
