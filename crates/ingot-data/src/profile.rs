//! Dataset profiles: per-column missing and distinct counts, numeric summaries with a
//! 10-bucket histogram, and the most frequent values of string and boolean columns.

use crate::Table;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef};
use ingot_core::ColumnType;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Number of histogram buckets and of top values reported.
const BUCKETS: usize = 10;
const TOP_VALUES: usize = 10;

/// A summary of a whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetProfile {
    pub row_count: u64,
    pub columns: Vec<ColumnProfile>,
}

/// A summary of one column. Numeric statistics skip nulls and non-finite values; timestamps
/// report min/max as epoch microseconds; booleans report the share of `true` as `mean`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    pub nullable: bool,
    /// Null values.
    pub missing: u64,
    /// Distinct non-null values.
    pub distinct: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1); `None` for fewer than two values.
    pub std: Option<f64>,
    /// Numeric columns: 10 equal-width buckets between min and max.
    pub histogram: Option<Histogram>,
    /// String and boolean columns: up to 10 most frequent values, ties by value ascending.
    pub top_values: Option<Vec<ValueCount>>,
}

/// Equal-width buckets: `edges` has one more entry than `counts`; the last bucket is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// A value and how often it occurs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// Profiles every column of a table.
pub fn profile(table: &Table) -> DatasetProfile {
    let columns = table
        .schema
        .fields
        .iter()
        .zip(table.batch.columns())
        .map(|(field, array)| {
            let mut p = ColumnProfile {
                name: field.name.clone(),
                column_type: field.column_type,
                nullable: field.nullable,
                missing: array.null_count() as u64,
                distinct: 0,
                min: None,
                max: None,
                mean: None,
                std: None,
                histogram: None,
                top_values: None,
            };
            fill(&mut p, array);
            p
        })
        .collect();
    DatasetProfile {
        row_count: table.batch.num_rows() as u64,
        columns,
    }
}

/// Fills the type-specific parts of a profile; an array whose Arrow type does not match the
/// logical type (a hand-built table) keeps only its counts.
fn fill(p: &mut ColumnProfile, array: &ArrayRef) {
    match p.column_type {
        ColumnType::Integer => {
            if let Some(a) = array.as_primitive_opt::<Int64Type>() {
                let values: HashSet<i64> = a.iter().flatten().collect();
                p.distinct = values.len() as u64;
                numeric(p, a.iter().flatten().map(|v| v as f64).collect());
            }
        }
        ColumnType::Float => {
            if let Some(a) = array.as_primitive_opt::<Float64Type>() {
                let bits: HashSet<u64> = a
                    .iter()
                    .flatten()
                    .map(|v| {
                        if v == 0.0 {
                            0u64
                        } else if v.is_nan() {
                            f64::NAN.to_bits()
                        } else {
                            v.to_bits()
                        }
                    })
                    .collect();
                p.distinct = bits.len() as u64;
                numeric(p, a.iter().flatten().filter(|v| v.is_finite()).collect());
            }
        }
        ColumnType::Timestamp => {
            if let Some(a) = array.as_primitive_opt::<TimestampMicrosecondType>() {
                let values: HashSet<i64> = a.iter().flatten().collect();
                p.distinct = values.len() as u64;
                p.min = values.iter().min().map(|&v| v as f64);
                p.max = values.iter().max().map(|&v| v as f64);
            }
        }
        ColumnType::Boolean => {
            if let Some(a) = array.as_boolean_opt() {
                let trues = a.true_count() as u64;
                let falses = a.false_count() as u64;
                p.distinct = u64::from(trues > 0) + u64::from(falses > 0);
                if trues + falses > 0 {
                    p.mean = Some(trues as f64 / (trues + falses) as f64);
                }
                let counts = [("true", trues), ("false", falses)];
                p.top_values = Some(top(counts.iter().map(|&(v, c)| (v, c))));
            }
        }
        ColumnType::String => {
            if let Some(a) = array.as_string_opt::<i32>() {
                let mut counts: HashMap<&str, u64> = HashMap::new();
                for v in a.iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                p.distinct = counts.len() as u64;
                p.top_values = Some(top(counts.into_iter()));
            }
        }
    }
}

/// The most frequent values (non-zero counts), ties broken by value ascending.
fn top<'a>(counts: impl Iterator<Item = (&'a str, u64)>) -> Vec<ValueCount> {
    let mut all: Vec<(&str, u64)> = counts.filter(|&(_, c)| c > 0).collect();
    let order = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
    if all.len() > TOP_VALUES {
        all.select_nth_unstable_by(TOP_VALUES - 1, order);
        all.truncate(TOP_VALUES);
    }
    all.sort_unstable_by(order);
    all.into_iter()
        .map(|(v, c)| ValueCount {
            value: v.to_string(),
            count: c,
        })
        .collect()
}

/// min, max, mean, sample std and histogram of finite values.
fn numeric(p: &mut ColumnProfile, values: Vec<f64>) {
    let Some(&first) = values.first() else {
        return;
    };
    let (min, max) = values
        .iter()
        .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    p.min = Some(min);
    p.max = Some(max);
    p.mean = Some(mean);
    if values.len() > 1 {
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        p.std = Some((ss / (n - 1.0)).sqrt());
    }
    p.histogram = Some(histogram(&values, min, max));
}

/// 10 equal-width buckets over `[min, max]` (a constant column gets `[v - 0.5, v + 0.5]`).
fn histogram(values: &[f64], min: f64, max: f64) -> Histogram {
    let (lo, hi) = if min == max {
        (min - 0.5, max + 0.5)
    } else {
        (min, max)
    };
    let width = (hi - lo) / BUCKETS as f64;
    let mut edges: Vec<f64> = (0..BUCKETS).map(|i| lo + width * i as f64).collect();
    edges.push(hi);
    let mut counts = vec![0u64; BUCKETS];
    let span = hi - lo;
    for &v in values {
        let position = ((v - lo) / span * BUCKETS as f64).floor();
        let bucket = if position.is_finite() && position > 0.0 {
            (position as usize).min(BUCKETS - 1)
        } else {
            0
        };
        counts[bucket] += 1;
    }
    Histogram { edges, counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_table, DataFormat};

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-6)
    }

    #[test]
    fn numeric_summary_matches_hand_computation() {
        let t = read_table(b"x,y\n1,0.5\n2,\n3,1.5\n4,NA\n", DataFormat::Csv).unwrap();
        let p = profile(&t);
        assert_eq!(p.row_count, 4);
        let x = &p.columns[0];
        assert_eq!((x.missing, x.distinct), (0, 4));
        assert_eq!((x.min, x.max), (Some(1.0), Some(4.0)));
        assert!(close(x.mean, 2.5));
        assert!(close(x.std, 1.2909944), "{:?}", x.std);
        let h = x.histogram.as_ref().unwrap();
        assert_eq!(h.edges.len(), 11);
        assert_eq!(h.edges[0], 1.0);
        assert_eq!(h.edges[10], 4.0);
        assert!((h.edges[1] - 1.3).abs() < 1e-12);
        assert_eq!(h.counts, vec![1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
        assert!(x.top_values.is_none());
        let y = &p.columns[1];
        assert_eq!((y.missing, y.distinct), (2, 2));
        assert!(close(y.mean, 1.0));
        assert!(close(y.std, std::f64::consts::FRAC_1_SQRT_2));
        let h = y.histogram.as_ref().unwrap();
        assert_eq!(
            h.counts.iter().sum::<u64>(),
            2,
            "counts sum to non-null count"
        );
    }

    #[test]
    fn constant_and_single_value_columns() {
        let t = read_table(b"c\n5\n5\n5\n", DataFormat::Csv).unwrap();
        let c = &profile(&t).columns[0];
        assert_eq!(c.distinct, 1);
        assert_eq!(c.std, Some(0.0));
        let h = c.histogram.as_ref().unwrap();
        assert_eq!(h.edges[0], 4.5);
        assert_eq!(h.edges[10], 5.5);
        assert_eq!(h.counts.iter().sum::<u64>(), 3);
        let t = read_table(b"c\n5\n", DataFormat::Csv).unwrap();
        assert_eq!(profile(&t).columns[0].std, None);
    }

    #[test]
    fn strings_and_booleans_report_top_values() {
        let t = read_table(
            b"s,b\nb,true\na,false\nb,true\nc,\na,true\n,true\n",
            DataFormat::Csv,
        )
        .unwrap();
        let p = profile(&t);
        let s = &p.columns[0];
        assert_eq!((s.missing, s.distinct), (1, 3));
        let top: Vec<(&str, u64)> = s
            .top_values
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect();
        assert_eq!(top, vec![("a", 2), ("b", 2), ("c", 1)], "ties by value");
        assert!(s.mean.is_none() && s.histogram.is_none());
        let b = &p.columns[1];
        assert_eq!((b.missing, b.distinct), (1, 2));
        assert!(close(b.mean, 0.8));
        let top = b.top_values.as_ref().unwrap();
        assert_eq!(
            top[0],
            ValueCount {
                value: "true".into(),
                count: 4
            }
        );
        assert_eq!(
            top[1],
            ValueCount {
                value: "false".into(),
                count: 1
            }
        );
    }

    #[test]
    fn top_values_keep_ten() {
        let mut csv = String::from("s\n");
        for i in 0..15 {
            for _ in 0..(i % 3 + 1) {
                csv.push_str(&format!("v{i:02}\n"));
            }
        }
        let t = read_table(csv.as_bytes(), DataFormat::Csv).unwrap();
        let top = profile(&t).columns[0].top_values.clone().unwrap();
        assert_eq!(top.len(), 10);
        assert_eq!(top[0].value, "v02");
        assert!(top.iter().take(5).all(|v| v.count == 3));
        assert_eq!(top[5].value, "v01");
    }

    #[test]
    fn timestamps_report_min_max_micros() {
        let t = read_table(
            b"t\n1970-01-01T00:00:01Z\n1970-01-01\nNA\n",
            DataFormat::Csv,
        )
        .unwrap();
        let c = &profile(&t).columns[0];
        assert_eq!(c.column_type, ColumnType::Timestamp);
        assert_eq!((c.min, c.max), (Some(0.0), Some(1_000_000.0)));
        assert_eq!((c.missing, c.distinct), (1, 2));
        assert!(c.histogram.is_none() && c.mean.is_none());
    }

    #[test]
    fn all_null_column_has_no_statistics() {
        let t = read_table(b"a,b\n,1\nNA,2\n", DataFormat::Csv).unwrap();
        let c = &profile(&t).columns[0];
        assert_eq!((c.missing, c.distinct), (2, 0));
        assert_eq!(c.top_values, Some(vec![]));
    }

    #[test]
    fn serializes_with_type_key() {
        let t = read_table(b"a\n1\n", DataFormat::Csv).unwrap();
        let p = profile(&t);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["columns"][0]["type"], "integer");
        let back: DatasetProfile = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }
}
