//! `ingot clarify`: SageMaker Clarify-style analyses, of local files (`--file`) or on the
//! server (`--dataset D[:V]`, models by `NAME[:VERSION]`). `bias` prints the 8 pre-training
//! bias metrics and, with predicted labels or a model, the 13 post-training ones (JSON shaped
//! like Clarify's `analysis.json`); `explain` prints global importance (mean |SHAP|) and
//! per-row attributions. `--report FILE.html` also writes a self-contained HTML page.
//!
//! Both forms compute with `ingot_service::clarify`, so they agree: rows with a missing label,
//! facet, group or prediction are dropped before the bias analysis; the flip test uses the
//! numeric columns with no missing values. Locally, `explain` always runs KernelSHAP (whole
//! input columns masked by background rows sampled from the file); on the server, tree models
//! get exact TreeSHAP of their raw scores and other models KernelSHAP.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use ingot_catalog::LoadedModel;
use ingot_explain::bias::BiasReport;
use ingot_explain::report::{bias_html, shap_html, ShapSummary};
use ingot_protocol::{ClarifyBiasRequest, ClarifyExplainRequest};
use ingot_service::clarify::{BiasSpec, ExplainSpec, Method};
use reqwest::Method as Http;
use serde_json::Value;

use crate::context::CliContext;
use crate::output::{print_json, print_table};

/// `ingot clarify` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClarifyCommand {
    /// Bias metrics of a local file or a stored dataset (SageMaker Clarify's pre- and
    /// post-training metrics)
    Bias(BiasArgs),
    /// SHAP explanations of a model's predictions on a local file or a stored dataset
    Explain(ExplainArgs),
}

/// `ingot clarify bias`.
#[derive(Debug, Clone, Args)]
pub struct BiasArgs {
    /// Local data file (CSV with a header, Parquet or JSON Lines)
    #[arg(long, required_unless_present = "dataset", conflicts_with = "dataset")]
    pub file: Option<PathBuf>,
    /// Stored dataset, analysed on the server
    #[arg(long, value_name = "NAME[:VERSION]")]
    pub dataset: Option<String>,
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
    /// Model whose predictions give the post-training metrics: a model file with --file, a
    /// registered NAME[:VERSION] with --dataset
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Positive when the model's probability of the positive label(s) is at least this
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Also write the report as a self-contained HTML page
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// `ingot clarify explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The model: a file written by `ingot train --local` with --file, a registered
    /// NAME[:VERSION] with --dataset
    #[arg(long, value_name = "MODEL")]
    pub model: String,
    /// Local data file: rows to explain and the background sample
    #[arg(long, required_unless_present = "dataset", conflicts_with = "dataset")]
    pub file: Option<PathBuf>,
    /// Stored dataset, explained on the server (TreeSHAP for tree models)
    #[arg(long, value_name = "NAME[:VERSION]")]
    pub dataset: Option<String>,
    /// Background rows sampled from the data (KernelSHAP)
    #[arg(long, default_value_t = 50)]
    pub background: usize,
    /// Coalitions per explained row [default: 2M + 2048, capped at 2^M − 2]
    #[arg(long)]
    pub nsamples: Option<usize>,
    /// Explain the first N rows
    #[arg(long, default_value_t = 10)]
    pub rows: usize,
    /// Seed of the background sample and the coalition draws
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the SHAP summary as a self-contained HTML page
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// `NAME[:VERSION]` of a dataset.
fn dataset_ref(text: &str) -> Result<(String, Option<i64>)> {
    match text.split_once(':') {
        None => Ok((text.to_string(), None)),
        Some((name, version)) => {
            let version: i64 = version.parse().ok().filter(|v| *v >= 1).with_context(|| {
                format!("dataset version {version:?} must be a positive integer")
            })?;
            Ok((name.to_string(), Some(version)))
        }
    }
}

/// Runs `ingot clarify`.
pub async fn run(context: &CliContext, command: &ClarifyCommand) -> Result<()> {
    let json = context.json();
    match command {
        ClarifyCommand::Bias(args) => {
            let report: Value = match &args.dataset {
                Some(dataset) => {
                    let (dataset, dataset_version) = dataset_ref(dataset)?;
                    let request = ClarifyBiasRequest {
                        dataset,
                        dataset_version,
                        label: args.label.clone(),
                        facet: args.facet.clone(),
                        facet_values: args.facet_values.clone(),
                        facet_threshold: args.facet_threshold,
                        positive_label: args.positive_labels.clone(),
                        group: args.group.clone(),
                        predicted_label: args.predicted_label.clone(),
                        model: args.model.clone(),
                        threshold: Some(args.threshold),
                    };
                    let body = serde_json::to_value(&request)?;
                    let mut report: Value = context
                        .client()?
                        .call(Http::POST, "/api/v1/clarify/bias", Some(&body))
                        .await?;
                    warn_dropped(
                        report
                            .as_object_mut()
                            .and_then(|o| o.remove("dropped_rows")),
                    );
                    report
                }
                None => {
                    let args = args.clone();
                    let outcome = tokio::task::spawn_blocking(move || bias_local(&args)).await??;
                    warn_dropped(Some(outcome.dropped.into()));
                    serde_json::to_value(&outcome.report)?
                }
            };
            let parsed: BiasReport = serde_json::from_value(report.clone())
                .context("the server sent a bias report this client cannot read")?;
            if let Some(path) = &args.report {
                let title = format!("Bias report: {}", source_name(&args.file, &args.dataset));
                write_report(path, &bias_html(&title, &parsed))?;
            }
            if json {
                return print_json(&report);
            }
            print!("{}", parsed.to_text());
            Ok(())
        }
        ClarifyCommand::Explain(args) => {
            let report = match &args.dataset {
                Some(dataset) => {
                    let (dataset, dataset_version) = dataset_ref(dataset)?;
                    let request = ClarifyExplainRequest {
                        model: args.model.clone(),
                        dataset,
                        dataset_version,
                        rows: Some(args.rows),
                        background: Some(args.background),
                        nsamples: args.nsamples,
                        seed: Some(args.seed),
                        method: None,
                    };
                    let body = serde_json::to_value(&request)?;
                    context
                        .client()?
                        .call(Http::POST, "/api/v1/clarify/explain", Some(&body))
                        .await?
                }
                None => {
                    let args = args.clone();
                    tokio::task::spawn_blocking(move || explain_local(&args)).await??
                }
            };
            if let Some(path) = &args.report {
                let title = format!(
                    "SHAP summary: {} on {}",
                    args.model,
                    source_name(&args.file, &args.dataset)
                );
                write_report(path, &shap_report(&title, &report))?;
            }
            if json {
                return print_json(&report);
            }
            print_explanation(&report);
            Ok(())
        }
    }
}

fn warn_dropped(dropped: Option<Value>) {
    if let Some(n) = dropped.and_then(|d| d.as_u64()).filter(|n| *n > 0) {
        eprintln!(
            "warning: {n} row(s) with a missing label, facet, group or prediction were left out"
        );
    }
}

fn source_name(file: &Option<PathBuf>, dataset: &Option<String>) -> String {
    match (file, dataset) {
        (Some(file), _) => file.display().to_string(),
        (None, Some(dataset)) => format!("dataset {dataset}"),
        (None, None) => String::new(),
    }
}

fn write_report(path: &std::path::Path, html: &str) -> Result<()> {
    std::fs::write(path, html).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn load_model(path: &str) -> Result<LoadedModel> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    LoadedModel::from_bytes(&bytes).with_context(|| format!("cannot load model {path}"))
}

fn local_file(file: &Option<PathBuf>) -> Result<PathBuf> {
    file.clone()
        .context("give --file (local) or --dataset (on the server)")
}

/// `ingot clarify bias --file`.
fn bias_local(args: &BiasArgs) -> Result<ingot_service::clarify::BiasOutcome> {
    let file = local_file(&args.file)?;
    let table = super::train::read_local_table(&file)?;
    let model = args.model.as_deref().map(load_model).transpose()?;
    let spec = BiasSpec {
        label: args.label.clone(),
        facet: args.facet.clone(),
        facet_values: args.facet_values.clone(),
        facet_threshold: args.facet_threshold,
        positive_labels: args.positive_labels.clone(),
        group: args.group.clone(),
        predicted_label: args.predicted_label.clone(),
        threshold: args.threshold,
    };
    ingot_service::clarify::bias(&table.batch, &spec, model.as_ref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// `ingot clarify explain --file`: KernelSHAP of a model file.
fn explain_local(args: &ExplainArgs) -> Result<Value> {
    let file = local_file(&args.file)?;
    let model = load_model(&args.model)?;
    let table = super::train::read_local_table(&file)?;
    if args.background == 0 {
        bail!("--background must be at least 1");
    }
    let spec = ExplainSpec {
        rows: args.rows,
        background: args.background,
        nsamples: args.nsamples,
        seed: args.seed,
        method: Method::Kernel,
    };
    ingot_service::clarify::explain(&model, &table.batch, &spec)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// The SHAP summary page of an explanation report.
fn shap_report(title: &str, report: &Value) -> String {
    let method = report["method"].as_str().unwrap_or("kernel_shap");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let features = strings(&report["features"]);
    let summaries: Vec<ShapSummary> = strings(&report["outputs"])
        .into_iter()
        .map(|output| {
            let entry = &report["explanations"][method][&output];
            ShapSummary {
                importance: features
                    .iter()
                    .map(|f| {
                        let v = entry["global_shap_values"][f].as_f64().unwrap_or(0.0);
                        (f.clone(), v)
                    })
                    .collect(),
                expected_value: entry["expected_value"].as_f64(),
                output,
            }
        })
        .collect();
    let rows = report["local"].as_array().map_or(0, Vec::len);
    let note = match method {
        "tree_shap" => format!("TreeSHAP (exact, raw scores), mean |SHAP| over {rows} row(s)"),
        _ => format!(
            "KernelSHAP, mean |SHAP| over {rows} row(s), {} background row(s)",
            report["background_rows"]
        ),
    };
    shap_html(title, &note, &summaries)
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
    let method = report["method"].as_str().unwrap_or("kernel_shap");
    let shap = &report["explanations"][method];
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
