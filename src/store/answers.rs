//! What became of an answer for each complaint of the case: an outcome per member complaint,
//! created with the answer in its transaction. A source with a callback gets it `POST`ed
//! (`pending` → `delivered`, or `failed` after its attempts, retried by hand); any other
//! source's outcome is on the replies-to-send list until staff record how they sent it
//! (`pending` → `sent`). Complaints loaded as history get none.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// An outcome as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerOutcome {
    pub id: i64,
    pub case_id: String,
    pub complaint_id: String,
    /// The answer (`store::workflow::AnswerRecord::id`) it carries.
    pub answer_id: i64,
    pub source: String,
    pub channel: String,
    pub external_id: String,
    /// The queue that held the case when it was answered.
    pub queue_key: Option<String>,
    /// `pending`, `delivered`, `failed` or `sent`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
    /// How staff sent a reply (`phone`, `letter`, …).
    pub method: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

/// Which outcomes to list.
#[derive(Debug, Clone, Default)]
pub struct OutcomeFilter<'a> {
    pub state: Option<&'a str>,
    pub case_id: Option<&'a str>,
    /// Only these sources (`None`: any).
    pub sources: Option<&'a [String]>,
    /// Not these sources.
    pub exclude_sources: &'a [String],
    /// Not the sources whose name starts with this.
    pub exclude_source_prefix: Option<&'a str>,
    /// Outcomes with a smaller id (the previous page's last), newest first.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// How a callback attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt<'a> {
    Delivered,
    /// Failed; tried again at `retry_at`, or marked failed when `None`.
    Failed {
        error: &'a str,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// On the store: reads of outcomes, and the callback worker's state changes (each
/// autocommitted: delivery state, not a decision).
#[async_trait]
pub trait AnswerReads: Send + Sync {
    /// Outcomes matching `filter`, newest first.
    async fn answer_outcomes(
        &self,
        filter: &OutcomeFilter<'_>,
    ) -> Result<Vec<AnswerOutcome>, StoreError>;

    /// One outcome.
    async fn answer_outcome(&self, id: i64) -> Result<Option<AnswerOutcome>, StoreError>;

    /// Pending outcomes of `sources` whose next attempt is due at `now`, oldest first.
    async fn due_callbacks(
        &self,
        sources: &[String],
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AnswerOutcome>, StoreError>;

    /// Records a callback attempt on a pending outcome; false when it is no longer pending.
    async fn record_callback_attempt(
        &self,
        id: i64,
        attempt: Attempt<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Puts a failed callback back to pending with its attempts reset; false when it was not
    /// failed.
    async fn retry_callback(&self, id: i64) -> Result<bool, StoreError>;
}

/// In a decision transaction: creating outcomes with an answer, and recording a sent reply.
#[async_trait]
pub trait AnswerWrites: Send {
    /// One pending outcome for each complaint of `case_id` (but history) carrying answer
    /// `answer_id`; returns how many.
    async fn queue_answer_outcomes(
        &mut self,
        case_id: &str,
        answer_id: i64,
        queue_key: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// Marks a pending outcome sent by `by` (how, and a note); false when it is not pending.
    async fn mark_reply_sent(
        &mut self,
        id: i64,
        by: &str,
        method: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
