//! The exact solver for L2-regularized least squares: the normal equations
//! `(X̃ᵀX̃ / n + l2·D) θ = X̃ᵀy / n` (X̃ the features plus an intercept column, D the identity
//! without the intercept), solved by Cholesky. `solver=auto` uses it for regression without an
//! L1 term and with few enough features; it needs one pass over the data instead of L-BFGS's
//! many. The Gram matrix is summed over fixed-size row chunks in chunk order, so the result does
//! not depend on the thread count.

use rayon::prelude::*;

use super::objective::{Objective, Parallelism, Response};

/// Most features (without the intercept) for which the normal equations are formed.
pub const MAX_FEATURES: usize = 512;
const CHUNK_ROWS: usize = 4096;

/// `Σ x̃ x̃ᵀ` (upper triangle, row-major `(d+1)²`) and `Σ x̃ y` over rows `start..end`.
fn chunk_gram(objective: &Objective, y: &[f64], start: usize, end: usize) -> (Vec<f64>, Vec<f64>) {
    let d = objective.x.cols;
    let p = d + 1;
    let mut gram = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    let mut row = vec![1.0; p];
    for (i, &yi) in y.iter().enumerate().take(end).skip(start) {
        row[..d].copy_from_slice(objective.x.row(i));
        for a in 0..p {
            let ra = row[a];
            if ra == 0.0 {
                continue;
            }
            rhs[a] += ra * yi;
            let out = &mut gram[a * p..(a + 1) * p];
            for b in a..p {
                out[b] += ra * row[b];
            }
        }
    }
    (gram, rhs)
}

/// The exact minimizer `[w, b]` of the objective, or `None` when the problem is not plain
/// least squares, too wide, or numerically singular (the caller then falls back to L-BFGS).
pub fn solve(objective: &Objective) -> Option<Vec<f64>> {
    let Response::Squared(y) = objective.response else {
        return None;
    };
    let (n, d) = (objective.x.rows, objective.x.cols);
    if n == 0 || d > MAX_FEATURES || objective.sample_weights.is_some() {
        return None;
    }
    let p = d + 1;
    let ranges: Vec<(usize, usize)> = (0..n)
        .step_by(CHUNK_ROWS)
        .map(|s| (s, (s + CHUNK_ROWS).min(n)))
        .collect();
    let work = |&(s, e): &(usize, usize)| chunk_gram(objective, y, s, e);
    let partials: Vec<(Vec<f64>, Vec<f64>)> = match objective.parallelism {
        _ if ranges.len() <= 1 => ranges.iter().map(work).collect(),
        Parallelism::Sequential => ranges.iter().map(work).collect(),
        Parallelism::Global => ranges.par_iter().map(work).collect(),
        Parallelism::Pool(pool) => pool.install(|| ranges.par_iter().map(work).collect()),
    };
    let mut a = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    for (g, r) in &partials {
        a.iter_mut().zip(g).for_each(|(x, v)| *x += v);
        rhs.iter_mut().zip(r).for_each(|(x, v)| *x += v);
    }
    let inv_n = 1.0 / n as f64;
    for i in 0..p {
        for j in i..p {
            let v = a[i * p + j] * inv_n;
            a[i * p + j] = v;
            a[j * p + i] = v;
        }
        if i < d {
            a[i * p + i] += objective.l2;
        }
    }
    rhs.iter_mut().for_each(|v| *v *= inv_n);
    cholesky_solve(a, rhs, p)
}

/// Solves `a x = b` for symmetric positive definite `a` (row-major `p × p`); `None` when a
/// pivot is not clearly positive.
fn cholesky_solve(mut a: Vec<f64>, mut b: Vec<f64>, p: usize) -> Option<Vec<f64>> {
    let scale = (0..p).map(|i| a[i * p + i].abs()).fold(0.0, f64::max);
    for j in 0..p {
        let mut diag = a[j * p + j];
        for k in 0..j {
            diag -= a[j * p + k] * a[j * p + k];
        }
        if diag.partial_cmp(&(1e-10 * scale.max(f64::MIN_POSITIVE)))
            != Some(std::cmp::Ordering::Greater)
        {
            return None;
        }
        let diag = diag.sqrt();
        a[j * p + j] = diag;
        for i in j + 1..p {
            let mut v = a[i * p + j];
            for k in 0..j {
                v -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = v / diag;
        }
    }
    for i in 0..p {
        let mut v = b[i];
        for k in 0..i {
            v -= a[i * p + k] * b[k];
        }
        b[i] = v / a[i * p + i];
    }
    for i in (0..p).rev() {
        let mut v = b[i];
        for k in i + 1..p {
            v -= a[k * p + i] * b[k];
        }
        b[i] = v / a[i * p + i];
    }
    b.iter().all(|v| v.is_finite()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_and_rejects_singular_systems() {
        // [[4, 2], [2, 3]] x = [2, 1] -> x = [0.5, 0]
        let x = cholesky_solve(vec![4.0, 2.0, 2.0, 3.0], vec![2.0, 1.0], 2).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        assert!(cholesky_solve(vec![1.0, 1.0, 1.0, 1.0], vec![1.0, 1.0], 2).is_none());
    }
}
