//! 回访: the complaint centre calling the complainant back after a case's answer. Every
//! attempt is recorded (reached or not, how, a note, who, when); an attempt that reached the
//! complainant carries the verdict: whether the problem is solved and how satisfied they are.
//! Human data: a `reprocess` never clears it, and rows are never changed.

use async_trait::async_trait;

use super::StoreError;

/// A follow-up attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    pub case_id: String,
    /// The answer (`store::workflow::AnswerRecord::id`) it follows.
    pub answer_id: Option<i64>,
    /// The queue that held the case when it was answered (the unit it is counted for).
    pub queue_key: Option<String>,
    /// Whether the complainant was reached.
    pub reached: bool,
    /// How the centre tried: `phone`, `sms`, `visit`, `email`, `other`.
    pub contact: String,
    pub note: Option<String>,
    /// Reached only: the problem is solved (已解决) or not (未解决).
    pub solved: Option<bool>,
    /// Reached only: `satisfied` (满意), `basically_satisfied` (基本满意) or `dissatisfied`
    /// (不满意).
    pub verdict: Option<String>,
    pub recorded_by: String,
    /// RFC 3339, UTC.
    pub recorded_at: String,
    /// Whether the case was reopened with it.
    pub reopened: bool,
}

/// A follow-up as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub id: i64,
    pub follow_up: NewFollowUp,
}

/// On the store: the follow-ups of a case.
#[async_trait]
pub trait FollowUpReads: Send + Sync {
    /// The follow-ups of `case_id`, oldest first.
    async fn case_follow_ups(&self, case_id: &str) -> Result<Vec<FollowUp>, StoreError>;
}

/// In a decision transaction: recording a follow-up.
#[async_trait]
pub trait FollowUpWrites: Send {
    /// Records a follow-up; returns its id.
    async fn record_follow_up(&mut self, follow_up: &NewFollowUp) -> Result<i64, StoreError>;
}
