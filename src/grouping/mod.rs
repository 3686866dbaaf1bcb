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
//!   `window_days` of the engine clock (the latest effective `submitted_at` seen: a
//!   future-dated complaint counts at its receipt) and only among the newest
//!   `max_window_complaints`; a case is remembered while it has a complaint in the window.
//!   Inverted lists are capped per key and swept after evictions; term statistics are capped
//!   by `max_vocabulary`. Measured: about 0.6 KB of engine state per complaint in
//!   the window (463 MB for 818k complaints), so the defaults (365 days, at most 1,000,000
//!   complaints) bound it near 600 MB, plus jieba's dictionary (~60 MB, shared).
//! - **Work per complaint does not grow with the corpus**: candidates come only from the
//!   content-hash table, LSH buckets, the complainant's recent complaints and capped place
//!   and term lists, and at most `max_scored_cases` case profiles are scored.
//! - Never logs complaint text or complainant data: complainant keys arrive already hashed.
//!
//! # How a complaint is matched
//! 1. Staff pins first ([`Pins`]).
//! 2. Exact: the hash of its letters and digits, or of its body alone (a repost with a new
//!    title), equals an earlier one.
//! 3. Near duplicate: MinHash over character shingles, candidates from LSH buckets and the
//!    complainant's recent complaints, estimated Jaccard ≥ `near_duplicate_jaccard` (lower,
//!    `same_complainant_jaccard`, for the same complainant). A template letter about two
//!    different estates stays apart unless nearly identical.
//! 4. Same issue: candidate cases come from capped inverted lists of named places (estates,
//!    roads, schools, hospitals, companies, units, landmarks, towns: suffix rules over
//!    jieba's tagged words, plus estate names learned from
//!    earlier complaints) and of distinctive terms. Each is scored against the case's
//!    profile: the shared place (weighted by kind, rarity and how many members name it) plus
//!    the cosine of problem terms (tf-idf over the complaint's most characteristic words and
//!    problem concepts, document frequencies kept incrementally with a general-language
//!    prior from jieba's dictionary), times a time factor. A shared estate, school, road…
//!    anchors a match and needs little shared wording (less still for complaints days
//!    apart); without a shared place the wording must be close and the case may not span
//!    more than `max_text_only_case_span_days`. Never by similarity: a complaint naming a
//!    place the case does not share, a complaint naming no place into a case about one, or
//!    another district.
//! 5. Same complainant: a case with a recent complaint of the same person takes a follow-up
//!    with modest shared wording, unless it names another place.
//! 6. Otherwise the complaint founds a new case.
//!
//! Modules: [`config`] (thresholds), [`input`] (inputs and reasons), [`features`]
//! (extraction), [`engine`] (state and eviction), [`pins`] (staff decisions), [`heat`]
//! (hot-issue score), [`evaluate`] (pairwise and B-cubed metrics). The synthetic labelled
//! complaint stream and the throughput and memory bench live in [`crate::bench::synthetic`]
//! and `crate::bench::grouping`.

mod case;
pub mod config;
mod decide;
pub mod engine;
pub mod evaluate;
pub mod features;
pub(crate) mod hash;
pub mod heat;
pub mod input;
mod lexicon;
mod minhash;
pub mod pins;
mod places;
mod postings;
mod staff;
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
