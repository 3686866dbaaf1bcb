//! Per-class decision offsets that maximise macro-F1.
//!
//! One-vs-rest margins are not comparable across classes: a small or diffuse class (say,
//! transport complaints that also mention roads and construction) gets systematically lower
//! margins and so loses recall, which macro-F1 punishes. Adding a constant offset per class to
//! its score moves the decision boundaries without retraining. The offsets are found by
//! coordinate ascent on out-of-fold scores (never on scores of examples a model was trained
//! on), over a fixed grid, moving an offset only for a real gain, so noise does not pull them.

/// Offsets are searched in `[-RANGE, RANGE]` with this step.
const RANGE: f32 = 0.5;
const STEP: f32 = 0.02;
const SWEEPS: usize = 3;
/// A move must improve macro-F1 by more than this.
const MIN_GAIN: f64 = 1e-4;

/// Offsets to add to each class's score; `scores` holds `labels.len()` rows of `k`.
pub(crate) fn fit(scores: &[f32], k: usize, labels: &[usize]) -> Vec<f32> {
    let mut offsets = vec![0.0f32; k];
    let mut best = macro_f1(scores, k, labels, &offsets);
    let steps = (RANGE / STEP).round() as i32;
    for _ in 0..SWEEPS {
        let mut moved = false;
        for class in 0..k {
            let current = offsets[class];
            let mut chosen = current;
            for step in -steps..=steps {
                let candidate = step as f32 * STEP;
                offsets[class] = candidate;
                let f1 = macro_f1(scores, k, labels, &offsets);
                if f1 > best + MIN_GAIN {
                    best = f1;
                    chosen = candidate;
                }
            }
            offsets[class] = chosen;
            moved |= chosen != current;
        }
        if !moved {
            break;
        }
    }
    offsets
}

/// Macro-F1 of `argmax(scores + offsets)` against `labels`.
pub(crate) fn macro_f1(scores: &[f32], k: usize, labels: &[usize], offsets: &[f32]) -> f64 {
    let mut tp = vec![0u32; k];
    let mut predicted = vec![0u32; k];
    let mut actual = vec![0u32; k];
    for (row, &label) in scores.chunks_exact(k).zip(labels) {
        let mut best = 0;
        for c in 1..k {
            if row[c] + offsets[c] > row[best] + offsets[best] {
                best = c;
            }
        }
        predicted[best] += 1;
        actual[label] += 1;
        tp[label] += u32::from(best == label);
    }
    let f1 = |c: usize| {
        let denominator = f64::from(predicted[c] + actual[c]);
        if denominator > 0.0 {
            2.0 * f64::from(tp[c]) / denominator
        } else {
            0.0
        }
    };
    (0..k).map(f1).sum::<f64>() / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_restores_a_class_whose_scores_run_low() {
        // Class 1's true examples score 0.3 below class 0; a +0.3..0.5 offset fixes all of them
        // without hurting class 0, whose examples lead by 1.0.
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..10 {
            scores.extend_from_slice(&[0.5f32, 0.2]);
            labels.push(1);
            scores.extend_from_slice(&[1.0f32, 0.0]);
            labels.push(0);
        }
        assert!(macro_f1(&scores, 2, &labels, &[0.0, 0.0]) < 0.5);
        let offsets = fit(&scores, 2, &labels);
        assert_eq!(macro_f1(&scores, 2, &labels, &offsets), 1.0);
    }

    #[test]
    fn offsets_stay_zero_when_nothing_is_gained() {
        let scores = [1.0f32, -1.0, -1.0, 1.0];
        assert_eq!(fit(&scores, 2, &[0, 1]), vec![0.0, 0.0]);
    }
}
