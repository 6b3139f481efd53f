//! Sparse features for factorization machines: the shared preprocessing's encoders (one-hot
//! for string columns, mean-imputed numeric columns) fitted without ever building the dense
//! matrix, applied row by row into compressed sparse rows; numeric features are divided by
//! their largest training magnitude so zeros stay zeros.

use std::collections::{BTreeMap, HashMap};

use arrow_array::RecordBatch;
use ingot_algo::preprocess::{
    column_type, numeric_values, string_values, ColumnEncoder, Preprocessor,
};
use ingot_algo::{Error, Result};
use ingot_core::ColumnType;

/// Rows as (feature, value) pairs: row `i` is `indices[indptr[i]..indptr[i+1]]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
}

impl Csr {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Row `i`'s features and values.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
}

/// Fits the encoders (one-hot with the `max_categories` most frequent categories, numeric
/// with the mean) and the per-feature scale (largest absolute training value; 1 for one-hot).
pub fn fit(features: &RecordBatch, max_categories: usize) -> Result<(Preprocessor, Vec<f64>)> {
    let schema = features.schema();
    let mut columns = Vec::new();
    let mut names = Vec::new();
    let mut scale = Vec::new();
    for (field, array) in schema.fields().iter().zip(features.columns()) {
        let name = field.name();
        match column_type(name, field.data_type())? {
            ColumnType::String => {
                let values = string_values(name, array.as_ref())?;
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for v in values.iter().flatten() {
                    *counts.entry(v).or_default() += 1;
                }
                let mut kept: Vec<(&str, usize)> = counts.into_iter().collect();
                if kept.len() > max_categories {
                    kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                    kept.truncate(max_categories);
                    kept.sort_by(|a, b| a.0.cmp(b.0));
                }
                let categories: Vec<String> =
                    kept.into_iter().map(|(c, _)| c.to_string()).collect();
                names.extend(categories.iter().map(|c| format!("{name}={c}")));
                scale.extend(std::iter::repeat_n(1.0, categories.len()));
                columns.push(ColumnEncoder::OneHot {
                    column: name.clone(),
                    categories,
                });
            }
            column_type => {
                let values = numeric_values(name, array.as_ref())?;
                let present: Vec<f64> = values.iter().flatten().copied().collect();
                let fill = if present.is_empty() {
                    0.0
                } else {
                    present.iter().sum::<f64>() / present.len() as f64
                };
                let max = present.iter().fold(fill.abs(), |m, v| m.max(v.abs()));
                scale.push(if max > 0.0 { max } else { 1.0 });
                names.push(name.clone());
                columns.push(ColumnEncoder::Numeric {
                    column: name.clone(),
                    column_type,
                    fill,
                    keep_missing: false,
                });
            }
        }
    }
    if names.is_empty() {
        return Err(Error::NoFeatures);
    }
    let preprocessor = Preprocessor {
        columns,
        feature_names: names,
        standardization: None,
    };
    Ok((preprocessor, scale))
}

/// Encodes a batch (columns found by name) into sparse rows; unseen or missing categories
/// contribute nothing, missing numbers their training mean.
pub fn transform(
    preprocessor: &Preprocessor,
    scale: &[f64],
    features: &RecordBatch,
) -> Result<Csr> {
    let rows = features.num_rows();
    let mut per_row: Vec<Vec<(u32, f64)>> = vec![Vec::new(); rows];
    let mut offset = 0u32;
    for encoder in &preprocessor.columns {
        let name = encoder.column();
        let array = features
            .column_by_name(name)
            .ok_or_else(|| Error::MissingColumn {
                column: name.to_string(),
            })?;
        match encoder {
            ColumnEncoder::Numeric { fill, .. } => {
                let s = scale[offset as usize];
                for (row, v) in per_row
                    .iter_mut()
                    .zip(numeric_values(name, array.as_ref())?)
                {
                    let x = v.unwrap_or(*fill) / s;
                    if x != 0.0 {
                        row.push((offset, x));
                    }
                }
            }
            ColumnEncoder::OneHot { categories, .. }
            | ColumnEncoder::Ordinal { categories, .. } => {
                let index: HashMap<&str, u32> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i as u32))
                    .collect();
                for (row, v) in per_row.iter_mut().zip(string_values(name, array.as_ref())?) {
                    if let Some(&j) = v.and_then(|s| index.get(s)) {
                        row.push((offset + j, 1.0));
                    }
                }
            }
        }
        offset += encoder.width() as u32;
    }
    let mut csr = Csr {
        indptr: Vec::with_capacity(rows + 1),
        ..Csr::default()
    };
    csr.indptr.push(0);
    for row in per_row {
        for (j, v) in row {
            csr.indices.push(j);
            csr.values.push(v);
        }
        csr.indptr.push(csr.indices.len());
    }
    Ok(csr)
}
