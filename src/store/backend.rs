//! What a storage backend provides: the intake log ([`IntakeLog`]), the derived data's
//! transactions ([`DerivedTx`]) and the per-area operations ([`super::cases`],
//! [`super::routes`], [`super::outbox`], [`super::people`], [`super::audit`], [`super::workflow`], [`super::calendar`], [`super::answers`], [`super::open311`], [`super::follow_ups`], [`super::stats`], [`super::accountability`]). [`Backend`] gathers them; the
//! SQLite implementation lives in [`super::sqlite`], and [`super::Store`] is the one dispatch point callers use.
//! The conformance suite (`store/conformance/`) runs against these traits, so a second backend
//! passes the same tests unchanged.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tokio::sync::watch;

use super::facets::Facet;
use super::{
    Complaint, DeadLetterFilter, DeadLetterRecord, QueuedWindow, RevisionRecord, StoreError,
    WriteBatch, WriteOutcome,
};

/// A storage backend: everything the gateway keeps.
pub trait Backend:
    IntakeLog
    + super::cases::CaseReads
    + super::routes::RouteReads
    + super::outbox::OutboxReads
    + super::people::PeopleReads
    + super::audit::AuditReads
    + super::workflow::WorkflowReads
    + super::calendar::CalendarReads
    + super::answers::AnswerReads
    + super::open311::Open311Reads
    + super::follow_ups::FollowUpReads
    + super::stats::StatsReads
    + super::accountability::AccountabilityReads
    + Send
    + Sync
{
}

impl<T> Backend for T where
    T: IntakeLog
        + super::cases::CaseReads
        + super::routes::RouteReads
        + super::outbox::OutboxReads
        + super::people::PeopleReads
        + super::audit::AuditReads
        + super::workflow::WorkflowReads
        + super::calendar::CalendarReads
        + super::answers::AnswerReads
        + super::open311::Open311Reads
        + super::follow_ups::FollowUpReads
        + super::stats::StatsReads
        + super::accountability::AccountabilityReads
        + Send
        + Sync
{
}

/// The log of what arrived: complaints (with revisions), dead letters, source cursors and
/// counts, written through one group-committing writer; plus the reads of derived state that
/// every reader needs.
#[async_trait]
pub trait IntakeLog: Send + Sync {
    /// Commits `batch` durably and returns one outcome per operation, in order. Acknowledge
    /// nothing before this returns `Ok`.
    async fn submit(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Intake batches waiting for their commit right now.
    fn pending_writes(&self) -> usize;

    /// Waits (bounded) while intake batches wait for their commit: derived-data writers call
    /// it before they start a transaction, so acknowledgements come first.
    async fn yield_to_commits(&self);

    /// Receives the highest committed sequence number after each commit of this process.
    fn committed_seq(&self) -> watch::Receiver<i64>;

    /// The future-date tolerance intake applies (see [`super::effective_time`]).
    fn future_tolerance(&self) -> chrono::Duration;

    /// Where the data lives, for messages (a file path or a connection URL without secrets).
    fn location(&self) -> String;

    /// Commits everything submitted so far and closes the backend.
    async fn close(&self);

    /// Starts a derived-data transaction (pipeline batches, staff decisions). It holds the
    /// backend's write lock where there is one; keep it short.
    async fn begin_derived(&self) -> Result<Box<dyn DerivedTx>, StoreError>;

    /// Starts a staff decision's transaction (a correction, a merge, a deadline extension):
    /// like [`IntakeLog::begin_derived`], but durable once committed (a decision cannot be
    /// rebuilt from the log).
    async fn begin_decision(&self) -> Result<Box<dyn DerivedTx>, StoreError>;

    /// One complaint by gateway id.
    async fn complaint(&self, id: &str) -> Result<Option<Complaint>, StoreError>;

    /// One complaint by `(source, external_id)`.
    async fn complaint_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<Complaint>, StoreError>;

    /// Superseded versions of a complaint, oldest first.
    async fn revisions(&self, id: &str) -> Result<Vec<RevisionRecord>, StoreError>;

    /// Number of complaints stored.
    async fn complaint_count(&self) -> Result<i64, StoreError>;

    /// Highest sequence number in the store (0 when empty).
    async fn max_seq(&self) -> Result<i64, StoreError>;

    /// Complaints with `seq > after`, in sequence order, at most `limit`: the pipeline's
    /// batches.
    async fn complaints_after(&self, after: i64, limit: i64) -> Result<Vec<Complaint>, StoreError>;

    /// Complaints with `after < seq <= upto`, in sequence order, at most `limit` read, and
    /// the last `seq` read (`None` when none). With `defer_after = Some(q)`, complaints with an
    /// index-queue entry after `q` are read but left out: that entry, still to be followed,
    /// indexes them with their latest derived data (an archive load re-queues a case's members
    /// as the case grows; each is then indexed once instead of once per change).
    /// The search index's reads (this and [`Self::index_rows_queued`]) leave each complaint's
    /// `text_norm` empty: the index analyses the title and body itself.
    async fn index_rows_after(
        &self,
        after: i64,
        upto: i64,
        limit: i64,
        defer_after: Option<i64>,
    ) -> Result<(Vec<Complaint>, Option<i64>), StoreError>;

    /// Complaints queued for re-indexing in `window` (see [`QueuedWindow`]); returns the rows
    /// (each complaint once) and the last queue sequence read.
    async fn index_rows_queued(
        &self,
        window: QueuedWindow,
    ) -> Result<(Vec<Complaint>, Option<i64>), StoreError>;

    /// Highest index-queue sequence (0 when empty).
    async fn max_index_queue_seq(&self) -> Result<i64, StoreError>;

    /// Drops index-queue entries up to `seq` (they are in the index).
    async fn prune_index_queue(&self, seq: i64) -> Result<(), StoreError>;

    /// Every complaint in sequence order, streamed (constant memory).
    fn export_stream(&self) -> BoxStream<'_, Result<Complaint, StoreError>>;

    /// Dead letters, newest first, and how many match.
    async fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
    ) -> Result<(i64, Vec<DeadLetterRecord>), StoreError>;

    /// One dead letter.
    async fn dead_letter(&self, id: &str) -> Result<Option<DeadLetterRecord>, StoreError>;

    /// What every source delivered, by outcome, as committed with the items.
    async fn source_counts(&self)
    -> Result<HashMap<String, connectors::CommitSummary>, StoreError>;

    /// The saved cursor of a connector source.
    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError>;

    /// A value of the derived stages' state.
    async fn state(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets a value of the derived stages' state (rebuildable: no ordering with intake).
    async fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Every connector source's saved status (operational state, as JSON), by source name.
    async fn source_statuses(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Saves connector sources' statuses (`(source, status JSON)`), in one transaction and
    /// without an fsync of its own: operational state that may lag the log after a crash.
    async fn save_source_statuses(&self, statuses: &[(String, String)]) -> Result<(), StoreError>;

    /// Writes a consistent copy of the store to `path`; safe while the gateway writes.
    async fn backup_to(&self, path: &Path) -> Result<(), StoreError>;
}

/// A derived-data transaction: the writes of a pipeline batch or of a staff decision, with
/// the pipeline cursor, committed together or not at all (dropped = rolled back).
#[async_trait]
pub trait DerivedTx:
    super::cases::CaseWrites
    + super::routes::RouteWrites
    + super::outbox::OutboxWrites
    + super::people::PeopleWrites
    + super::audit::AuditWrites
    + super::workflow::WorkflowWrites
    + super::calendar::CalendarWrites
    + super::answers::AnswerWrites
    + super::open311::Open311Writes
    + super::follow_ups::FollowUpWrites
    + super::accountability::AccountabilityWrites
    + Send
{
    /// Commits the transaction.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Rolls the transaction back.
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;

    /// A value of the derived stages' state, as this transaction sees it.
    async fn state(&mut self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets a value of the derived stages' state.
    async fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Removes a value of the derived stages' state.
    async fn delete_state(&mut self, key: &str) -> Result<(), StoreError>;

    /// Sets facets of `complaint_id`; queues it for re-indexing when anything changed.
    /// Returns whether anything changed.
    async fn set_facets(
        &mut self,
        complaint_id: &str,
        values: &[(Facet, Option<&str>)],
    ) -> Result<bool, StoreError>;

    /// Sets one facet on many complaints; the last value given for a complaint wins. Queues
    /// the complaints whose value changed and returns how many did.
    async fn set_facet_many(
        &mut self,
        facet: Facet,
        values: &[(&str, Option<&str>)],
    ) -> Result<usize, StoreError>;

    /// Replaces a complaint's normalised text (the normaliser's rules changed since it was
    /// stored).
    async fn set_text_norm(
        &mut self,
        complaint_id: &str,
        text_norm: &str,
    ) -> Result<(), StoreError>;

    /// Queues a complaint for re-indexing (its derived data changed outside the facets).
    async fn queue_for_index(&mut self, complaint_id: &str) -> Result<(), StoreError>;

    /// Clears every facet, queueing the complaints for re-indexing (a full reprocess).
    async fn clear_facets(&mut self) -> Result<(), StoreError>;
}
