//! Intake: the one path by which items enter the store, shared by the webhook, `import`, the
//! dead-letter replay and (later) connectors.
//!
//! Each [`RawItem`] becomes either a complaint (parsed, normalised, hashed) or a dead letter
//! (verbatim bytes + reason). The whole batch is committed durably by the store's writer before
//! this returns, so a caller may acknowledge its sender as soon as it has the report.

use chrono::Utc;
use connectors::{Channel, RawItem};
use serde::Serialize;

use crate::store::{
    NewComplaint, NewDeadLetter, Store, StoreError, WriteBatch, WriteOp, WriteOutcome,
};

/// Batches larger than this are prepared (normalised, hashed) on a blocking thread.
const INLINE_PREPARE_LIMIT: usize = 16;

/// An item that was stored (or recognised as already stored).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Position of the item in the request or file.
    #[serde(skip)]
    pub index: usize,
    pub external_id: String,
    /// Gateway id of the complaint.
    pub id: String,
    /// True when the same content was already stored.
    pub duplicate: bool,
    /// Set when the item changed a stored complaint: its new revision number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// An item that was dead-lettered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejected {
    /// Position of the item in the request or file.
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// What kind of problem, as a stable code: `malformed_json`, `missing_field`,
    /// `invalid_field`, `duplicate_key`, `not_an_object`, `undecodable_body`, `mapping_failed`.
    pub code: &'static str,
    /// Why it was not accepted.
    pub error: String,
    /// Where it is kept.
    pub dead_letter_id: String,
    /// True when the same bytes were already kept from an earlier delivery (one dead letter for
    /// both).
    #[serde(skip)]
    pub already_kept: bool,
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct IntakeReport {
    pub accepted: Vec<Accepted>,
    pub rejected: Vec<Rejected>,
}

/// Counts of a report, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeCounts {
    pub created: u64,
    pub duplicates: u64,
    pub revisions: u64,
    pub dead_lettered: u64,
}

impl IntakeReport {
    /// Counts by outcome.
    pub fn counts(&self) -> IntakeCounts {
        let mut counts = IntakeCounts {
            dead_lettered: self.rejected.len() as u64,
            ..IntakeCounts::default()
        };
        for a in &self.accepted {
            match (a.duplicate, a.revision) {
                (true, _) => counts.duplicates += 1,
                (false, Some(_)) => counts.revisions += 1,
                (false, None) => counts.created += 1,
            }
        }
        counts
    }
}

impl std::ops::AddAssign for IntakeCounts {
    fn add_assign(&mut self, other: Self) {
        self.created += other.created;
        self.duplicates += other.duplicates;
        self.revisions += other.revisions;
        self.dead_lettered += other.dead_lettered;
    }
}

impl From<IntakeCounts> for connectors::CommitSummary {
    fn from(counts: IntakeCounts) -> Self {
        connectors::CommitSummary {
            stored: counts.created,
            duplicates: counts.duplicates,
            revisions: counts.revisions,
            dead_lettered: counts.dead_lettered,
        }
    }
}

/// Where a batch comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: String,
    pub channel: Channel,
    /// An archive load (`import --historical`): its complaints are recorded, grouped,
    /// classified and routed, but get no deadline and no notice, and their cases are closed.
    pub historical: bool,
}

/// Turns raw items into write operations (CPU work: normalisation and hashing). Every item of
/// the batch is received now; one whose `submitted_at` lies more than `future_tolerance` past
/// that is flagged future-dated (see [`crate::store::effective_time`]). Callers pass the
/// store's [`Store::future_tolerance`], the configured one.
pub fn prepare(
    origin: &Origin,
    items: Vec<RawItem>,
    future_tolerance: chrono::Duration,
) -> Vec<WriteOp> {
    let received_at = Utc::now();
    items
        .into_iter()
        .map(|raw| match raw.parsed {
            Ok(item) => {
                let mut complaint = NewComplaint::new(
                    &origin.source,
                    origin.channel,
                    item,
                    raw.raw,
                    raw.content_type,
                    received_at,
                    future_tolerance,
                );
                if origin.historical {
                    complaint.historical = true;
                    // An archived complaint was received on its original date, not at the
                    // load: it must not count as arrived today in lists, facets and figures.
                    if !complaint.future_dated {
                        complaint.received_at = complaint.effective_at.min(received_at);
                    }
                }
                WriteOp::Complaint(complaint)
            }
            Err(error) => WriteOp::DeadLetter(NewDeadLetter {
                source: origin.source.clone(),
                channel: Some(origin.channel),
                external_id: raw.external_id_hint,
                reason: error.to_string(),
                code: error.code(),
                raw: raw.raw,
                raw_content_type: raw.content_type,
                received_at,
            }),
        })
        .collect()
}

/// Stores a batch durably and reports each item's outcome.
pub async fn ingest(
    store: &Store,
    origin: &Origin,
    items: Vec<RawItem>,
    cursor: Option<String>,
) -> Result<IntakeReport, StoreError> {
    let tolerance = store.future_tolerance();
    let ops = if items.len() > INLINE_PREPARE_LIMIT {
        let origin = origin.clone();
        tokio::task::spawn_blocking(move || prepare(&origin, items, tolerance))
            .await
            .expect("prepare does not panic")
    } else {
        prepare(origin, items, tolerance)
    };
    let batch = WriteBatch {
        ops,
        cursor: cursor.map(|c| (origin.source.clone(), c)),
        replay_of: None,
        audit: Vec::new(),
    };
    commit_batch(store, &origin.source, batch).await
}

/// Commits prepared operations and builds the report.
pub async fn commit_batch(
    store: &Store,
    source: &str,
    batch: WriteBatch,
) -> Result<IntakeReport, StoreError> {
    let described: Vec<(Option<String>, Option<(String, &'static str)>)> = batch
        .ops
        .iter()
        .map(|op| match op {
            WriteOp::Complaint(c) => (Some(c.item.external_id.clone()), None),
            WriteOp::DeadLetter(d) => (d.external_id.clone(), Some((d.reason.clone(), d.code))),
        })
        .collect();
    let outcomes = store.submit(batch).await?;
    let mut report = IntakeReport::default();
    for (index, ((external_id, reason), outcome)) in described.into_iter().zip(outcomes).enumerate()
    {
        let label = match &outcome {
            WriteOutcome::Created { .. } => "created",
            WriteOutcome::Duplicate { .. } => "duplicate",
            WriteOutcome::Revised { .. } => "revised",
            WriteOutcome::DeadLettered { .. } => "dead_lettered",
        };
        crate::telemetry::intake_item(source, label);
        match outcome {
            WriteOutcome::DeadLettered { id, existing } => {
                let (error, code) = reason.unwrap_or_default();
                report.rejected.push(Rejected {
                    index,
                    external_id,
                    code,
                    error,
                    dead_letter_id: id,
                    already_kept: existing,
                })
            }
            other => report.accepted.push(Accepted {
                index,
                external_id: external_id.unwrap_or_default(),
                duplicate: matches!(other, WriteOutcome::Duplicate { .. }),
                revision: match other {
                    WriteOutcome::Revised { revision, .. } => Some(revision),
                    _ => None,
                },
                id: other.id().to_string(),
            }),
        }
    }
    Ok(report)
}
