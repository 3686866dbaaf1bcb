//! The binary problems of training: per-example costs, NB-SVM column scales, and running
//! every `(fold, class)` problem on worker threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{BIAS, ClassWeight, TrainConfig, TrainProgress, TrainStage};
use crate::classify::hashing::mix64;
use crate::classify::svm::{SparseRows, SvmParams, train_binary};

pub(super) fn example_costs(y: &[usize], k: usize, config: &TrainConfig) -> Vec<f64> {
    let mut per_class = vec![0usize; k];
    for &label in y {
        per_class[label] += 1;
    }
    y.iter()
        .map(|&label| match config.class_weight {
            ClassWeight::Uniform => config.c,
            ClassWeight::Balanced => {
                config.c * y.len() as f64 / (k as f64 * per_class[label] as f64)
            }
        })
        .collect()
}

pub(super) struct Fitted {
    /// `n × k` out-of-fold scores.
    pub(super) oof_scores: Vec<f32>,
    /// Per class, weights over columns of the model trained on everything.
    pub(super) final_weights: Vec<Vec<f64>>,
    pub(super) intercepts: Vec<f32>,
    pub(super) max_epochs: usize,
}

/// Runs every binary problem: `(fold, class)` for each cross-validation fold, then `(None,
/// class)` on all examples for the final model.
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_all(
    x: &SparseRows,
    y: &[usize],
    costs: &[f64],
    fold_of: &[usize],
    folds: usize,
    k: usize,
    config: &TrainConfig,
    threads: usize,
    progress: &(dyn Fn(TrainProgress) + Sync),
) -> Fitted {
    let jobs: Vec<(Option<usize>, usize)> = (0..folds)
        .map(Some)
        .chain([None])
        .flat_map(|fold| (0..k).map(move |class| (fold, class)))
        .collect();
    let params = SvmParams {
        eps: config.tolerance,
        max_epochs: config.max_epochs,
        bias: BIAS,
    };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let oof = Mutex::new(vec![0.0f32; y.len() * k]);
    let finals: Mutex<Vec<Option<(Vec<f64>, f32, usize)>>> = Mutex::new(vec![None; k]);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(jobs.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(fold, class)) = jobs.get(j) else {
                        break;
                    };
                    let subset: Vec<u32> = (0..y.len() as u32)
                        .filter(|&i| fold.is_none_or(|f| fold_of[i as usize] != f))
                        .collect();
                    let positive: Vec<bool> =
                        subset.iter().map(|&i| y[i as usize] == class).collect();
                    let subset_costs: Vec<f64> =
                        subset.iter().map(|&i| costs[i as usize]).collect();
                    let column_scale = match config.nb_scaling {
                        true => nb_log_ratios(x, &subset, &positive),
                        false => vec![1.0; x.n_cols],
                    };
                    let seed = mix64(
                        config.seed
                            ^ mix64(fold.map_or(u64::MAX, |f| f as u64) ^ ((class as u64) << 32)),
                    );
                    let svm = train_binary(
                        x,
                        &subset,
                        &positive,
                        &subset_costs,
                        &column_scale,
                        &params,
                        seed,
                    );
                    match fold {
                        Some(f) => {
                            let held_out: Vec<(usize, f32)> = (0..y.len())
                                .filter(|&i| fold_of[i] == f)
                                .map(|i| {
                                    let (cols, vals) = x.row(i);
                                    (i, svm.score(cols, vals, BIAS) as f32)
                                })
                                .collect();
                            let mut oof = oof.lock().expect("no panics while holding the lock");
                            for (i, score) in held_out {
                                oof[i * k + class] = score;
                            }
                        }
                        None => {
                            finals.lock().expect("no panics while holding the lock")[class] =
                                Some((svm.weights, (svm.bias_weight * BIAS) as f32, svm.epochs));
                        }
                    }
                    progress(TrainProgress {
                        stage: TrainStage::Fitting,
                        done: done.fetch_add(1, Ordering::Relaxed) + 1,
                        total: jobs.len(),
                    });
                }
            });
        }
    });
    let mut final_weights = Vec::with_capacity(k);
    let mut intercepts = Vec::with_capacity(k);
    let mut max_epochs = 0;
    for slot in finals.into_inner().expect("workers finished") {
        let (weights, intercept, epochs) = slot.expect("every final problem ran");
        final_weights.push(weights);
        intercepts.push(intercept);
        max_epochs = max_epochs.max(epochs);
    }
    Fitted {
        oof_scores: oof.into_inner().expect("workers finished"),
        final_weights,
        intercepts,
        max_epochs,
    }
}

/// Naive-Bayes log-count ratios per column (Wang & Manning, "Baselines and Bigrams", 2012):
/// `|ln((a + df⁺) / (a·n + N⁺)) − ln((a + df⁻) / (a·n + N⁻))|`-style ratio of how often a column
/// occurs in positive versus negative rows, with add-one smoothing. Scaling columns by its
/// magnitude lets the SVM lean on features that separate this class and damps the rest.
pub(super) fn nb_log_ratios(x: &SparseRows, subset: &[u32], positive: &[bool]) -> Vec<f32> {
    let mut in_positive = vec![0u32; x.n_cols];
    let mut in_negative = vec![0u32; x.n_cols];
    for (&row, &p) in subset.iter().zip(positive) {
        let counts = if p {
            &mut in_positive
        } else {
            &mut in_negative
        };
        for &c in x.row(row as usize).0 {
            counts[c as usize] += 1;
        }
    }
    let total_pos: f64 = in_positive.iter().map(|&n| f64::from(n) + 1.0).sum();
    let total_neg: f64 = in_negative.iter().map(|&n| f64::from(n) + 1.0).sum();
    in_positive
        .iter()
        .zip(&in_negative)
        .map(|(&p, &n)| {
            let ratio =
                ((f64::from(p) + 1.0) / total_pos).ln() - ((f64::from(n) + 1.0) / total_neg).ln();
            ratio.abs() as f32
        })
        .collect()
}
