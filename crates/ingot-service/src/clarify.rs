//! Clarify analyses over tables and loaded models, shared by the server
//! (`POST /api/v1/clarify/bias|explain` on stored datasets and registered models) and the CLI's
//! local forms (`ingot clarify bias|explain --file`), so both compute the same report.
//!
//! * [`bias`]: rows with a missing label, facet, group or predicted label are dropped (as
//!   Clarify's job drops them); a model's predictions give the post-training metrics
//!   (classifiers: the probability of the positive label(s) against `threshold`; regressors:
//!   the predicted value compared with the positive label like a label). The flip test's
//!   neighbours use the numeric columns other than the label, facet, group and predicted label
//!   that have no missing values among the kept rows.
//! * [`explain`]: global importance (mean |SHAP|) and per-row attributions. Tree models get
//!   exact TreeSHAP attributions of their raw scores (no background needed); every other model
//!   gets KernelSHAP of its outputs (class probabilities, values, scores) with whole input
//!   columns masked by background rows sampled from the same table.

use arrow_array::RecordBatch;
use ingot_catalog::{LoadedModel, Predictions};
use ingot_core::ModelRef;
use ingot_explain::bias::{bias_report, BiasInput, Features, Predicted, Selection};
use ingot_explain::shap::{sample_indices, tabular, KernelShapConfig};
use ingot_explain::table::{column, OwnedColumn};
use serde_json::{json, Map, Value};

use crate::{Error, Platform, Result};

pub use ingot_explain::bias::{BiasReport, DEFAULT_PROBABILITY_THRESHOLD};

fn explain_error(e: ingot_explain::Error) -> Error {
    Error::bad_input(e.to_string())
}

/// What a bias analysis looks at (the columns and selections of Clarify's `BiasConfig`).
#[derive(Debug, Clone, Default)]
pub struct BiasSpec {
    pub label: String,
    pub facet: String,
    /// Disadvantaged facet values; empty with no threshold: each value against the rest.
    pub facet_values: Vec<String>,
    pub facet_threshold: Option<f64>,
    /// Positive labels; empty: the larger of exactly two label values.
    pub positive_labels: Vec<String>,
    pub group: Option<String>,
    /// A column of predicted labels (instead of a model).
    pub predicted_label: Option<String>,
    /// Probability threshold for a classifier's predictions.
    pub threshold: f64,
}

/// A bias report and how many rows were dropped for missing values.
#[derive(Debug, Clone)]
pub struct BiasOutcome {
    pub report: BiasReport,
    pub dropped: usize,
}

/// Which attribution method [`explain`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// TreeSHAP when the model has exact attributions, KernelSHAP otherwise.
    Auto,
    /// Always KernelSHAP.
    Kernel,
}

/// What an explanation covers.
#[derive(Debug, Clone)]
pub struct ExplainSpec {
    /// Explain the first `rows` rows.
    pub rows: usize,
    /// KernelSHAP background rows sampled from the table.
    pub background: usize,
    /// KernelSHAP coalitions per row (`None`: 2M + 2048).
    pub nsamples: Option<usize>,
    /// Seed of the background sample and the coalitions.
    pub seed: u64,
    pub method: Method,
}

impl Default for ExplainSpec {
    fn default() -> Self {
        ExplainSpec {
            rows: 10,
            background: 50,
            nsamples: None,
            seed: 0,
            method: Method::Auto,
        }
    }
}

/// Whether a label text equals one of the values, as text or as numbers.
fn matches_value(text: &str, values: &[String]) -> bool {
    values.iter().any(|v| {
        v == text
            || matches!((v.trim().parse::<f64>(), text.trim().parse::<f64>()), (Ok(a), Ok(b)) if a == b)
    })
}

/// The default positive label: the larger of exactly two distinct values.
fn default_positive(label: &OwnedColumn) -> Result<String> {
    let column = label.as_column();
    let mut distinct: Vec<String> = Vec::new();
    for i in 0..column.len() {
        let text = column.text(i);
        if !distinct.contains(&text) {
            distinct.push(text);
        }
        if distinct.len() > 2 {
            break;
        }
    }
    if distinct.len() != 2 {
        return Err(Error::bad_input(format!(
            "the label column has {} distinct value(s); say which are positive (positive label)",
            if distinct.len() > 2 {
                "more than two".to_string()
            } else {
                distinct.len().to_string()
            }
        )));
    }
    distinct.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    Ok(distinct.pop().unwrap_or_default())
}

/// A model's predictions for the post-training metrics.
enum ModelOutput {
    Scores(Vec<f64>),
    Values(Vec<f64>),
}

fn model_output(
    model: &LoadedModel,
    batch: &RecordBatch,
    positive: &[String],
) -> Result<ModelOutput> {
    match model.predict(batch)? {
        Predictions::Classification {
            classes,
            probabilities,
        } => {
            let k = classes.len();
            let chosen: Vec<usize> = (0..k)
                .filter(|&c| matches_value(&classes[c], positive))
                .collect();
            if chosen.is_empty() {
                return Err(Error::bad_input(format!(
                    "none of the model's classes ({}) is a positive label ({})",
                    classes.join(", "),
                    positive.join(", ")
                )));
            }
            Ok(ModelOutput::Scores(
                probabilities
                    .chunks_exact(k)
                    .map(|row| chosen.iter().map(|&c| row[c]).sum())
                    .collect(),
            ))
        }
        Predictions::Regression { values } => Ok(ModelOutput::Values(values)),
        _ => Err(Error::bad_input(
            "post-training bias metrics need a classification or regression model",
        )),
    }
}

fn named_column(batch: &RecordBatch, name: &str, what: &str) -> Result<(OwnedColumn, Vec<bool>)> {
    column(batch, name).map_err(|e| Error::bad_input(format!("{what}: {e}")))
}

/// The bias report of a table (CPU work: call from a blocking context).
pub fn bias(
    batch: &RecordBatch,
    spec: &BiasSpec,
    model: Option<&LoadedModel>,
) -> Result<BiasOutcome> {
    if spec.predicted_label.is_some() && model.is_some() {
        return Err(Error::bad_input(
            "give either a predicted-label column or a model, not both",
        ));
    }
    if spec.facet_threshold.is_some() && !spec.facet_values.is_empty() {
        return Err(Error::bad_input(
            "give either facet values or a facet threshold, not both",
        ));
    }
    let (label, mut keep) = named_column(batch, &spec.label, "label")?;
    let (facet, valid) = named_column(batch, &spec.facet, "facet")?;
    and_into(&mut keep, &valid);
    let group = match &spec.group {
        Some(name) => {
            let (group, valid) = named_column(batch, name, "group")?;
            and_into(&mut keep, &valid);
            Some(group)
        }
        None => None,
    };
    let predicted_column = match &spec.predicted_label {
        Some(name) => {
            let (predicted, valid) = named_column(batch, name, "predicted label")?;
            and_into(&mut keep, &valid);
            Some(predicted)
        }
        None => None,
    };
    let dropped = keep.iter().filter(|&&k| !k).count();
    let label = label.filter(&keep);
    if label.as_column().is_empty() {
        return Err(Error::bad_input(
            "the table has no rows with a label and a facet value",
        ));
    }
    let facet = facet.filter(&keep);
    let group = group.map(|g| g.filter(&keep));
    let positive_values = if spec.positive_labels.is_empty() {
        vec![default_positive(&label)?]
    } else {
        spec.positive_labels.clone()
    };
    let model_output = match model {
        Some(model) => Some(match model_output(model, batch, &positive_values)? {
            ModelOutput::Scores(s) => ModelOutput::Scores(filter(&s, &keep)),
            ModelOutput::Values(v) => ModelOutput::Values(filter(&v, &keep)),
        }),
        None => None,
    };
    let predicted_column = predicted_column.map(|p| p.filter(&keep));
    let predicted = match (&predicted_column, &model_output) {
        (Some(column), _) => Some(Predicted::Labels(column.as_column())),
        (None, Some(ModelOutput::Scores(scores))) => Some(Predicted::Scores {
            scores,
            threshold: spec.threshold,
        }),
        (None, Some(ModelOutput::Values(values))) => Some(Predicted::Labels(
            ingot_explain::bias::Column::Numeric(values),
        )),
        (None, None) => None,
    };
    let mut excluded = vec![spec.label.as_str(), spec.facet.as_str()];
    excluded.extend(spec.group.as_deref());
    excluded.extend(spec.predicted_label.as_deref());
    let (feature_values, feature_columns) = flip_test_features(batch, &keep, &excluded)?;
    let positive = Selection::Values(positive_values);
    let facet_selection = match (&spec.facet_threshold, spec.facet_values.is_empty()) {
        (Some(t), _) => Some(Selection::Threshold(*t)),
        (None, false) => Some(Selection::Values(spec.facet_values.clone())),
        (None, true) => None,
    };
    let input = BiasInput {
        label_name: &spec.label,
        label: label.as_column(),
        positive: &positive,
        facet_name: &spec.facet,
        facet: facet.as_column(),
        facet_selection: facet_selection.as_ref(),
        group: group.as_ref().map(OwnedColumn::as_column),
        predicted,
        features: (feature_columns > 0).then_some(Features {
            values: &feature_values,
            columns: feature_columns,
        }),
    };
    let report = bias_report(&input).map_err(explain_error)?;
    Ok(BiasOutcome { report, dropped })
}

fn and_into(keep: &mut [bool], valid: &[bool]) {
    for (k, v) in keep.iter_mut().zip(valid) {
        *k &= *v;
    }
}

fn filter(values: &[f64], keep: &[bool]) -> Vec<f64> {
    values
        .iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .map(|(v, _)| *v)
        .collect()
}

/// Row-major numeric features of the kept rows for the flip test.
fn flip_test_features(
    batch: &RecordBatch,
    keep: &[bool],
    excluded: &[&str],
) -> Result<(Vec<f64>, usize)> {
    let schema = batch.schema();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for field in schema.fields() {
        if excluded.contains(&field.name().as_str())
            || !ingot_explain::table::is_numeric_type(field.data_type())
        {
            continue;
        }
        let (values, valid) = column(batch, field.name()).map_err(explain_error)?;
        let OwnedColumn::Numeric(values) = values else {
            continue;
        };
        if valid.iter().zip(keep).any(|(v, k)| *k && !v) {
            continue;
        }
        columns.push(filter(&values, keep));
    }
    let rows = keep.iter().filter(|&&k| k).count();
    let mut matrix = Vec::with_capacity(rows * columns.len());
    for r in 0..rows {
        matrix.extend(columns.iter().map(|c| c[r]));
    }
    Ok((matrix, columns.len()))
}

/// The model's output matrix for KernelSHAP, with its output names.
fn output_matrix(predictions: Predictions) -> std::result::Result<(Vec<f64>, Vec<String>), String> {
    match predictions {
        Predictions::Classification {
            classes,
            probabilities,
        } => Ok((probabilities, classes)),
        Predictions::Regression { values } => Ok((values, vec!["prediction".to_string()])),
        Predictions::Anomaly { scores, .. } => Ok((scores, vec!["score".to_string()])),
        Predictions::Projection { components, values } => Ok((
            values,
            (1..=components).map(|c| format!("component_{c}")).collect(),
        )),
        Predictions::Clustering { .. } => {
            Err("cluster assignments cannot be explained".to_string())
        }
    }
}

/// The explanation report of a model on a table (CPU work: call from a blocking context).
///
/// Shape: `{"method", "features", "outputs", "explanations": {method: {output:
/// {"global_shap_values": {feature: mean |φ|}, "expected_value"}}}, "local": [{"row",
/// "prediction": {output: f(x)}, "shap_values": {output: {feature: φ}}}], "background_rows",
/// "nsamples", "seed"}`. For TreeSHAP the outputs are raw scores (margins) and
/// `background_rows` is null.
pub fn explain(model: &LoadedModel, batch: &RecordBatch, spec: &ExplainSpec) -> Result<Value> {
    let features = ingot_data::conform_batch(batch, &model.manifest.input_schema).map_err(|e| {
        Error::bad_input(format!(
            "the data does not fit the model's input schema: {e}"
        ))
    })?;
    let n = features.num_rows();
    if n == 0 || spec.rows == 0 {
        return Err(Error::bad_input("there are no rows to explain"));
    }
    let explained: Vec<usize> = (0..spec.rows.min(n)).collect();
    let rows = ingot_data::take_rows(&features, &explained)?;
    let names: Vec<String> = model
        .manifest
        .input_schema
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    if spec.method == Method::Auto {
        if let Some(attributions) = model.estimator().shap_values(&rows) {
            let a = attributions.map_err(|e| Error::bad_input(format!("TreeSHAP: {e}")))?;
            let (k, m) = (a.outputs.len(), a.features.len());
            let rows_out = a.rows();
            let mut global = vec![0.0; m * k];
            for r in 0..rows_out {
                for o in 0..k {
                    for (f, g) in global.iter_mut().skip(o).step_by(k).enumerate() {
                        *g += a.value(r, o, f).abs() / rows_out as f64;
                    }
                }
            }
            return Ok(report(Report {
                method: "tree_shap",
                features: &a.features,
                outputs: &a.outputs,
                expected: &a.base_values,
                global: &global,
                rows: rows_out,
                prediction: &|r, o| a.margin(r, o),
                value: &|r, f, o| a.value(r, o, f),
                background_rows: None,
                spec,
            }));
        }
    }
    if spec.background == 0 {
        return Err(Error::bad_input("the background needs at least 1 row"));
    }
    let background =
        ingot_data::take_rows(&features, &sample_indices(n, spec.background, spec.seed))?;
    let first = model
        .estimator()
        .predict(&ingot_data::take_rows(&features, &[0])?)?;
    let (_, outputs) = output_matrix(first).map_err(Error::bad_input)?;
    let estimator = model.estimator();
    let predict = |batch: &RecordBatch| -> std::result::Result<Vec<f64>, String> {
        let predictions = estimator.predict(batch).map_err(|e| e.to_string())?;
        Ok(output_matrix(predictions)?.0)
    };
    let config = KernelShapConfig {
        nsamples: spec.nsamples,
        seed: spec.seed,
    };
    let e = tabular::explain_batch(predict, &rows, &background, &config).map_err(explain_error)?;
    let global = e.global_importance();
    Ok(report(Report {
        method: "kernel_shap",
        features: &names,
        outputs: &outputs,
        expected: &e.expected_value,
        global: &global,
        rows: e.rows,
        prediction: &|r, o| e.predictions[r * e.outputs + o],
        value: &|r, f, o| e.value(r, f, o),
        background_rows: Some(background.num_rows()),
        spec,
    }))
}

/// The pieces of an explanation report; `global` is `features × outputs`.
struct Report<'a> {
    method: &'static str,
    features: &'a [String],
    outputs: &'a [String],
    expected: &'a [f64],
    global: &'a [f64],
    rows: usize,
    prediction: &'a dyn Fn(usize, usize) -> f64,
    value: &'a dyn Fn(usize, usize, usize) -> f64,
    background_rows: Option<usize>,
    spec: &'a ExplainSpec,
}

fn report(r: Report<'_>) -> Value {
    let k = r.outputs.len();
    let mut by_output = Map::new();
    for (o, output) in r.outputs.iter().enumerate() {
        let values: Map<String, Value> = r
            .features
            .iter()
            .enumerate()
            .map(|(j, name)| (name.clone(), json!(r.global[j * k + o])))
            .collect();
        by_output.insert(
            output.clone(),
            json!({"global_shap_values": values, "expected_value": r.expected[o]}),
        );
    }
    let local: Vec<Value> = (0..r.rows)
        .map(|row| {
            let mut per_output = Map::new();
            let mut prediction = Map::new();
            for (o, output) in r.outputs.iter().enumerate() {
                let values: Map<String, Value> = r
                    .features
                    .iter()
                    .enumerate()
                    .map(|(j, name)| (name.clone(), json!((r.value)(row, j, o))))
                    .collect();
                per_output.insert(output.clone(), Value::Object(values));
                prediction.insert(output.clone(), json!((r.prediction)(row, o)));
            }
            json!({"row": row + 1, "prediction": prediction, "shap_values": per_output})
        })
        .collect();
    json!({
        "method": r.method,
        "explanations": {r.method: by_output},
        "features": r.features,
        "outputs": r.outputs,
        "background_rows": r.background_rows,
        "nsamples": r.spec.nsamples,
        "seed": r.spec.seed,
        "local": local,
    })
}

impl Platform {
    /// Reads a stored dataset version into a table (on the blocking pool).
    async fn dataset_batch(&self, name: &str, version: Option<i64>) -> Result<RecordBatch> {
        let dataset = self.dataset_version(name, version).await?;
        let bytes = self.artifacts.get(&dataset.content_hash).await?;
        let format: ingot_data::DataFormat = dataset.format.parse()?;
        Ok(
            tokio::task::spawn_blocking(move || ingot_data::read_table_bytes(bytes, format))
                .await??
                .batch,
        )
    }

    /// Loads a registered model version (`NAME[:VERSION]`, latest by default).
    async fn clarify_model(&self, reference: &str) -> Result<LoadedModel> {
        let parsed: ModelRef = reference
            .parse()
            .map_err(|e: ingot_core::Error| Error::bad_input(format!("model: {e}")))?;
        let bytes = self.model_artifact(&parsed.name, parsed.version).await?;
        Ok(tokio::task::spawn_blocking(move || LoadedModel::from_bytes(&bytes)).await??)
    }

    /// Clarify's bias report of a stored dataset, with a registered model's predictions
    /// (computed on the blocking pool) when `model` is given.
    pub async fn clarify_bias(
        &self,
        dataset: &str,
        dataset_version: Option<i64>,
        model: Option<&str>,
        spec: BiasSpec,
    ) -> Result<BiasOutcome> {
        let batch = self.dataset_batch(dataset, dataset_version).await?;
        let model = match model {
            Some(reference) => Some(self.clarify_model(reference).await?),
            None => None,
        };
        tokio::task::spawn_blocking(move || bias(&batch, &spec, model.as_ref())).await?
    }

    /// Explanations of a registered model on a stored dataset: TreeSHAP for tree models,
    /// KernelSHAP otherwise.
    pub async fn clarify_explain(
        &self,
        model: &str,
        dataset: &str,
        dataset_version: Option<i64>,
        spec: ExplainSpec,
    ) -> Result<Value> {
        let batch = self.dataset_batch(dataset, dataset_version).await?;
        let model = self.clarify_model(model).await?;
        tokio::task::spawn_blocking(move || explain(&model, &batch, &spec)).await?
    }
}
