//! The engine's inputs and outputs: one complaint in, one assignment with its reason out.

use chrono::{DateTime, Utc};
use connectors::Channel;
use serde::{Deserialize, Serialize};

/// One complaint as the grouping engine sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintInput {
    /// Stable id of the complaint in the store; cases are named after their first complaint's id.
    pub complaint_id: String,
    /// `connectors::text::normalize(title + "\n" + body)`: NFKC, Simplified, whitespace collapsed.
    pub text: String,
    /// The title as received (may be empty). Used to tell a repost with a new title from a new
    /// complaint: its body is compared on its own.
    pub title: String,
    /// When the complainant submitted it: the store's effective time, so the received time for
    /// a future-dated complaint (the engine's clock follows the latest time it sees, and one
    /// item must not move it for all; see `store::effective_time`).
    pub submitted_at: DateTime<Utc>,
    /// The channel it came from.
    pub channel: Channel,
    /// Keyed hashes of the complainant's phone, id number and email; never the values
    /// themselves. Empty for anonymous complaints.
    pub complainant_keys: Vec<String>,
    /// District from the item's `location.district`, when the channel gave one.
    pub district: Option<String>,
    /// Likes, signatures or co-signers reported by the channel.
    pub public_support: Option<u64>,
    /// True for news-media items and complaints tagged `media_exposed`.
    pub media_exposed: bool,
}

/// Name of a case: the id of the complaint that founded it.
///
/// A case keeps its key as long as its founding complaint stays in it, so the store can match
/// the cases of a `reprocess` run to the stored ones by key. When staff merge two cases the
/// merged case keeps the key of the one founded first; when staff split the founding complaint
/// out, the rest of the case takes the key of its earliest remaining complaint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseKey(pub String);

impl std::fmt::Display for CaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a complaint went where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The same text (punctuation and spacing aside), or the same body under a new title.
    Exact,
    /// A repost or an edited copy: estimated shingle Jaccard similarity above the threshold.
    NearDuplicate,
    /// The same complainant again, about the same thing in other words.
    SameComplainant,
    /// Another complaint about the same problem at the same place, in other words.
    SameIssue,
    /// Placed by a staff decision (merge or split), which automatic grouping never undoes.
    Pinned,
    /// Nothing matched: the complaint founds a new case.
    New,
}

impl MatchKind {
    /// The lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::NearDuplicate => "near_duplicate",
            MatchKind::SameComplainant => "same_complainant",
            MatchKind::SameIssue => "same_issue",
            MatchKind::Pinned => "pinned",
            MatchKind::New => "new",
        }
    }
}

/// The explanation recorded with every assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupingReason {
    /// What kind of match decided.
    pub kind: MatchKind,
    /// The deciding score: estimated Jaccard similarity for duplicates, the same-issue score
    /// otherwise, 1.0 for exact and pinned, 0.0 for new.
    pub score: f32,
    /// The complaint it matched, when one did (`duplicate_of` for exact and near duplicates).
    pub matched_complaint_id: Option<String>,
    /// Named places both share, as written in this complaint.
    pub shared_places: Vec<String>,
    /// The most distinctive problem terms both share, as written in this complaint.
    pub shared_terms: Vec<String>,
}

/// Where one complaint went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The complaint.
    pub complaint_id: String,
    /// The case it now belongs to.
    pub case: CaseKey,
    /// True when this complaint founded the case.
    pub created_case: bool,
    /// Why.
    pub reason: GroupingReason,
}

impl Assignment {
    /// The complaint this one duplicates, for the export's `duplicate_of` column.
    pub fn duplicate_of(&self) -> Option<&str> {
        match self.reason.kind {
            MatchKind::Exact | MatchKind::NearDuplicate => {
                self.reason.matched_complaint_id.as_deref()
            }
            _ => None,
        }
    }
}
