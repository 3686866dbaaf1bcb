//! The statistics' reads: every measure of a period counted by SQL in one statement, per
//! group (unit, channel or category) and time bucket (day, week, month or the whole period).
//! What each measure counts is defined in [`crate::stats`] (and its reference, `tally`);
//! the conformance suite checks these counts against a hand-made set of cases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// What the counts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsGroup {
    /// One group (the key is `None`).
    All,
    /// The unit (queue) of the case or complaint.
    Unit,
    /// The channel of the complaint (of a case: its founding complaint's).
    Channel,
    /// The category of the complaint's (the case's) route.
    Category,
}

/// The time buckets of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsBucket {
    /// The whole period (the bucket is `None`).
    Whole,
    /// `YYYY-MM-DD` in local time.
    Day,
    /// The week's Monday, `YYYY-MM-DD` in local time.
    Week,
    /// `YYYY-MM` in local time.
    Month,
}

/// Which measures a query counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatsMeasures {
    /// Every measure, overdue now included.
    #[default]
    All,
    /// Only `received` (a chart of what came in): no other measure is counted, and no row of
    /// another measure is returned.
    ReceivedOnly,
}

/// A period to count.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// From (inclusive) to (exclusive).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// What "now" is: deadlines after it have not fallen yet; overdue is counted at it.
    pub now: DateTime<Utc>,
    pub by: StatsGroup,
    pub bucket: StatsBucket,
    /// The local time's offset from UTC, in seconds (the buckets' boundaries).
    pub utc_offset_secs: i32,
    /// What to count: every measure, or `received` only.
    pub measures: StatsMeasures,
}

/// One count: `total` items of `measure` in a group and bucket, `hits` of them meeting the
/// measure's test (see [`crate::stats::Measure`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    pub measure: String,
    pub group: Option<String>,
    pub bucket: Option<String>,
    pub total: i64,
    pub hits: i64,
}

/// What one refresh of the statistics' rollup did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupRefresh {
    /// Days counted again.
    pub days: usize,
    /// Days still to count (for the next refresh).
    pub remaining: usize,
}

/// On the store: the statistics' counts.
#[async_trait]
pub trait StatsReads: Send + Sync {
    /// Every measure of `query`'s period (or only `received`, as `query.measures` says),
    /// counted per group and bucket (no row for an empty count; a count may come in several
    /// rows, to be added).
    async fn stats_rows(&self, query: &StatsQuery) -> Result<Vec<StatsRow>, StoreError>;

    /// Keeps the statistics' rollup (derived data the reads use where it is current): counts
    /// again up to `max_days` of the local days (cut at `utc_offset_secs`) that ended before
    /// `now` and are not current, newest first. The reads are right without it, only slower.
    async fn refresh_stats_rollup(
        &self,
        utc_offset_secs: i32,
        now: DateTime<Utc>,
        max_days: usize,
    ) -> Result<RollupRefresh, StoreError>;
}
