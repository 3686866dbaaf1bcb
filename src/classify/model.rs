//! A trained classifier and prediction.
//!
//! The model is a linear one-vs-rest scorer over hashed TF-IDF features plus a temperature for
//! calibrated probabilities. In memory, a bucket → row index (`u32` per bucket) points into a
//! compact table whose rows hold the bucket's idf followed by one weight per class, so scoring
//! a feature costs one index read and one row read, and unused buckets cost nothing.
//!
//! Prediction is a single pass over the term counts: per block it accumulates the partial
//! scores and the block norm together, then applies the normalisation of
//! [`Featurizer`]'s weighting to the sums (it is linear), which avoids building the weighted
//! vector. A unit test checks this against the explicit vector.

use serde::{Deserialize, Serialize};

use super::calibration::{Calibration, softmax};
use super::features::{BLOCKS, FeatureScratch, Featurizer};
use super::metadata::ModelMeta;

/// Row index value for a bucket the model does not use.
pub(crate) const UNUSED: u32 = u32::MAX;

/// A trained classifier, ready to predict. Cheap to share (`&Model` is `Sync`).
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) meta: ModelMeta,
    pub(crate) featurizer: Featurizer,
    /// Bucket → row in `rows`, or [`UNUSED`].
    pub(crate) index: Vec<u32>,
    /// Row → bucket; the inverse of `index`, kept for saving.
    pub(crate) buckets: Vec<u32>,
    /// `buckets.len()` rows of `1 + classes` values: idf, then one weight per class.
    pub(crate) rows: Vec<f32>,
    /// Per class: the bias weight times the bias feature value.
    pub(crate) intercepts: Vec<f32>,
}

/// One label with its raw score and calibrated probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredLabel {
    pub label: String,
    /// Calibrated probability (all labels' probabilities sum to 1).
    pub probability: f32,
    /// Raw one-vs-rest margin; positive means "this class rather than the rest".
    pub score: f32,
}

/// The classifier's answer for one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The most probable label.
    pub label: String,
    /// Its calibrated probability: compare with a triage threshold.
    pub confidence: f32,
    /// The best labels, most probable first (the best included).
    pub top: Vec<ScoredLabel>,
}

/// Reusable buffers for prediction; one per thread.
#[derive(Debug, Default)]
pub struct PredictScratch {
    features: FeatureScratch,
    hits: Vec<(u32, u32)>,
    partial: Vec<f32>,
    scores: Vec<f32>,
    probabilities: Vec<f32>,
}

impl PredictScratch {
    /// Raw scores of the last [`Model::score_into`] call, in label order.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// Calibrated probabilities of the last [`Model::score_into`] call, in label order.
    pub fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }
}

impl Model {
    /// The model's description: labels, feature configuration, training summary.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The labels, in the order of scores and probabilities.
    pub fn labels(&self) -> &[String] {
        &self.meta.labels
    }

    pub fn calibration(&self) -> &Calibration {
        &self.meta.calibration
    }

    /// Number of feature buckets the model has weights for.
    pub fn feature_count(&self) -> usize {
        self.buckets.len()
    }

    fn classes(&self) -> usize {
        self.meta.labels.len()
    }

    /// Scores a message (raw title and body; they are normalised here) into `scratch`, with
    /// little allocation once the scratch buffers have grown. Returns the best label's index.
    pub fn score_into(
        &self,
        title: Option<&str>,
        body: &str,
        scratch: &mut PredictScratch,
    ) -> usize {
        self.featurizer.count(title, body, &mut scratch.features);
        self.score_counts(scratch)
    }

    /// Like [`Model::score_into`] for title and body already normalised with
    /// [`connectors::text::normalize`] (the store keeps that form), which saves the
    /// normalisation's cost.
    pub fn score_normalized_into(
        &self,
        title: Option<&str>,
        body: &str,
        scratch: &mut PredictScratch,
    ) -> usize {
        self.featurizer
            .count_normalized(title, body, &mut scratch.features);
        self.score_counts(scratch)
    }

    fn score_counts(&self, scratch: &mut PredictScratch) -> usize {
        let k = self.classes();
        let stride = 1 + k;
        let config = self.featurizer.config();
        let block_weights = config.block_weights();
        scratch.partial.clear();
        scratch.partial.resize(BLOCKS * k, 0.0);
        let mut norms_sq = [0.0f32; BLOCKS];
        for (block, counts) in scratch.features.counts.iter().enumerate() {
            // Two passes: first the rows (independent index reads the CPU overlaps), then the
            // weights, fetching a few rows ahead. Rows are spread over megabytes, so waiting for
            // memory one row at a time would dominate prediction.
            scratch.hits.clear();
            for (i, &(bucket, count)) in counts.iter().enumerate() {
                if let Some(&(ahead, _)) = counts.get(i + PREFETCH_DISTANCE) {
                    prefetch(&self.index[ahead as usize]);
                }
                let row = self.index[bucket as usize];
                if row != UNUSED {
                    scratch.hits.push((row, count));
                }
            }
            let partial = &mut scratch.partial[block * k..(block + 1) * k];
            for (i, &(row, count)) in scratch.hits.iter().enumerate() {
                if let Some(&(ahead, _)) = scratch.hits.get(i + PREFETCH_DISTANCE) {
                    prefetch(&self.rows[ahead as usize * stride]);
                }
                let values = &self.rows[row as usize * stride..(row as usize + 1) * stride];
                let value = self.featurizer.tf(count) * values[0];
                norms_sq[block] += value * value;
                for (p, w) in partial.iter_mut().zip(&values[1..]) {
                    *p += value * w;
                }
            }
        }
        let total_sq: f32 = (0..BLOCKS)
            .filter(|&b| norms_sq[b] > 0.0)
            .map(|b| block_weights[b] * block_weights[b])
            .sum();
        scratch.scores.clear();
        scratch.scores.extend_from_slice(&self.intercepts);
        if total_sq > 0.0 {
            for block in (0..BLOCKS).filter(|&b| norms_sq[b] > 0.0) {
                let scale = block_weights[block] / norms_sq[block].sqrt() / total_sq.sqrt();
                for (s, p) in scratch
                    .scores
                    .iter_mut()
                    .zip(&scratch.partial[block * k..(block + 1) * k])
                {
                    *s += p * scale;
                }
            }
        }
        scratch.probabilities.clear();
        scratch.probabilities.resize(k, 0.0);
        softmax(
            &scratch.scores,
            self.meta.calibration.temperature,
            &mut scratch.probabilities,
        );
        argmax(&scratch.scores)
    }

    /// Predicts the label of a message with the three best labels.
    pub fn predict(&self, title: Option<&str>, body: &str) -> Prediction {
        self.predict_top(title, body, 3)
    }

    /// [`Model::predict`] for title and body already normalised with
    /// [`connectors::text::normalize`] (the pipeline has the stored form).
    pub fn predict_normalized(&self, title: Option<&str>, body: &str) -> Prediction {
        let mut scratch = PredictScratch::default();
        self.score_normalized_into(title, body, &mut scratch);
        self.prediction_from(&scratch, 3)
    }

    /// Predicts the label of a message with the `n` best labels (at least one).
    pub fn predict_top(&self, title: Option<&str>, body: &str, n: usize) -> Prediction {
        let mut scratch = PredictScratch::default();
        self.score_into(title, body, &mut scratch);
        self.prediction_from(&scratch, n)
    }

    /// Builds a [`Prediction`] from the scores left in `scratch` by [`Model::score_into`].
    pub fn prediction_from(&self, scratch: &PredictScratch, n: usize) -> Prediction {
        let mut order: Vec<usize> = (0..self.classes()).collect();
        // Ties (e.g. an empty text) resolve to the earlier label, so output is deterministic.
        order.sort_by(|&a, &b| {
            scratch.scores[b]
                .total_cmp(&scratch.scores[a])
                .then(a.cmp(&b))
        });
        let top: Vec<ScoredLabel> = order
            .iter()
            .take(n.max(1))
            .map(|&i| ScoredLabel {
                label: self.meta.labels[i].clone(),
                probability: scratch.probabilities[i],
                score: scratch.scores[i],
            })
            .collect();
        Prediction {
            label: top[0].label.clone(),
            confidence: top[0].probability,
            top,
        }
    }

    /// The best label's index for every `(title, body)`, in order.
    pub fn predict_indices<'a>(
        &self,
        messages: impl IntoIterator<Item = (Option<&'a str>, &'a str)>,
    ) -> Vec<usize> {
        let mut scratch = PredictScratch::default();
        messages
            .into_iter()
            .map(|(title, body)| self.score_into(title, body, &mut scratch))
            .collect()
    }
}

/// How many rows ahead of use a row is requested from memory.
const PREFETCH_DISTANCE: usize = 12;

/// Hints the CPU to bring the cache line holding `value` closer; a no-op where unsupported.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetching is only a hint; it never faults, even for invalid addresses, and
        // `value` is a valid reference anyway. SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Index of the largest value (the first one on ties).
pub(crate) fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
