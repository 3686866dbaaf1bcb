//! L2-regularised, L2-loss (squared hinge) linear SVM trained by dual coordinate descent.
//!
//! This is the algorithm of LIBLINEAR's default solver (Hsieh et al., "A Dual Coordinate Descent
//! Method for Large-scale Linear SVM", ICML 2008), which is also what scikit-learn's `LinearSVC`
//! runs: random order of coordinates each epoch, shrinking of coordinates stuck at their bound,
//! and a stop when the projected-gradient spread falls under `eps`. The bias is an extra
//! feature with a constant value, regularised like the other weights (as LIBLINEAR does).
//!
//! Per-class costs let the caller weight classes; the solver itself knows nothing of labels.

use super::hashing::SplitMix64;

/// Sparse rows in compressed-row form; column indices are dense (`0..n_cols`).
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseRows {
    pub(crate) indptr: Vec<usize>,
    pub(crate) cols: Vec<u32>,
    pub(crate) vals: Vec<f32>,
    pub(crate) n_cols: usize,
}

impl SparseRows {
    pub(crate) fn new(n_cols: usize) -> Self {
        SparseRows {
            indptr: vec![0],
            cols: Vec::new(),
            vals: Vec::new(),
            n_cols,
        }
    }

    pub(crate) fn push_row(&mut self, entries: &[(u32, f32)]) {
        for &(col, val) in entries {
            self.cols.push(col);
            self.vals.push(val);
        }
        self.indptr.push(self.cols.len());
    }

    #[inline]
    pub(crate) fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (start, end) = (self.indptr[i], self.indptr[i + 1]);
        (&self.cols[start..end], &self.vals[start..end])
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SvmParams {
    /// Stopping tolerance on the projected-gradient spread.
    pub(crate) eps: f64,
    pub(crate) max_epochs: usize,
    /// Value of the constant bias feature (0 disables the bias).
    pub(crate) bias: f64,
}

/// A trained binary separator: `score = w·x + bias_weight * bias`.
#[derive(Debug, Clone)]
pub(crate) struct BinarySvm {
    pub(crate) weights: Vec<f64>,
    pub(crate) bias_weight: f64,
    pub(crate) epochs: usize,
}

/// Trains on the rows `subset` of `x`, where `positive[i]` tells the label of row `subset[i]`
/// and `costs[i]` its misclassification cost (C times its class weight). Every value in
/// column `c` is multiplied by `column_scale[c]` first; the returned weights apply to the
/// unscaled values (they are multiplied by the scale), so callers score plain rows.
pub(crate) fn train_binary(
    x: &SparseRows,
    subset: &[u32],
    positive: &[bool],
    costs: &[f64],
    column_scale: &[f32],
    params: &SvmParams,
    seed: u64,
) -> BinarySvm {
    let scaled = |c: u32, v: f32| f64::from(v * column_scale[c as usize]);
    let l = subset.len();
    let mut w = vec![0.0f64; x.n_cols];
    let mut w_bias = 0.0f64;
    let mut alpha = vec![0.0f64; l];
    let y: Vec<f64> = positive
        .iter()
        .map(|&p| if p { 1.0 } else { -1.0 })
        .collect();
    // Diagonal term of the L2-loss dual: 1 / (2C) per example.
    let diag: Vec<f64> = costs.iter().map(|&c| 0.5 / c).collect();
    let qd: Vec<f64> = subset
        .iter()
        .zip(&diag)
        .map(|(&row, d)| {
            let (cols, vals) = x.row(row as usize);
            d + cols
                .iter()
                .zip(vals)
                .map(|(&c, &v)| scaled(c, v) * scaled(c, v))
                .sum::<f64>()
                + params.bias * params.bias
        })
        .collect();
    let mut index: Vec<usize> = (0..l).collect();
    let mut active = l;
    let mut rng = SplitMix64::new(seed);
    // The upper bound of α is infinite for the L2 loss, so only the lower bound shrinks.
    let mut pg_max_old = f64::INFINITY;
    let mut epochs = 0;
    while epochs < params.max_epochs {
        rng.shuffle(&mut index[..active]);
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        let mut s = 0;
        while s < active {
            let i = index[s];
            let (cols, vals) = x.row(subset[i] as usize);
            let mut dot = w_bias * params.bias;
            for (&c, &v) in cols.iter().zip(vals) {
                dot += w[c as usize] * scaled(c, v);
            }
            let g = y[i] * dot - 1.0 + diag[i] * alpha[i];
            let mut pg = g;
            if alpha[i] == 0.0 {
                if g > pg_max_old {
                    // Stuck at the lower bound with a gradient pushing further: shrink it away.
                    active -= 1;
                    index.swap(s, active);
                    continue;
                }
                pg = g.min(0.0);
            }
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let step = (alpha[i] - old) * y[i];
                for (&c, &v) in cols.iter().zip(vals) {
                    w[c as usize] += step * scaled(c, v);
                }
                w_bias += step * params.bias;
            }
            s += 1;
        }
        epochs += 1;
        if pg_max - pg_min <= params.eps {
            if active == l {
                break;
            }
            // Converged on the shrunk problem: check once more on all coordinates.
            active = l;
            pg_max_old = f64::INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
    }
    for (weight, &scale) in w.iter_mut().zip(column_scale) {
        *weight *= f64::from(scale);
    }
    BinarySvm {
        weights: w,
        bias_weight: w_bias,
        epochs,
    }
}

impl BinarySvm {
    pub(crate) fn score(&self, cols: &[u32], vals: &[f32], bias: f64) -> f64 {
        let mut dot = self.bias_weight * bias;
        for (&c, &v) in cols.iter().zip(vals) {
            dot += self.weights[c as usize] * f64::from(v);
        }
        dot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SvmParams {
        SvmParams {
            eps: 1e-4,
            max_epochs: 1000,
            bias: 1.0,
        }
    }

    #[test]
    fn separates_a_linearly_separable_set() {
        // Feature 0 marks positives, feature 1 negatives; feature 2 is noise on both.
        let mut x = SparseRows::new(3);
        let mut positive = Vec::new();
        for i in 0..20 {
            let noise = (i % 5) as f32 * 0.1;
            if i % 2 == 0 {
                x.push_row(&[(0, 1.0), (2, noise)]);
            } else {
                x.push_row(&[(1, 1.0), (2, noise)]);
            }
            positive.push(i % 2 == 0);
        }
        let subset: Vec<u32> = (0..20).collect();
        let model = train_binary(&x, &subset, &positive, &[1.0; 20], &[1.0; 3], &params(), 1);
        for i in 0..20 {
            let (cols, vals) = x.row(i);
            let score = model.score(cols, vals, 1.0);
            assert_eq!(score > 0.0, positive[i], "row {i} scored {score}");
        }
        assert!(model.weights[0] > 0.0 && model.weights[1] < 0.0);
    }

    #[test]
    fn matches_the_closed_form_of_a_one_dimensional_problem() {
        // One example x = 1 (no bias), y = +1: the primal minimises w²/2 + C·max(0, 1 − w)²,
        // whose minimum is at w = 2C / (1 + 2C).
        let mut x = SparseRows::new(1);
        x.push_row(&[(0, 1.0)]);
        let p = SvmParams {
            bias: 0.0,
            ..params()
        };
        let model = train_binary(&x, &[0], &[true], &[1.0], &[1.0], &p, 9);
        assert!(
            (model.weights[0] - 2.0 / 3.0).abs() < 1e-6,
            "w = {}",
            model.weights[0]
        );
    }
}
