//! Training: examples → [`Model`].
//!
//! 1. Every example's text is normalised and counted into hashed features (in parallel).
//! 2. Buckets seen in fewer than `min(min_df, 1 + n / 2000)` of the `n` messages are dropped
//!    (a rare feature is noise only once there is enough data to see features repeat; on a
//!    few dozen examples every feature counts); idf is the smoothed
//!    `ln((1 + n) / (1 + df)) + 1` of scikit-learn, so figures compare with its TF-IDF.
//! 3. One binary L2-loss linear SVM per label (one-vs-rest) by dual coordinate descent, on
//!    features scaled by their naive-Bayes log-count ratio for that label (NB-SVM, optional;
//!    the scale is folded into the weights, so prediction does not change).
//! 4. Calibration: the same is trained on `calibration_folds` − 1 folds and scores the held-out
//!    fold (stratified folds), which gives out-of-fold scores for every example; one softmax
//!    temperature is fitted on them, and they are also reported as cross-validated metrics.
//!    (The idf is computed once on the whole set: a small optimism of the estimate, accepted.)
//! 5. Optionally (and only when every label has at least 30 examples), per-class score offsets that maximise the out-of-fold macro-F1 (`offsets`),
//!    applied before the temperature is fitted. The reported cross-validated metrics then
//!    include that tuning, so they are slightly optimistic.
//!
//! The binary problems (folds × labels + labels) run on `threads` worker threads. Each problem's
//! coordinate order comes from a generator seeded with `(seed, fold, label)`, so the result
//! does not depend on the number of threads or their timing: a seed gives the same model.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::data::{Example, stratified_folds};
use super::features::{BLOCKS, FeatureConfig, FeatureConfigError, FeatureScratch, Featurizer};
use super::metadata::{FORMAT_VERSION, ModelMeta, TrainingSummary};
use super::metrics::Evaluation;
use super::model::{Model, UNUSED, argmax};
use super::svm::SparseRows;
use super::{calibration, offsets};
#[cfg(test)]
use fit::nb_log_ratios;
use fit::{example_costs, fit_all};

/// How classes are weighted in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every example costs the same.
    Uniform,
    /// Each class weighs `n / (classes · n_class)`, so small classes are not drowned out.
    Balanced,
}

/// Training settings; stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub features: FeatureConfig,
    /// SVM cost `C`: larger fits the training set more closely.
    pub c: f64,
    pub class_weight: ClassWeight,
    /// Solver stopping tolerance (projected-gradient spread).
    pub tolerance: f64,
    /// Solver epoch limit per binary problem.
    pub max_epochs: usize,
    /// Add per-class offsets to the scores, chosen to maximise the macro-F1 of the
    /// cross-validation's out-of-fold predictions.
    pub macro_f1_offsets: bool,
    /// Scale each binary problem's features by their naive-Bayes log-count ratio (NB-SVM).
    pub nb_scaling: bool,
    /// Folds of the internal cross-validation that fits the calibration (at least 2).
    pub calibration_folds: usize,
    /// Seed of every random choice (fold assignment, coordinate order).
    pub seed: u64,
    /// Worker threads; 0 means all available cores. Does not change the result.
    #[serde(skip)]
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureConfig::default(),
            c: 2.0,
            class_weight: ClassWeight::Balanced,
            tolerance: 0.1,
            max_epochs: 1000,
            macro_f1_offsets: true,
            nb_scaling: true,
            calibration_folds: 3,
            seed: 42,
            threads: 0,
        }
    }
}

/// Offsets are tuned only when every label has this many examples: on fewer, one message
/// moves macro-F1 so much that the offsets would fit noise.
const MIN_EXAMPLES_FOR_OFFSETS: usize = 30;

/// The document-frequency threshold applied to `n` training messages.
fn effective_min_df(min_df: u32, n: usize) -> u32 {
    min_df.min(1 + (n / 2000) as u32)
}

fn examples_per_label(y: &[usize], k: usize) -> Vec<usize> {
    let mut counts = vec![0usize; k];
    for &label in y {
        counts[label] += 1;
    }
    counts
}

/// Value of the constant bias feature (LIBLINEAR's `-B 1`, scikit-learn's `intercept_scaling`).
const BIAS: f64 = 1.0;

/// The phase training is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainStage {
    /// Reading texts into features; units are examples.
    Features,
    /// Fitting binary problems (cross-validation folds and the final model); units are problems.
    Fitting,
    /// Calibration and model assembly: one unit.
    Finishing,
}

/// A progress report: `done` of `total` units of `stage`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainProgress {
    pub stage: TrainStage,
    pub done: usize,
    pub total: usize,
}

/// Why training could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("no training examples")]
    NoExamples,
    #[error("training needs at least two different labels, found {0}")]
    TooFewLabels(usize),
    #[error("feature configuration: {0}")]
    Features(#[from] FeatureConfigError),
    #[error("invalid training configuration: {0}")]
    Config(String),
}

impl TrainConfig {
    fn validate(&self) -> Result<(), TrainError> {
        self.features.validate()?;
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(TrainError::Config(format!(
                "c must be positive, got {}",
                self.c
            )));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) || self.max_epochs == 0 {
            return Err(TrainError::Config(
                "tolerance and max_epochs must be positive".into(),
            ));
        }
        if self.calibration_folds < 2 {
            return Err(TrainError::Config(
                "calibration_folds must be at least 2".into(),
            ));
        }
        Ok(())
    }

    fn worker_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Trains a model on `examples`. `progress` is called from worker threads as work completes.
pub fn train(
    examples: &[Example],
    config: &TrainConfig,
    trained_at: DateTime<Utc>,
    progress: &(dyn Fn(TrainProgress) + Sync),
) -> Result<Model, TrainError> {
    config.validate()?;
    if examples.is_empty() {
        return Err(TrainError::NoExamples);
    }
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.len() < 2 {
        return Err(TrainError::TooFewLabels(labels.len()));
    }
    let y: Vec<usize> = examples
        .iter()
        .map(|e| {
            labels
                .binary_search(&e.label)
                .expect("label collected above")
        })
        .collect();
    let featurizer = Featurizer::new(config.features.clone())?;
    let threads = config.worker_threads();

    let counts = count_all(&featurizer, examples, threads, progress);
    let vocabulary = Vocabulary::build(&counts, &config.features);
    let mut x = SparseRows::new(vocabulary.columns.len());
    let mut row = Vec::new();
    for doc in &counts {
        featurizer.weigh(doc, |bucket| vocabulary.lookup(bucket), &mut row);
        x.push_row(&row);
    }
    drop(counts);

    let k = labels.len();
    let costs = example_costs(&y, k, config);
    let folds = config.calibration_folds.min(examples.len());
    let fold_of = stratified_folds(
        &examples
            .iter()
            .map(|e| e.label.as_str())
            .collect::<Vec<_>>(),
        folds,
        config.seed,
    );
    let fitted = fit_all(
        &x, &y, &costs, &fold_of, folds, k, config, threads, progress,
    );

    let mut fitted = fitted;
    let smallest_class = examples_per_label(&y, k).into_iter().min().unwrap_or(0);
    let offsets = if config.macro_f1_offsets && smallest_class >= MIN_EXAMPLES_FOR_OFFSETS {
        offsets::fit(&fitted.oof_scores, k, &y)
    } else {
        vec![0.0; k]
    };
    for row in fitted.oof_scores.chunks_exact_mut(k) {
        for (score, offset) in row.iter_mut().zip(&offsets) {
            *score += offset;
        }
    }
    for (intercept, offset) in fitted.intercepts.iter_mut().zip(&offsets) {
        *intercept += offset;
    }
    let calibration = calibration::fit(&fitted.oof_scores, k, &y);
    let oof_predicted = fitted.oof_scores.chunks_exact(k).map(argmax);
    let cross_validation = Evaluation::from_pairs(
        &labels,
        y.iter()
            .zip(oof_predicted)
            .map(|(&t, p)| (labels[t].as_str(), labels[p].as_str())),
    );
    let examples_per_label = examples_per_label(&y, k);
    let meta = ModelMeta {
        format_version: FORMAT_VERSION,
        labels,
        features: config.features.clone(),
        calibration,
        training: TrainingSummary {
            trained_at,
            examples: examples.len(),
            examples_per_label,
            features_used: vocabulary.columns.len(),
            config: config.clone(),
            max_solver_epochs: fitted.max_epochs,
            cross_validation: Some(cross_validation),
        },
    };
    let model = assemble(
        meta,
        featurizer,
        &vocabulary,
        &fitted.final_weights,
        &fitted.intercepts,
    );
    progress(TrainProgress {
        stage: TrainStage::Finishing,
        done: 1,
        total: 1,
    });
    Ok(model)
}

type DocCounts = [Vec<(u32, u32)>; BLOCKS];

fn count_all(
    featurizer: &Featurizer,
    examples: &[Example],
    threads: usize,
    progress: &(dyn Fn(TrainProgress) + Sync),
) -> Vec<DocCounts> {
    const CHUNK: usize = 64;
    let done = AtomicUsize::new(0);
    let chunks: Vec<&[Example]> = examples.chunks(CHUNK).collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<DocCounts>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(chunks.len()).max(1) {
            scope.spawn(|| {
                let mut scratch = FeatureScratch::default();
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(c) else { break };
                    let counted: Vec<DocCounts> = chunk
                        .iter()
                        .map(|e| {
                            featurizer.count(e.title.as_deref(), &e.body, &mut scratch);
                            scratch.counts.clone()
                        })
                        .collect();
                    results
                        .lock()
                        .expect("no panics while holding the lock")
                        .push((c, counted));
                    let total = done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
                    progress(TrainProgress {
                        stage: TrainStage::Features,
                        done: total,
                        total: examples.len(),
                    });
                }
            });
        }
    });
    let mut results = results.into_inner().expect("workers finished");
    results.sort_unstable_by_key(|(c, _)| *c);
    results
        .into_iter()
        .flat_map(|(_, counted)| counted)
        .collect()
}

/// The kept buckets, in bucket order, with their idf.
struct Vocabulary {
    /// Bucket → column, or [`UNUSED`].
    column_of: Vec<u32>,
    /// Column → bucket.
    columns: Vec<u32>,
    idf: Vec<f32>,
}

impl Vocabulary {
    fn build(counts: &[DocCounts], config: &FeatureConfig) -> Vocabulary {
        let mut df = vec![0u32; config.bucket_count()];
        let mut seen = Vec::new();
        for doc in counts {
            // A bucket counts once per message even if both blocks hashed into it.
            seen.clear();
            seen.extend(doc.iter().flatten().map(|&(bucket, _)| bucket));
            seen.sort_unstable();
            seen.dedup();
            for &bucket in &seen {
                df[bucket as usize] += 1;
            }
        }
        let n = counts.len() as f64;
        let min_df = effective_min_df(config.min_df, counts.len());
        let mut column_of = vec![UNUSED; df.len()];
        let mut columns = Vec::new();
        let mut idf = Vec::new();
        for (bucket, &d) in df.iter().enumerate() {
            if d > 0 && d >= min_df {
                column_of[bucket] = columns.len() as u32;
                columns.push(bucket as u32);
                idf.push((((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0) as f32);
            }
        }
        Vocabulary {
            column_of,
            columns,
            idf,
        }
    }

    fn lookup(&self, bucket: u32) -> Option<(u32, f32)> {
        let column = self.column_of[bucket as usize];
        (column != UNUSED).then(|| (column, self.idf[column as usize]))
    }
}

fn assemble(
    meta: ModelMeta,
    featurizer: Featurizer,
    vocabulary: &Vocabulary,
    weights: &[Vec<f64>],
    intercepts: &[f32],
) -> Model {
    let k = weights.len();
    let mut rows = Vec::with_capacity(vocabulary.columns.len() * (1 + k));
    for (column, &idf) in vocabulary.idf.iter().enumerate() {
        rows.push(idf);
        rows.extend(weights.iter().map(|w| w[column] as f32));
    }
    Model {
        meta,
        featurizer,
        index: vocabulary.column_of.clone(),
        buckets: vocabulary.columns.clone(),
        rows,
        intercepts: intercepts.to_vec(),
    }
}

mod fit;

#[cfg(test)]
mod tests;
