//! The estimator every imported tree model becomes: Ingot trees scored by the shared ensemble
//! code, an output transform per objective, and TreeSHAP explanations.

use arrow_array::RecordBatch;
use ingot_algo::preprocess::{ColumnEncoder, Preprocessor};
use ingot_algo::{Attributions, Error, Estimator, FeatureImportance, Predictions, Result};
use ingot_core::{ColumnType, Schema, Task};
use ingot_gbdt::ensemble::FEW_ROWS;
use ingot_gbdt::packed::{PackedForest, Precision};
use ingot_gbdt::perfect::RowBlock;
use ingot_gbdt::shap::Cover;
use ingot_gbdt::tree::Tree;

/// How raw scores (margins) become predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// The margin itself.
    Identity,
    /// `1 / (1 + exp(-scale · margin))` (one output; binary classifiers emit `[1 - p, p]`).
    Sigmoid { scale: f64 },
    /// `exp(margin)` (Poisson, gamma, Tweedie).
    Exp,
    /// `sign(margin) · margin²` (LightGBM's `reg_sqrt`).
    Square,
    /// Softmax over the outputs.
    Softmax,
    /// An independent sigmoid per output (LightGBM's `multiclassova`).
    SigmoidEach { scale: f64 },
}

/// A tree ensemble read from another library's file, in Ingot's tree representation.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    /// Trees, round-robin over outputs: tree `t` adds to output `t % outputs`.
    pub trees: Vec<Tree>,
    /// Raw score outputs (1, or the number of classes).
    pub outputs: usize,
    /// Margin before any tree, per output.
    pub base_margin: Vec<f64>,
    /// The summed tree outputs are divided by this (LightGBM `average_output`), else 1.
    pub divisor: f64,
    /// Output transform.
    pub link: Link,
    /// What the model predicts.
    pub task: Task,
    /// Number of input features the trees index.
    pub num_features: usize,
    /// Feature names stored in the file, if any.
    pub feature_names: Option<Vec<String>>,
    /// Per feature: whether the file says it is integer-valued (categorical or `int`).
    pub integer_features: Vec<bool>,
    /// The node statistic TreeSHAP weighs by (the library's own choice).
    pub cover: Cover,
    /// Whether the library sums leaves and applies the link in float32 (XGBoost), so
    /// predictions reproduce its rounding rather than exceed it.
    pub float32: bool,
    /// Facts read from the file, for the manifest.
    pub resolved: serde_json::Value,
}

impl TreeEnsemble {
    /// Number of classes for classification tasks (a binary model has one output, or two
    /// under softmax).
    pub fn num_classes(&self) -> Option<usize> {
        match self.task {
            Task::BinaryClassification => Some(2),
            Task::MulticlassClassification => Some(self.outputs),
            _ => None,
        }
    }

    /// The default input schema: names from the file (else `f0..`), integer or float columns.
    pub fn default_schema(&self) -> Schema {
        let names: Vec<String> = match &self.feature_names {
            Some(names) => names.clone(),
            None => (0..self.num_features).map(|i| format!("f{i}")).collect(),
        };
        Schema::new(
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    let integer = self.integer_features.get(i).copied().unwrap_or(false);
                    let ty = if integer {
                        ColumnType::Integer
                    } else {
                        ColumnType::Float
                    };
                    ingot_core::Field::new(name, ty, true)
                })
                .collect(),
        )
    }
}

/// A loaded imported model: the ensemble plus the input columns and class labels.
#[derive(Debug, Clone)]
pub struct ImportedModel {
    format: &'static str,
    ensemble: TreeEnsemble,
    classes: Option<Vec<String>>,
    preprocessor: Preprocessor,
    payload: Vec<u8>,
    /// The trees packed for few-row scoring, when they can be.
    packed: Option<PackedForest>,
}

/// Checks a schema against the ensemble (one numeric column per feature) and builds the raw
/// preprocessing (values as f64, missing as NaN).
pub(crate) fn preprocessor_for(
    format: &'static str,
    ensemble: &TreeEnsemble,
    schema: &Schema,
) -> Result<Preprocessor> {
    let invalid = |reason: String| Error::InvalidImport { format, reason };
    if schema.fields.len() != ensemble.num_features {
        return Err(invalid(format!(
            "the schema has {} columns but the model uses {} features",
            schema.fields.len(),
            ensemble.num_features
        )));
    }
    let mut columns = Vec::with_capacity(schema.fields.len());
    for field in &schema.fields {
        if field.column_type == ColumnType::String {
            return Err(invalid(format!(
                "column {:?} is a string; imported tree models take numeric columns \
                 (categorical features as integer codes)",
                field.name
            )));
        }
        columns.push(ColumnEncoder::Numeric {
            column: field.name.clone(),
            column_type: field.column_type,
            fill: 0.0,
            keep_missing: true,
        });
    }
    Ok(Preprocessor {
        feature_names: schema.fields.iter().map(|f| f.name.clone()).collect(),
        columns,
        standardization: None,
    })
}

/// Resolves class labels: the given ones (checked against the model) or `0..k-1`.
pub(crate) fn classes_for(
    format: &'static str,
    ensemble: &TreeEnsemble,
    given: Option<&[String]>,
) -> Result<Option<Vec<String>>> {
    let Some(k) = ensemble.num_classes() else {
        if given.is_some_and(|c| !c.is_empty()) {
            return Err(Error::InvalidImport {
                format,
                reason: "class labels were given but the model is a regressor".to_string(),
            });
        }
        return Ok(None);
    };
    match given {
        Some(classes) if classes.len() != k => Err(Error::InvalidImport {
            format,
            reason: format!(
                "{} class labels were given but the model has {k} classes",
                classes.len()
            ),
        }),
        Some(classes) => Ok(Some(classes.to_vec())),
        None => Ok(Some((0..k).map(|i| i.to_string()).collect())),
    }
}

impl ImportedModel {
    /// A model over `ensemble` reading the columns of `schema`.
    pub fn new(
        format: &'static str,
        ensemble: TreeEnsemble,
        schema: &Schema,
        classes: Option<&[String]>,
        payload: Vec<u8>,
    ) -> Result<ImportedModel> {
        let preprocessor = preprocessor_for(format, &ensemble, schema)?;
        let classes = classes_for(format, &ensemble, classes)?;
        Ok(ImportedModel {
            format,
            packed: PackedForest::build(
                &ensemble.trees,
                if ensemble.float32 {
                    Precision::Float32
                } else {
                    Precision::Exact
                },
            ),
            ensemble,
            classes,
            preprocessor,
            payload,
        })
    }

    /// The precision the trees are packed at for few-row scoring (the one the library compares
    /// features at), or `None` when they do not pack and every request walks tree by tree.
    pub fn packed_precision(&self) -> Option<Precision> {
        self.packed.as_ref().map(PackedForest::precision)
    }

    /// Class labels in output order (classification).
    pub fn classes(&self) -> Option<&[String]> {
        self.classes.as_deref()
    }

    /// The ensemble.
    pub fn ensemble(&self) -> &TreeEnsemble {
        &self.ensemble
    }

    /// Values per predicted row: class probabilities, or 1 for regression.
    pub fn prediction_width(&self) -> usize {
        self.classes.as_ref().map_or(1, Vec::len)
    }

    fn average(&self, row: &mut [f64]) {
        let e = &self.ensemble;
        if e.divisor != 1.0 {
            for (v, b) in row.iter_mut().zip(&e.base_margin) {
                *v = b + (*v - b) / e.divisor;
            }
        }
    }

    /// Maps a row whose first `outputs` values are margins to its prediction.
    fn link(&self, row: &mut [f64]) {
        let k = self.ensemble.outputs;
        let sigmoid = |m: f64, s: f64| 1.0 / (1.0 + (-s * m).exp());
        match self.ensemble.link {
            Link::Identity => {}
            Link::Exp => row[0] = row[0].exp(),
            Link::Square => row[0] = row[0].signum() * row[0] * row[0],
            Link::Sigmoid { scale } => {
                let p = sigmoid(row[0], scale);
                if self.classes.is_some() {
                    row[0] = 1.0 - p;
                    row[1] = p;
                } else {
                    row[0] = p;
                }
            }
            Link::SigmoidEach { scale } => {
                for v in &mut row[..k] {
                    *v = sigmoid(*v, scale);
                }
            }
            Link::Softmax => {
                let max = row[..k].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for v in &mut row[..k] {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                for v in &mut row[..k] {
                    *v /= sum;
                }
            }
        }
    }

    /// Predictions (output space) of a raw feature matrix, row-major `rows × width`.
    pub fn predict_matrix(&self, data: &[f64], rows: usize) -> Vec<f64> {
        let e = &self.ensemble;
        if e.float32 {
            return self.predict_matrix_f32(data, rows);
        }
        let width = self.prediction_width();
        ingot_gbdt::ensemble::score_matrix(
            (&e.trees, self.packed.as_ref()),
            data,
            rows,
            e.num_features,
            (width.max(e.outputs), e.outputs),
            |row| row[..e.outputs].copy_from_slice(&e.base_margin),
            |row| {
                self.average(&mut row[..e.outputs]);
                self.link(row);
            },
        )
    }

    /// XGBoost's arithmetic: per row, the base margin plus each tree's leaf in tree order,
    /// summed in float32, then the link in float32.
    fn predict_matrix_f32(&self, data: &[f64], rows: usize) -> Vec<f64> {
        let e = &self.ensemble;
        let cols = e.num_features.max(1);
        let width = self.prediction_width();
        let k = e.outputs;
        let mut out = vec![0.0; rows * width];
        ingot_gbdt::ensemble::for_each_block(&mut out, width, |first, block_out| {
            let n = block_out.len() / width;
            let block = &data[first * cols..(first + n) * cols];
            let mut margins = vec![0f32; n * k];
            for row in margins.chunks_exact_mut(k) {
                for (m, b) in row.iter_mut().zip(&e.base_margin) {
                    *m = *b as f32;
                }
            }
            // Each tree's leaves come from the interleaved block walk (exact: a leaf added to
            // 0.0), then join the float32 sums in tree order, as XGBoost adds them. XGBoost
            // compares float32 features, so the walk reads them as float32.
            let rows = RowBlock::float32(block, cols, &e.trees);
            let by_row = n < FEW_ROWS
                && self.packed.as_ref().is_some_and(|forest| {
                    forest.add_leaves(&rows, k, |j, output, leaf| {
                        // As the tree walk below gives it: the leaf added to 0.0.
                        margins[j * k + output] += (0.0 + leaf) as f32;
                    })
                });
            if !by_row {
                let mut leaves = vec![0f64; n];
                for (t, tree) in e.trees.iter().enumerate() {
                    leaves.fill(0.0);
                    tree.add_to_block(&rows, &mut leaves, 1);
                    let output = t % k;
                    for (row, leaf) in margins.chunks_exact_mut(k).zip(&leaves) {
                        row[output] += *leaf as f32;
                    }
                }
            }
            for (row_out, row) in block_out
                .chunks_exact_mut(width)
                .zip(margins.chunks_exact_mut(k))
            {
                link_f32(e.link, row, self.classes.is_some(), row_out);
            }
        });
        out
    }

    /// Exact TreeSHAP attributions of the margins, one per input column.
    pub fn explain(&self, features: &RecordBatch) -> Result<Attributions> {
        let e = &self.ensemble;
        let x = self.preprocessor.transform(features)?;
        Ok(ingot_gbdt::shap::attributions(
            &e.trees,
            (e.outputs, 1.0 / e.divisor, e.cover),
            &e.base_margin,
            self.classes.as_deref(),
            &self.preprocessor.feature_names,
            &x.data,
            x.rows,
        ))
    }

    /// Split counts and total gain per input column.
    pub fn importance(&self) -> Vec<FeatureImportance> {
        ingot_gbdt::ensemble::feature_importance(
            &self.preprocessor.feature_names,
            &self.ensemble.trees,
        )
    }

    /// The format this model was imported from.
    pub fn format(&self) -> &'static str {
        self.format
    }
}

/// The link in float32, as XGBoost computes it; writes `out` (probabilities or the value).
fn link_f32(link: Link, margins: &mut [f32], classifier: bool, out: &mut [f64]) {
    let sigmoid = |m: f32, s: f64| 1.0f32 / (1.0f32 + (-(s as f32) * m).exp());
    match link {
        Link::Identity => out[0] = f64::from(margins[0]),
        Link::Exp => out[0] = f64::from(margins[0].exp()),
        Link::Square => out[0] = f64::from(margins[0].signum() * margins[0] * margins[0]),
        Link::Sigmoid { scale } => {
            let p = sigmoid(margins[0], scale);
            if classifier {
                out[0] = f64::from(1.0f32 - p);
                out[1] = f64::from(p);
            } else {
                out[0] = f64::from(p);
            }
        }
        Link::SigmoidEach { scale } => {
            for (o, m) in out.iter_mut().zip(margins.iter()) {
                *o = f64::from(sigmoid(*m, scale));
            }
        }
        Link::Softmax => {
            let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for m in margins.iter_mut() {
                *m = (*m - max).exp();
                sum += *m;
            }
            for (o, m) in out.iter_mut().zip(margins.iter()) {
                *o = f64::from(*m / sum);
            }
        }
    }
}

impl Estimator for ImportedModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        let values = self.predict_matrix(&x.data, x.rows);
        Ok(Predictions::supervised(self.classes.as_deref(), values))
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        self.ensemble.resolved.clone()
    }

    fn payload(&self) -> Vec<u8> {
        self.payload.clone()
    }

    fn feature_importance(&self) -> Option<Vec<FeatureImportance>> {
        Some(self.importance())
    }

    fn shap_values(&self, features: &RecordBatch) -> Option<Result<Attributions>> {
        Some(self.explain(features))
    }

    fn reads_dense_rows(&self) -> bool {
        true
    }

    fn predict_dense(&self, values: &[f64], rows: usize) -> Option<Result<Predictions>> {
        Some(self.predict_rows(values, rows))
    }
}

impl ImportedModel {
    /// Predictions of raw rows in input-schema order (NaN for missing), treated as the
    /// preprocessing treats a batch: non-finite values are missing.
    fn predict_rows(&self, values: &[f64], rows: usize) -> Result<Predictions> {
        let cols = self.preprocessor.columns.len();
        if values.len() != rows * cols {
            return Err(Error::InvalidOption {
                name: "dense rows",
                reason: format!(
                    "{} values are not {rows} rows of {cols} columns",
                    values.len()
                ),
            });
        }
        let predicted = if values.iter().all(|x| x.is_finite()) {
            self.predict_matrix(values, rows)
        } else {
            let finite: Vec<f64> = values
                .iter()
                .map(|&x| if x.is_finite() { x } else { f64::NAN })
                .collect();
            self.predict_matrix(&finite, rows)
        };
        Ok(Predictions::supervised(self.classes.as_deref(), predicted))
    }
}
