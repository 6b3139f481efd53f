//! Gradient histograms: per feature and bin, the sums of gradients, hessians and rows of the
//! rows in a leaf. Built feature-parallel from "ordered" gradients (gathered once per leaf so the
//! inner loop reads them sequentially); a sibling's histogram is the parent's minus the other
//! child's. Each feature's bins are summed sequentially in row order, so the result does not
//! depend on the thread count.

use rayon::prelude::*;

use crate::binning::{BinColumn, BinnedData};

/// Sums over the rows falling into one bin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bin {
    /// Gradient sum.
    pub g: f64,
    /// Hessian sum.
    pub h: f64,
    /// Row count.
    pub n: u64,
}

impl Bin {
    /// Adds another bin's sums.
    #[inline]
    pub fn add(&mut self, other: &Bin) {
        self.g += other.g;
        self.h += other.h;
        self.n += other.n;
    }

    /// Subtracts another bin's sums.
    #[inline]
    pub fn sub(&mut self, other: &Bin) {
        self.g -= other.g;
        self.h -= other.h;
        self.n -= other.n;
    }
}

#[inline]
fn accumulate<T: Copy + Into<usize>>(out: &mut [Bin], codes: &[T], rows: &[u32], gh: &[[f32; 2]]) {
    for (&r, pair) in rows.iter().zip(gh) {
        let b = &mut out[codes[r as usize].into()];
        b.g += f64::from(pair[0]);
        b.h += f64::from(pair[1]);
        b.n += 1;
    }
}

#[inline]
fn accumulate_all<T: Copy + Into<usize>>(out: &mut [Bin], codes: &[T], gh: &[[f32; 2]]) {
    for (&c, pair) in codes.iter().zip(gh) {
        let b = &mut out[c.into()];
        b.g += f64::from(pair[0]);
        b.h += f64::from(pair[1]);
        b.n += 1;
    }
}

/// Splits a whole-node histogram into one mutable slice per feature.
fn per_feature<'a>(hist: &'a mut [Bin], offsets: &[usize]) -> Vec<&'a mut [Bin]> {
    let mut parts = Vec::with_capacity(offsets.len().saturating_sub(1));
    let mut rest = hist;
    for w in offsets.windows(2) {
        let (head, tail) = rest.split_at_mut(w[1] - w[0]);
        parts.push(head);
        rest = tail;
    }
    parts
}

/// Builds the histogram of the rows `rows` (whose gradient pairs, in the same order, are
/// `ordered`) for the features flagged in `used`; other features' bins are left untouched.
/// `all_rows` says that `rows` is exactly `0..data.rows` in order.
pub fn build(
    data: &BinnedData,
    rows: &[u32],
    ordered: &[[f32; 2]],
    all_rows: bool,
    used: &[bool],
    hist: &mut [Bin],
) {
    let parts = per_feature(hist, &data.offsets);
    parts
        .into_par_iter()
        .enumerate()
        .filter(|(f, _)| used[*f])
        .for_each(|(f, out)| {
            out.fill(Bin::default());
            match (&data.columns[f], all_rows) {
                (BinColumn::U8(codes), true) => accumulate_all(out, codes, ordered),
                (BinColumn::U16(codes), true) => accumulate_all(out, codes, ordered),
                (BinColumn::U8(codes), false) => accumulate(out, codes, rows, ordered),
                (BinColumn::U16(codes), false) => accumulate(out, codes, rows, ordered),
            }
        });
}

/// `parent -= child` for the features flagged in `used`, turning the parent's histogram into
/// the sibling's.
pub fn subtract(data: &BinnedData, parent: &mut [Bin], child: &[Bin], used: &[bool]) {
    let parts = per_feature(parent, &data.offsets);
    parts
        .into_par_iter()
        .enumerate()
        .filter(|(f, _)| used[*f])
        .for_each(|(f, out)| {
            let start = data.offsets[f];
            for (p, c) in out.iter_mut().zip(&child[start..]) {
                p.sub(c);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(data: &BinnedData, rows: &[u32], gh: &[[f32; 2]]) -> Vec<Bin> {
        let mut hist = vec![Bin::default(); data.total_bins()];
        for &r in rows {
            for f in 0..data.features() {
                let b = &mut hist[data.offsets[f] + data.columns[f].get(r as usize)];
                b.g += f64::from(gh[r as usize][0]);
                b.h += f64::from(gh[r as usize][1]);
                b.n += 1;
            }
        }
        hist
    }

    proptest! {
        #[test]
        fn build_and_subtract_match_naive_sums(
            raw in proptest::collection::vec((-5i32..5, 0i32..4, -3i32..3, 1i32..4), 1..60),
            mask in proptest::collection::vec(any::<bool>(), 60),
        ) {
            let rows = raw.len();
            let mut x = Vec::new();
            let mut gh = Vec::new();
            for &(a, c, g, h) in &raw {
                x.push(if a == 4 { f64::NAN } else { f64::from(a) });
                x.push(f64::from(c) - 1.0);
                gh.push([g as f32 * 0.5, h as f32 * 0.25]);
            }
            let data = BinnedData::build(&x, rows, &[None, Some(2)], 4, 1, 0);
            let all: Vec<u32> = (0..rows as u32).collect();
            let used = [true, true];
            let mut full = vec![Bin::default(); data.total_bins()];
            build(&data, &all, &gh, true, &used, &mut full);
            prop_assert_eq!(&full, &naive(&data, &all, &gh));
            let subset: Vec<u32> = all.iter().copied().filter(|&r| mask[r as usize]).collect();
            let ordered: Vec<[f32; 2]> = subset.iter().map(|&r| gh[r as usize]).collect();
            let mut part = vec![Bin::default(); data.total_bins()];
            build(&data, &subset, &ordered, false, &used, &mut part);
            prop_assert_eq!(&part, &naive(&data, &subset, &gh));
            let rest: Vec<u32> = all.iter().copied().filter(|&r| !mask[r as usize]).collect();
            subtract(&data, &mut full, &part, &used);
            let expected = naive(&data, &rest, &gh);
            for (a, b) in full.iter().zip(&expected) {
                prop_assert_eq!(a.n, b.n);
                prop_assert!((a.g - b.g).abs() < 1e-9 && (a.h - b.h).abs() < 1e-9);
            }
        }
    }
}
