//! Model-agnostic KernelSHAP (Lundberg & Lee, "A Unified Approach to Interpreting Model
//! Predictions", 2017), written from the paper and matching the `shap` library's
//! `KernelExplainer` where it makes choices the paper leaves open:
//!
//! * the value of a coalition `z` is the background-weighted mean model output on rows that
//!   take the explained row's values for the features in `z` and a background row's values for
//!   the others (interventional / marginal expectation); `φ₀ = E[f(background)]`;
//! * features whose explained value equals every background value (`numpy.allclose`, NaN equal
//!   to NaN) cannot change the output: they get 0 and are left out of the coalitions; with one
//!   varying feature it gets all of `f(x) − φ₀`;
//! * the coalition plan and its weights are `shap`'s (see `sampling.rs`); the default
//!   budget is `2M + 2048` coalitions, capped at `2^M − 2`, where the plan is a complete
//!   enumeration and the result is the exact Shapley values;
//! * the weighted least squares enforces efficiency, `Σ φ_j = f(x) − φ₀` (see `solve`);
//! * no L1 feature selection (`shap`'s `l1_reg=False`).
//!
//! Each explained row draws its coalitions from its own ChaCha8 stream (`seed`, row index), and
//! rows are explained in parallel with rayon and gathered in order, so results depend only on
//! the inputs and the seed, never on the thread count.

mod background;
mod sampling;
mod solve;
pub mod tabular;
#[cfg(test)]
mod tests;

pub use background::{sample_indices, Background};
pub use sampling::Plan;

/// The coalition plan KernelSHAP uses for `m ≥ 2` varying features and a budget of `nsamples`
/// (exposed to check it against `shap`'s).
pub fn coalition_plan(m: usize, nsamples: usize, seed: u64) -> Result<Plan> {
    if m < 2 || nsamples == 0 {
        return Err(Error::Invalid {
            what: "coalition plan",
            message: "needs at least 2 features and 1 sample".into(),
        });
    }
    Ok(sampling::plan(
        m,
        nsamples,
        &mut ChaCha8Rng::seed_from_u64(seed),
    ))
}

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Most synthetic rows handed to the model in one call.
const MAX_ROWS_PER_CALL: usize = 1 << 16;

/// `shap`'s default coalition budget for `m` varying features.
pub fn default_nsamples(m: usize) -> usize {
    2 * m + 2048
}

/// KernelSHAP settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelShapConfig {
    /// Coalitions per explained row; `None` for `2M + 2048`.
    pub nsamples: Option<usize>,
    /// Seed of the coalition draws.
    pub seed: u64,
}

/// SHAP values of some rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Features per row.
    pub features: usize,
    /// Model outputs per row (1 for regression, one per class for probabilities).
    pub outputs: usize,
    /// Explained rows.
    pub rows: usize,
    /// `φ₀ = E[f(background)]`, per output.
    pub expected_value: Vec<f64>,
    /// `f(x)` per row, row-major `rows × outputs`.
    pub predictions: Vec<f64>,
    /// `φ`, row-major `rows × features × outputs`.
    pub values: Vec<f64>,
}

impl Explanation {
    /// `φ` of one row, feature and output.
    pub fn value(&self, row: usize, feature: usize, output: usize) -> f64 {
        self.values[(row * self.features + feature) * self.outputs + output]
    }

    /// Global importance as Clarify's `mean_abs`: the mean |φ| over rows, `features × outputs`.
    pub fn global_importance(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.features * self.outputs];
        for row in self.values.chunks_exact(self.features * self.outputs) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v.abs();
            }
        }
        for o in &mut out {
            *o /= self.rows.max(1) as f64;
        }
        out
    }
}

/// Explains the rows of `x` (row-major, `background.features()` columns) for a model given as
/// `f(rows × features, rows) → rows × outputs`.
pub fn kernel_shap<F>(
    model: F,
    background: &Background,
    x: &[f64],
    config: &KernelShapConfig,
) -> Result<Explanation>
where
    F: Fn(&[f64], usize) -> Vec<f64> + Sync,
{
    try_kernel_shap(|data, rows| Ok(model(data, rows)), background, x, config)
}

/// [`kernel_shap`] for a model that can fail (its message becomes [`Error::Model`]).
pub fn try_kernel_shap<F>(
    model: F,
    background: &Background,
    x: &[f64],
    config: &KernelShapConfig,
) -> Result<Explanation>
where
    F: Fn(&[f64], usize) -> std::result::Result<Vec<f64>, String> + Sync,
{
    explain(&model, background, x, config, Equality::AllClose)
}

/// How an explained value is compared with background values to find non-varying features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Equality {
    /// `numpy.allclose` (rtol 1e-5, atol 1e-8), NaN equal to NaN, as `shap`.
    AllClose,
    /// Exact (for value codes).
    Exact,
}

fn same(a: f64, b: f64, equality: Equality) -> bool {
    match equality {
        Equality::Exact => a == b,
        Equality::AllClose => {
            (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
        }
    }
}

/// Calls the model and checks it answers `rows × outputs` values.
fn call<F>(model: &F, data: &[f64], rows: usize, outputs: Option<usize>) -> Result<Vec<f64>>
where
    F: Fn(&[f64], usize) -> std::result::Result<Vec<f64>, String> + Sync,
{
    let out = model(data, rows).map_err(Error::Model)?;
    let ok = match outputs {
        Some(d) => out.len() == rows * d,
        None => !out.is_empty() && out.len().is_multiple_of(rows),
    };
    if !ok {
        return Err(Error::Model(format!(
            "answered {} values for {rows} rows{}",
            out.len(),
            outputs.map_or(String::new(), |d| format!(" of {d} outputs"))
        )));
    }
    Ok(out)
}

pub(crate) fn explain<F>(
    model: &F,
    background: &Background,
    x: &[f64],
    config: &KernelShapConfig,
    equality: Equality,
) -> Result<Explanation>
where
    F: Fn(&[f64], usize) -> std::result::Result<Vec<f64>, String> + Sync,
{
    let m_all = background.features();
    if x.is_empty() {
        return Err(Error::Empty("the rows to explain"));
    }
    if !x.len().is_multiple_of(m_all) {
        return Err(Error::Invalid {
            what: "rows to explain",
            message: format!("{} values are not rows of {m_all} features", x.len()),
        });
    }
    let rows = x.len() / m_all;
    let k = background.rows();
    let null_out = call(model, background.data(), k, None)?;
    let outputs = null_out.len() / k;
    let mut fnull = vec![0.0; outputs];
    for (b, w) in background.weights().iter().enumerate() {
        for (d, f) in fnull.iter_mut().enumerate() {
            *f += w * null_out[b * outputs + d];
        }
    }
    let fx = call(model, x, rows, Some(outputs))?;
    let per_row: Vec<Vec<f64>> = (0..rows)
        .into_par_iter()
        .map(|r| {
            let row = &x[r * m_all..(r + 1) * m_all];
            let fx_row = &fx[r * outputs..(r + 1) * outputs];
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            rng.set_stream(r as u64);
            explain_row(
                model, background, row, fx_row, &fnull, config, equality, &mut rng,
            )
        })
        .collect::<Result<_>>()?;
    Ok(Explanation {
        features: m_all,
        outputs,
        rows,
        expected_value: fnull,
        predictions: fx,
        values: per_row.concat(),
    })
}

/// SHAP values of one row, `features × outputs`.
#[allow(clippy::too_many_arguments)]
fn explain_row<F>(
    model: &F,
    background: &Background,
    row: &[f64],
    fx: &[f64],
    fnull: &[f64],
    config: &KernelShapConfig,
    equality: Equality,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f64>>
where
    F: Fn(&[f64], usize) -> std::result::Result<Vec<f64>, String> + Sync,
{
    let m_all = background.features();
    let outputs = fx.len();
    let k = background.rows();
    let bg = background.data();
    let varying: Vec<usize> = (0..m_all)
        .filter(|&j| (0..k).any(|b| !same(row[j], bg[b * m_all + j], equality)))
        .collect();
    let mut phi = vec![0.0; m_all * outputs];
    let m = varying.len();
    if m == 0 {
        return Ok(phi);
    }
    if m == 1 {
        for d in 0..outputs {
            phi[varying[0] * outputs + d] = fx[d] - fnull[d];
        }
        return Ok(phi);
    }
    let nsamples = config.nsamples.unwrap_or_else(|| default_nsamples(m));
    if nsamples == 0 {
        return Err(Error::Invalid {
            what: "nsamples",
            message: "at least one coalition is needed".into(),
        });
    }
    let plan = sampling::plan(m, nsamples, rng);
    // v(z) for every coalition, evaluated in chunks of whole coalitions.
    let n = plan.len();
    let per_call = (MAX_ROWS_PER_CALL / k).max(1);
    let mut ey = vec![0.0; n * outputs];
    let mut synthetic = Vec::with_capacity(per_call.min(n) * k * m_all);
    for start in (0..n).step_by(per_call) {
        let end = (start + per_call).min(n);
        synthetic.clear();
        for s in start..end {
            let mask = plan.mask(s);
            for b in 0..k {
                let offset = synthetic.len();
                synthetic.extend_from_slice(&bg[b * m_all..(b + 1) * m_all]);
                for (v, &j) in varying.iter().enumerate() {
                    if mask[v] {
                        synthetic[offset + j] = row[j];
                    }
                }
            }
        }
        let out = call(model, &synthetic, (end - start) * k, Some(outputs))?;
        for s in start..end {
            for (b, w) in background.weights().iter().enumerate() {
                let base = ((s - start) * k + b) * outputs;
                for d in 0..outputs {
                    ey[s * outputs + d] += w * out[base + d];
                }
            }
        }
    }
    let mut ey_adj = vec![0.0; n];
    for d in 0..outputs {
        for (s, e) in ey_adj.iter_mut().enumerate() {
            *e = ey[s * outputs + d] - fnull[d];
        }
        let values = solve::constrained_wls(&plan, &ey_adj, fx[d] - fnull[d]);
        for (v, &j) in varying.iter().enumerate() {
            phi[j * outputs + d] = values[v];
        }
    }
    Ok(phi)
}
