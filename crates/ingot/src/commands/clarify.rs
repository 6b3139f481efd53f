//! `ingot clarify`: SageMaker Clarify-style analyses of local files. `bias` prints the 8
//! pre-training bias metrics and, with predicted labels or a model, the 13 post-training ones
//! (JSON shaped like Clarify's `analysis.json`); `explain` prints KernelSHAP global importance
//! (mean |SHAP|) and per-row attributions of a model file's predictions.
//!
//! Rows with a missing label, facet, group or prediction are dropped before the bias analysis
//! (as Clarify's job drops them). The flip test's neighbours are computed on the file's numeric
//! columns other than the label, facet, group and predicted-label columns that have no missing
//! values (Clarify refuses non-numeric columns; here they are left out). `explain` masks whole
//! input columns (any type) by swapping in values from background rows sampled from the file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use ingot_catalog::{LoadedModel, Predictions};
use ingot_explain::bias::{bias_report, BiasInput, Features, Predicted, Selection};
use ingot_explain::shap::{sample_indices, tabular, KernelShapConfig};
use ingot_explain::table::{column, OwnedColumn};
use serde_json::{json, Map, Value};

use crate::context::CliContext;
use crate::output::{print_json, print_table};

/// `ingot clarify` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClarifyCommand {
    /// Bias metrics of a local file (SageMaker Clarify's pre- and post-training metrics)
    Bias(BiasArgs),
    /// KernelSHAP explanations of a model file's predictions on a local file
    Explain(ExplainArgs),
}

/// `ingot clarify bias`.
#[derive(Debug, Clone, Args)]
pub struct BiasArgs {
    /// Data file (CSV with a header, Parquet or JSON Lines)
    #[arg(long)]
    pub file: PathBuf,
    /// Column holding the observed labels
    #[arg(long)]
    pub label: String,
    /// Facet (sensitive attribute) column
    #[arg(long)]
    pub facet: String,
    /// Facet value of the disadvantaged group (repeatable) [default: each value against the rest]
    #[arg(
        long = "facet-value",
        value_name = "V",
        conflicts_with = "facet_threshold"
    )]
    pub facet_values: Vec<String>,
    /// Numeric facet: rows with a value above this threshold are the disadvantaged group
    #[arg(long, value_name = "T")]
    pub facet_threshold: Option<f64>,
    /// Positive label value (repeatable) [default: the larger of two label values]
    #[arg(long = "positive-label", value_name = "L")]
    pub positive_labels: Vec<String>,
    /// Group column for conditional demographic disparity (CDDL, CDDPL)
    #[arg(long, value_name = "COL")]
    pub group: Option<String>,
    /// Column holding predicted labels (enables the post-training metrics)
    #[arg(long, value_name = "COL", conflicts_with = "model")]
    pub predicted_label: Option<String>,
    /// Model file whose predictions give the post-training metrics
    #[arg(long, value_name = "FILE.ingot")]
    pub model: Option<PathBuf>,
    /// Positive when the model's probability of the positive label(s) is at least this
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
}

/// `ingot clarify explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Model file written by `ingot train --local`
    #[arg(long, value_name = "FILE.ingot")]
    pub model: PathBuf,
    /// Data file: rows to explain and the background sample
    #[arg(long)]
    pub file: PathBuf,
    /// Background rows sampled from the file
    #[arg(long, default_value_t = 50)]
    pub background: usize,
    /// Coalitions per explained row [default: 2M + 2048, capped at 2^M − 2]
    #[arg(long)]
    pub nsamples: Option<usize>,
    /// Explain the first N rows of the file
    #[arg(long, default_value_t = 10)]
    pub rows: usize,
    /// Seed of the background sample and the coalition draws
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `ingot clarify`.
pub async fn run(context: &CliContext, command: &ClarifyCommand) -> Result<()> {
    let json = context.json();
    match command {
        ClarifyCommand::Bias(args) => {
            let args = args.clone();
            let report = tokio::task::spawn_blocking(move || bias(&args)).await??;
            if json {
                return print_json(&report);
            }
            print!("{}", report.to_text());
            Ok(())
        }
        ClarifyCommand::Explain(args) => {
            let args = args.clone();
            let report = tokio::task::spawn_blocking(move || explain(&args)).await??;
            if json {
                return print_json(&report);
            }
            print_explanation(&report);
            Ok(())
        }
    }
}

fn load_model(path: &Path) -> Result<LoadedModel> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    LoadedModel::from_bytes(&bytes).with_context(|| format!("cannot load model {}", path.display()))
}

/// Whether a label text equals one of the values, as text or as numbers.
fn matches_value(text: &str, values: &[String]) -> bool {
    values.iter().any(|v| {
        v == text
            || matches!((v.trim().parse::<f64>(), text.trim().parse::<f64>()), (Ok(a), Ok(b)) if a == b)
    })
}

/// The default positive label: the larger of exactly two distinct values (numerically when
/// both are numbers).
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
        bail!(
            "the label column has {} distinct value(s); say which are positive with --positive-label",
            if distinct.len() > 2 { "more than two".to_string() } else { distinct.len().to_string() }
        );
    }
    distinct.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    Ok(distinct.pop().unwrap_or_default())
}

/// The model's predictions as scores of the positive label(s) (classifiers) or values.
enum ModelOutput {
    Scores(Vec<f64>),
    Values(Vec<f64>),
}

fn model_output(
    model: &LoadedModel,
    batch: &ingot_data::RecordBatch,
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
                bail!(
                    "none of the model's classes ({}) is a positive label ({})",
                    classes.join(", "),
                    positive.join(", ")
                );
            }
            Ok(ModelOutput::Scores(
                probabilities
                    .chunks_exact(k)
                    .map(|row| chosen.iter().map(|&c| row[c]).sum())
                    .collect(),
            ))
        }
        Predictions::Regression { values } => Ok(ModelOutput::Values(values)),
        _ => bail!("post-training bias metrics need a classification or regression model"),
    }
}

/// Computes the bias report of `ingot clarify bias`.
fn bias(args: &BiasArgs) -> Result<ingot_explain::bias::BiasReport> {
    let table = super::train::read_local_table(&args.file)?;
    let batch = &table.batch;
    let (label, mut keep) = column(batch, &args.label).context("--label")?;
    let (facet, valid) = column(batch, &args.facet).context("--facet")?;
    and_into(&mut keep, &valid);
    let group = match &args.group {
        Some(name) => {
            let (group, valid) = column(batch, name).context("--group")?;
            and_into(&mut keep, &valid);
            Some(group)
        }
        None => None,
    };
    let predicted_column = match &args.predicted_label {
        Some(name) => {
            let (predicted, valid) = column(batch, name).context("--predicted-label")?;
            and_into(&mut keep, &valid);
            Some(predicted)
        }
        None => None,
    };
    let dropped = keep.iter().filter(|&&k| !k).count();
    if dropped > 0 {
        eprintln!("warning: {dropped} row(s) with a missing label, facet, group or prediction were left out");
    }
    let label = label.filter(&keep);
    if label.as_column().is_empty() {
        bail!(
            "{} has no rows with a label and a facet value",
            args.file.display()
        );
    }
    let facet = facet.filter(&keep);
    let group = group.map(|g| g.filter(&keep));
    let positive_values = if args.positive_labels.is_empty() {
        vec![default_positive(&label)?]
    } else {
        args.positive_labels.clone()
    };
    let model_output = match &args.model {
        Some(path) => {
            let model = load_model(path)?;
            let output = model_output(&model, batch, &positive_values).with_context(|| {
                format!(
                    "cannot score {} with {}",
                    args.file.display(),
                    path.display()
                )
            })?;
            Some(match output {
                ModelOutput::Scores(s) => ModelOutput::Scores(filter(&s, &keep)),
                ModelOutput::Values(v) => ModelOutput::Values(filter(&v, &keep)),
            })
        }
        None => None,
    };
    let predicted_column = predicted_column.map(|p| p.filter(&keep));
    let predicted = match (&predicted_column, &model_output) {
        (Some(column), _) => Some(Predicted::Labels(column.as_column())),
        (None, Some(ModelOutput::Scores(scores))) => Some(Predicted::Scores {
            scores,
            threshold: args.threshold,
        }),
        (None, Some(ModelOutput::Values(values))) => Some(Predicted::Labels(
            ingot_explain::bias::Column::Numeric(values),
        )),
        (None, None) => None,
    };
    let mut excluded = vec![args.label.as_str(), args.facet.as_str()];
    excluded.extend(args.group.as_deref());
    excluded.extend(args.predicted_label.as_deref());
    let (feature_values, feature_columns) = flip_test_features(batch, &keep, &excluded)?;
    let positive = Selection::Values(positive_values);
    let facet_selection = match (&args.facet_threshold, args.facet_values.is_empty()) {
        (Some(t), _) => Some(Selection::Threshold(*t)),
        (None, false) => Some(Selection::Values(args.facet_values.clone())),
        (None, true) => None,
    };
    let input = BiasInput {
        label_name: &args.label,
        label: label.as_column(),
        positive: &positive,
        facet_name: &args.facet,
        facet: facet.as_column(),
        facet_selection: facet_selection.as_ref(),
        group: group.as_ref().map(OwnedColumn::as_column),
        predicted,
        features: (feature_columns > 0).then_some(Features {
            values: &feature_values,
            columns: feature_columns,
        }),
    };
    Ok(bias_report(&input)?)
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

/// Row-major numeric features of the kept rows for the flip test: numeric columns not in
/// `excluded` with no missing value among the kept rows.
fn flip_test_features(
    batch: &ingot_data::RecordBatch,
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
        let (values, valid) = column(batch, field.name())?;
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

/// Computes the report of `ingot clarify explain`.
fn explain(args: &ExplainArgs) -> Result<Value> {
    let model = load_model(&args.model)?;
    let table = super::train::read_local_table(&args.file)?;
    let features = ingot_data::conform_batch(&table.batch, &model.manifest.input_schema)
        .with_context(|| {
            format!(
                "{} does not fit the model's input schema",
                args.file.display()
            )
        })?;
    let n = features.num_rows();
    if n == 0 || args.rows == 0 {
        bail!("there are no rows to explain");
    }
    if args.background == 0 {
        bail!("--background must be at least 1");
    }
    let explained: Vec<usize> = (0..args.rows.min(n)).collect();
    let rows = ingot_data::take_rows(&features, &explained)?;
    let background =
        ingot_data::take_rows(&features, &sample_indices(n, args.background, args.seed))?;
    let (_, outputs) = output_matrix(
        model
            .estimator()
            .predict(&ingot_data::take_rows(&features, &[0])?)?,
    )
    .map_err(anyhow::Error::msg)?;
    let estimator = model.estimator();
    let predict = |batch: &ingot_data::RecordBatch| -> std::result::Result<Vec<f64>, String> {
        let predictions = estimator.predict(batch).map_err(|e| e.to_string())?;
        Ok(output_matrix(predictions)?.0)
    };
    let config = KernelShapConfig {
        nsamples: args.nsamples,
        seed: args.seed,
    };
    let e = tabular::explain_batch(predict, &rows, &background, &config)?;
    let names: Vec<String> = model
        .manifest
        .input_schema
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let global = e.global_importance();
    let mut kernel_shap = Map::new();
    for (o, output) in outputs.iter().enumerate() {
        let values: Map<String, Value> = names
            .iter()
            .enumerate()
            .map(|(j, name)| (name.clone(), json!(global[j * e.outputs + o])))
            .collect();
        kernel_shap.insert(
            output.clone(),
            json!({"global_shap_values": values, "expected_value": e.expected_value[o]}),
        );
    }
    let local: Vec<Value> = (0..e.rows)
        .map(|r| {
            let mut per_output = Map::new();
            let mut prediction = Map::new();
            for (o, output) in outputs.iter().enumerate() {
                let values: Map<String, Value> = names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| (name.clone(), json!(e.value(r, j, o))))
                    .collect();
                per_output.insert(output.clone(), Value::Object(values));
                prediction.insert(output.clone(), json!(e.predictions[r * e.outputs + o]));
            }
            json!({"row": r + 1, "prediction": prediction, "shap_values": per_output})
        })
        .collect();
    Ok(json!({
        "explanations": {"kernel_shap": kernel_shap},
        "features": names,
        "outputs": outputs,
        "background_rows": background.num_rows(),
        "nsamples": args.nsamples,
        "seed": args.seed,
        "local": local,
    }))
}

fn number(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| v.to_string(), |x| format!("{x:.6}"))
}

fn print_explanation(report: &Value) {
    let features: Vec<&str> = report["features"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let outputs: Vec<&str> = report["outputs"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let shap = &report["explanations"]["kernel_shap"];
    println!(
        "global importance (mean |SHAP|) over {} row(s)",
        report["local"].as_array().map_or(0, Vec::len)
    );
    let mut header = vec!["feature"];
    header.extend(outputs.iter().copied());
    let mut rows: Vec<(f64, Vec<String>)> = features
        .iter()
        .map(|f| {
            let values: Vec<&Value> = outputs
                .iter()
                .map(|o| &shap[*o]["global_shap_values"][*f])
                .collect();
            let max = values.iter().filter_map(|v| v.as_f64()).fold(0.0, f64::max);
            let mut row = vec![f.to_string()];
            row.extend(values.iter().map(|v| number(v)));
            (max, row)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    print_table(
        &header,
        &rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
    );
    let mut base = vec!["expected value".to_string()];
    base.extend(outputs.iter().map(|o| number(&shap[*o]["expected_value"])));
    println!("{}", base.join("  "));
    for local in report["local"].as_array().into_iter().flatten() {
        println!();
        let prediction: Vec<String> = outputs
            .iter()
            .map(|o| format!("{o}={}", number(&local["prediction"][*o])))
            .collect();
        println!("row {}: {}", local["row"], prediction.join(" "));
        let rows: Vec<Vec<String>> = features
            .iter()
            .map(|f| {
                let mut row = vec![f.to_string()];
                row.extend(
                    outputs
                        .iter()
                        .map(|o| number(&local["shap_values"][*o][*f])),
                );
                row
            })
            .collect();
        print_table(&header, &rows);
    }
}
