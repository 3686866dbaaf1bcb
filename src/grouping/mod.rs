//! Grouping: assigns every complaint to a case, explains why, and scores hot issues.
//!
//! # Contract
//! - **Incremental and deterministic.** [`Engine::assign`] takes complaints one at a time in
//!   arrival order and returns an [`Assignment`]; the same complaints in the same order with
//!   the same [`GroupingConfig`] and [`Pins`] always give the same cases. `reprocess` is a
//!   fresh engine fed the store's complaints in arrival order ([`group_all`]).
//! - **Cases are named after their founding complaint** ([`CaseKey`]), so the store can match
//!   the cases of a replay to the stored ones (and keep their status and history).
//! - **Every decision says why** ([`GroupingReason`]): exact, near-duplicate, same complainant,
//!   same issue, pinned or new, with the score, the matched complaint and the shared places
//!   and problem terms.
//! - **Staff decisions win.** Merges and splits are recorded as [`HumanDecision`]s; the engine
//!   never undoes them, live ([`Engine::merge`], [`Engine::split_out`]) or on replay ([`Pins`]).
//! - **Memory is bounded** by a sliding window: a complaint is a match candidate for
//!   `window_days` of the engine clock (the latest `submitted_at` seen) and only among the
//!   newest `max_window_complaints`; a case is remembered while it has a complaint in the
//!   window. Inverted lists are capped per key; term statistics are capped by
//!   `max_vocabulary`. Measured cost is a few hundred bytes per complaint in the window (see
//!   [`bench`]).
//! - Never logs complaint text or complainant data: complainant keys arrive already hashed.
//!
//! # How a complaint is matched
//! 1. Exact: the hash of its letters and digits, or of its body alone (a repost with a new
//!    title), equals an earlier one.
//! 2. Near duplicate: MinHash over character shingles, candidates from LSH buckets and the
//!    complainant's recent complaints, estimated Jaccard ≥ `near_duplicate_jaccard` (lower,
//!    `same_complainant_jaccard`, for the same complainant).
//! 3. Same issue: candidate cases come from capped inverted lists of named places (estates,
//!    roads, schools, companies, units, found by suffix rules over jieba's tagged words, and
//!    estate names learned from earlier complaints) and of distinctive terms; each is scored
//!    against the case's profile: shared place (weighted by kind and rarity) plus problem-term
//!    cosine (tf-idf with document frequencies kept incrementally), times a time factor. A
//!    complaint naming a different estate, school, hospital or company than the one a case is
//!    about, or another district, never joins it by similarity.
//!
//! Modules: [`config`] (thresholds), [`input`] (inputs and reasons), [`features`]
//! (extraction), [`engine`] (state and eviction), [`pins`] (staff decisions), [`heat`]
//! (hot-issue score), [`evaluate`] (pairwise and B-cubed metrics), [`bench`] (synthetic
//! workload and throughput).

pub mod bench;
mod case;
pub mod config;
mod decide;
pub mod engine;
pub mod evaluate;
pub mod features;
mod hash;
pub mod heat;
pub mod input;
mod lexicon;
mod minhash;
pub mod pins;
mod places;
mod postings;
mod staff;
pub mod synthetic;
mod synthetic_words;
mod vocabulary;

#[cfg(test)]
mod tests;

pub use config::{GroupingConfig, PlaceKindWeights};
pub use decide::CandidateScore;
pub use engine::{Engine, EngineStats};
pub use features::{ComplaintFeatures, Extractor, FeatureSummary};
pub use heat::{HeatConfig, HeatMember, HeatScore, heat_score};
pub use input::{Assignment, CaseKey, ComplaintInput, GroupingReason, MatchKind};
pub use lexicon::PlaceKind;
pub use pins::{HumanDecision, Pins};
pub use staff::SplitOutcome;

use std::sync::Arc;

use jieba_rs::Jieba;

/// Errors at the grouping module's boundary.
#[derive(Debug, thiserror::Error)]
pub enum GroupingError {
    /// A configuration value the engine cannot work with.
    #[error("invalid grouping config `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// None of these complaints is in the engine's window.
    #[error("no complaint of {0:?} is in the grouping window")]
    UnknownComplaints(Vec<String>),
}

/// Groups complaints from scratch in the given (arrival) order — what `reprocess` runs.
///
/// Features are extracted on a second thread while the engine assigns, so the result is the
/// same as assigning one by one.
pub fn group_all(
    config: GroupingConfig,
    jieba: Arc<Jieba>,
    pins: Pins,
    complaints: &[ComplaintInput],
) -> Result<Vec<Assignment>, GroupingError> {
    let mut engine = Engine::new(config, jieba, pins)?;
    let mut assignments = Vec::with_capacity(complaints.len());
    engine.assign_all(complaints, |assignment| assignments.push(assignment));
    Ok(assignments)
}

impl Engine {
    /// Assigns complaints in order, extracting features on a helper thread ahead of the
    /// assignment, and hands each assignment to `sink` in order.
    pub fn assign_all(&mut self, complaints: &[ComplaintInput], mut sink: impl FnMut(Assignment)) {
        self.assign_stream(complaints.iter().cloned(), |_, assignment| sink(assignment));
    }

    /// [`Engine::assign_all`] over an iterator, which is consumed on the helper thread (so
    /// a large import or a generator never has to be held in memory). `sink` gets each
    /// complaint with its assignment, in order. Returns how long this thread waited for
    /// features (zero when extraction keeps ahead of assignment).
    pub fn assign_stream<I>(
        &mut self,
        complaints: I,
        mut sink: impl FnMut(&ComplaintInput, Assignment),
    ) -> std::time::Duration
    where
        I: Iterator<Item = ComplaintInput> + Send,
    {
        const BATCH: usize = 256;
        let extractor = self.extractor().clone();
        std::thread::scope(|scope| {
            let (batch_tx, batch_rx) =
                std::sync::mpsc::sync_channel::<Vec<(ComplaintInput, ComplaintFeatures)>>(8);
            scope.spawn(move || {
                let mut complaints = complaints;
                loop {
                    let batch: Vec<(ComplaintInput, ComplaintFeatures)> = complaints
                        .by_ref()
                        .take(BATCH)
                        .map(|c| {
                            let features = extractor.extract(&c);
                            (c, features)
                        })
                        .collect();
                    if batch.is_empty() || batch_tx.send(batch).is_err() {
                        break;
                    }
                }
            });
            let mut waited = std::time::Duration::ZERO;
            loop {
                let asked = std::time::Instant::now();
                let Ok(batch) = batch_rx.recv() else { break };
                waited += asked.elapsed();
                for (complaint, features) in &batch {
                    let assignment = self.assign_extracted(complaint, features);
                    sink(complaint, assignment);
                }
            }
            waited
        })
    }
}
