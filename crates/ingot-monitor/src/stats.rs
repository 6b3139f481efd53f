//! Streaming, mergeable column statistics over Arrow record batches, computed in parallel
//! over columns: counts, missing, Welford moments (merged by Chan's formula), min/max/sum,
//! a KLL sketch of numeric values, category counts of strings and booleans, distinct
//! counts, and how many values look integral, fractional or non-numeric (the data type check).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use ingot_core::{ColumnType, Schema};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::distinct::{hash_bytes, mix, Distinct, FastMap};
use crate::error::{Error, Result};
use crate::kll::{Kll, DEFAULT_C, DEFAULT_K};

/// Distinct categories counted exactly per column; rarer new values beyond it are pooled.
pub const CATEGORY_CAP: usize = 10_000;

/// SageMaker Model Monitor's inferred column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InferredType {
    Integral,
    Fractional,
    String,
    Unknown,
}

impl InferredType {
    /// The SageMaker type of an Ingot column type (booleans are categorical strings,
    /// timestamps are not monitored).
    pub fn of(t: ColumnType) -> InferredType {
        match t {
            ColumnType::Integer => InferredType::Integral,
            ColumnType::Float => InferredType::Fractional,
            ColumnType::String | ColumnType::Boolean => InferredType::String,
            ColumnType::Timestamp => InferredType::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InferredType::Integral => "Integral",
            InferredType::Fractional => "Fractional",
            InferredType::String => "String",
            InferredType::Unknown => "Unknown",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, InferredType::Integral | InferredType::Fractional)
    }
}

/// How to build statistics.
#[derive(Debug, Clone, Copy)]
pub struct StatsOptions {
    /// Seed of every KLL sketch's compactions (column i uses seed + i).
    pub seed: u64,
    /// KLL parameter k.
    pub kll_k: u32,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions {
            seed: 0,
            kll_k: DEFAULT_K,
        }
    }
}

/// Count, mean and sum of squared deviations (Welford), with sum/min/max.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.sum += x;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Chan et al.'s pairwise combination.
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        let (na, nb) = (self.n as f64, o.n as f64);
        self.mean += delta * nb / n as f64;
        self.m2 += o.m2 + delta * delta * na * nb / n as f64;
        self.n = n;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// Population standard deviation (`np.std`, Deequ's `StandardDeviation`).
    pub fn std(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).sqrt()
        }
    }
}

/// Category counts of a string or boolean column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Categories {
    pub counts: FastMap<String, u64>,
    /// Values of categories first seen after [`CATEGORY_CAP`] was reached.
    pub other: u64,
}

impl Categories {
    fn add(&mut self, value: &str, n: u64) -> bool {
        if let Some(c) = self.counts.get_mut(value) {
            *c += n;
            false
        } else if self.counts.len() < CATEGORY_CAP {
            self.counts.insert(value.to_string(), n);
            true
        } else {
            self.other += n;
            true
        }
    }

    /// Categories by count descending, ties by value.
    pub fn sorted(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    pub fn is_truncated(&self) -> bool {
        self.other > 0
    }
}

/// How many present values look like each SageMaker type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeCounts {
    pub integral: u64,
    pub fractional: u64,
    pub non_numeric: u64,
}

/// Statistics of one column.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub name: String,
    pub inferred_type: InferredType,
    pub present: u64,
    /// Nulls, plus NaN and ±inf in numeric columns.
    pub missing: u64,
    pub moments: Moments,
    /// Numeric columns only.
    pub kll: Option<Kll>,
    /// String (and boolean) columns only.
    pub categories: Option<Categories>,
    pub distinct: Distinct,
    /// Type tallies of numbers and of pooled (unlisted) categories; [`ColumnStats::types`]
    /// adds the listed categories'.
    pub type_counts: TypeCounts,
    /// The distinct count read from a `statistics.json` (whose hashes are not stored).
    pub distinct_from_file: Option<u64>,
}

impl ColumnStats {
    pub fn new(name: &str, column_type: ColumnType, options: &StatsOptions, index: usize) -> Self {
        let inferred_type = InferredType::of(column_type);
        ColumnStats {
            name: name.to_string(),
            inferred_type,
            present: 0,
            missing: 0,
            moments: Moments::default(),
            kll: inferred_type.is_numeric().then(|| {
                Kll::new(
                    options.kll_k,
                    DEFAULT_C,
                    options.seed.wrapping_add(index as u64),
                )
            }),
            categories: (inferred_type == InferredType::String).then(Categories::default),
            distinct: Distinct::default(),
            type_counts: TypeCounts::default(),
            distinct_from_file: None,
        }
    }

    /// Distinct non-missing values (exact below the caps, else estimated).
    pub fn distinct_count(&self) -> u64 {
        if let Some(d) = self.distinct_from_file {
            return d;
        }
        match &self.categories {
            Some(c) if !c.is_truncated() => c.counts.len() as u64,
            _ => self.distinct.count(),
        }
    }

    /// Adds a chunk of numbers: moments by a two-pass chunk summary merged in (Chan), the
    /// sketch, distinct hashes and integrality per value. Non-finite values count as missing.
    fn push_numbers(&mut self, values: impl Iterator<Item = f64>, integral: bool) {
        let mut buffer: Vec<f64> = Vec::with_capacity(4096);
        let mut values = values.peekable();
        while values.peek().is_some() {
            buffer.clear();
            buffer.extend(values.by_ref().take(4096));
            let before = buffer.len();
            buffer.retain(|x| x.is_finite());
            self.missing += (before - buffer.len()) as u64;
            if buffer.is_empty() {
                continue;
            }
            let n = buffer.len();
            let sum: f64 = buffer.iter().sum();
            let mean = sum / n as f64;
            let mut m2 = 0.0;
            let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
            let mut whole = 0u64;
            for &x in &buffer {
                m2 += (x - mean) * (x - mean);
                min = min.min(x);
                max = max.max(x);
                whole += u64::from(integral || x.fract() == 0.0);
            }
            self.moments.merge(&Moments {
                n: n as u64,
                mean,
                m2,
                sum,
                min,
                max,
            });
            self.present += n as u64;
            self.type_counts.integral += whole;
            self.type_counts.fractional += n as u64 - whole;
            if let Some(k) = &mut self.kll {
                buffer.iter().for_each(|&x| k.update(x));
            }
            for &x in &buffer {
                let key = if x == 0.0 { 0 } else { x.to_bits() };
                self.distinct.insert(mix(key));
            }
        }
    }

    fn push_category(&mut self, value: &str) {
        self.present += 1;
        if let Some(c) = &mut self.categories {
            let new = c.add(value, 1);
            if new && c.is_truncated() {
                if c.other == 1 {
                    // Just reached the cap: the listed categories join the distinct counter.
                    for k in c.counts.keys() {
                        self.distinct.insert(hash_bytes(k.as_bytes()));
                    }
                }
                self.distinct.insert(hash_bytes(value.as_bytes()));
                // Pooled values are classified here; listed categories on demand.
                match classify(value) {
                    0 => self.type_counts.integral += 1,
                    1 => self.type_counts.fractional += 1,
                    _ => self.type_counts.non_numeric += 1,
                }
            }
        }
    }

    /// How many present values look integral, fractional or non-numeric.
    pub fn types(&self) -> TypeCounts {
        let mut t = self.type_counts;
        if let Some(c) = &self.categories {
            for (value, n) in &c.counts {
                match classify(value) {
                    0 => t.integral += n,
                    1 => t.fractional += n,
                    _ => t.non_numeric += n,
                }
            }
        }
        t
    }

    /// Adds one Arrow array of this column (canonical Ingot Arrow types).
    pub fn update(&mut self, array: &ArrayRef) -> Result<()> {
        let wrong = |expected: &str| Error::ColumnType {
            column: self.name.clone(),
            expected: expected.to_string(),
            found: array.data_type().to_string(),
        };
        if let Some(a) = array.as_primitive_opt::<Int64Type>() {
            self.missing += a.null_count() as u64;
            self.push_numbers(a.iter().flatten().map(|v| v as f64), true);
            return Ok(());
        }
        if let Some(a) = array.as_primitive_opt::<Float64Type>() {
            self.missing += a.null_count() as u64;
            self.push_numbers(a.iter().flatten(), false);
            return Ok(());
        }
        if let Some(a) = array.as_string_opt::<i32>() {
            if self.categories.is_none() {
                return Err(wrong(self.inferred_type.as_str()));
            }
            self.missing += a.null_count() as u64;
            for v in a.iter().flatten() {
                self.push_category(v);
            }
            return Ok(());
        }
        if let Some(a) = array.as_boolean_opt() {
            if self.categories.is_none() {
                return Err(wrong(self.inferred_type.as_str()));
            }
            self.missing += a.null_count() as u64;
            for v in a.iter().flatten() {
                self.push_category(if v { "true" } else { "false" });
            }
            return Ok(());
        }
        // Timestamps and other types: counts only.
        self.missing += array.null_count() as u64;
        let present = (array.len() - array.null_count()) as u64;
        self.present += present;
        self.type_counts.non_numeric += present;
        Ok(())
    }

    /// Folds another column's statistics into these.
    pub fn merge(&mut self, o: &ColumnStats) {
        // Counts read from files carry no hashes: keep a lower bound of the union.
        if self.distinct_from_file.is_some() || o.distinct_from_file.is_some() {
            self.distinct_from_file = Some(self.distinct_count().max(o.distinct_count()));
        }
        self.present += o.present;
        self.missing += o.missing;
        self.moments.merge(&o.moments);
        if let (Some(a), Some(b)) = (&mut self.kll, &o.kll) {
            a.merge(b);
        }
        if let (Some(a), Some(b)) = (&mut self.categories, &o.categories) {
            let was_truncated = a.is_truncated();
            for (value, n) in &b.counts {
                if a.add(value, *n) && a.is_truncated() && !a.counts.contains_key(value) {
                    self.distinct.insert(hash_bytes(value.as_bytes()));
                    match classify(value) {
                        0 => self.type_counts.integral += n,
                        1 => self.type_counts.fractional += n,
                        _ => self.type_counts.non_numeric += n,
                    }
                }
            }
            a.other += b.other;
            if !was_truncated && a.is_truncated() {
                let keys: Vec<u64> = a.counts.keys().map(|k| hash_bytes(k.as_bytes())).collect();
                keys.into_iter().for_each(|h| self.distinct.insert(h));
            }
        }
        self.distinct.merge(&o.distinct);
        self.type_counts.integral += o.type_counts.integral;
        self.type_counts.fractional += o.type_counts.fractional;
        self.type_counts.non_numeric += o.type_counts.non_numeric;
    }
}

/// 0 integral, 1 fractional, 2 non-numeric (the data type check's view of a string).
fn classify(value: &str) -> u8 {
    let t = value.trim();
    if t.parse::<i64>().is_ok() {
        0
    } else if t.parse::<f64>().is_ok_and(f64::is_finite) {
        1
    } else {
        2
    }
}

/// Statistics of a whole dataset, column by column in schema order.
#[derive(Debug, Clone)]
pub struct DatasetStats {
    pub rows: u64,
    pub columns: Vec<ColumnStats>,
}

impl DatasetStats {
    /// Empty statistics for a schema.
    pub fn new(schema: &Schema, options: &StatsOptions) -> DatasetStats {
        DatasetStats {
            rows: 0,
            columns: schema
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| ColumnStats::new(&f.name, f.column_type, options, i))
                .collect(),
        }
    }

    /// Statistics of one table.
    pub fn of_table(table: &ingot_data::Table, options: &StatsOptions) -> Result<DatasetStats> {
        let mut s = DatasetStats::new(&table.schema, options);
        s.update(&table.batch)?;
        Ok(s)
    }

    /// Adds a batch whose columns are in schema order; columns are processed in parallel.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.columns.len() {
            return Err(Error::Schema(format!(
                "batch has {} columns, the statistics {}",
                batch.num_columns(),
                self.columns.len()
            )));
        }
        self.rows += batch.num_rows() as u64;
        self.columns
            .par_iter_mut()
            .zip(batch.columns().par_iter())
            .try_for_each(|(c, a)| c.update(a))
    }

    /// Folds statistics of another part of the same dataset (same columns) into these.
    pub fn merge(&mut self, other: &DatasetStats) -> Result<()> {
        let names = |s: &DatasetStats| s.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        if names(self) != names(other) {
            return Err(Error::Schema(
                "cannot merge statistics of different columns".into(),
            ));
        }
        self.rows += other.rows;
        self.columns
            .par_iter_mut()
            .zip(other.columns.par_iter())
            .for_each(|(a, b)| a.merge(b));
        Ok(())
    }

    pub fn column(&self, name: &str) -> Option<&ColumnStats> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingot_data::{read_table, DataFormat};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn merged_moments_equal_a_single_pass() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let values: Vec<f64> = (0..10_001)
            .map(|_| rng.gen::<f64>() * 1e3 - 300.0)
            .collect();
        let mut single = Moments::default();
        values.iter().for_each(|&v| single.push(v));
        let mut merged = Moments::default();
        for chunk in values.chunks(997) {
            let mut part = Moments::default();
            chunk.iter().for_each(|&v| part.push(v));
            merged.merge(&part);
        }
        assert_eq!(merged.n, single.n);
        assert!((merged.mean - single.mean).abs() < 1e-10);
        assert!((merged.std() - single.std()).abs() < 1e-10);
        assert_eq!((merged.min, merged.max), (single.min, single.max));
        assert!((merged.sum - single.sum).abs() < 1e-6);
        // Against the two-pass definition.
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!((single.mean - mean).abs() < 1e-10);
        assert!((single.std() - var.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn dataset_stats_count_types_missing_and_categories() {
        let csv = b"a,b,c,d\n1,x,1.5,true\n2,,2.0,false\n,y,,true\n4,x,3.25,\n";
        let t = read_table(csv, DataFormat::Csv).unwrap();
        let s = DatasetStats::of_table(&t, &StatsOptions::default()).unwrap();
        assert_eq!(s.rows, 4);
        let a = s.column("a").unwrap();
        assert_eq!((a.present, a.missing), (3, 1));
        assert_eq!(a.inferred_type, InferredType::Integral);
        assert_eq!(a.moments.sum, 7.0);
        assert_eq!(a.distinct_count(), 3);
        let b = s.column("b").unwrap();
        assert_eq!((b.present, b.missing), (3, 1));
        let cats = b.categories.as_ref().unwrap().sorted();
        assert_eq!(cats, vec![("x".to_string(), 2), ("y".to_string(), 1)]);
        let c = s.column("c").unwrap();
        assert_eq!(c.inferred_type, InferredType::Fractional);
        assert_eq!(c.types().integral + c.types().fractional, c.present);
        assert_eq!(c.types().integral, 1);
        let d = s.column("d").unwrap();
        assert_eq!(d.types().non_numeric, d.present);
        let d = s.column("d").unwrap();
        assert_eq!(d.inferred_type, InferredType::String);
        assert_eq!(d.distinct_count(), 2);
    }

    #[test]
    fn high_cardinality_strings_pool_and_estimate_distinct() {
        let n = CATEGORY_CAP + 5_000;
        let mut csv = String::from("id\n");
        for i in 0..n {
            csv.push_str(&format!("u{i}\n"));
        }
        let t = read_table(csv.as_bytes(), DataFormat::Csv).unwrap();
        let s = DatasetStats::of_table(&t, &StatsOptions::default()).unwrap();
        let c = &s.columns[0];
        let cats = c.categories.as_ref().unwrap();
        assert_eq!(cats.counts.len(), CATEGORY_CAP);
        assert_eq!(cats.other, 5_000);
        let err = (c.distinct_count() as f64 - n as f64).abs() / n as f64;
        assert!(err < 0.03, "{}", c.distinct_count());
        assert_eq!(c.types().non_numeric, n as u64);
    }

    #[test]
    fn merging_batches_equals_one_batch() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut csv = String::from("x,k\n");
        for _ in 0..5000 {
            csv.push_str(&format!("{},c{}\n", rng.gen::<f64>(), rng.gen_range(0..7)));
        }
        let t = read_table(csv.as_bytes(), DataFormat::Csv).unwrap();
        let opts = StatsOptions::default();
        let whole = DatasetStats::of_table(&t, &opts).unwrap();
        let mut left = DatasetStats::new(&t.schema, &opts);
        left.update(&t.batch.slice(0, 2000)).unwrap();
        let mut right = DatasetStats::new(&t.schema, &opts);
        right.update(&t.batch.slice(2000, 3000)).unwrap();
        left.merge(&right).unwrap();
        assert_eq!(left.rows, whole.rows);
        let (a, b) = (&left.columns[0], &whole.columns[0]);
        assert!((a.moments.mean - b.moments.mean).abs() < 1e-12);
        assert!((a.moments.std() - b.moments.std()).abs() < 1e-12);
        assert_eq!(a.kll.as_ref().unwrap().count(), 5000);
        assert_eq!(
            left.columns[1].categories.as_ref().unwrap().sorted(),
            whole.columns[1].categories.as_ref().unwrap().sorted()
        );
    }
}
