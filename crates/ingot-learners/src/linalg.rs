//! Small dense linear algebra for PCA: the symmetric eigendecomposition (cyclic Jacobi),
//! thin QR (modified Gram-Schmidt, twice), and products with a tall row-major matrix.

use rayon::prelude::*;

use crate::common::CHUNK_ROWS;

/// Eigenvalues (descending) and eigenvectors (column `j` of the row-major `n × n` result
/// belongs to value `j`) of the symmetric `n × n` matrix `a`. Each vector's largest
/// component is made positive, so the result is unique for distinct eigenvalues.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| m[i * n + i] * m[i * n + i]).sum::<f64>();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // Rotate rows/columns p and q of m, and columns p and q of v.
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]).then(i.cmp(&j)));
    let values: Vec<f64> = order.iter().map(|&i| m[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (col, &src) in order.iter().enumerate() {
        let mut big = 0.0f64;
        for k in 0..n {
            if v[k * n + src].abs() > big.abs() {
                big = v[k * n + src];
            }
        }
        let sign = if big < 0.0 { -1.0 } else { 1.0 };
        for k in 0..n {
            vectors[k * n + col] = sign * v[k * n + src];
        }
    }
    (values, vectors)
}

/// Orthonormalizes the columns of the row-major `rows × cols` matrix in place: Cholesky QR
/// twice (`G = AᵀA = RᵀR`, `A ← A R⁻¹`; two parallel passes each), falling back to modified
/// Gram-Schmidt when the columns are too close to dependent for Cholesky.
pub fn orthonormalize_columns(a: &mut [f64], rows: usize, cols: usize) {
    for _pass in 0..2 {
        let gram = transpose_times(a, cols, a, cols);
        let Some(r_inverse) = cholesky_inverse_upper(&gram, cols) else {
            gram_schmidt(a, rows, cols);
            return;
        };
        let q = times(a, cols, &r_inverse, cols);
        a.copy_from_slice(&q);
    }
}

/// `R⁻¹` (upper triangular, row-major) for the Cholesky factor `G = RᵀR` of a symmetric
/// positive definite `n × n` matrix; `None` when a pivot is not clearly positive.
fn cholesky_inverse_upper(g: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut r = vec![0.0; n * n];
    let scale = (0..n).map(|i| g[i * n + i]).fold(0.0f64, f64::max);
    for i in 0..n {
        let mut diag = g[i * n + i];
        for k in 0..i {
            diag -= r[k * n + i] * r[k * n + i];
        }
        if diag.is_nan() || diag <= 1e-12 * scale {
            return None;
        }
        let rii = diag.sqrt();
        r[i * n + i] = rii;
        for j in i + 1..n {
            let mut v = g[i * n + j];
            for k in 0..i {
                v -= r[k * n + i] * r[k * n + j];
            }
            r[i * n + j] = v / rii;
        }
    }
    // Back substitution for R⁻¹, column by column.
    let mut inv = vec![0.0; n * n];
    for col in 0..n {
        for i in (0..=col).rev() {
            let mut v = if i == col { 1.0 } else { 0.0 };
            for k in i + 1..=col {
                v -= r[i * n + k] * inv[k * n + col];
            }
            inv[i * n + col] = v / r[i * n + i];
        }
    }
    Some(inv)
}

/// Modified Gram-Schmidt applied twice; a column that becomes (numerically) zero is left at
/// zero.
pub fn gram_schmidt(a: &mut [f64], rows: usize, cols: usize) {
    for _pass in 0..2 {
        for j in 0..cols {
            let before = column_dot(a, rows, cols, j, j).sqrt();
            for prev in 0..j {
                let dot: f64 = column_dot(a, rows, cols, prev, j);
                for i in 0..rows {
                    a[i * cols + j] -= dot * a[i * cols + prev];
                }
            }
            let norm = column_dot(a, rows, cols, j, j).sqrt();
            for i in 0..rows {
                a[i * cols + j] = if norm > 1e-10 * before && norm > 1e-300 {
                    a[i * cols + j] / norm
                } else {
                    0.0
                };
            }
        }
    }
}

fn column_dot(a: &[f64], rows: usize, cols: usize, p: usize, q: usize) -> f64 {
    let partial: Vec<f64> = (0..rows)
        .step_by(CHUNK_ROWS)
        .map(|start| {
            (start..(start + CHUNK_ROWS).min(rows))
                .map(|i| a[i * cols + p] * a[i * cols + q])
                .sum::<f64>()
        })
        .collect();
    partial.iter().sum()
}

/// `x · b` for a tall row-major `n × d` matrix `x` and a `d × m` matrix `b`: `n × m`.
pub fn times(x: &[f64], d: usize, b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; x.len() / d * m];
    out.par_chunks_mut(m * CHUNK_ROWS)
        .zip(x.par_chunks(d * CHUNK_ROWS))
        .for_each(|(out, rows)| {
            for (o, row) in out.chunks_exact_mut(m).zip(rows.chunks_exact(d)) {
                for (k, xk) in row.iter().enumerate() {
                    let bk = &b[k * m..(k + 1) * m];
                    for (oj, bj) in o.iter_mut().zip(bk) {
                        *oj += xk * bj;
                    }
                }
            }
        });
    out
}

/// `xᵀ · y` for tall row-major `n × d` and `n × m` matrices: `d × m`, summed over fixed row
/// chunks in order.
pub fn transpose_times(x: &[f64], d: usize, y: &[f64], m: usize) -> Vec<f64> {
    let partial: Vec<Vec<f64>> = x
        .par_chunks(d * CHUNK_ROWS)
        .zip(y.par_chunks(m * CHUNK_ROWS))
        .map(|(xs, ys)| {
            let mut acc = vec![0.0; d * m];
            for (xr, yr) in xs.chunks_exact(d).zip(ys.chunks_exact(m)) {
                for (k, xk) in xr.iter().enumerate() {
                    let row = &mut acc[k * m..(k + 1) * m];
                    for (a, yj) in row.iter_mut().zip(yr) {
                        *a += xk * yj;
                    }
                }
            }
            acc
        })
        .collect();
    let mut out = vec![0.0; d * m];
    for p in partial {
        for (o, v) in out.iter_mut().zip(&p) {
            *o += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_a_known_matrix() {
        // [[2,1],[1,2]] has eigenvalues 3 and 1 with vectors (1,1)/√2 and (1,-1)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((values[0] - 3.0).abs() < 1e-12 && (values[1] - 1.0).abs() < 1e-12);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vectors[0] - h).abs() < 1e-12 && (vectors[2] - h).abs() < 1e-12);
        assert!((vectors[1].abs() - h).abs() < 1e-12 && (vectors[3].abs() - h).abs() < 1e-12);
    }

    #[test]
    fn eigen_reconstructs_a_random_symmetric_matrix() {
        let n = 7;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = ((i * 31 + j * 17) % 11) as f64 - 5.0;
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let (values, vectors) = symmetric_eigen(&a, n);
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n)
                    .map(|k| vectors[i * n + k] * values[k] * vectors[j * n + k])
                    .sum();
                assert!((r - a[i * n + j]).abs() < 1e-9, "{i},{j}: {r}");
            }
        }
        assert!(values.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn qr_and_products() {
        for dependent in [false, true] {
            let mut a = vec![1.0, 1.0, 0.0, 1.0, 1.0, 0.0];
            if dependent {
                a = vec![1.0, 2.0, 1.0, 2.0, 0.0, 0.0];
            }
            let original = a.clone();
            orthonormalize_columns(&mut a, 3, 2);
            assert!((column_dot(&a, 3, 2, 0, 0) - 1.0).abs() < 1e-12);
            if dependent {
                // The second column is twice the first: nothing is left of it.
                assert!(column_dot(&a, 3, 2, 1, 1) < 1e-12);
            } else {
                assert!((column_dot(&a, 3, 2, 0, 1)).abs() < 1e-12);
                assert!((column_dot(&a, 3, 2, 1, 1) - 1.0).abs() < 1e-12);
                // Same span: the first column keeps its direction.
                let h = std::f64::consts::FRAC_1_SQRT_2;
                assert!(
                    (a[0] - h).abs() < 1e-12 && (a[4] - h).abs() < 1e-12,
                    "{a:?} from {original:?}"
                );
            }
        }
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(times(&x, 2, &[1.0, 0.0, 0.0, 1.0], 2), x.to_vec());
        assert_eq!(transpose_times(&x, 2, &x, 2), vec![10.0, 14.0, 14.0, 20.0]);
    }
}
