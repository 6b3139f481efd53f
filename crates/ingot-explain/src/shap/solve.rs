//! KernelSHAP's weighted least squares with the efficiency constraint, as in Lundberg & Lee
//! (2017) and the `shap` library: the additive model `g(z) = φ₀ + Σ z_j φ_j` is fitted to the
//! coalition values with the Shapley kernel's weights, `φ₀ = E[f(background)]` fixed (the empty
//! coalition) and `Σ φ_j = f(x) − φ₀` enforced by eliminating the last feature:
//! `φ_M = (f(x) − φ₀) − Σ_{j<M} φ_j`, so the remaining `M − 1` unknowns solve
//! `(XᵀWX) w = XᵀW y` with `X_ij = z_ij − z_iM` and `y_i = v(z_i) − φ₀ − z_iM (f(x) − φ₀)`.
//! The normal equations are solved by LU with partial pivoting; when they are singular (too few
//! distinct coalitions) the minimum-norm least-squares solution is used instead, from a
//! symmetric eigendecomposition (as `shap` falls back to `lstsq`).

use super::sampling::Plan;

/// Shapley values of one output: `ey_adj[i] = v(z_i) − φ₀` for each coalition of `plan`,
/// `total = f(x) − φ₀`.
pub fn constrained_wls(plan: &Plan, ey_adj: &[f64], total: f64) -> Vec<f64> {
    let m = plan.m;
    let k = m - 1;
    let mut a = vec![0.0; k * k];
    let mut b = vec![0.0; k];
    let mut x = vec![0.0; k];
    for (i, &w) in plan.weights.iter().enumerate() {
        let z = plan.mask(i);
        let last = f64::from(u8::from(z[m - 1]));
        for (j, xj) in x.iter_mut().enumerate() {
            *xj = f64::from(u8::from(z[j])) - last;
        }
        let y = ey_adj[i] - last * total;
        for r in 0..k {
            if x[r] == 0.0 {
                continue;
            }
            let wx = w * x[r];
            b[r] += wx * y;
            for c in 0..k {
                a[r * k + c] += wx * x[c];
            }
        }
    }
    let w = lu_solve(&a, &b, k).unwrap_or_else(|| min_norm_solve(&a, &b, k));
    let mut phi = w;
    let rest: f64 = phi.iter().sum();
    phi.push(total - rest);
    phi
}

/// Solves `A x = b` (`A` row-major `k × k`) by LU with partial pivoting; `None` if singular.
pub fn lu_solve(a: &[f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    let scale = (0..k).map(|i| a[i * k + i].abs()).fold(0.0, f64::max);
    if scale == 0.0 {
        return if k == 0 { Some(Vec::new()) } else { None };
    }
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&i, &j| a[i * k + col].abs().total_cmp(&a[j * k + col].abs()))
            .unwrap_or(col);
        if a[pivot * k + col].abs() <= 1e-12 * scale {
            return None;
        }
        if pivot != col {
            for c in 0..k {
                a.swap(pivot * k + c, col * k + c);
            }
            b.swap(pivot, col);
        }
        for r in col + 1..k {
            let factor = a[r * k + col] / a[col * k + col];
            if factor == 0.0 {
                continue;
            }
            for c in col..k {
                a[r * k + c] -= factor * a[col * k + c];
            }
            b[r] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|c| a[r * k + c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r * k + r];
    }
    Some(x)
}

/// The minimum-norm solution of the symmetric positive semi-definite system `A x = b`:
/// `x = Σ_{λ_i > tol} v_i (v_iᵀ b) / λ_i` from a cyclic Jacobi eigendecomposition.
pub fn min_norm_solve(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut a = a.to_vec();
    let mut v = vec![0.0; k * k];
    for i in 0..k {
        v[i * k + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j] * a[i * k + j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let largest = (0..k).map(|i| a[i * k + i].abs()).fold(0.0, f64::max);
    let tol = largest * k as f64 * f64::EPSILON;
    let mut x = vec![0.0; k];
    for e in 0..k {
        let lambda = a[e * k + e];
        if lambda <= tol {
            continue;
        }
        let proj: f64 = (0..k).map(|r| v[r * k + e] * b[r]).sum::<f64>() / lambda;
        for r in 0..k {
            x[r] += v[r * k + e] * proj;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lu_solves_a_small_system() {
        // 2x + y = 5, x + 3y = 10 → x = 1, y = 3.
        let x = lu_solve(&[2.0, 1.0, 1.0, 3.0], &[5.0, 10.0], 2).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-14 && (x[1] - 3.0).abs() < 1e-14);
        assert!(lu_solve(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0], 2).is_none());
    }

    #[test]
    fn singular_systems_get_the_minimum_norm_solution() {
        // [[1,1],[1,1]] x = [2,2]: solutions x + y = 2, minimum norm (1, 1).
        let x = min_norm_solve(&[1.0, 1.0, 1.0, 1.0], &[2.0, 2.0], 2);
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12,
            "{x:?}"
        );
        // A regular system gives the same answer as LU.
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let b = [1.0, 2.0, 3.0];
        let lu = lu_solve(&a, &b, 3).unwrap();
        let mn = min_norm_solve(&a, &b, 3);
        for i in 0..3 {
            assert!((lu[i] - mn[i]).abs() < 1e-12);
        }
    }
}
