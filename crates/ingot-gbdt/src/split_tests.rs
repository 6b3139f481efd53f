//! Split finding against a naive exact-greedy reference that works on raw rows, not histograms.

use proptest::prelude::*;

use super::*;
use crate::binning::BinnedData;
use crate::histogram;

fn params(min_data: u64, l1: f64, l2: f64) -> SplitParams {
    SplitParams {
        min_data_in_leaf: min_data,
        min_sum_hessian_in_leaf: 1e-3,
        lambda_l1: l1,
        lambda_l2: l2,
        min_gain_to_split: 0.0,
        max_cat_to_onehot: 4,
        max_cat_threshold: 64,
        cat_smooth: 0.0,
        cat_l2: 0.0,
    }
}

fn sums<'a>(rows: impl Iterator<Item = &'a (f64, f64, f64)>) -> Bin {
    let mut b = Bin::default();
    for &(_, g, h) in rows {
        b.g += g;
        b.h += h;
        b.n += 1;
    }
    b
}

fn gain_of(left: &Bin, right: &Bin, total: &Bin, p: &SplitParams, l2: f64) -> Option<f64> {
    let ok = |b: &Bin| b.n >= p.min_data_in_leaf && b.h >= p.min_sum_hessian_in_leaf;
    if !ok(left) || !ok(right) {
        return None;
    }
    let g = leaf_gain(left.g, left.h, p.lambda_l1, l2)
        + leaf_gain(right.g, right.h, p.lambda_l1, l2)
        - leaf_gain(total.g, total.h, p.lambda_l1, p.lambda_l2);
    (g > p.min_gain_to_split).then_some(g)
}

/// Exact greedy: every threshold between distinct values, missing rows on either side.
fn naive_numeric(rows: &[(f64, f64, f64)], p: &SplitParams) -> Option<f64> {
    let total = sums(rows.iter());
    let mut values: Vec<f64> = rows.iter().map(|r| r.0).filter(|v| !v.is_nan()).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let mut best: Option<f64> = None;
    for w in values.windows(2) {
        for missing_left in [false, true] {
            let left = sums(rows.iter().filter(|r| {
                if r.0.is_nan() {
                    missing_left
                } else {
                    r.0 <= w[0]
                }
            }));
            let mut right = total;
            right.sub(&left);
            if let Some(g) = gain_of(&left, &right, &total, p, p.lambda_l2) {
                best = Some(best.map_or(g, |b: f64| b.max(g)));
            }
        }
    }
    best
}

/// Every subset of the categories on the left (missing rows always right).
fn naive_categorical(rows: &[(f64, f64, f64)], k: usize, p: &SplitParams) -> Option<f64> {
    let total = sums(rows.iter());
    let mut best: Option<f64> = None;
    for mask in 1u32..(1 << k) - 1 {
        let left = sums(
            rows.iter()
                .filter(|r| r.0 >= 0.0 && mask >> (r.0 as u32) & 1 == 1),
        );
        let mut right = total;
        right.sub(&left);
        if let Some(g) = gain_of(&left, &right, &total, p, p.lambda_l2 + p.cat_l2) {
            best = Some(best.map_or(g, |b: f64| b.max(g)));
        }
    }
    best
}

fn search(rows: &[(f64, f64, f64)], categorical: Option<usize>, p: &SplitParams) -> Option<Split> {
    let x: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let gh: Vec<[f32; 2]> = rows.iter().map(|r| [r.1 as f32, r.2 as f32]).collect();
    let data = BinnedData::build(&x, rows.len(), &[categorical], 255, 1, 0);
    let mut hist = vec![Bin::default(); data.total_bins()];
    let all: Vec<u32> = (0..rows.len() as u32).collect();
    histogram::build(&data, &all, &gh, true, &[true], &mut hist);
    let total = sums(rows.iter());
    best_split(0, &hist, &data.mappers[0], &total, p)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        _ => false,
    }
}

proptest! {
    #[test]
    fn numeric_split_matches_exact_greedy(
        raw in proptest::collection::vec((-4i32..6, -8i32..8, 1i32..5), 2..50),
        min_data in 1u64..4,
        l1 in 0u32..3,
        l2 in 0u32..3,
    ) {
        // Values are exact in f32, so histogram sums equal row sums.
        let rows: Vec<(f64, f64, f64)> = raw
            .iter()
            .map(|&(v, g, h)| {
                let v = if v == 5 { f64::NAN } else { f64::from(v) * 0.5 };
                (v, f64::from(g) * 0.25, f64::from(h) * 0.5)
            })
            .collect();
        let p = params(min_data, f64::from(l1), f64::from(l2));
        let found = search(&rows, None, &p);
        prop_assert!(close(found.as_ref().map(|s| s.gain), naive_numeric(&rows, &p)),
            "found {:?} vs naive {:?}", found, naive_numeric(&rows, &p));
        if let Some(split) = found {
            let SplitRule::Numeric { bin } = split.rule else { panic!("numeric") };
            let data_x: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let mapper = BinnedData::build(&data_x, rows.len(), &[None], 255, 1, 0).mappers.remove(0);
            let BinMapper::Numeric { upper } = &mapper else { panic!("numeric") };
            let left = sums(rows.iter().filter(|r| {
                if r.0.is_nan() { split.default_left } else { r.0 <= upper[bin] }
            }));
            prop_assert_eq!(left.n, split.left.n);
            prop_assert!((left.g - split.left.g).abs() < 1e-9);
        }
    }

    #[test]
    fn categorical_split_matches_best_subset(
        raw in proptest::collection::vec((0i32..6, -8i32..8, 1i32..5), 2..50),
    ) {
        // Without penalties or size limits the best partition is contiguous in G/H order.
        let rows: Vec<(f64, f64, f64)> = raw
            .iter()
            .map(|&(c, g, h)| (f64::from(c), f64::from(g) * 0.25, f64::from(h) * 0.5))
            .collect();
        let p = params(1, 0.0, 0.0);
        let found = search(&rows, Some(6), &p);
        let present = {
            let mut c: Vec<i32> = raw.iter().map(|r| r.0).collect();
            c.sort_unstable();
            c.dedup();
            c.len()
        };
        // One-vs-rest (few categories) is a restricted search; many-vs-many on G/H order is exact.
        let reference = if present <= p.max_cat_to_onehot {
            let total = sums(rows.iter());
            (0..6).filter_map(|c| {
                let left = sums(rows.iter().filter(|r| r.0 == f64::from(c)));
                let mut right = total;
                right.sub(&left);
                gain_of(&left, &right, &total, &p, p.lambda_l2)
            }).fold(None, |b: Option<f64>, g| Some(b.map_or(g, |b| b.max(g))))
        } else {
            naive_categorical(&rows, 6, &p)
        };
        prop_assert!(close(found.as_ref().map(|s| s.gain), reference),
            "found {:?} vs reference {:?}", found, reference);
    }
}

#[test]
fn missing_values_learn_their_direction() {
    // Missing rows have large positive gradients like the rows with x > 1.
    let mut rows = Vec::new();
    for i in 0..20 {
        let x = f64::from(i % 4);
        rows.push((x, if x > 1.0 { 1.0 } else { -1.0 }, 1.0));
        rows.push((f64::NAN, 1.0, 1.0));
    }
    let split = search(&rows, None, &params(1, 0.0, 0.0)).unwrap();
    assert_eq!(split.rule, SplitRule::Numeric { bin: 1 });
    assert!(!split.default_left);
    let flipped: Vec<_> = rows.iter().map(|r| (r.0, -r.1, r.2)).collect();
    let flipped: Vec<_> = flipped
        .into_iter()
        .map(|r| if r.0.is_nan() { r } else { (r.0, -r.1, r.2) })
        .collect();
    let split = search(&flipped, None, &params(1, 0.0, 0.0)).unwrap();
    assert!(split.default_left);
}
