//! Objectives: initial scores, gradients/hessians, the per-round loss metric (also used for early
//! stopping) and the link from raw scores to predictions.
//!
//! Scores are class-major: output `k` of row `i` is `scores[k * n + i]`. Labels are the class
//! index (classification) or the target value (regression), as f64.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::params::ObjectiveKind;

/// Rows per parallel chunk; sums are added chunk by chunk in order, so they do not depend on
/// the thread count.
const CHUNK: usize = 4096;

/// LightGBM's `poisson_max_delta_step`: the hessian is `exp(score + 0.7)` for stability.
const POISSON_MAX_DELTA_STEP: f64 = 0.7;

/// An objective with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Which loss.
    pub kind: ObjectiveKind,
    /// Huber delta or quantile level.
    pub alpha: f64,
    /// Number of score outputs (classes for multiclass, else 1).
    pub outputs: usize,
}

#[inline]
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Weighted-free `q`-quantile of `values` (linear interpolation), 0 when empty.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

/// The loss of one single-output score.
#[inline]
fn point_loss(kind: ObjectiveKind, alpha: f64, yi: f64, si: f64) -> f64 {
    match kind {
        ObjectiveKind::Binary => {
            let p = sigmoid(si).clamp(1e-15, 1.0 - 1e-15);
            if yi > 0.5 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        }
        ObjectiveKind::L2 => (si - yi) * (si - yi),
        ObjectiveKind::L1 => (si - yi).abs(),
        ObjectiveKind::Huber => {
            let d = (si - yi).abs();
            if d <= alpha {
                0.5 * d * d
            } else {
                alpha * (d - 0.5 * alpha)
            }
        }
        ObjectiveKind::Poisson => si.exp() - yi * si,
        ObjectiveKind::Quantile => {
            let d = yi - si;
            if d >= 0.0 {
                alpha * d
            } else {
                (alpha - 1.0) * d
            }
        }
        ObjectiveKind::Multiclass => unreachable!("multiclass losses need every output"),
    }
}

/// `-ln softmax(scores)[label]` for row `i` of class-major scores.
#[inline]
fn softmax_loss(scores: &[f64], n: usize, outputs: usize, i: usize, label: usize) -> f64 {
    let max = (0..outputs)
        .map(|k| scores[k * n + i])
        .fold(f64::NEG_INFINITY, f64::max);
    let sum_exp: f64 = (0..outputs).map(|k| (scores[k * n + i] - max).exp()).sum();
    let p = ((scores[label * n + i] - max).exp() / sum_exp).clamp(1e-15, 1.0);
    -p.ln()
}

impl Objective {
    /// The metric reported each round (lower is better).
    pub fn metric_name(&self) -> &'static str {
        match self.kind {
            ObjectiveKind::Binary => "binary_logloss",
            ObjectiveKind::Multiclass => "multi_logloss",
            ObjectiveKind::L2 => "l2",
            ObjectiveKind::L1 => "l1",
            ObjectiveKind::Huber => "huber",
            ObjectiveKind::Poisson => "poisson",
            ObjectiveKind::Quantile => "quantile",
        }
    }

    /// Whether leaf outputs are re-fitted to a residual quantile after each tree (L1, quantile).
    pub fn renews_leaves(&self) -> Option<f64> {
        match self.kind {
            ObjectiveKind::L1 => Some(0.5),
            ObjectiveKind::Quantile => Some(self.alpha),
            _ => None,
        }
    }

    /// The constant scores boosting starts from.
    pub fn init_scores(&self, y: &[f64]) -> Vec<f64> {
        let n = y.len().max(1) as f64;
        let mean = y.iter().sum::<f64>() / n;
        match self.kind {
            ObjectiveKind::Binary => {
                let p = mean.clamp(1e-15, 1.0 - 1e-15);
                vec![(p / (1.0 - p)).ln()]
            }
            ObjectiveKind::Multiclass => {
                let mut counts = vec![0.0; self.outputs];
                for &c in y {
                    counts[c as usize] += 1.0;
                }
                counts
                    .iter()
                    .map(|c| (c / n).clamp(1e-15, 1.0).ln())
                    .collect()
            }
            ObjectiveKind::L2 | ObjectiveKind::Huber => vec![mean],
            ObjectiveKind::L1 => vec![quantile(&mut y.to_vec(), 0.5)],
            ObjectiveKind::Quantile => vec![quantile(&mut y.to_vec(), self.alpha)],
            ObjectiveKind::Poisson => vec![mean.max(1e-15).ln()],
        }
    }

    /// Fills `gh[k * n + i]` with the gradient and hessian of output `k` at row `i`, and
    /// returns the mean loss of `scores` (computed in the same pass).
    pub fn gradients(&self, y: &[f64], scores: &[f64], gh: &mut [[f32; 2]]) -> f64 {
        let n = y.len();
        let k_out = self.outputs;
        if self.kind == ObjectiveKind::Multiclass {
            let factor = k_out as f64 / (k_out as f64 - 1.0);
            let starts: Vec<usize> = (0..n).step_by(CHUNK).collect();
            let results: Vec<(Vec<[f32; 2]>, f64)> = starts
                .par_iter()
                .map(|&start| {
                    let end = (start + CHUNK).min(n);
                    let mut out = vec![[0f32; 2]; (end - start) * k_out];
                    let mut p = vec![0.0; k_out];
                    let mut loss = 0.0;
                    for i in start..end {
                        let max = (0..k_out)
                            .map(|k| scores[k * n + i])
                            .fold(f64::NEG_INFINITY, f64::max);
                        let mut sum = 0.0;
                        for (k, pk) in p.iter_mut().enumerate() {
                            *pk = (scores[k * n + i] - max).exp();
                            sum += *pk;
                        }
                        let label = y[i] as usize;
                        loss -= (p[label] / sum).clamp(1e-15, 1.0).ln();
                        for (k, pk) in p.iter().enumerate() {
                            let prob = pk / sum;
                            let target = if k == label { 1.0 } else { 0.0 };
                            out[k * (end - start) + i - start] = [
                                (prob - target) as f32,
                                (factor * prob * (1.0 - prob)).max(1e-16) as f32,
                            ];
                        }
                    }
                    (out, loss)
                })
                .collect();
            let mut loss = 0.0;
            for (&start, (out, chunk_loss)) in starts.iter().zip(&results) {
                loss += chunk_loss;
                let len = out.len() / k_out;
                for k in 0..k_out {
                    gh[k * n + start..k * n + start + len]
                        .copy_from_slice(&out[k * len..(k + 1) * len]);
                }
            }
            return loss / n.max(1) as f64;
        }
        let kind = self.kind;
        let alpha = self.alpha;
        let partial: Vec<f64> = gh[..n]
            .par_chunks_mut(CHUNK)
            .zip(y.par_chunks(CHUNK))
            .zip(scores.par_chunks(CHUNK))
            .map(|((out, y), s)| {
                let mut loss = 0.0;
                for ((o, &yi), &si) in out.iter_mut().zip(y).zip(s) {
                    loss += point_loss(kind, alpha, yi, si);
                    let (g, h) = match kind {
                        ObjectiveKind::Binary => {
                            let p = sigmoid(si);
                            (p - yi, (p * (1.0 - p)).max(1e-16))
                        }
                        ObjectiveKind::L2 => (si - yi, 1.0),
                        ObjectiveKind::L1 => ((si - yi).signum() * f64::from(si != yi), 1.0),
                        ObjectiveKind::Huber => ((si - yi).clamp(-alpha, alpha), 1.0),
                        ObjectiveKind::Poisson => {
                            (si.exp() - yi, (si + POISSON_MAX_DELTA_STEP).exp())
                        }
                        ObjectiveKind::Quantile => {
                            if si >= yi {
                                (1.0 - alpha, 1.0)
                            } else {
                                (-alpha, 1.0)
                            }
                        }
                        ObjectiveKind::Multiclass => unreachable!("handled above"),
                    };
                    *o = [g as f32, h as f32];
                }
                loss
            })
            .collect();
        partial.iter().sum::<f64>() / n.max(1) as f64
    }

    /// The mean loss of `scores` against `y`.
    pub fn loss(&self, y: &[f64], scores: &[f64]) -> f64 {
        let n = y.len();
        if n == 0 {
            return 0.0;
        }
        let k_out = self.outputs;
        let starts: Vec<usize> = (0..n).step_by(CHUNK).collect();
        let partial: Vec<f64> = starts
            .par_iter()
            .map(|&start| {
                let end = (start + CHUNK).min(n);
                let mut sum = 0.0;
                for i in start..end {
                    sum += match self.kind {
                        ObjectiveKind::Multiclass => {
                            softmax_loss(scores, n, k_out, i, y[i] as usize)
                        }
                        kind => point_loss(kind, self.alpha, y[i], scores[i]),
                    };
                }
                sum
            })
            .collect();
        partial.iter().sum::<f64>() / n as f64
    }

    /// Turns one row's raw scores into the predicted value(s) in place: probabilities for
    /// classification (binary writes `[1 - p, p]` into `out[0..2]`), the mean for regression.
    #[inline]
    pub fn link(&self, raw: &[f64], out: &mut [f64]) {
        match self.kind {
            ObjectiveKind::Binary => {
                let p = sigmoid(raw[0]);
                out[0] = 1.0 - p;
                out[1] = p;
            }
            ObjectiveKind::Multiclass => {
                let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for (o, r) in out.iter_mut().zip(raw) {
                    *o = (r - max).exp();
                    sum += *o;
                }
                for o in out.iter_mut().take(raw.len()) {
                    *o /= sum;
                }
            }
            ObjectiveKind::Poisson => out[0] = raw[0].exp(),
            _ => out[0] = raw[0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_gradient(obj: &Objective, y: &[f64], s: &[f64], j: usize) -> f64 {
        let eps = 1e-6;
        let mut up = s.to_vec();
        up[j] += eps;
        let mut down = s.to_vec();
        down[j] -= eps;
        (obj.loss(y, &up) - obj.loss(y, &down)) / (2.0 * eps) * y.len() as f64
    }

    #[test]
    fn gradients_match_finite_differences_of_the_loss() {
        for kind in [
            ObjectiveKind::Binary,
            ObjectiveKind::L2,
            ObjectiveKind::Huber,
            ObjectiveKind::Poisson,
        ] {
            let obj = Objective {
                kind,
                alpha: 0.9,
                outputs: 1,
            };
            let y = if kind == ObjectiveKind::Binary {
                [1.0, 0.0, 1.0]
            } else {
                [1.0, 0.0, 3.0]
            };
            let s = [0.3, -0.2, 0.5];
            let mut gh = vec![[0f32; 2]; 3];
            obj.gradients(&y, &s, &mut gh);
            for (j, pair) in gh.iter().enumerate() {
                let expected = numeric_gradient(&obj, &y, &s, j);
                let expected = if kind == ObjectiveKind::L2 {
                    expected / 2.0
                } else {
                    expected
                };
                assert!(
                    (f64::from(pair[0]) - expected).abs() < 1e-4,
                    "{kind:?} row {j}: {} vs {expected}",
                    pair[0]
                );
            }
        }
        let obj = Objective {
            kind: ObjectiveKind::Multiclass,
            alpha: 0.9,
            outputs: 3,
        };
        let y = [0.0, 2.0];
        let s = [0.1, -0.3, 0.2, 0.0, -0.5, 0.4];
        let mut gh = vec![[0f32; 2]; 6];
        obj.gradients(&y, &s, &mut gh);
        for (j, pair) in gh.iter().enumerate() {
            let expected = numeric_gradient(&obj, &y, &s, j);
            assert!((f64::from(pair[0]) - expected).abs() < 1e-4);
        }
    }

    #[test]
    fn init_scores_and_links() {
        let obj = Objective {
            kind: ObjectiveKind::Binary,
            alpha: 0.9,
            outputs: 1,
        };
        let init = obj.init_scores(&[1.0, 0.0, 0.0, 0.0]);
        let mut out = [0.0; 2];
        obj.link(&init, &mut out);
        assert!((out[1] - 0.25).abs() < 1e-12);
        let q = Objective {
            kind: ObjectiveKind::Quantile,
            alpha: 0.25,
            outputs: 1,
        };
        assert_eq!(q.init_scores(&[4.0, 1.0, 3.0, 2.0, 5.0]), vec![2.0]);
        assert_eq!(quantile(&mut [1.0, 2.0], 0.5), 1.5);
    }
}
