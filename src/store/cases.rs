//! The store's operations on cases: grouping's members, staff decisions (merge, split, status),
//! case reads.
//!
//! The store keeps what the domain computes and gives it back as records; the grouping reason
//! and a staff decision are the domain's values, kept as JSON text the store does not read.
//! What a case is (its title, its channels, who may decide what) is decided by the cases
//! module above the store; only the statements live here.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors::Item;
use serde::Serialize;

use super::StoreError;

/// One case, as listed.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CaseSummary {
    /// Case id: the id of its founding complaint.
    pub id: String,
    /// Representative title: the founding complaint's title (or the start of its text).
    pub title: String,
    /// Number of complaints.
    pub complaints: i64,
    /// Distinct complainants (an anonymous complaint counts as one).
    pub complainants: i64,
    /// Channels the complaints came from.
    pub channels: Vec<String>,
    /// Earliest `submitted_at` (RFC 3339, UTC).
    pub first_seen: String,
    /// Latest `submitted_at` (RFC 3339, UTC).
    pub last_seen: String,
    /// Working status (`open` unless set; only a historical import sets it now: the
    /// workflow's `state` replaces it).
    pub status: String,
    /// Where the case stands in the workflow (`assigned`, `accepted`, …; `null` for a case the
    /// workflow has not recorded yet).
    pub state: Option<String>,
    /// The queue holding the case (the workflow's, else its route's).
    pub queue: Option<String>,
    /// The investigator working on it.
    pub assignee: Option<String>,
    /// `urgent`, `high`, `normal`, `low` (the deadline's, else the route's).
    pub priority: Option<String>,
    /// Answer by (RFC 3339, the working day's offset), when the case has a deadline.
    pub due_at: Option<String>,
    /// Accept by (签收时限).
    pub accept_due_at: Option<String>,
    /// The deadline is open and past.
    pub overdue: bool,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSort {
    /// Most recently active first.
    #[default]
    Recent,
    /// Earliest deadline first (only cases with a deadline).
    Deadline,
}

/// Which cases a listing returns ([`CaseReads::list_cases`]); the default is every case, none
/// returned (set `limit`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseFilter<'a> {
    /// Only cases of this working status (a case without one is `open`).
    pub status: Option<&'a str>,
    /// Only cases in this workflow state.
    pub state: Option<&'a str>,
    /// Only cases held by this queue.
    pub queue: Option<&'a str>,
    /// Only cases of this priority.
    pub priority: Option<&'a str>,
    /// Only cases with this queue as a recorded, not removed, subject.
    pub subject: Option<&'a str>,
    /// Only cases whose deadline is (`true`) or is not (`false`) open and past.
    pub overdue: Option<bool>,
    /// Only cases with an open deadline before this instant (Unix milliseconds).
    pub due_before_ms: Option<i64>,
    /// Only cases with a complaint the gateway received at or after this instant (whatever
    /// the complaint says about when it was sent).
    pub received_from: Option<chrono::DateTime<chrono::Utc>>,
    /// … before this instant.
    pub received_to: Option<chrono::DateTime<chrono::Utc>>,
    pub sort: CaseSort,
    /// Only cases with at least this many complaints.
    pub min_complaints: i64,
    /// Most cases returned.
    pub limit: i64,
    /// Cases skipped.
    pub offset: i64,
    /// Only cases routed to one of these queues or informed to one of them (an
    /// investigator's reach); `None` = every case.
    pub queues: Option<&'a [String]>,
}

/// One complaint of a case, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub complaint_id: String,
    pub channel: String,
    pub source: String,
    /// The complaint's `submitted_at`, as given (RFC 3339).
    pub submitted_at: String,
    pub title: Option<String>,
    /// The complaint's matching text, of its title and the body's start only (enough for a
    /// snippet).
    pub text_start: String,
    /// Why the complaint is in its case: the grouping reason as recorded (JSON).
    pub reason_json: String,
}

/// A staff decision as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDecision {
    /// Increases with every decision: decisions apply in this order.
    pub id: i64,
    /// The decision (a merge or a split) as recorded (JSON).
    pub decision_json: String,
    pub actor: String,
    pub why: String,
    /// RFC 3339.
    pub decided_at: String,
}

/// A staff decision to record ([`CaseWrites::record_decision`]).
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    /// The decision (JSON).
    pub decision_json: &'a str,
    pub actor: &'a str,
    pub why: &'a str,
    /// RFC 3339.
    pub decided_at: &'a str,
}

/// A case's working status as staff set it ([`CaseWrites::set_case_status`]).
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    pub case_id: &'a str,
    pub status: &'a str,
    pub actor: &'a str,
    pub why: &'a str,
    /// RFC 3339.
    pub updated_at: &'a str,
}

/// A member of a case inside a hot-issue window ([`CaseReads::members_between`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowMember {
    pub case_id: String,
    /// The complaint's effective time, milliseconds since the epoch.
    pub submitted_ms: i64,
    /// Keyed hash of the complainant.
    pub complainant: Option<String>,
    pub public_support: i64,
    pub media_exposed: bool,
}

/// One complaint's place in a case, to record ([`CaseWrites::upsert_members`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMember {
    pub complaint_id: String,
    pub case_id: String,
    /// The complaint's sequence number: members are ordered by it.
    pub seq: i64,
    pub channel: String,
    /// The complaint's effective time, milliseconds since the epoch.
    pub submitted_ms: i64,
    /// Keyed hash of the complainant (never the phone, id or email itself).
    pub complainant: Option<String>,
    pub public_support: i64,
    pub media_exposed: bool,
    /// Why the complaint is in this case (JSON).
    pub reason_json: String,
    /// The member it duplicates, for the `duplicate_of` facet.
    pub duplicate_of: Option<String>,
}

/// A member of a case with its sequence number ([`CaseWrites::members_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSeq {
    pub complaint_id: String,
    pub seq: i64,
}

/// What the members of one case add up to ([`CaseWrites::case_aggregates`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseAggregate {
    pub case_id: String,
    pub complaints: i64,
    /// Distinct complainants; a member without one counts as its own.
    pub complainants: i64,
    /// Earliest and latest effective time of the members, milliseconds since the epoch.
    pub first_ms: i64,
    pub last_ms: i64,
    /// Sum of the members' public support.
    pub public_support: i64,
    /// Whether any member was exposed in the media.
    pub media_exposed: bool,
    /// The members' distinct channels, in no particular order.
    pub channels: Vec<String>,
    /// Title of the complaint the case is named after and its matching text, of the title and
    /// the body's start only (enough for a snippet; none when that complaint is not stored).
    pub founder_title: Option<String>,
    pub founder_text: Option<String>,
}

/// A case's row, to record ([`CaseWrites::upsert_cases`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub id: String,
    pub title: String,
    pub complaints: i64,
    pub complainants: i64,
    /// Kept in this order.
    pub channels: Vec<String>,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
    /// `last_seen` in milliseconds since the epoch: cases are listed by it.
    pub last_seen_ms: i64,
    pub public_support: i64,
    pub media_exposed: bool,
}

/// What the grouping engine needs of a stored complaint.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupingComplaint {
    pub id: String,
    pub channel: String,
    /// The effective time (`submitted_ms`, see [`super::effective_time`]).
    pub effective_at: DateTime<Utc>,
    pub title: Option<String>,
    pub text_norm: String,
    pub item: Item,
}

/// What the grouping engine is rebuilt from, read at one point in time
/// ([`CaseReads::grouping_state`], [`CaseWrites::grouping_state`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupingState {
    /// Every staff decision, oldest first.
    pub decisions: Vec<StoredDecision>,
    /// The highest sequence number of any member (0 when there is none).
    pub last_seq: i64,
    /// The members whose effective time lies within the window before the latest member's,
    /// at most the number asked for (the latest ones), in sequence order, each with its case.
    pub window: Vec<CaseMemberComplaint>,
}

/// A member of a case, as the grouping engine sees it, with its case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMemberComplaint {
    pub complaint: GroupingComplaint,
    pub case_id: String,
}

/// Reads (on the store).
#[async_trait]
pub trait CaseReads: Send + Sync {
    /// Cases matching `filter`, most recently active first (ties by id).
    async fn list_cases(&self, filter: CaseFilter<'_>) -> Result<Vec<CaseSummary>, StoreError>;

    /// One case's summary.
    async fn case_summary(&self, case_id: &str) -> Result<Option<CaseSummary>, StoreError>;

    /// The members of a case, in sequence order (none when there is no such case).
    async fn case_members(&self, case_id: &str) -> Result<Vec<MemberRecord>, StoreError>;

    /// One page of a case's members, in sequence order: at most `limit` after the first
    /// `offset` (a case may hold thousands; the console shows a page at a time).
    async fn case_members_page(
        &self,
        case_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<MemberRecord>, StoreError>;

    /// Every staff decision, oldest first.
    async fn decisions(&self) -> Result<Vec<StoredDecision>, StoreError>;

    /// Members with `since_ms <= submitted_ms <= until_ms`, by case id, then sequence; with
    /// `queues`, only members of cases routed to one of them or informed to one of them (an
    /// investigator's reach).
    async fn members_between(
        &self,
        since_ms: i64,
        until_ms: i64,
        queues: Option<&[String]>,
    ) -> Result<Vec<WindowMember>, StoreError>;

    /// The case of every complaint of `source` that is in one, by external id.
    async fn cases_by_external_id(
        &self,
        source: &str,
    ) -> Result<HashMap<String, String>, StoreError>;

    /// What the grouping engine is rebuilt from (see [`GroupingState`]), read consistently
    /// without the backend's write lock (intake keeps committing meanwhile): `window_ms` is the
    /// window's length, `max_window` the most members it holds.
    async fn grouping_state(
        &self,
        window_ms: i64,
        max_window: usize,
    ) -> Result<GroupingState, StoreError>;
}

/// Writes (inside a [`super::DerivedTx`]), and the reads a decision makes before it writes.
#[async_trait]
pub trait CaseWrites: Send {
    /// Records (or moves) members, and sets their `case_id` and `duplicate_of` facets, queueing
    /// the complaints whose facets changed for re-indexing.
    async fn upsert_members(&mut self, members: &[NewMember]) -> Result<(), StoreError>;

    /// Moves one member to `case_id` with a new reason (JSON); nothing when it is no member.
    async fn set_member_case(
        &mut self,
        complaint_id: &str,
        case_id: &str,
        reason_json: &str,
    ) -> Result<(), StoreError>;

    /// The members of a case, in sequence order.
    async fn members_of(&mut self, case_id: &str) -> Result<Vec<MemberSeq>, StoreError>;

    /// The case of each of these complaints that is in one.
    async fn member_cases(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError>;

    /// Deletes the rows of those of these cases that have no member left.
    async fn delete_empty_cases(&mut self, case_ids: &BTreeSet<String>) -> Result<(), StoreError>;

    /// What the members of each of these cases add up to (cases without members are left
    /// out), in no particular order.
    async fn case_aggregates(
        &mut self,
        case_ids: &BTreeSet<String>,
    ) -> Result<Vec<CaseAggregate>, StoreError>;

    /// The rows of those of these cases that exist, in no particular order.
    async fn case_rows(&mut self, case_ids: &BTreeSet<String>) -> Result<Vec<CaseRow>, StoreError>;

    /// Which of these (case, complainant key) pairs already have a member.
    async fn complainants_present(
        &mut self,
        pairs: &BTreeSet<(String, String)>,
    ) -> Result<BTreeSet<(String, String)>, StoreError>;

    /// Records case rows, replacing those with the same id (their status stays).
    async fn upsert_cases(&mut self, cases: &[CaseRow]) -> Result<(), StoreError>;

    /// Forgets every case and membership (staff decisions and statuses stay).
    async fn clear_cases(&mut self) -> Result<(), StoreError>;

    /// Whether a case row exists.
    async fn case_exists(&mut self, case_id: &str) -> Result<bool, StoreError>;

    /// Records a staff decision; it gets the next id.
    async fn record_decision(&mut self, decision: NewDecision<'_>) -> Result<(), StoreError>;

    /// Sets (or replaces) a case's working status.
    async fn set_case_status(&mut self, change: StatusChange<'_>) -> Result<(), StoreError>;

    /// Staff decisions with an id above `after_id`, oldest first.
    async fn decisions_after(&mut self, after_id: i64) -> Result<Vec<StoredDecision>, StoreError>;

    /// One complaint, as the grouping engine sees it.
    async fn grouping_complaint(
        &mut self,
        complaint_id: &str,
    ) -> Result<Option<GroupingComplaint>, StoreError>;

    /// [`CaseReads::grouping_state`], as this transaction sees it.
    async fn grouping_state(
        &mut self,
        window_ms: i64,
        max_window: usize,
    ) -> Result<GroupingState, StoreError>;
}
