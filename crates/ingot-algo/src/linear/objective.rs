//! The regularized empirical risk minimized by the linear learner, with its gradient.
//!
//! Parameters are laid out as `[W (m × d, row-major), b (m)]` where `m` is 1 for regression and
//! binary classification and `k` for softmax. The objective is
//! `(1/n) Σ_i s_i · loss_i + (l2 / 2) · ‖W‖²` (intercepts unpenalized; `s_i` the optional
//! per-row sample weight, e.g. from class weights, 1 by default) with
//! * squared loss `½ (w·x + b − y)²`,
//! * logistic loss `log(1 + exp(z)) − y z`,
//! * softmax loss `logsumexp(z) − z_y`.
//!
//! Rows are processed in fixed-size chunks (in parallel when a thread pool is given); partial
//! sums are reduced in chunk order, so the result does not depend on thread timing or count.

use rayon::prelude::*;

use crate::preprocess::Matrix;

/// Rows per chunk. Fixed so that the floating-point summation order is independent of threads.
const CHUNK_ROWS: usize = 4096;

/// The response being fitted.
#[derive(Debug, Clone, Copy)]
pub enum Response<'a> {
    /// Real targets, squared loss.
    Squared(&'a [f64]),
    /// 0/1 targets, logistic loss.
    Logistic(&'a [f64]),
    /// Class indices in `0..classes`, softmax loss.
    Softmax { labels: &'a [usize], classes: usize },
}

impl Response<'_> {
    /// Number of linear outputs `m`.
    pub fn outputs(&self) -> usize {
        match self {
            Response::Softmax { classes, .. } => *classes,
            _ => 1,
        }
    }
}

/// Where chunks run.
#[derive(Clone, Copy)]
pub enum Parallelism<'a> {
    /// On the calling thread.
    Sequential,
    /// On rayon's global pool.
    Global,
    /// On a dedicated pool.
    Pool(&'a rayon::ThreadPool),
}

/// Objective over a fixed design matrix.
pub struct Objective<'a> {
    /// The (preprocessed) features.
    pub x: &'a Matrix,
    /// The targets.
    pub response: Response<'a>,
    /// L2 penalty strength.
    pub l2: f64,
    /// Per-row loss weights (`None`: every row weighs 1).
    pub sample_weights: Option<&'a [f64]>,
    /// Where row chunks are processed.
    pub parallelism: Parallelism<'a>,
}

impl Objective<'_> {
    /// Number of parameters.
    pub fn dimension(&self) -> usize {
        self.response.outputs() * (self.x.cols + 1)
    }

    /// Returns the objective at `theta` and writes its gradient into `grad`.
    pub fn value_and_gradient(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.x.rows;
        let ranges: Vec<(usize, usize)> = (0..n)
            .step_by(CHUNK_ROWS)
            .map(|start| (start, (start + CHUNK_ROWS).min(n)))
            .collect();
        let sequential = || -> Vec<(f64, Vec<f64>)> {
            ranges
                .iter()
                .map(|&(s, e)| self.chunk(theta, s, e))
                .collect()
        };
        let parallel = || -> Vec<(f64, Vec<f64>)> {
            ranges
                .par_iter()
                .map(|&(s, e)| self.chunk(theta, s, e))
                .collect()
        };
        let partials = match self.parallelism {
            _ if ranges.len() <= 1 => sequential(),
            Parallelism::Sequential => sequential(),
            Parallelism::Global => parallel(),
            Parallelism::Pool(pool) => pool.install(parallel),
        };
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for (chunk_loss, chunk_grad) in &partials {
            loss += chunk_loss;
            for (g, c) in grad.iter_mut().zip(chunk_grad) {
                *g += c;
            }
        }
        let inv_n = if n == 0 { 0.0 } else { 1.0 / n as f64 };
        let weights = self.response.outputs() * self.x.cols;
        let mut penalty = 0.0;
        for (i, g) in grad.iter_mut().enumerate() {
            *g *= inv_n;
            if i < weights {
                *g += self.l2 * theta[i];
                penalty += theta[i] * theta[i];
            }
        }
        loss * inv_n + 0.5 * self.l2 * penalty
    }

    /// Summed loss and gradient over rows `start..end` (no averaging, no penalty).
    fn chunk(&self, theta: &[f64], start: usize, end: usize) -> (f64, Vec<f64>) {
        let mut grad = vec![0.0; theta.len()];
        let loss = self.accumulate(theta, start..end, &mut grad);
        (loss, grad)
    }

    /// Adds the weighted loss gradient of `rows` to `grad` and returns their summed weighted
    /// loss (no averaging, no penalty). Used by full-batch chunks and by SGD mini-batches.
    pub fn accumulate(
        &self,
        theta: &[f64],
        rows: impl IntoIterator<Item = usize>,
        grad: &mut [f64],
    ) -> f64 {
        let d = self.x.cols;
        let m = self.response.outputs();
        let (weights, intercepts) = theta.split_at(m * d);
        let mut z = vec![0.0; m];
        let mut loss = 0.0;
        for i in rows {
            let row = &self.x.data[i * d..(i + 1) * d];
            for (c, zc) in z.iter_mut().enumerate() {
                let w = &weights[c * d..(c + 1) * d];
                *zc = intercepts[c] + w.iter().zip(row).map(|(a, b)| a * b).sum::<f64>();
            }
            let row_loss = residuals(&self.response, i, &mut z);
            let s = self.sample_weights.map_or(1.0, |w| w[i]);
            loss += s * row_loss;
            let (grad_w, grad_b) = grad.split_at_mut(m * d);
            for (c, &r) in z.iter().enumerate() {
                let r = s * r;
                if r != 0.0 {
                    for (g, x) in grad_w[c * d..(c + 1) * d].iter_mut().zip(row) {
                        *g += r * x;
                    }
                }
                grad_b[c] += r;
            }
        }
        loss
    }
}

/// Replaces the linear outputs `z` of row `i` by dloss/dz and returns the row's loss.
fn residuals(response: &Response, i: usize, z: &mut [f64]) -> f64 {
    match response {
        Response::Squared(y) => {
            let r = z[0] - y[i];
            z[0] = r;
            0.5 * r * r
        }
        Response::Logistic(y) => {
            let v = z[0];
            let loss = softplus(v) - y[i] * v;
            z[0] = sigmoid(v) - y[i];
            loss
        }
        Response::Softmax { labels, .. } => {
            let label = labels[i];
            let max = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let margin = max - z[label];
            let mut sum = 0.0;
            for zc in z.iter_mut() {
                *zc = (*zc - max).exp();
                sum += *zc;
            }
            let loss = sum.ln() + margin;
            for zc in z.iter_mut() {
                *zc /= sum;
            }
            z[label] -= 1.0;
            loss
        }
    }
}

/// `log(1 + exp(v))` without overflow.
pub fn softplus(v: f64) -> f64 {
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

/// The logistic function without overflow.
pub fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}
