//! The intake log's vocabulary, whatever the backend: what a batch writes and what happened to
//! each operation, and the shapes of the log's listings.

use super::audit::NewAuditEvent;
use super::{NewComplaint, NewDeadLetter};

/// One operation of a batch.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Store a complaint (or recognise it as a duplicate or a revision).
    Complaint(NewComplaint),
    /// Keep an item that could not be accepted.
    DeadLetter(NewDeadLetter),
}

/// Operations committed together, with the connector cursor that covers them.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub ops: Vec<WriteOp>,
    /// `(source, cursor)`: saved in the same transaction as `ops`.
    pub cursor: Option<(String, String)>,
    /// A dead letter this batch replays; marked replayed by the first complaint stored.
    pub replay_of: Option<String>,
    /// Audit entries appended in the same transaction (e.g. who saw personal data), after
    /// `ops`.
    pub audit: Vec<NewAuditEvent>,
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new complaint.
    Created { id: String, seq: i64 },
    /// Same `(source, external_id)` and the same content as a stored version.
    Duplicate { id: String },
    /// Same `(source, external_id)`, new content: the previous version was kept as a revision.
    Revised { id: String, revision: i64, seq: i64 },
    /// Kept in the dead-letter store (`existing` when the same bytes were already there).
    DeadLettered { id: String, existing: bool },
}

impl WriteOutcome {
    /// The complaint or dead-letter id.
    pub fn id(&self) -> &str {
        match self {
            WriteOutcome::Created { id, .. }
            | WriteOutcome::Duplicate { id }
            | WriteOutcome::Revised { id, .. }
            | WriteOutcome::DeadLettered { id, .. } => id,
        }
    }
}

/// Which dead letters to list.
#[derive(Debug, Clone, Default)]
pub struct DeadLetterFilter {
    pub source: Option<String>,
    /// Include dead letters that were replayed successfully.
    pub include_replayed: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Which index-queue entries to follow. An entry asks for a complaint to be indexed again
/// because its derived data changed; it is redundant when the sequence pass has not indexed
/// the complaint yet (`seq > indexed_upto`: it will, with the new data), or indexed it after
/// the entry was written (`seq > fresh_after` and entry `<= fresh_bound`, the highest entry
/// before that pass read its rows). An import indexes after the pipeline has run, so every
/// entry is redundant and each complaint is indexed once, not two or three times.
#[derive(Debug, Clone, Copy)]
pub struct QueuedWindow {
    /// Entries after this queue sequence.
    pub after: i64,
    /// At most this many entries.
    pub limit: i64,
    /// Complaints up to this `seq` are in the index.
    pub indexed_upto: i64,
    /// Complaints after this `seq` (up to `indexed_upto`) were indexed by the current pass…
    pub fresh_after: i64,
    /// …which read them after every entry up to this queue sequence was written.
    pub fresh_bound: i64,
}
