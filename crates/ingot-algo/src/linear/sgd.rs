//! The `sgd` solver of the linear learner: mini-batch stochastic gradient descent with Adam
//! step sizes, for data too large for full-batch passes to be worth it.
//!
//! Each epoch visits the rows in a fresh seeded permutation (ChaCha8 from the fit seed), in
//! mini-batches of `batch_size`. The step on the mean mini-batch gradient (plus the L2 term)
//! uses Adam moments; the step size decays as `learning_rate / sqrt(epoch + 1)`. An L1 penalty
//! is applied after each step as a proximal soft threshold scaled by each coordinate's Adam
//! step, so coefficients can reach exact zeros. Sequential and seeded, hence deterministic.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::objective::Objective;
use crate::Result;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;
/// Mini-batches between cancellation checks.
const CHECK_EVERY: usize = 64;

/// SGD settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdOptions {
    /// Passes over the data.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Initial Adam step size.
    pub learning_rate: f64,
    /// L1 strength on the weights (not the intercepts).
    pub l1: f64,
    /// Seed of the row permutations.
    pub seed: u64,
}

/// Runs SGD from `theta`; `weights` is the number of leading (penalized) coordinates.
/// `on_epoch(epoch, mean_loss)` runs after every epoch and `check()` every few mini-batches;
/// an error from either aborts.
pub fn minimize_sgd(
    objective: &Objective,
    mut theta: Vec<f64>,
    options: &SgdOptions,
    mut check: impl FnMut() -> Result<()>,
    mut on_epoch: impl FnMut(usize, f64) -> Result<()>,
) -> Result<Vec<f64>> {
    let n = objective.x.rows;
    let dim = theta.len();
    let penalized = objective.response.outputs() * objective.x.cols;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let (mut m, mut v) = (vec![0.0; dim], vec![0.0; dim]);
    let mut grad = vec![0.0; dim];
    let batch = options.batch_size.max(1);
    let mut step = 0i32;
    for epoch in 0..options.epochs {
        order.shuffle(&mut rng);
        let rate = options.learning_rate / ((epoch + 1) as f64).sqrt();
        let mut epoch_loss = 0.0;
        for (b, rows) in order.chunks(batch).enumerate() {
            if b % CHECK_EVERY == 0 {
                check()?;
            }
            grad.iter_mut().for_each(|g| *g = 0.0);
            let loss = objective.accumulate(&theta, rows.iter().copied(), &mut grad);
            epoch_loss += loss;
            let scale = 1.0 / rows.len() as f64;
            step += 1;
            let correction1 = 1.0 - BETA1.powi(step);
            let correction2 = 1.0 - BETA2.powi(step);
            for i in 0..dim {
                let mut g = grad[i] * scale;
                if i < penalized {
                    g += objective.l2 * theta[i];
                }
                m[i] = BETA1 * m[i] + (1.0 - BETA1) * g;
                v[i] = BETA2 * v[i] + (1.0 - BETA2) * g * g;
                let step_size = rate / ((v[i] / correction2).sqrt() + EPSILON);
                theta[i] -= step_size * m[i] / correction1;
                if i < penalized && options.l1 > 0.0 {
                    let threshold = step_size * options.l1;
                    theta[i] = theta[i].signum() * (theta[i].abs() - threshold).max(0.0);
                }
            }
        }
        on_epoch(epoch + 1, epoch_loss / n.max(1) as f64)?;
    }
    Ok(theta)
}
