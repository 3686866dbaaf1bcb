//! The store's operations on the case workflow: each case's state (who holds it, who works on
//! it), every transition taken, and the answers given. Human data: a `reprocess` never clears
//! it. The rules (which transition is legal, who may take it) are [`crate::workflow`]'s; only
//! the statements live here.

use async_trait::async_trait;

use super::StoreError;

/// A case's place in the workflow, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub case_id: String,
    /// A [`crate::workflow::State`] name.
    pub state: String,
    /// The queue holding the case (the unit it was assigned to; the triage queue while it
    /// waits there).
    pub queue_key: Option<String>,
    /// The investigator working on it (a user name).
    pub assignee: Option<String>,
    /// The surviving case, once merged.
    pub merged_into: Option<String>,
    /// Why it is where it is, when a person said so (a return's reason, a reopen's).
    pub note: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: String,
    pub updated_by: String,
    /// Increases with every change: a write naming an older version is refused
    /// ([`StoreError::Conflict`]).
    pub version: i64,
}

/// Cases an archive load closes, all at once ([`WorkflowWrites::close_history`]).
#[derive(Debug, Clone)]
pub struct HistoryCloses<'a> {
    /// Each case once.
    pub cases: &'a [HistoryClose],
    /// The state a case without one gets (version 1), with `note`, by `actor` at `at`.
    pub state: &'a str,
    pub note: &'a str,
    pub actor: &'a str,
    /// RFC 3339, UTC.
    pub at: &'a str,
    /// The transition recorded for each case that got its state: `action` from `from_state`
    /// to `state`, by `actor` at `at`, with the case's `detail`.
    pub action: &'a str,
    pub from_state: &'a str,
    /// The working status each `status_case` with a case row gets (as
    /// [`super::cases::CaseWrites::set_case_status`]).
    pub status: &'a str,
    pub status_actor: &'a str,
    pub status_why: &'a str,
}

/// One case of [`HistoryCloses`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryClose {
    /// The case's workflow id (its route key).
    pub case_id: String,
    /// The queue its route names.
    pub queue: String,
    /// The transition's detail.
    pub detail: serde_json::Value,
    /// The grouping case whose working status is set, if the complaint has one.
    pub status_case: Option<String>,
}

/// A transition to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTransition {
    pub case_id: String,
    /// A [`crate::workflow::Action`] name.
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// What the request carried (queue, reason, assignee, merged into …).
    pub detail: serde_json::Value,
}

/// A transition as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionRecord {
    /// Increases with every transition of the store.
    pub id: i64,
    pub case_id: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub at: String,
    /// JSON.
    pub detail: String,
}

/// An answer (办结) to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswer {
    pub case_id: String,
    /// A [`crate::workflow::Finding`] name.
    pub finding: String,
    /// The reply to the complainant.
    pub reply: String,
    /// References of attachments (file names, document numbers), as given.
    pub attachments: Vec<String>,
    pub answered_by: String,
    /// RFC 3339, UTC.
    pub answered_at: String,
}

/// An answer as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    pub id: i64,
    pub answer: NewAnswer,
}

/// How many open cases one investigator of a queue holds (`assignee` `None`: nobody yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub assignee: Option<String>,
    pub open_cases: i64,
}

/// An active investigator of a queue (an enabled account with the investigator role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInvestigator {
    pub name: String,
    /// The unit's lead for this queue.
    pub lead: bool,
    /// Marked away: automatic assignment skips them.
    pub away: bool,
}

/// A 延期 request to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExtensionRequest {
    pub case_id: String,
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub requested_at: String,
    pub working_days: i64,
    pub reason: String,
}

/// A 延期 request as recorded: `requested`, then `approved` or `denied`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionRequest {
    pub id: i64,
    pub request: NewExtensionRequest,
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

/// On the store: reads of the workflow.
#[async_trait]
pub trait WorkflowReads: Send + Sync {
    /// The state of `case_id`; `None` before the workflow has seen it.
    async fn case_state(&self, case_id: &str) -> Result<Option<CaseState>, StoreError>;

    /// The transitions of `case_id`, oldest first.
    async fn case_transitions(&self, case_id: &str) -> Result<Vec<TransitionRecord>, StoreError>;

    /// The answers given to `case_id`, oldest first (a reopened case may have several).
    async fn case_answers(&self, case_id: &str) -> Result<Vec<AnswerRecord>, StoreError>;

    /// Open cases (states in `open_states`) held by `queue_key`, by assignee: the most
    /// loaded first, then by name, the unassigned last.
    async fn queue_workload(
        &self,
        queue_key: &str,
        open_states: &[&str],
    ) -> Result<Vec<Workload>, StoreError>;

    /// The active investigators of `queue_key`, by name.
    async fn queue_investigators(
        &self,
        queue_key: &str,
    ) -> Result<Vec<QueueInvestigator>, StoreError>;

    /// The 延期 requests of `case_id`, oldest first.
    async fn extension_requests(&self, case_id: &str) -> Result<Vec<ExtensionRequest>, StoreError>;

    /// The 延期 requests of every case still waiting for a decision (`requested`), oldest
    /// first, at most `limit`.
    async fn undecided_extension_requests(
        &self,
        limit: i64,
    ) -> Result<Vec<ExtensionRequest>, StoreError>;
}

/// In a decision transaction: the workflow's writes, and the reads a transition decides on.
#[async_trait]
pub trait WorkflowWrites: Send {
    /// The state of `case_id` as this transaction sees it.
    async fn case_state(&mut self, case_id: &str) -> Result<Option<CaseState>, StoreError>;

    /// The states of those of `case_ids` that have one, by case id.
    async fn case_states(
        &mut self,
        case_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, CaseState>, StoreError>;

    /// Closes the cases of an archive load in a few statements, whatever their number (one
    /// case at a time cost an archive of 100,000 complaints about 40 s): a case without a
    /// state gets one and its transition; a case with a state keeps it, and gets no
    /// transition; the working status is set on every `status_case` that has a case row.
    async fn close_history(&mut self, close: &HistoryCloses<'_>) -> Result<(), StoreError>;

    /// Stores `state`. `expected_version` is the version read before (`None`: the case has
    /// no state yet); another is a [`StoreError::Conflict`]. The stored version is
    /// `expected_version + 1` (1 for a new one), whatever `state.version` says.
    async fn put_case_state(
        &mut self,
        state: &CaseState,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Records a transition; returns its id.
    async fn append_transition(&mut self, transition: &NewTransition) -> Result<i64, StoreError>;

    /// Records an answer; returns its id.
    async fn record_answer(&mut self, answer: &NewAnswer) -> Result<i64, StoreError>;

    /// Open cases (states in `open_states`) held by `queue_key`, by assignee (as
    /// [`WorkflowReads::queue_workload`]).
    async fn queue_workload(
        &mut self,
        queue_key: &str,
        open_states: &[&str],
    ) -> Result<Vec<Workload>, StoreError>;

    /// The active investigators of `queue_key`, by name (as
    /// [`WorkflowReads::queue_investigators`]).
    async fn queue_investigators(
        &mut self,
        queue_key: &str,
    ) -> Result<Vec<QueueInvestigator>, StoreError>;

    /// Marks `user` away (or back); false when there is no such user.
    async fn set_away(&mut self, user: &str, away: bool, at: &str) -> Result<bool, StoreError>;

    /// Records a 延期 request (state `requested`); returns its id.
    async fn add_extension_request(
        &mut self,
        request: &NewExtensionRequest,
    ) -> Result<i64, StoreError>;

    /// The 延期 requests of `case_id` as this transaction sees them, oldest first.
    async fn case_extension_requests(
        &mut self,
        case_id: &str,
    ) -> Result<Vec<ExtensionRequest>, StoreError>;

    /// Decides request `id` (`approved` or `denied`) if it is still `requested`; false
    /// otherwise.
    async fn decide_extension_request(
        &mut self,
        id: i64,
        state: &str,
        by: &str,
        at: &str,
        note: Option<&str>,
    ) -> Result<bool, StoreError>;
}
