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
use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::grouping_input::{StoredComplaint, complainant_key, input_of};
use super::{BatchKey, Complaint, PipelineError, Precompute, Stage, batch_key};
use crate::cases::CaseError;
use crate::cases::staff::{decisions_after, parse_decision};
use crate::cases::write::{MemberRow, clear_derived, join_members};
use crate::grouping::{
    CaseKey, ComplaintFeatures, ComplaintInput, Engine, Extractor, GroupingConfig, HumanDecision,
    Pins,
};
use crate::store::cases::{GroupingComplaint, GroupingState};
use crate::store::{DerivedTx, Store};

fn stage_error(error: impl std::fmt::Display) -> PipelineError {
    PipelineError::Stage {
        stage: "grouping",
        message: error.to_string(),
    }
}

impl From<CaseError> for PipelineError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::Store(e) => PipelineError::Store(e),
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
    /// When the engine's sizes went to the metrics last.
    sizes_published: Option<std::time::Instant>,
}

/// How often the engine's sizes go to the metrics (`gateway_grouping_*`).
const SIZES_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
            sizes_published: None,
        }
    }

    /// The grouping window in milliseconds, for [`GroupingState`].
    fn window_ms(&self) -> i64 {
        i64::from(self.config.window_days) * 86_400_000
    }

    /// Builds the engine from what is committed (`state`, read with the complainant key
    /// `key`): pins from every staff decision, then the recent window's complaints observed in
    /// their stored cases.
    fn rebuild(&mut self, key: Vec<u8>, state: GroupingState) -> Result<(), PipelineError> {
        self.key = key;
        let decisions = state
            .decisions
            .iter()
            .map(parse_decision)
            .collect::<Result<Vec<_>, CaseError>>()?;
        let pins = Pins::from_decisions(decisions.iter().map(|(_, d)| d));
        self.decisions_applied = decisions.last().map_or(0, |(id, _)| *id);
        let mut engine = Engine::new(self.config.clone(), crate::dictionary::jieba_arc(), pins)
            .map_err(stage_error)?;
        self.last_seq = state.last_seq;
        for member in &state.window {
            let input = input_of(&stored_of(&member.complaint), &self.key);
            engine.observe(&input, &CaseKey(member.case_id.clone()));
        }
        self.engine = Some(engine);
        Ok(())
    }

    /// [`GroupingStage::rebuild`] from what `tx` sees.
    async fn rebuild_in(&mut self, tx: &mut (dyn DerivedTx + '_)) -> Result<(), PipelineError> {
        let key = complainant_key(tx).await?;
        let state = tx
            .grouping_state(self.window_ms(), self.config.max_window_complaints)
            .await?;
        self.rebuild(key, state)
    }

    /// Applies staff decisions recorded since the engine last looked.
    async fn apply_new_decisions(
        &mut self,
        tx: &mut (dyn DerivedTx + '_),
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
                    if let Some(complaint) = tx.grouping_complaint(complaint_id).await? {
                        let input = input_of(&stored_of(&complaint), &self.key);
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
        tx: &mut (dyn DerivedTx + '_),
    ) -> Result<(), PipelineError> {
        let mut members = Vec::with_capacity(batch.len());
        let ids: Vec<&str> = batch.iter().map(|c| c.id.as_str()).collect();
        let mut existing = tx.member_cases(&ids).await?;
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
            complaint.case_id = Some(member.case_id.clone());
            self.last_seq = self.last_seq.max(complaint.seq);
            members.push(member);
        }
        join_members(tx, members).await?;
        // Its sizes, at most every few seconds (the sum walks the window).
        if self
            .sizes_published
            .is_none_or(|at| at.elapsed() >= SIZES_EVERY)
        {
            if let Some(engine) = &self.engine {
                crate::telemetry::grouping_engine(&engine.stats());
            }
            self.sizes_published = Some(std::time::Instant::now());
        }
        Ok(())
    }
}

/// The engine's view of a stored complaint.
fn stored_of(complaint: &GroupingComplaint) -> StoredComplaint<'_> {
    StoredComplaint {
        id: &complaint.id,
        channel: &complaint.channel,
        effective_at: complaint.effective_at,
        title: complaint.title.as_deref(),
        text_norm: &complaint.text_norm,
        item: &complaint.item,
    }
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
                let mut tx = store.begin_derived().await?;
                let key = complainant_key(&mut *tx).await?;
                tx.commit().await?;
                self.key = key.clone();
                let state = store
                    .grouping_state(self.window_ms(), self.config.max_window_complaints)
                    .await?;
                if let Err(error) = self.rebuild(key, state) {
                    self.engine = None;
                    return Err(error);
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
            let repeated = batch
                .iter()
                .any(|c| c.seq <= self.last_seq && self.engine.is_some());
            if self.engine.is_none() || repeated {
                // A batch seen again means its transaction failed after the engine moved on:
                // start again from what is committed.
                self.rebuild_in(tx).await?;
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
            clear_derived(tx).await?;
            self.engine = None;
            self.last_seq = 0;
            self.decisions_applied = 0;
            Ok(())
        })
    }
}
