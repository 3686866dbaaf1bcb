//! The grouping stage: assigns every complaint to a case (see [`crate::grouping`]) and records
//! the case, the reason and the `case_id` / `duplicate_of` facets.
//!
//! Contract:
//! - Sets [`Complaint::case_id`] for the stages after it.
//! - Restart-safe and deterministic: the engine is built from the store (the recent window's
//!   complaints observed in the cases they are stored in, staff decisions as pins) before the
//!   first batch, and rebuilt whenever a batch is seen again (a failed transaction), so the
//!   in-memory state always matches what is committed.
//! - A complaint already in a case (a new revision) keeps its case.
//! - Staff decisions recorded since the last batch are applied to the engine before the
//!   batch; `reset` clears derived case data but never the decisions, which `reprocess`
//!   replays.
//! - Never logs complaint text or complainant data.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use crate::store::DerivedTx;
use chrono::DateTime;
use connectors::Item;
use futures::future::BoxFuture;
use jieba_rs::Jieba;
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::grouping_input::{StoredComplaint, complainant_key, input_of};
use super::{BatchKey, Complaint, PipelineError, Precompute, Stage, batch_key};
use crate::cases::CaseError;
use crate::cases::staff::decisions_after;
use crate::cases::write::{MemberRow, clear_derived, refresh_cases, upsert_members};
use crate::grouping::{
    CaseKey, ComplaintFeatures, ComplaintInput, Engine, Extractor, GroupingConfig, HumanDecision,
    Pins,
};
use crate::store::{Store, StoreError};

/// jieba's dictionary, loaded once per process for the grouping engine.
fn shared_jieba() -> Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA.get_or_init(|| Arc::new(Jieba::new())).clone()
}

fn stage_error(error: impl std::fmt::Display) -> PipelineError {
    PipelineError::Stage {
        stage: "grouping",
        message: error.to_string(),
    }
}

impl From<CaseError> for PipelineError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::Database(e) => PipelineError::Database(e),
            other => stage_error(other),
        }
    }
}

/// Groups complaints into cases.
pub struct GroupingStage {
    config: GroupingConfig,
    engine: Option<Engine>,
    key: Vec<u8>,
    /// Last staff decision applied to the engine.
    decisions_applied: i64,
    /// Last sequence number the engine assigned.
    last_seq: i64,
    /// Inputs and features of the batch prepared last, by complaint id.
    prepared: Option<(BatchKey, PreparedInputs)>,
}

/// A batch's grouping inputs and features, by complaint id.
type PreparedInputs = HashMap<String, (ComplaintInput, ComplaintFeatures)>;

/// One complaint's entry of [`PreparedInputs`].
fn prepared_input(
    extractor: &Extractor,
    key: &[u8],
    complaint: &Complaint,
) -> (String, (ComplaintInput, ComplaintFeatures)) {
    let input = input_of(&stored_complaint(complaint), key);
    let features = extractor.extract(&input);
    (complaint.id.clone(), (input, features))
}

impl GroupingStage {
    /// A stage with these thresholds; the engine is built from the store before the first batch.
    pub fn new(config: GroupingConfig) -> Self {
        GroupingStage {
            config,
            engine: None,
            key: Vec::new(),
            decisions_applied: 0,
            last_seq: 0,
            prepared: None,
        }
    }

    /// Builds the engine from what is committed: pins from every staff decision, then the
    /// recent window's complaints observed in their stored cases.
    async fn rebuild(&mut self, tx: &mut SqliteConnection) -> Result<(), PipelineError> {
        self.key = complainant_key(tx).await?;
        let decisions = decisions_after(tx, 0).await?;
        let pins = Pins::from_decisions(decisions.iter().map(|(_, d)| d));
        self.decisions_applied = decisions.last().map_or(0, |(id, _)| *id);
        let mut engine =
            Engine::new(self.config.clone(), shared_jieba(), pins).map_err(stage_error)?;
        let latest_ms: Option<i64> =
            sqlx::query_scalar("SELECT MAX(submitted_ms) FROM case_members")
                .fetch_one(&mut *tx)
                .await?;
        self.last_seq = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM case_members")
            .fetch_one(&mut *tx)
            .await?
            .unwrap_or(0);
        if let Some(latest_ms) = latest_ms {
            let since_ms = latest_ms - i64::from(self.config.window_days) * 86_400_000;
            let rows = sqlx::query(
                "SELECT * FROM (
                     SELECT c.id, m.seq, c.channel, c.submitted_ms, c.title, c.text_norm, c.item,
                         m.case_id
                     FROM case_members m JOIN complaints c ON c.id = m.complaint_id
                     WHERE m.submitted_ms >= ? ORDER BY m.seq DESC LIMIT ?)
                 ORDER BY seq",
            )
            .bind(since_ms)
            .bind(self.config.max_window_complaints as i64)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let (stored, item) = stored_of(row)?;
                let input = input_of(&stored.with_item(&item), &self.key);
                let case: String = row.get("case_id");
                engine.observe(&input, &CaseKey(case));
            }
        }
        self.engine = Some(engine);
        Ok(())
    }

    /// Applies staff decisions recorded since the engine last looked.
    async fn apply_new_decisions(
        &mut self,
        tx: &mut SqliteConnection,
    ) -> Result<(), PipelineError> {
        let decisions = decisions_after(tx, self.decisions_applied).await?;
        for (id, decision) in decisions {
            self.decisions_applied = id;
            match &decision {
                HumanDecision::Merge { complaint_ids } => {
                    let engine = self.engine.as_mut().expect("engine built");
                    // Complaints out of the window are only pinned: that is enough.
                    let _ = engine.merge(complaint_ids);
                }
                HumanDecision::SplitOut {
                    complaint_id,
                    apart_from,
                } => {
                    let row = sqlx::query(
                        "SELECT id, seq, channel, submitted_ms, title, text_norm, item
                         FROM complaints WHERE id = ?",
                    )
                    .bind(complaint_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = row {
                        let (stored, item) = stored_of(&row)?;
                        let input = input_of(&stored.with_item(&item), &self.key);
                        let engine = self.engine.as_mut().expect("engine built");
                        let _ = engine.split_out(&input, apart_from);
                    }
                }
            }
        }
        Ok(())
    }

    async fn group_batch(
        &mut self,
        batch: &mut [Complaint],
        tx: &mut SqliteConnection,
    ) -> Result<(), PipelineError> {
        let mut touched = BTreeSet::new();
        let mut members = Vec::with_capacity(batch.len());
        let ids: Vec<&str> = batch.iter().map(|c| c.id.as_str()).collect();
        let ids = serde_json::to_string(&ids).map_err(stage_error)?;
        let mut existing: std::collections::HashMap<String, String> = sqlx::query(
            "SELECT complaint_id, case_id FROM case_members
             WHERE complaint_id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| (row.get("complaint_id"), row.get("case_id")))
        .collect();
        let mut prepared = match self.prepared.take() {
            Some((key, prepared)) if key == batch_key(batch) => prepared,
            _ => HashMap::new(),
        };
        for complaint in batch.iter_mut() {
            if let Some(case_id) = existing.remove(&complaint.id) {
                // A new revision, or a batch seen again: the complaint keeps its case.
                complaint.case_id = Some(case_id);
                continue;
            }
            let engine = self.engine.as_mut().expect("engine built");
            let (input, assignment) = match prepared.remove(&complaint.id) {
                Some((input, features)) => {
                    let assignment = engine.assign_extracted(&input, &features);
                    (input, assignment)
                }
                None => {
                    let input = input_of(&stored_complaint(complaint), &self.key);
                    let assignment = engine.assign(&input);
                    (input, assignment)
                }
            };
            let member = MemberRow {
                complaint_id: complaint.id.clone(),
                case_id: assignment.case.0.clone(),
                seq: complaint.seq,
                channel: complaint.channel.clone(),
                submitted_ms: input.submitted_at.timestamp_millis(),
                complainant: input.complainant_keys.first().cloned(),
                public_support: input.public_support.unwrap_or(0).min(i64::MAX as u64) as i64,
                media_exposed: input.media_exposed,
                duplicate_of: assignment.duplicate_of().map(str::to_string),
                reason: assignment.reason,
            };
            touched.insert(member.case_id.clone());
            complaint.case_id = Some(member.case_id.clone());
            self.last_seq = self.last_seq.max(complaint.seq);
            members.push(member);
        }
        upsert_members(tx, &members).await?;
        refresh_cases(tx, &touched).await?;
        Ok(())
    }
}

/// The columns [`StoredComplaint`] needs, from a row; the item is parsed separately.
struct StoredRow {
    id: String,
    channel: String,
    effective_at: chrono::DateTime<chrono::Utc>,
    title: Option<String>,
    text_norm: String,
}

impl StoredRow {
    fn with_item<'a>(&'a self, item: &'a Item) -> StoredComplaint<'a> {
        StoredComplaint {
            id: &self.id,
            channel: &self.channel,
            effective_at: self.effective_at,
            title: self.title.as_deref(),
            text_norm: &self.text_norm,
            item,
        }
    }
}

fn stored_of(row: &sqlx::sqlite::SqliteRow) -> Result<(StoredRow, Item), PipelineError> {
    let effective_ms: i64 = row.get("submitted_ms");
    let item: String = row.get("item");
    let item: Item =
        serde_json::from_str(&item).map_err(|e| StoreError::Corrupt(format!("item JSON: {e}")))?;
    Ok((
        StoredRow {
            id: row.get("id"),
            channel: row.get("channel"),
            effective_at: DateTime::from_timestamp_millis(effective_ms)
                .ok_or_else(|| StoreError::Corrupt(format!("submitted_ms {effective_ms}")))?,
            title: row.get("title"),
            text_norm: row.get("text_norm"),
        },
        item,
    ))
}

/// The engine's view of a complaint of the batch.
fn stored_complaint(complaint: &Complaint) -> StoredComplaint<'_> {
    StoredComplaint {
        id: &complaint.id,
        channel: &complaint.channel,
        effective_at: complaint.effective_at,
        title: complaint.title.as_deref(),
        text_norm: &complaint.text_norm,
        item: &complaint.item,
    }
}

impl Stage for GroupingStage {
    fn name(&self) -> &'static str {
        "grouping"
    }

    fn precompute(&self) -> Option<Precompute> {
        let extractor = self.engine.as_ref()?.extractor().clone();
        let key = self.key.clone();
        Some(Arc::new(move |batch: &[Complaint]| {
            let prepared: PreparedInputs = batch
                .iter()
                .map(|complaint| prepared_input(&extractor, &key, complaint))
                .collect();
            Box::new(prepared) as Box<dyn Any + Send>
        }))
    }

    fn adopt(&mut self, key: BatchKey, precomputed: Box<dyn Any + Send>) {
        if let Ok(prepared) = precomputed.downcast::<PreparedInputs>() {
            self.prepared = Some((key, *prepared));
        }
    }

    /// Builds the engine on a read snapshot when there is none yet (a restart replays the
    /// whole window, which takes seconds) and extracts the batch's features, both without the
    /// write lock.
    fn prepare<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        store: &'a Store,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            // Features depend only on the complaint, the extractor and the complainant key,
            // none of which change while the engine lives: an adopted result stands.
            if self.engine.is_some()
                && matches!(&self.prepared, Some((key, _)) if *key == batch_key(batch))
            {
                return Ok(());
            }
            self.prepared = None;
            if self.engine.is_none() {
                // The complainant key is written the very first time: a short write of its
                // own, then the engine is built on a read snapshot.
                let mut tx = store.derived_pool().begin_with("BEGIN IMMEDIATE").await?;
                self.key = complainant_key(&mut tx).await?;
                tx.commit().await?;
                let mut tx = store.derived_pool().begin().await?;
                let rebuilt = self.rebuild(&mut tx).await;
                match rebuilt {
                    Ok(()) => tx.commit().await?,
                    Err(error) => {
                        self.engine = None;
                        return Err(error);
                    }
                }
            }
            let engine = self.engine.as_ref().expect("engine built");
            let extractor = engine.extractor();
            let key = &self.key;
            let prepared = crate::background::par_map(batch, |complaint| {
                prepared_input(extractor, key, complaint)
            })
            .into_iter()
            .collect();
            self.prepared = Some((batch_key(batch), prepared));
            Ok(())
        })
    }

    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            let tx = tx.sqlite();
            let repeated = batch
                .iter()
                .any(|c| c.seq <= self.last_seq && self.engine.is_some());
            if self.engine.is_none() || repeated {
                // A batch seen again means its transaction failed after the engine moved on:
                // start again from what is committed.
                self.rebuild(tx).await?;
            }
            let result = async {
                self.apply_new_decisions(tx).await?;
                self.group_batch(batch, tx).await
            }
            .await;
            if result.is_err() {
                self.engine = None;
            }
            result
        })
    }

    fn reset<'a>(
        &'a mut self,
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            let tx = tx.sqlite();
            clear_derived(tx).await?;
            self.engine = None;
            self.last_seq = 0;
            self.decisions_applied = 0;
            Ok(())
        })
    }
}
