//! Shared, serializable feature preprocessing used by every algorithm.
//!
//! Fitted per input column:
//! * integer, float, boolean (0/1) and timestamp (epoch seconds) columns become one f64 feature;
//!   missing (and non-finite) values are imputed with the training mean (0 when all missing);
//! * string columns become either one-hot features (categories sorted, capped at the
//!   `max_categories` most frequent; unseen or missing values give all zeros) or one ordinal
//!   feature (index in the sorted categories; unseen or missing values give -1).
//!
//! Optionally every output feature is then standardized with the training mean and population
//! standard deviation (a zero deviation is replaced by 1). The output is a dense row-major
//! [`Matrix`]. Predicting never fails because of unseen categories.

mod columns;

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use ingot_core::ColumnType;
use serde::{Deserialize, Serialize};

pub use columns::{column_type, numeric_values, string_values};

use crate::{Error, Result};

/// A dense row-major matrix of f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<f64>,
}

impl Matrix {
    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// How string columns are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// One 0/1 feature per category.
    OneHot,
    /// One feature holding the category index.
    Ordinal,
}

impl Encoding {
    /// Parses `onehot` or `ordinal`.
    pub fn parse(text: &str) -> Result<Encoding> {
        match text {
            "onehot" | "one_hot" | "one-hot" => Ok(Encoding::OneHot),
            "ordinal" => Ok(Encoding::Ordinal),
            other => Err(Error::InvalidHyperparameter {
                name: "encoding".to_string(),
                reason: format!("expected onehot or ordinal, got {other:?}"),
            }),
        }
    }
}

/// Preprocessing choices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PreprocessOptions {
    /// String column encoding.
    pub encoding: Encoding,
    /// Whether to standardize every output feature.
    pub standardize: bool,
    /// The most categories kept per string column.
    pub max_categories: usize,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            encoding: Encoding::OneHot,
            standardize: true,
            max_categories: 100,
        }
    }
}

/// The fitted transformation of one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "encoder", rename_all = "snake_case")]
pub enum ColumnEncoder {
    /// A numeric-like column, missing values replaced by `fill` (or kept as NaN when
    /// `keep_missing`, for learners such as trees that handle missing values natively).
    Numeric {
        column: String,
        #[serde(rename = "type")]
        column_type: ColumnType,
        fill: f64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_missing: bool,
    },
    /// One feature per category.
    OneHot {
        column: String,
        categories: Vec<String>,
    },
    /// The index of the category, -1 when unseen or missing.
    Ordinal {
        column: String,
        categories: Vec<String>,
    },
}

impl ColumnEncoder {
    /// The input column name.
    pub fn column(&self) -> &str {
        match self {
            ColumnEncoder::Numeric { column, .. }
            | ColumnEncoder::OneHot { column, .. }
            | ColumnEncoder::Ordinal { column, .. } => column,
        }
    }

    /// Number of output features.
    pub fn width(&self) -> usize {
        match self {
            ColumnEncoder::OneHot { categories, .. } => categories.len(),
            _ => 1,
        }
    }

    fn feature_names(&self) -> Vec<String> {
        match self {
            ColumnEncoder::OneHot { column, categories } => {
                categories.iter().map(|c| format!("{column}={c}")).collect()
            }
            _ => vec![self.column().to_string()],
        }
    }
}

/// Per-feature standardization, `(x - mean) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    /// Training means.
    pub mean: Vec<f64>,
    /// Training standard deviations (1 where the deviation was 0).
    pub scale: Vec<f64>,
}

/// The complete fitted preprocessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// One encoder per input column, in input order.
    pub columns: Vec<ColumnEncoder>,
    /// Names of the output features.
    pub feature_names: Vec<String>,
    /// Present when standardization was requested.
    pub standardization: Option<Standardization>,
}

impl Preprocessor {
    /// Fits on the training features and returns the transformed training matrix too.
    pub fn fit_transform(
        features: &RecordBatch,
        options: &PreprocessOptions,
    ) -> Result<(Preprocessor, Matrix)> {
        let schema = features.schema();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (field, array) in schema.fields().iter().zip(features.columns()) {
            let name = field.name();
            let encoder = match column_type(name, field.data_type())? {
                ColumnType::String => {
                    let values = string_values(name, array.as_ref())?;
                    let categories = top_categories(&values, options.max_categories);
                    match options.encoding {
                        Encoding::OneHot => ColumnEncoder::OneHot {
                            column: name.clone(),
                            categories,
                        },
                        Encoding::Ordinal => ColumnEncoder::Ordinal {
                            column: name.clone(),
                            categories,
                        },
                    }
                }
                column_type => {
                    let values = numeric_values(name, array.as_ref())?;
                    let (sum, count) = values
                        .iter()
                        .flatten()
                        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
                    let fill = if count == 0 { 0.0 } else { sum / count as f64 };
                    ColumnEncoder::Numeric {
                        column: name.clone(),
                        column_type,
                        fill,
                        keep_missing: false,
                    }
                }
            };
            columns.push(encoder);
        }
        let feature_names = columns
            .iter()
            .flat_map(ColumnEncoder::feature_names)
            .collect();
        let mut preprocessor = Preprocessor {
            columns,
            feature_names,
            standardization: None,
        };
        let mut matrix = preprocessor.encode(features)?;
        if options.standardize {
            let standardization = fit_standardization(&matrix);
            apply_standardization(&standardization, &mut matrix);
            preprocessor.standardization = Some(standardization);
        }
        Ok((preprocessor, matrix))
    }

    /// Fits the "native" preprocessing tree learners want: one raw feature per input column,
    /// numeric missing values kept as NaN (no imputation, no scaling), string columns as the
    /// ordinal index of their category (the `max_categories` most frequent, sorted; unseen or
    /// missing values give -1). Returns the transformed training matrix too.
    pub fn fit_transform_native(
        features: &RecordBatch,
        max_categories: usize,
    ) -> Result<(Preprocessor, Matrix)> {
        let schema = features.schema();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (field, array) in schema.fields().iter().zip(features.columns()) {
            let name = field.name();
            columns.push(match column_type(name, field.data_type())? {
                ColumnType::String => {
                    let values = string_values(name, array.as_ref())?;
                    ColumnEncoder::Ordinal {
                        column: name.clone(),
                        categories: top_categories(&values, max_categories),
                    }
                }
                column_type => ColumnEncoder::Numeric {
                    column: name.clone(),
                    column_type,
                    fill: 0.0,
                    keep_missing: true,
                },
            });
        }
        let feature_names = columns
            .iter()
            .flat_map(ColumnEncoder::feature_names)
            .collect();
        let preprocessor = Preprocessor {
            columns,
            feature_names,
            standardization: None,
        };
        let matrix = preprocessor.encode(features)?;
        Ok((preprocessor, matrix))
    }

    /// Number of output features.
    pub fn n_features(&self) -> usize {
        self.columns.iter().map(ColumnEncoder::width).sum()
    }

    /// Transforms a batch holding (at least) the input columns, found by name.
    pub fn transform(&self, features: &RecordBatch) -> Result<Matrix> {
        let mut matrix = self.encode(features)?;
        if let Some(standardization) = &self.standardization {
            apply_standardization(standardization, &mut matrix);
        }
        Ok(matrix)
    }

    /// Transforms one row of a batch into `out` (`n_features()` values) without allocating:
    /// the serving path for single-row requests.
    pub fn transform_row_into(
        &self,
        features: &RecordBatch,
        row: usize,
        out: &mut [f64],
    ) -> Result<()> {
        let mut offset = 0;
        for encoder in &self.columns {
            let name = encoder.column();
            let array = features
                .column_by_name(name)
                .ok_or_else(|| Error::MissingColumn {
                    column: name.to_string(),
                })?;
            match encoder {
                ColumnEncoder::Numeric {
                    fill, keep_missing, ..
                } => {
                    let fill = if *keep_missing { f64::NAN } else { *fill };
                    out[offset] = columns::numeric_at(name, array.as_ref(), row)?.unwrap_or(fill);
                }
                ColumnEncoder::OneHot { categories, .. } => {
                    let width = categories.len();
                    out[offset..offset + width].fill(0.0);
                    if let Some(j) = columns::string_at(name, array.as_ref(), row)?
                        .and_then(|s| category_position(categories, s))
                    {
                        out[offset + j] = 1.0;
                    }
                }
                ColumnEncoder::Ordinal { categories, .. } => {
                    out[offset] = columns::string_at(name, array.as_ref(), row)?
                        .and_then(|s| category_position(categories, s))
                        .map_or(-1.0, |j| j as f64);
                }
            }
            offset += encoder.width();
        }
        if let Some(s) = &self.standardization {
            for ((x, m), sd) in out.iter_mut().zip(&s.mean).zip(&s.scale) {
                *x = (*x - m) / sd;
            }
        }
        Ok(())
    }

    /// Checks internal consistency (used when loading a model).
    pub fn validate(&self) -> std::result::Result<(), String> {
        for encoder in &self.columns {
            if let ColumnEncoder::OneHot { categories, column }
            | ColumnEncoder::Ordinal { categories, column } = encoder
            {
                if categories.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(format!(
                        "categories of column {column:?} are not sorted and unique"
                    ));
                }
            }
        }
        let n = self.n_features();
        if self.feature_names.len() != n {
            return Err(format!(
                "{} feature names for {n} features",
                self.feature_names.len()
            ));
        }
        if let Some(s) = &self.standardization {
            if s.mean.len() != n || s.scale.len() != n {
                return Err(format!("standardization does not cover {n} features"));
            }
        }
        Ok(())
    }

    fn encode(&self, features: &RecordBatch) -> Result<Matrix> {
        let rows = features.num_rows();
        let cols = self.n_features();
        let mut matrix = Matrix::zeros(rows, cols);
        let mut offset = 0;
        for encoder in &self.columns {
            let name = encoder.column();
            let array = features
                .column_by_name(name)
                .ok_or_else(|| Error::MissingColumn {
                    column: name.to_string(),
                })?;
            match encoder {
                ColumnEncoder::Numeric {
                    fill, keep_missing, ..
                } => {
                    let fill = if *keep_missing { f64::NAN } else { *fill };
                    let values = numeric_values(name, array.as_ref())?;
                    for (i, v) in values.into_iter().enumerate() {
                        matrix.data[i * cols + offset] = v.unwrap_or(fill);
                    }
                }
                ColumnEncoder::OneHot { categories, .. } => {
                    let values = string_values(name, array.as_ref())?;
                    for (i, v) in values.into_iter().enumerate() {
                        if let Some(j) = v.and_then(|s| category_position(categories, s)) {
                            matrix.data[i * cols + offset + j] = 1.0;
                        }
                    }
                }
                ColumnEncoder::Ordinal { categories, .. } => {
                    let values = string_values(name, array.as_ref())?;
                    for (i, v) in values.into_iter().enumerate() {
                        let code = v
                            .and_then(|s| category_position(categories, s))
                            .map_or(-1.0, |j| j as f64);
                        matrix.data[i * cols + offset] = code;
                    }
                }
            }
            offset += encoder.width();
        }
        Ok(matrix)
    }
}

/// The position of a category in a sorted category list (fitted lists are sorted; `validate`
/// checks it), without building an index per call.
fn category_position(categories: &[String], value: &str) -> Option<usize> {
    categories.binary_search_by(|c| c.as_str().cmp(value)).ok()
}

/// The `max` most frequent values (ties broken by value), returned sorted.
fn top_categories(values: &[Option<&str>], max: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v).or_default() += 1;
    }
    let mut by_frequency: Vec<(&str, usize)> = counts.into_iter().collect();
    if by_frequency.len() > max {
        by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        by_frequency.truncate(max);
        by_frequency.sort_by(|a, b| a.0.cmp(b.0));
    }
    by_frequency
        .into_iter()
        .map(|(v, _)| v.to_string())
        .collect()
}

fn fit_standardization(matrix: &Matrix) -> Standardization {
    let (rows, cols) = (matrix.rows, matrix.cols);
    let mut mean = vec![0.0; cols];
    let mut scale = vec![1.0; cols];
    if rows == 0 {
        return Standardization { mean, scale };
    }
    for row in matrix.data.chunks_exact(cols.max(1)).take(rows) {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    for m in &mut mean {
        *m /= rows as f64;
    }
    let mut variance = vec![0.0; cols];
    for row in matrix.data.chunks_exact(cols.max(1)).take(rows) {
        for ((v, x), m) in variance.iter_mut().zip(row).zip(&mean) {
            *v += (x - m) * (x - m);
        }
    }
    for ((s, v), m) in scale.iter_mut().zip(&variance).zip(&mean) {
        let std = (v / rows as f64).sqrt();
        // Deviations at rounding-noise level (a constant column) are treated as zero.
        *s = if std.is_finite() && std > 1e-12 * m.abs().max(1.0) {
            std
        } else {
            1.0
        };
    }
    Standardization { mean, scale }
}

fn apply_standardization(standardization: &Standardization, matrix: &mut Matrix) {
    let cols = matrix.cols;
    if cols == 0 {
        return;
    }
    for row in matrix.data.chunks_exact_mut(cols) {
        for ((x, m), s) in row
            .iter_mut()
            .zip(&standardization.mean)
            .zip(&standardization.scale)
        {
            *x = (*x - m) / s;
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
