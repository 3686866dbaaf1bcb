//! Calibrated confidence: temperature scaling of one-vs-rest scores.
//!
//! Raw SVM scores are margins, not probabilities. The trainer collects out-of-fold scores by
//! internal cross-validation (each message scored by a model that never saw it) and fits one
//! temperature `T` minimising the negative log-likelihood of `softmax(scores / T)` (Guo et al.,
//! "On Calibration of Modern Neural Networks", 2017). A single positive temperature keeps the
//! ranking of the raw scores, and the outputs are probabilities that sum to one, so a
//! "confidence below 0.6 → triage" rule means roughly "wrong more than 40% of the time".

use serde::{Deserialize, Serialize};

/// What calibration found, stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Divisor applied to the raw scores before the softmax.
    pub temperature: f32,
    /// Mean negative log-likelihood of the out-of-fold scores at that temperature.
    pub oof_log_loss: f64,
    /// Expected calibration error (10 equal-width confidence bins) of the out-of-fold scores.
    pub oof_ece: f64,
}

/// Writes `softmax(scores / temperature)` into `out`.
pub(crate) fn softmax(scores: &[f32], temperature: f32, out: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for (o, &s) in out.iter_mut().zip(scores) {
        *o = ((s - max) / temperature).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

/// Mean negative log-likelihood of `labels` under `softmax(scores * beta)`; `scores` holds
/// `labels.len()` rows of `k` scores.
fn log_loss(scores: &[f32], k: usize, labels: &[usize], beta: f64) -> f64 {
    let mut total = 0.0;
    for (row, &label) in scores.chunks_exact(k).zip(labels) {
        let max = row
            .iter()
            .map(|&s| f64::from(s) * beta)
            .fold(f64::NEG_INFINITY, f64::max);
        let log_sum: f64 = row
            .iter()
            .map(|&s| (f64::from(s) * beta - max).exp())
            .sum::<f64>()
            .ln()
            + max;
        total += log_sum - f64::from(row[label]) * beta;
    }
    total / labels.len().max(1) as f64
}

/// Fits the temperature on out-of-fold scores (`labels.len()` rows of `k`).
///
/// The log-likelihood is concave in `beta = 1/T`, so a golden-section search over `ln beta`
/// finds the optimum; the search interval `T ∈ [0.01, 100]` bounds degenerate inputs (e.g.
/// perfectly separated scores would push `T` to 0).
pub(crate) fn fit(scores: &[f32], k: usize, labels: &[usize]) -> Calibration {
    let (mut lo, mut hi) = ((0.01f64).ln(), (100.0f64).ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let loss_at = |ln_beta: f64| log_loss(scores, k, labels, ln_beta.exp());
    let mut a = hi - ratio * (hi - lo);
    let mut b = lo + ratio * (hi - lo);
    let (mut fa, mut fb) = (loss_at(a), loss_at(b));
    for _ in 0..60 {
        if fa < fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - ratio * (hi - lo);
            fa = loss_at(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + ratio * (hi - lo);
            fb = loss_at(b);
        }
    }
    let beta = ((lo + hi) / 2.0).exp();
    let temperature = (1.0 / beta) as f32;
    let mut probabilities = vec![0.0f32; scores.len()];
    for (row, out) in scores
        .chunks_exact(k)
        .zip(probabilities.chunks_exact_mut(k))
    {
        softmax(row, temperature, out);
    }
    Calibration {
        temperature,
        oof_log_loss: log_loss(scores, k, labels, beta),
        oof_ece: expected_calibration_error(&probabilities, k, labels, 10),
    }
}

/// Expected calibration error: the support-weighted gap between confidence (top probability)
/// and accuracy, over `bins` equal-width confidence bins.
pub fn expected_calibration_error(
    probabilities: &[f32],
    k: usize,
    labels: &[usize],
    bins: usize,
) -> f64 {
    let mut count = vec![0usize; bins];
    let mut confidence = vec![0.0f64; bins];
    let mut correct = vec![0usize; bins];
    for (row, &label) in probabilities.chunks_exact(k).zip(labels) {
        let (best, &p) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("k > 0");
        let bin = ((f64::from(p) * bins as f64) as usize).min(bins - 1);
        count[bin] += 1;
        confidence[bin] += f64::from(p);
        correct[bin] += usize::from(best == label);
    }
    let n = labels.len().max(1) as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (confidence[b] - correct[b] as f64).abs() / n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_the_order_of_scores() {
        let scores = [0.3f32, -1.2, 2.5, 0.31];
        for temperature in [0.05f32, 0.5, 1.0, 7.0] {
            let mut p = [0.0f32; 4];
            softmax(&scores, temperature, &mut p);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(p.iter().all(|&x| (0.0..=1.0).contains(&x)));
            for i in 0..4 {
                for j in 0..4 {
                    if scores[i] > scores[j] {
                        assert!(
                            p[i] >= p[j],
                            "T={temperature}: p[{i}]={} < p[{j}]={}",
                            p[i],
                            p[j]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fitted_temperature_minimises_the_log_loss() {
        // Scores whose margins are too large for how often they are right: class 0 always
        // scores 2.0 over class 1, but only 7 of 10 examples are class 0.
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for i in 0..10 {
            scores.extend_from_slice(&[1.0f32, -1.0]);
            labels.push(if i < 7 { 0 } else { 1 });
        }
        let fitted = fit(&scores, 2, &labels);
        // The optimum sets p(class 0) = 0.7, i.e. 2/T = ln(0.7/0.3).
        let expected = 2.0 / (0.7f64 / 0.3).ln();
        assert!(
            (f64::from(fitted.temperature) - expected).abs() < 1e-3,
            "T = {}",
            fitted.temperature
        );
        for t in [0.5 * expected, 2.0 * expected] {
            assert!(log_loss(&scores, 2, &labels, 1.0 / t) > fitted.oof_log_loss);
        }
    }

    #[test]
    fn ece_is_the_gap_between_confidence_and_accuracy() {
        // Four predictions at confidence 0.8 of which two are right: |0.8·4 − 2| / 4 = 0.3.
        let probabilities = [0.8f32, 0.2, 0.8, 0.2, 0.2, 0.8, 0.2, 0.8];
        let labels = [0, 1, 1, 0];
        let ece = expected_calibration_error(&probabilities, 2, &labels, 10);
        assert!((ece - 0.3).abs() < 1e-6, "ece = {ece}");
    }
}
