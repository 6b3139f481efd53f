//! Quantile binning of raw features into compact column-major bin codes.
//!
//! Every feature has `values` value bins plus one trailing missing bin (index `values`).
//! Numeric value bin `b` holds `upper[b-1] < x <= upper[b]` (the last upper bound is +inf), so
//! `bin(x) <= t` exactly when `x <= upper[t]`: a split on bins is a split on raw thresholds.
//! Categorical value bin `c` is category code `c`; negative codes and NaN are missing.
//! Columns are stored as `u8` when their bins fit, else `u16`.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Rows sampled to find numeric bin boundaries (as LightGBM's `bin_construct_sample_cnt`).
pub const BIN_SAMPLE_ROWS: usize = 200_000;

/// How one feature's raw values map to bins.
#[derive(Debug, Clone, PartialEq)]
pub enum BinMapper {
    /// Numeric: inclusive upper bounds of the value bins, the last one +inf.
    Numeric { upper: Vec<f64> },
    /// Categorical with `categories` codes.
    Categorical { categories: usize },
}

impl BinMapper {
    /// Number of value bins (the missing bin comes after them).
    pub fn values(&self) -> usize {
        match self {
            BinMapper::Numeric { upper } => upper.len(),
            BinMapper::Categorical { categories } => *categories,
        }
    }

    /// Total bins including the missing bin.
    pub fn bins(&self) -> usize {
        self.values() + 1
    }

    /// The bin of a raw value.
    pub fn bin(&self, x: f64) -> usize {
        match self {
            BinMapper::Numeric { upper } => {
                if x.is_nan() {
                    upper.len()
                } else {
                    upper.partition_point(|&u| u < x)
                }
            }
            BinMapper::Categorical { categories } => {
                if x >= 0.0 && x < *categories as f64 && x.fract() == 0.0 {
                    x as usize
                } else {
                    *categories
                }
            }
        }
    }

    /// Fits numeric bin bounds on (a sample of) the values of one feature.
    pub fn numeric(mut values: Vec<f64>, max_bin: usize, min_data_in_bin: usize) -> BinMapper {
        values.retain(|v| !v.is_nan());
        values.sort_unstable_by(f64::total_cmp);
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for v in values {
            match distinct.last_mut() {
                Some((last, count)) if *last == v => *count += 1,
                _ => distinct.push((v, 1)),
            }
        }
        let mut upper = Vec::new();
        let few = distinct.len() <= max_bin;
        let mut remaining: usize = distinct.iter().map(|d| d.1).sum();
        let mut acc = 0usize;
        for i in 0..distinct.len().saturating_sub(1) {
            acc += distinct[i].1;
            let bins_left = (max_bin - upper.len()).max(1);
            let target = if few {
                min_data_in_bin
            } else {
                min_data_in_bin.max(remaining.div_ceil(bins_left))
            };
            if acc >= target && upper.len() + 1 < max_bin {
                let (a, b) = (distinct[i].0, distinct[i + 1].0);
                let mid = a + (b - a) / 2.0;
                upper.push(if mid >= a && mid < b { mid } else { a });
                remaining -= acc;
                acc = 0;
            }
        }
        upper.push(f64::INFINITY);
        BinMapper::Numeric { upper }
    }
}

/// Bin codes of one feature, one per row.
#[derive(Debug, Clone, PartialEq)]
pub enum BinColumn {
    /// Up to 256 bins.
    U8(Vec<u8>),
    /// Up to 65536 bins.
    U16(Vec<u16>),
}

impl BinColumn {
    /// The bin of row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> usize {
        match self {
            BinColumn::U8(v) => v[i] as usize,
            BinColumn::U16(v) => v[i] as usize,
        }
    }
}

/// The binned training matrix, column-major.
#[derive(Debug, Clone)]
pub struct BinnedData {
    /// Rows.
    pub rows: usize,
    /// One mapper per feature.
    pub mappers: Vec<BinMapper>,
    /// One column of codes per feature.
    pub columns: Vec<BinColumn>,
    /// Start of each feature's bins in a node histogram; the last entry is the total.
    pub offsets: Vec<usize>,
}

impl BinnedData {
    /// Bins a row-major raw matrix (`rows × categorical.len()`); `categorical[f]` is the number
    /// of categories of a categorical feature, `None` for numeric ones.
    pub fn build(
        data: &[f64],
        rows: usize,
        categorical: &[Option<usize>],
        max_bin: usize,
        min_data_in_bin: usize,
        seed: u64,
    ) -> BinnedData {
        let cols = categorical.len();
        let sample_rows: Vec<usize> = if rows > BIN_SAMPLE_ROWS {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6269_6e73);
            let mut picked = sample(&mut rng, rows, BIN_SAMPLE_ROWS).into_vec();
            picked.sort_unstable();
            picked
        } else {
            (0..rows).collect()
        };
        let (mappers, columns): (Vec<BinMapper>, Vec<BinColumn>) = (0..cols)
            .into_par_iter()
            .map(|f| {
                let mapper = match categorical[f] {
                    Some(categories) => BinMapper::Categorical { categories },
                    None => {
                        let values = sample_rows.iter().map(|&r| data[r * cols + f]).collect();
                        BinMapper::numeric(values, max_bin, min_data_in_bin)
                    }
                };
                let codes = (0..rows).map(|r| mapper.bin(data[r * cols + f]));
                let column = if mapper.bins() <= 256 {
                    BinColumn::U8(codes.map(|b| b as u8).collect())
                } else {
                    BinColumn::U16(codes.map(|b| b as u16).collect())
                };
                (mapper, column)
            })
            .unzip();
        let mut offsets = Vec::with_capacity(cols + 1);
        let mut total = 0;
        for m in &mappers {
            offsets.push(total);
            total += m.bins();
        }
        offsets.push(total);
        BinnedData {
            rows,
            mappers,
            columns,
            offsets,
        }
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.mappers.len()
    }

    /// Total histogram bins over all features.
    pub fn total_bins(&self) -> usize {
        self.offsets[self.features()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let m = BinMapper::numeric(vec![3.0, 1.0, 2.0, 2.0, 1.0, 3.0, f64::NAN], 255, 1);
        assert_eq!(m.values(), 3);
        assert_eq!(m.bin(1.0), 0);
        assert_eq!(m.bin(2.0), 1);
        assert_eq!(m.bin(3.0), 2);
        assert_eq!(m.bin(100.0), 2);
        assert_eq!(m.bin(-5.0), 0);
        assert_eq!(m.bin(f64::NAN), 3);
    }

    #[test]
    fn many_values_respect_max_bin_and_order() {
        let values: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 10_000) as f64).collect();
        let m = BinMapper::numeric(values.clone(), 16, 3);
        assert!(m.values() <= 16 && m.values() >= 8, "{}", m.values());
        let mut last = 0;
        let mut sorted = values;
        sorted.sort_by(f64::total_cmp);
        for v in sorted {
            let b = m.bin(v);
            assert!(b >= last);
            last = b;
        }
    }

    #[test]
    fn categorical_codes_and_compact_storage() {
        let data = vec![0.0, 1.5, 2.0, f64::NAN, -1.0, 3.0, 1.0, 7.0];
        let binned = BinnedData::build(&data, 4, &[Some(3), None], 255, 1, 0);
        assert!(matches!(binned.columns[0], BinColumn::U8(_)));
        let codes: Vec<usize> = (0..4).map(|r| binned.columns[0].get(r)).collect();
        assert_eq!(codes, vec![0, 2, 3, 1]);
        assert_eq!(binned.columns[1].get(1), binned.mappers[1].values());
        assert_eq!(binned.total_bins(), 4 + binned.mappers[1].bins());
        let wide = BinnedData::build(&[0.0, 1.0], 2, &[Some(300)], 255, 1, 0);
        assert!(matches!(wide.columns[0], BinColumn::U16(_)));
    }
}
