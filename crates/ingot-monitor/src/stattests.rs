//! The drift tests as pure functions over weighted samples and count vectors, defined as in
//! SciPy (`ks_2samp`, `chi2_contingency`, `wasserstein_distance`, `jensenshannon`) and
//! Evidently (Z-test for proportions, PSI with its zero filling), plus the L∞ distance of
//! SageMaker Model Monitor.
//!
//! A [`Weighted`] sample is a sorted list of distinct values with weights. Raw samples give
//! unit weights (the tests then equal SciPy's exactly); KLL sketches give each retained item
//! its weight 2^level, so the same code runs on sketches (approximate, see `drift.rs`).

use crate::kolmogorov;
use crate::special::{chi2_sf, normal_sf};

/// Distinct sorted values with positive weights (counts for raw samples).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weighted {
    pub values: Vec<f64>,
    pub weights: Vec<f64>,
}

impl Weighted {
    /// From raw values: non-finite values are dropped, duplicates counted.
    pub fn from_values(values: &[f64]) -> Weighted {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Weighted::from_sorted_pairs(v.into_iter().map(|x| (x, 1.0)))
    }

    /// From `(value, weight)` pairs in any order.
    pub fn from_pairs(mut pairs: Vec<(f64, f64)>) -> Weighted {
        pairs.retain(|(v, w)| v.is_finite() && *w > 0.0);
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        Weighted::from_sorted_pairs(pairs.into_iter())
    }

    fn from_sorted_pairs(pairs: impl Iterator<Item = (f64, f64)>) -> Weighted {
        let mut out = Weighted::default();
        for (v, w) in pairs {
            match out.values.last() {
                Some(&last) if last == v => *out.weights.last_mut().expect("paired") += w,
                _ => {
                    out.values.push(v);
                    out.weights.push(w);
                }
            }
        }
        out
    }

    /// Total weight.
    pub fn total(&self) -> f64 {
        self.weights.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Weighted population mean and standard deviation (`np.std`, ddof 0).
    pub fn mean_std(&self) -> (f64, f64) {
        let total = self.total();
        let mean = self
            .values
            .iter()
            .zip(&self.weights)
            .map(|(v, w)| v * w)
            .sum::<f64>()
            / total;
        let var = self
            .values
            .iter()
            .zip(&self.weights)
            .map(|(v, w)| w * (v - mean) * (v - mean))
            .sum::<f64>()
            / total;
        (mean, var.sqrt())
    }
}

/// Walks the union of two weighted samples' values in order, yielding
/// `(value, cumulative weight of a ≤ value, cumulative weight of b ≤ value)`.
fn merged_cdf(a: &Weighted, b: &Weighted, mut f: impl FnMut(f64, f64, f64)) {
    let (mut i, mut j) = (0, 0);
    let (mut ca, mut cb) = (0.0, 0.0);
    while i < a.values.len() || j < b.values.len() {
        let va = a.values.get(i).copied().unwrap_or(f64::INFINITY);
        let vb = b.values.get(j).copied().unwrap_or(f64::INFINITY);
        let v = va.min(vb);
        if va == v {
            ca += a.weights[i];
            i += 1;
        }
        if vb == v {
            cb += b.weights[j];
            j += 1;
        }
        f(v, ca, cb);
    }
}

/// How `ks_2samp` turns the statistic into a p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KsMethod {
    /// Exact when max(n1, n2) ≤ 10 000, else asymptotic (SciPy's default).
    Auto,
    Exact,
    Asymp,
}

/// A test statistic with its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// Two-sided two-sample Kolmogorov–Smirnov test. `n1`/`n2` are the sample sizes behind the
/// weights (for raw samples, the totals).
pub fn ks_2samp(a: &Weighted, b: &Weighted, n1: u64, n2: u64, method: KsMethod) -> TestResult {
    ks_p_value(ks_statistic(a, b), n1, n2, method)
}

/// The two-sided KS statistic: the largest gap between the two (weighted) CDFs.
pub fn ks_statistic(a: &Weighted, b: &Weighted) -> f64 {
    let (wa, wb) = (a.total(), b.total());
    let mut d = 0.0f64;
    merged_cdf(a, b, |_, ca, cb| {
        d = d.max((ca / wa - cb / wb).abs());
    });
    d.clamp(0.0, 1.0)
}

/// The p-value of a two-sided two-sample KS statistic, as `ks_2samp` computes it.
pub fn ks_p_value(d: f64, n1: u64, n2: u64, method: KsMethod) -> TestResult {
    if n1 == 0 || n2 == 0 {
        return TestResult {
            statistic: f64::NAN,
            p_value: f64::NAN,
        };
    }
    let g = kolmogorov::gcd(n1, n2);
    let mut exact = match method {
        KsMethod::Auto => n1.max(n2) <= 10_000,
        KsMethod::Exact => (n1 / g) as f64 * ((n2 / g) as f64) < i32::MAX as f64,
        KsMethod::Asymp => false,
    };
    let mut statistic = d;
    if exact {
        let lcm = (n1 / g) as f64 * n2 as f64;
        let h = (d * lcm).round_ties_even();
        statistic = h / lcm;
        match kolmogorov::ks_2samp_exact(n1, n2, h as u64) {
            Some(p) => {
                return TestResult {
                    statistic,
                    p_value: p.clamp(0.0, 1.0),
                }
            }
            None => exact = false,
        }
    }
    debug_assert!(!exact);
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = m * n / (m + n);
    let p = kolmogorov::kstwo_sf(en.round_ties_even() as u64, statistic);
    TestResult {
        statistic,
        p_value: p.clamp(0.0, 1.0),
    }
}

/// `wasserstein_distance(u, v, u_weights, v_weights)`: the area between the two CDFs.
pub fn wasserstein(a: &Weighted, b: &Weighted) -> f64 {
    let (wa, wb) = (a.total(), b.total());
    let mut sum = 0.0;
    let mut prev: Option<(f64, f64)> = None; // (value, |F_a - F_b| right of it)
    merged_cdf(a, b, |v, ca, cb| {
        if let Some((pv, diff)) = prev {
            sum += diff * (v - pv);
        }
        prev = Some((v, (ca / wa - cb / wb).abs()));
    });
    sum
}

/// `chi2_contingency` on the 2×k table `[a; b]` (with Yates' correction when k = 2).
/// Columns empty in both rows must be removed first (SciPy refuses zero expected counts).
pub fn chi2_contingency(a: &[f64], b: &[f64]) -> TestResult {
    assert_eq!(
        a.len(),
        b.len(),
        "rows of a contingency table differ in length"
    );
    let k = a.len();
    let (ta, tb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    let total = ta + tb;
    let dof = k.saturating_sub(1);
    if dof == 0 {
        return TestResult {
            statistic: 0.0,
            p_value: 1.0,
        };
    }
    let mut chi2 = 0.0;
    for j in 0..k {
        let col = a[j] + b[j];
        for (obs, row) in [(a[j], ta), (b[j], tb)] {
            let expected = row * col / total;
            let mut observed = obs;
            if dof == 1 {
                let diff = expected - observed;
                observed += diff.abs().min(0.5) * diff.signum() * f64::from(diff != 0.0);
            }
            chi2 += (observed - expected) * (observed - expected) / expected;
        }
    }
    TestResult {
        statistic: chi2,
        p_value: chi2_sf(chi2, dof as f64),
    }
}

/// Evidently's two-sided Z-test for the difference of two proportions: `x1` successes of
/// `n1` against `x2` of `n2`. Equal single values on both sides give p = 1.
pub fn z_test_proportions(x1: f64, n1: f64, x2: f64, n2: f64) -> TestResult {
    let (p1, p2) = (x1 / n1, x2 / n2);
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 || !se.is_finite() {
        return TestResult {
            statistic: 0.0,
            p_value: 1.0,
        };
    }
    let z = (p1 - p2) / se;
    TestResult {
        statistic: z,
        p_value: 2.0 * normal_sf(z.abs()),
    }
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (natural log): both are normalized first.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let mut left = 0.0;
    let mut right = 0.0;
    for (&pi, &qi) in p.iter().zip(q) {
        let (pi, qi) = (pi / sp, qi / sq);
        let m = (pi + qi) / 2.0;
        left += rel_entr(pi, m);
        right += rel_entr(qi, m);
    }
    ((left + right) / 2.0).sqrt()
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Evidently's zero filling of binned shares: zeros become min(non-zero)/10⁶ when that
/// minimum is at most 10⁻⁴, else 10⁻⁴.
pub fn fill_zeroes(shares: &mut [f64]) {
    let min = shares
        .iter()
        .copied()
        .filter(|v| *v != 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if min <= 0.0001 { min / 1e6 } else { 0.0001 };
    for v in shares.iter_mut().filter(|v| **v == 0.0) {
        *v = fill;
    }
}

/// Population stability index Σ (r − c)·ln(r / c) over shares already zero-filled.
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(r, c)| (r - c) * (r / c).ln())
        .sum()
}

/// L∞ distance max |p − q| between two probability vectors.
pub fn l_infinity(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_statistic_of_disjoint_samples_is_one() {
        let a = Weighted::from_values(&[1.0, 2.0, 3.0]);
        let b = Weighted::from_values(&[4.0, 5.0]);
        let r = ks_2samp(&a, &b, 3, 2, KsMethod::Auto);
        assert_eq!(r.statistic, 1.0);
        // Exact: only 2 of C(5,2) = 10 orderings separate the samples completely.
        assert!((r.p_value - 0.2).abs() < 1e-12, "{}", r.p_value);
        let same = ks_2samp(&a, &a, 3, 3, KsMethod::Auto);
        assert_eq!(same.statistic, 0.0);
        assert_eq!(same.p_value, 1.0);
    }

    #[test]
    fn weighted_samples_equal_repeated_values() {
        let a = Weighted::from_values(&[1.0, 1.0, 2.0, 5.0]);
        let w = Weighted::from_pairs(vec![(2.0, 1.0), (1.0, 2.0), (5.0, 1.0)]);
        assert_eq!(a, w);
        let b = Weighted::from_values(&[0.0, 3.0]);
        assert_eq!(wasserstein(&a, &b), wasserstein(&w, &b));
    }

    #[test]
    fn wasserstein_of_a_shift_is_the_shift() {
        let a = Weighted::from_values(&[0.0, 1.0, 2.0]);
        let b = Weighted::from_values(&[0.5, 1.5, 2.5]);
        assert!((wasserstein(&a, &b) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn chi2_identical_rows_have_p_one() {
        let r = chi2_contingency(&[10.0, 20.0, 30.0], &[10.0, 20.0, 30.0]);
        assert_eq!(r.statistic, 0.0);
        assert!((r.p_value - 1.0).abs() < 1e-15);
    }

    #[test]
    fn js_and_psi_are_zero_on_equal_distributions() {
        assert_eq!(jensen_shannon(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
        assert_eq!(psi(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
        // Disjoint supports: JS distance is sqrt(ln 2).
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.ln().sqrt()).abs() < 1e-15);
        let mut shares = vec![0.5, 0.0, 0.5];
        fill_zeroes(&mut shares);
        assert_eq!(shares[1], 0.0001);
    }

    #[test]
    fn z_test_detects_a_proportion_change() {
        let same = z_test_proportions(50.0, 100.0, 50.0, 100.0);
        assert!((same.p_value - 1.0).abs() < 1e-12);
        let shifted = z_test_proportions(20.0, 100.0, 60.0, 100.0);
        assert!(shifted.p_value < 1e-6);
        assert_eq!(z_test_proportions(0.0, 10.0, 0.0, 10.0).p_value, 1.0);
    }
}
