//! A deterministic L-BFGS minimizer with a strong-Wolfe line search (bracketing and zoom with
//! safeguarded cubic interpolation, after Nocedal & Wright, algorithms 3.5 and 3.6), and its
//! OWL-QN variant for objectives with an L1 term ([`minimize_owlqn`], after Andrew & Gao 2007).
//!
//! Convergence is declared when the infinity norm of the gradient is at most `tol` (like
//! SciPy's `pgtol`, which scikit-learn's `lbfgs` solver uses) or when the relative decrease of
//! the objective falls below 64 machine epsilons (SciPy's `ftol` as scikit-learn sets it).

use std::collections::VecDeque;

use crate::Result;

/// Optimizer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsOptions {
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Gradient infinity-norm tolerance.
    pub tol: f64,
    /// Number of correction pairs kept.
    pub memory: usize,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            max_iter: 200,
            tol: 1e-7,
            memory: 10,
        }
    }
}

/// Why the optimizer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// Gradient norm at most `tol`.
    GradientTolerance,
    /// The objective stopped decreasing measurably.
    FunctionTolerance,
    /// `max_iter` iterations done.
    MaxIterations,
    /// No step satisfying the line-search conditions was found.
    LineSearchFailed,
}

/// The optimizer's result.
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsResult {
    /// The minimizer found.
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub value: f64,
    /// Infinity norm of the gradient at `x`.
    pub grad_norm: f64,
    /// Iterations performed.
    pub iterations: usize,
    /// Why it stopped.
    pub termination: Termination,
}

const C1: f64 = 1e-4;
const C2: f64 = 0.9;
const MAX_LINE_SEARCH: usize = 50;
const FTOL: f64 = 64.0 * f64::EPSILON;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// A point evaluated during the line search.
struct Point {
    alpha: f64,
    value: f64,
    slope: f64,
    x: Vec<f64>,
    grad: Vec<f64>,
}

/// Minimizes `f`, which returns the objective and writes the gradient into its second argument.
/// `on_iteration(iteration, value, grad_norm)` runs after every iteration; an error from it
/// (e.g. cancellation) aborts the minimization.
pub fn minimize<F, C>(
    x0: Vec<f64>,
    mut f: F,
    options: &LbfgsOptions,
    mut on_iteration: C,
) -> Result<LbfgsResult>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
    C: FnMut(usize, f64, f64) -> Result<()>,
{
    let n = x0.len();
    let mut x = x0;
    let mut grad = vec![0.0; n];
    let mut value = f(&x, &mut grad);
    let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let mut iterations = 0;
    let mut termination = Termination::MaxIterations;
    if inf_norm(&grad) <= options.tol {
        termination = Termination::GradientTolerance;
    }
    while termination == Termination::MaxIterations && iterations < options.max_iter {
        let mut direction = two_loop(&grad, &history);
        let mut slope = dot(&direction, &grad);
        if slope >= 0.0 || !slope.is_finite() {
            history.clear();
            direction = grad.iter().map(|g| -g).collect();
            slope = -dot(&grad, &grad);
        }
        let first_step = if history.is_empty() {
            (1.0 / dot(&direction, &direction).sqrt()).min(1.0)
        } else {
            1.0
        };
        let found = line_search(&mut f, &x, value, slope, &direction, first_step);
        let Some(point) = found else {
            if history.is_empty() {
                termination = Termination::LineSearchFailed;
                break;
            }
            // Retry from steepest descent before giving up.
            history.clear();
            continue;
        };
        iterations += 1;
        let s: Vec<f64> = point.x.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = point.grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            history.push_back((s, y, 1.0 / sy));
            if history.len() > options.memory.max(1) {
                history.pop_front();
            }
        }
        let previous = value;
        x = point.x;
        grad = point.grad;
        value = point.value;
        let grad_norm = inf_norm(&grad);
        on_iteration(iterations, value, grad_norm)?;
        if grad_norm <= options.tol {
            termination = Termination::GradientTolerance;
        } else if (previous - value) <= FTOL * previous.abs().max(value.abs()).max(1.0) {
            termination = Termination::FunctionTolerance;
        }
    }
    let grad_norm = inf_norm(&grad);
    Ok(LbfgsResult {
        x,
        value,
        grad_norm,
        iterations,
        termination,
    })
}

/// The L-BFGS two-loop recursion: returns `-H g`.
fn two_loop(grad: &[f64], history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q: Vec<f64> = grad.to_vec();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
        alphas.push(a);
    }
    if let Some((s, y, _)) = history.back() {
        let gamma = dot(s, y) / dot(y, y);
        for qi in &mut q {
            *qi *= gamma;
        }
    }
    for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (a - b) * si;
        }
    }
    q.iter().map(|v| -v).collect()
}

fn evaluate<F>(f: &mut F, x: &[f64], direction: &[f64], alpha: f64) -> Point
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let point: Vec<f64> = x
        .iter()
        .zip(direction)
        .map(|(a, d)| a + alpha * d)
        .collect();
    let mut grad = vec![0.0; x.len()];
    let value = f(&point, &mut grad);
    let slope = dot(&grad, direction);
    Point {
        alpha,
        value,
        slope,
        x: point,
        grad,
    }
}

/// Finds a step satisfying the strong Wolfe conditions, or at least sufficient decrease.
fn line_search<F>(
    f: &mut F,
    x: &[f64],
    value0: f64,
    slope0: f64,
    direction: &[f64],
    first_step: f64,
) -> Option<Point>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let origin = Point {
        alpha: 0.0,
        value: value0,
        slope: slope0,
        x: Vec::new(),
        grad: Vec::new(),
    };
    let mut previous = origin;
    let mut alpha = first_step;
    for i in 0..MAX_LINE_SEARCH {
        let point = evaluate(f, x, direction, alpha);
        let sufficient = point.value <= value0 + C1 * alpha * slope0;
        if !point.value.is_finite() || !sufficient || (i > 0 && point.value >= previous.value) {
            return zoom(f, x, value0, slope0, direction, previous, point);
        }
        if point.slope.abs() <= -C2 * slope0 {
            return Some(point);
        }
        if point.slope >= 0.0 {
            return zoom(f, x, value0, slope0, direction, point, previous);
        }
        alpha *= 2.0;
        previous = point;
    }
    (previous.alpha > 0.0).then_some(previous)
}

#[allow(clippy::too_many_arguments)]
fn zoom<F>(
    f: &mut F,
    x: &[f64],
    value0: f64,
    slope0: f64,
    direction: &[f64],
    mut lo: Point,
    mut hi: Point,
) -> Option<Point>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    for _ in 0..MAX_LINE_SEARCH {
        let alpha = interpolate(&lo, &hi);
        if (hi.alpha - lo.alpha).abs() <= f64::EPSILON * lo.alpha.abs().max(1e-300) {
            break;
        }
        let point = evaluate(f, x, direction, alpha);
        if !point.value.is_finite()
            || point.value > value0 + C1 * alpha * slope0
            || point.value >= lo.value
        {
            hi = point;
        } else {
            if point.slope.abs() <= -C2 * slope0 {
                return Some(point);
            }
            if point.slope * (hi.alpha - lo.alpha) >= 0.0 {
                hi = std::mem::replace(&mut lo, point);
            } else {
                lo = point;
            }
        }
    }
    // Fall back to the best point with sufficient decrease, if any.
    (lo.alpha > 0.0 && lo.value < value0).then_some(lo)
}

/// The minimizer of the cubic through both end points, kept inside the middle 80% of the
/// interval; bisection when the cubic is unusable.
fn interpolate(a: &Point, b: &Point) -> f64 {
    let (lo, hi) = (a.alpha.min(b.alpha), a.alpha.max(b.alpha));
    let width = hi - lo;
    let mid = lo + 0.5 * width;
    if !b.value.is_finite() || !b.slope.is_finite() {
        return mid;
    }
    let d1 = a.slope + b.slope - 3.0 * (a.value - b.value) / (a.alpha - b.alpha);
    let disc = d1 * d1 - a.slope * b.slope;
    if disc.is_nan() || disc < 0.0 {
        return mid;
    }
    let d2 = (b.alpha - a.alpha).signum() * disc.sqrt();
    let step = b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2);
    if step.is_finite() {
        step.clamp(lo + 0.1 * width, hi - 0.1 * width)
    } else {
        mid
    }
}

/// `Σ l1_i |x_i|`.
fn l1_norm(x: &[f64], l1: &[f64]) -> f64 {
    x.iter().zip(l1).map(|(v, w)| w * v.abs()).sum()
}

/// The pseudo-gradient of `f(x) + Σ l1_i |x_i|`: the gradient where the L1 term is
/// differentiable, and at zero the one-sided derivative that points downhill (or 0).
fn pseudo_gradient(x: &[f64], grad: &[f64], l1: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(grad)
        .zip(l1)
        .map(|((&xi, &g), &w)| {
            if xi > 0.0 {
                g + w
            } else if xi < 0.0 {
                g - w
            } else if g + w < 0.0 {
                g + w
            } else if g - w > 0.0 {
                g - w
            } else {
                0.0
            }
        })
        .collect()
}

/// Minimizes `f(x) + Σ l1[i]·|x[i]|` by OWL-QN: L-BFGS directions from the smooth part's
/// curvature, applied to the pseudo-gradient, kept inside the current orthant, with a
/// backtracking line search that projects every trial point back onto that orthant (so
/// coefficients reach exact zeros). `f` returns the smooth part and writes its gradient;
/// coordinates with `l1[i] == 0` (e.g. intercepts) are unpenalized. The reported value and
/// gradient norm include the L1 term (the norm is the pseudo-gradient's infinity norm).
pub fn minimize_owlqn<F, C>(
    x0: Vec<f64>,
    mut f: F,
    l1: &[f64],
    options: &LbfgsOptions,
    mut on_iteration: C,
) -> Result<LbfgsResult>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
    C: FnMut(usize, f64, f64) -> Result<()>,
{
    let n = x0.len();
    assert_eq!(l1.len(), n, "one L1 weight per coordinate");
    let mut x = x0;
    let mut grad = vec![0.0; n];
    let mut value = f(&x, &mut grad) + l1_norm(&x, l1);
    let mut pg = pseudo_gradient(&x, &grad, l1);
    let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let mut iterations = 0;
    let mut termination = Termination::MaxIterations;
    if inf_norm(&pg) <= options.tol {
        termination = Termination::GradientTolerance;
    }
    while termination == Termination::MaxIterations && iterations < options.max_iter {
        let mut direction = two_loop(&pg, &history);
        for (d, g) in direction.iter_mut().zip(&pg) {
            if *d * g >= 0.0 {
                *d = 0.0;
            }
        }
        if dot(&direction, &pg) >= 0.0 || !direction.iter().all(|d| d.is_finite()) {
            history.clear();
            direction = pg.iter().map(|g| -g).collect();
        }
        let orthant: Vec<f64> = x
            .iter()
            .zip(&pg)
            .map(|(&xi, &g)| if xi != 0.0 { xi.signum() } else { -g.signum() })
            .collect();
        let mut alpha = if history.is_empty() {
            (1.0 / dot(&direction, &direction).sqrt()).min(1.0)
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..MAX_LINE_SEARCH {
            let trial: Vec<f64> = (0..n)
                .map(|i| {
                    let v = x[i] + alpha * direction[i];
                    if l1[i] > 0.0 && v * orthant[i] <= 0.0 {
                        0.0
                    } else {
                        v
                    }
                })
                .collect();
            let mut trial_grad = vec![0.0; n];
            let trial_value = f(&trial, &mut trial_grad) + l1_norm(&trial, l1);
            let decrease: f64 = pg
                .iter()
                .zip(trial.iter().zip(&x))
                .map(|(g, (a, b))| g * (a - b))
                .sum();
            if trial_value.is_finite() && trial_value <= value + C1 * decrease {
                accepted = Some((trial, trial_grad, trial_value));
                break;
            }
            alpha *= 0.5;
        }
        let Some((next, next_grad, next_value)) = accepted else {
            if history.is_empty() {
                termination = Termination::LineSearchFailed;
                break;
            }
            history.clear();
            continue;
        };
        iterations += 1;
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            history.push_back((s, y, 1.0 / sy));
            if history.len() > options.memory.max(1) {
                history.pop_front();
            }
        }
        let previous = value;
        x = next;
        grad = next_grad;
        value = next_value;
        pg = pseudo_gradient(&x, &grad, l1);
        let grad_norm = inf_norm(&pg);
        on_iteration(iterations, value, grad_norm)?;
        if grad_norm <= options.tol {
            termination = Termination::GradientTolerance;
        } else if (previous - value) <= FTOL * previous.abs().max(value.abs()).max(1.0) {
            termination = Termination::FunctionTolerance;
        }
    }
    let grad_norm = inf_norm(&pg);
    Ok(LbfgsResult {
        x,
        value,
        grad_norm,
        iterations,
        termination,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_rosenbrock() {
        let rosenbrock = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let options = LbfgsOptions {
            max_iter: 500,
            tol: 1e-10,
            memory: 10,
        };
        let r = minimize(vec![-1.2, 1.0], rosenbrock, &options, |_, _, _| Ok(())).unwrap();
        assert!(
            (r.x[0] - 1.0).abs() < 1e-6 && (r.x[1] - 1.0).abs() < 1e-6,
            "{r:?}"
        );
    }

    #[test]
    fn quadratic_converges_by_gradient() {
        let quad = |x: &[f64], g: &mut [f64]| {
            let w = [1.0, 10.0, 100.0];
            let mut v = 0.0;
            for i in 0..3 {
                g[i] = w[i] * (x[i] - i as f64);
                v += 0.5 * w[i] * (x[i] - i as f64).powi(2);
            }
            v
        };
        let mut seen = 0;
        let r = minimize(vec![5.0; 3], quad, &LbfgsOptions::default(), |i, _, _| {
            seen = i;
            Ok(())
        })
        .unwrap();
        assert_eq!(r.termination, Termination::GradientTolerance);
        assert_eq!(seen, r.iterations);
        for (i, xi) in r.x.iter().enumerate() {
            assert!((xi - i as f64).abs() < 1e-6);
        }
    }

    #[test]
    fn callback_error_aborts() {
        let quad = |x: &[f64], g: &mut [f64]| {
            g[0] = x[0];
            0.5 * x[0] * x[0]
        };
        let r = minimize(vec![3.0], quad, &LbfgsOptions::default(), |_, _, _| {
            Err(crate::Error::Cancelled)
        });
        assert!(matches!(r, Err(crate::Error::Cancelled)));
    }

    #[test]
    fn owlqn_solves_a_lasso_in_closed_form() {
        // f(x) = 0.5 * sum_i a_i (x_i - c_i)^2 + l1 * |x_i|: the minimizer is the soft
        // threshold c_i - sign(c_i) * l1 / a_i, or 0 when |c_i| <= l1 / a_i.
        let a = [1.0, 4.0, 2.0, 1.0];
        let c = [3.0, -2.0, 0.2, -0.5];
        let l1 = [1.0, 1.0, 1.0, 0.0];
        let smooth = |x: &[f64], g: &mut [f64]| {
            let mut v = 0.0;
            for i in 0..4 {
                g[i] = a[i] * (x[i] - c[i]);
                v += 0.5 * a[i] * (x[i] - c[i]).powi(2);
            }
            v
        };
        let options = LbfgsOptions {
            max_iter: 200,
            tol: 1e-10,
            memory: 5,
        };
        let r = minimize_owlqn(vec![1.0; 4], smooth, &l1, &options, |_, _, _| Ok(())).unwrap();
        let expected = [2.0, -1.75, 0.0, -0.5];
        for (got, want) in r.x.iter().zip(expected) {
            assert!((got - want).abs() < 1e-8, "{:?}", r.x);
        }
        // The thresholded coordinate is exactly zero, not merely small.
        assert_eq!(r.x[2], 0.0);
    }

    #[test]
    fn owlqn_without_l1_matches_lbfgs() {
        let quad = |x: &[f64], g: &mut [f64]| {
            g[0] = 3.0 * (x[0] - 1.0) + x[1];
            g[1] = x[1] + x[0] - 2.0;
            1.5 * (x[0] - 1.0).powi(2) + x[0] * x[1] + 0.5 * x[1] * x[1] - 2.0 * x[1]
        };
        let options = LbfgsOptions {
            tol: 1e-10,
            ..LbfgsOptions::default()
        };
        let a = minimize(vec![0.0; 2], quad, &options, |_, _, _| Ok(())).unwrap();
        let b = minimize_owlqn(vec![0.0; 2], quad, &[0.0; 2], &options, |_, _, _| Ok(())).unwrap();
        for (p, q) in a.x.iter().zip(&b.x) {
            assert!((p - q).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}
