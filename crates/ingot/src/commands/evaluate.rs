//! `ingot evaluate --local`: reads a CSV of true labels and predictions (optionally a score
//! column or per-class probability columns), infers or takes the task, and prints every metric
//! of that task (computed by `ingot-metrics`), as text or with `--output json`.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use ingot_metrics::Scores;
use serde_json::{json, Value};

use crate::cli::{EvaluateArgs, EvaluateTask};
use crate::context::CliContext;
use crate::output::{print_json, print_table};

/// Most distinct integer labels for which integer columns are taken as classes.
const MAX_INFERRED_CLASSES: usize = 20;

/// Runs `ingot evaluate`.
pub async fn run(context: &CliContext, args: &EvaluateArgs) -> Result<()> {
    if !args.local {
        bail!("ingot evaluate runs on a local file: pass --local --file PREDICTIONS.csv");
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let report = evaluate_csv(&bytes, args)
        .with_context(|| format!("cannot evaluate {}", args.file.display()))?;
    if context.json() {
        return print_json(&report);
    }
    print_text(&report);
    Ok(())
}

/// A parsed CSV: header and string cells.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn parse(bytes: &[u8]) -> Result<Csv> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .context("cannot read the header line")?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("line {}: malformed CSV", i + 2))?;
            rows.push(record.iter().map(|c| c.trim().to_string()).collect());
        }
        if rows.is_empty() {
            bail!("the file has no data rows");
        }
        Ok(Csv { header, rows })
    }

    fn index(&self, name: &str, flag: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).with_context(|| {
            format!(
                "column {name:?} ({flag}) not found; columns are: {}",
                self.header.join(", ")
            )
        })
    }

    /// Every cell of a column; an empty one is an error naming its line.
    fn cells(&self, column: usize) -> Result<Vec<&str>> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| match row[column].as_str() {
                "" => bail!("line {}: column {:?} is empty", i + 2, self.header[column]),
                cell => Ok(cell),
            })
            .collect()
    }

    fn numbers(&self, column: usize) -> Result<Vec<f64>> {
        self.cells(column)?
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                cell.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .with_context(|| {
                        format!(
                            "line {}: column {:?} holds {cell:?}, not a finite number",
                            i + 2,
                            self.header[column]
                        )
                    })
            })
            .collect()
    }
}

/// Whether the labels (and predictions) look like real values rather than classes.
fn looks_like_regression(labels: &[&str], predictions: &[&str]) -> bool {
    let numbers: Option<Vec<f64>> = labels
        .iter()
        .chain(predictions)
        .map(|c| c.parse::<f64>().ok())
        .collect();
    let Some(numbers) = numbers else {
        return false;
    };
    let distinct: BTreeSet<u64> = labels
        .iter()
        .filter_map(|c| c.parse::<f64>().ok())
        .map(f64::to_bits)
        .collect();
    numbers.iter().any(|v| v.fract() != 0.0) || distinct.len() > MAX_INFERRED_CLASSES
}

/// Numeric labels compare by value ("1" equals "1.0"); other labels as text.
fn canonical(label: &str, numeric: bool) -> String {
    match label.parse::<f64>() {
        Ok(v) if numeric => format!("{v}"),
        _ => label.to_string(),
    }
}

/// Computes the report for `ingot evaluate`.
fn evaluate_csv(bytes: &[u8], args: &EvaluateArgs) -> Result<Value> {
    let csv = Csv::parse(bytes)?;
    let label_index = csv.index(&args.label_column, "--label-column")?;
    let prediction_index = args
        .prediction_column
        .as_deref()
        .map(|c| csv.index(c, "--prediction-column"))
        .transpose()?;
    let labels = csv.cells(label_index)?;
    let predictions = prediction_index.map(|i| csv.cells(i)).transpose()?;
    let task = match args.task {
        Some(task) => task,
        None if args.score_column.is_none()
            && predictions
                .as_deref()
                .is_some_and(|p| looks_like_regression(&labels, p)) =>
        {
            EvaluateTask::Regression
        }
        None => EvaluateTask::Classification,
    };
    if task == EvaluateTask::Regression {
        let Some(prediction_index) = prediction_index else {
            bail!("regression needs --prediction-column");
        };
        let y = csv.numbers(label_index)?;
        let p = csv.numbers(prediction_index)?;
        let metrics = ingot_metrics::regression_metrics(&y, &p)?;
        return Ok(json!({
            "task": "regression",
            "rows": y.len(),
            "metrics": metrics_object(&metrics),
        }));
    }
    classification(&csv, args, label_index, prediction_index, &labels)
}

fn metrics_object(metrics: &ingot_metrics::Named) -> Value {
    let map: serde_json::Map<String, Value> = metrics
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    Value::Object(map)
}

fn classification(
    csv: &Csv,
    args: &EvaluateArgs,
    label_index: usize,
    prediction_index: Option<usize>,
    labels: &[&str],
) -> Result<Value> {
    let predictions = prediction_index.map(|i| csv.cells(i)).transpose()?;
    let all_values = labels.iter().chain(predictions.iter().flatten());
    let numeric = all_values.clone().all(|v| v.parse::<f64>().is_ok());
    let y: Vec<String> = labels.iter().map(|l| canonical(l, numeric)).collect();
    let mut classes: BTreeSet<String> = all_values.map(|v| canonical(v, numeric)).collect();
    if let Some(positive) = &args.positive_label {
        classes.insert(canonical(positive, numeric));
    }
    // Per-class probability columns, as `ingot predict --local` writes them.
    let taken = [Some(label_index), prediction_index];
    let probability_columns: Vec<(String, usize)> = csv
        .header
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(&Some(*i)))
        .filter(|(_, h)| Some(h.as_str()) != args.score_column.as_deref())
        .map(|(i, h)| (canonical(h, numeric), i))
        .filter(|(h, _)| classes.contains(h) || prediction_index.is_none() && y.contains(h))
        .collect();
    classes.extend(probability_columns.iter().map(|(h, _)| h.clone()));
    let mut classes: Vec<String> = classes.into_iter().collect();
    if numeric {
        classes.sort_by(|a, b| {
            let (a, b) = (
                a.parse::<f64>().unwrap_or(0.0),
                b.parse::<f64>().unwrap_or(0.0),
            );
            a.total_cmp(&b)
        });
    }
    let k = classes.len();
    let index_of = |label: &String| classes.iter().position(|c| c == label).unwrap_or(0);
    let complete = k >= 2 && probability_columns.len() == k;
    let mut probabilities = Vec::new();
    if complete {
        let columns: Vec<Vec<f64>> = classes
            .iter()
            .map(|c| {
                let (_, i) = probability_columns
                    .iter()
                    .find(|(h, _)| h == c)
                    .unwrap_or(&probability_columns[0]);
                csv.numbers(*i)
            })
            .collect::<Result<_>>()?;
        for row in 0..csv.rows.len() {
            probabilities.extend(columns.iter().map(|c| c[row]));
        }
    }
    let y_index: Vec<usize> = y.iter().map(index_of).collect();
    let y_pred: Vec<usize> = match &predictions {
        Some(p) => p.iter().map(|l| index_of(&canonical(l, numeric))).collect(),
        None if complete => probabilities
            .chunks_exact(k)
            .map(|row| {
                let mut best = 0;
                for (i, v) in row.iter().enumerate() {
                    if *v > row[best] {
                        best = i;
                    }
                }
                best
            })
            .collect(),
        None => bail!(
            "give --prediction-column, or one probability column per class headed by its label \
             (classes seen: {})",
            classes.join(", ")
        ),
    };
    let positive = match &args.positive_label {
        Some(p) => index_of(&canonical(p, numeric)),
        None => 1.min(k.saturating_sub(1)),
    };
    let score_values = match &args.score_column {
        Some(column) => {
            if k != 2 {
                bail!(
                    "--score-column needs exactly 2 classes; found {}: {}",
                    k,
                    classes.join(", ")
                );
            }
            Some(csv.numbers(csv.index(column, "--score-column")?)?)
        }
        None => None,
    };
    let scores = match (&score_values, complete) {
        (Some(s), _) => Scores::Positive(s),
        (None, true) => Scores::Probabilities(&probabilities),
        (None, false) => Scores::None,
    };
    let metrics = ingot_metrics::classification_metrics(&y_index, &y_pred, k, positive, scores)?;
    let matrix = ingot_metrics::confusion_matrix(&y_index, &y_pred, k)?;
    Ok(json!({
        "task": "classification",
        "rows": y.len(),
        "classes": classes,
        "positive_label": (k == 2).then(|| classes[positive].clone()),
        "scores": match scores {
            Scores::Positive(_) => "score column",
            Scores::Probabilities(_) => "probability columns",
            Scores::None => "none",
        },
        "metrics": metrics_object(&metrics),
        "confusion_matrix": matrix,
    }))
}

fn print_text(report: &Value) {
    let task = report["task"].as_str().unwrap_or_default();
    println!("task: {task} ({} rows)", report["rows"]);
    if let Some(positive) = report["positive_label"].as_str() {
        println!("positive label: {positive}");
    }
    if let Some(scores) = report["scores"].as_str() {
        println!("scores: {scores}");
    }
    let rows: Vec<Vec<String>> = report["metrics"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, value)| {
                    vec![
                        name.clone(),
                        format!("{:.6}", value.as_f64().unwrap_or(f64::NAN)),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print_table(&["metric", "value"], &rows);
    if let (Some(classes), Some(matrix)) = (
        report["classes"].as_array(),
        report["confusion_matrix"].as_array(),
    ) {
        println!("\nconfusion matrix (rows: true label, columns: predicted)");
        let names: Vec<String> = classes
            .iter()
            .map(|c| c.as_str().unwrap_or_default().to_string())
            .collect();
        let mut header = vec![""];
        header.extend(names.iter().map(String::as_str));
        let rows: Vec<Vec<String>> = names
            .iter()
            .zip(matrix)
            .map(|(name, counts)| {
                let mut row = vec![name.clone()];
                row.extend(
                    counts
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c.to_string()),
                );
                row
            })
            .collect();
        print_table(&header, &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(label: &str, prediction: Option<&str>) -> EvaluateArgs {
        EvaluateArgs {
            local: true,
            file: "x.csv".into(),
            label_column: label.to_string(),
            prediction_column: prediction.map(str::to_string),
            score_column: None,
            positive_label: None,
            task: None,
        }
    }

    #[test]
    fn infers_regression_and_classification() {
        let r = evaluate_csv(b"y,p\n1.5,1.0\n2.5,3.0\n", &args("y", Some("p"))).unwrap();
        assert_eq!(r["task"], "regression");
        assert_eq!(r["metrics"]["mae"], json!(0.5));
        let c = evaluate_csv(b"y,p\n1,1\n0,1\n1.0,0\n", &args("y", Some("p"))).unwrap();
        assert_eq!(c["task"], "classification");
        assert_eq!(c["classes"], json!(["0", "1"]));
        assert_eq!(c["confusion_matrix"], json!([[0, 1], [1, 1]]));
    }

    #[test]
    fn reads_probability_columns_without_a_prediction_column() {
        let csv = b"y,cat,dog,extra\ncat,0.9,0.1,5\ndog,0.2,0.8,6\ndog,0.6,0.4,7\n";
        let r = evaluate_csv(csv, &args("y", None)).unwrap();
        assert_eq!(r["scores"], "probability columns");
        assert_eq!(r["positive_label"], "dog");
        let accuracy = r["metrics"]["accuracy"].as_f64().unwrap();
        assert!((accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r["metrics"]["roc_auc"], json!(1.0));
    }

    #[test]
    fn errors_name_the_column_and_line() {
        let err = evaluate_csv(b"y,p\n1,1\n", &args("label", Some("p"))).unwrap_err();
        assert!(format!("{err:#}").contains("\"label\""), "{err:#}");
        let err = evaluate_csv(b"y,p\n1.5,2\n2.5,\n", &args("y", Some("p"))).unwrap_err();
        assert!(format!("{err:#}").contains("line 3"), "{err:#}");
        let mut a = args("y", Some("p"));
        a.task = Some(EvaluateTask::Regression);
        let err = evaluate_csv(b"y,p\n1.5,2\nabc,3\n", &a).unwrap_err();
        assert!(format!("{err:#}").contains("line 3") && format!("{err:#}").contains("abc"));
        let err = evaluate_csv(b"y,a\ncat,0.2\n", &args("y", None)).unwrap_err();
        assert!(
            format!("{err:#}").contains("--prediction-column"),
            "{err:#}"
        );
    }
}
