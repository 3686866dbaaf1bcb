//! Cases in the store: which complaints belong together, why, and what staff decided.
//!
//! # Contract
//! - `cases` and `case_members` are derived by the grouping stage
//!   ([`crate::pipeline::GroupingStage`]) and rebuilt by `reprocess`; `case_decisions` (staff
//!   merges and splits: who, when, why) and `case_status` are human data and are never
//!   cleared. A reprocess replays the decisions as pins, so it never undoes them.
//! - A case is named after its founding complaint (the grouping engine's [`CaseKey`]), so its
//!   id survives a reprocess and its status stays attached.
//! - Staff changes apply to the store at once ([`staff`]); the grouping stage notices the new
//!   decision before its next batch and applies it to its in-memory engine.
//! - Never stores or logs a complainant's phone, id or email: members keep a keyed hash.
//!
//! Modules: [`write`] (the stage's writes), [`read`] (listing, detail, hot issues),
//! [`staff`] (merge, split, status). The statements are the store's
//! ([`crate::store::cases`]); these modules decide what to read and write.
//!
//! [`CaseKey`]: crate::grouping::CaseKey

pub mod read;
pub mod staff;
pub mod write;

use serde::Serialize;

use crate::grouping::GroupingReason;
use crate::store::StoreError;
pub use crate::store::cases::CaseSummary;

/// Case errors.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No case (or complaint) with this id.
    #[error("case `{0}` not found")]
    NotFound(String),
    /// The request cannot be applied.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored case data is corrupt: {0}")]
    Corrupt(String),
}

/// Working statuses staff can give a case.
pub const STATUSES: &[&str] = &["open", "investigating", "answered", "closed"];

/// One complaint of a case.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CaseMember {
    pub complaint_id: String,
    pub channel: String,
    pub source: String,
    /// RFC 3339.
    pub submitted_at: String,
    pub title: Option<String>,
    /// The first characters of the complaint's text.
    pub snippet: String,
    /// Why the complaint is in this case.
    #[schema(value_type = Object)]
    pub why: GroupingReason,
}

/// A staff decision as recorded.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DecisionRecord {
    /// `merge` or `split_out` with the complaints concerned.
    #[schema(value_type = Object)]
    pub decision: serde_json::Value,
    pub actor: String,
    pub why: String,
    /// RFC 3339.
    pub decided_at: String,
}

/// A case with its members and the staff decisions about them.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseSummary,
    /// Members, earliest first.
    pub members: Vec<CaseMember>,
    /// Staff decisions naming any of its members, oldest first.
    pub decisions: Vec<DecisionRecord>,
    /// The units the case is about, with where each was found (`target_unit`, `text`,
    /// `rule`, `staff`); removed ones carry who removed them. Their investigators never see
    /// who complained.
    pub subjects: Vec<crate::store::subjects::CaseSubject>,
}

/// Characters of a member's text shown as its snippet.
pub const SNIPPET_CHARS: usize = 120;

/// The first `max` characters of `text`, with an ellipsis when cut.
pub fn snippet(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}
