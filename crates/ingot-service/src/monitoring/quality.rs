//! Model quality: ground-truth uploads (CSV or JSON Lines with `event_id` and `label`),
//! joining labels with captured predictions by event id, the task's metrics from
//! `ingot-metrics`, and SageMaker-style threshold constraints
//! (`{"accuracy": {"threshold": 0.8, "comparison": "LessThanThreshold"}}`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::captured::Prediction;

/// Parses ground truth into `(event_id, label)` pairs. CSV needs a header naming `event_id`
/// and `label`; JSON Lines objects need both keys.
pub(crate) fn parse_ground_truth(
    body: &[u8],
    content_type: &str,
) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "ground truth is not UTF-8".to_string())?;
    let json_lines = content_type.contains("json")
        || text.trim_start().starts_with('{') && !content_type.contains("csv");
    let mut out = Vec::new();
    if json_lines {
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let value: Value = serde_json::from_str(line)
                .map_err(|e| format!("ground truth line {}: {e}", i + 1))?;
            let id = value["event_id"]
                .as_str()
                .ok_or_else(|| format!("ground truth line {}: no string \"event_id\"", i + 1))?;
            let label = match &value["label"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(format!("ground truth line {}: no \"label\"", i + 1)),
            };
            out.push((id.to_string(), label));
        }
    } else {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .ok_or("ground truth is empty")?
            .1
            .split(',')
            .map(|h| h.trim().trim_matches('"').to_string())
            .collect();
        let find = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                format!(
                    "ground truth CSV header has no {name:?} column (columns: {})",
                    header.join(", ")
                )
            })
        };
        let (id_at, label_at) = (find("event_id")?, find("label")?);
        for (i, line) in lines {
            let cells: Vec<&str> = line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let (Some(id), Some(label)) = (cells.get(id_at), cells.get(label_at)) else {
                return Err(format!(
                    "ground truth line {}: expected {} cells",
                    i + 1,
                    header.len()
                ));
            };
            out.push((id.to_string(), label.to_string()));
        }
    }
    if out.is_empty() {
        return Err("ground truth has no rows".to_string());
    }
    Ok(out)
}

fn same_label(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

/// The task's metrics over joined `(prediction, label)` rows, with the row counts used.
pub(crate) fn metrics(
    rows: &[(Prediction, String)],
    positive_label: Option<&str>,
) -> Result<Vec<(String, f64)>, String> {
    let Some((first, _)) = rows.first() else {
        return Err("no captured prediction has a label".to_string());
    };
    match first {
        Prediction::Score(_) => {
            let mut y_true = Vec::with_capacity(rows.len());
            let mut y_pred = Vec::with_capacity(rows.len());
            for (prediction, label) in rows {
                let Prediction::Score(score) = prediction else {
                    return Err("answers mix class probabilities and scores".to_string());
                };
                y_true.push(
                    label
                        .parse::<f64>()
                        .map_err(|_| format!("label {label:?} is not a number"))?,
                );
                y_pred.push(*score);
            }
            ingot_metrics::regression_metrics(&y_true, &y_pred).map_err(|e| e.to_string())
        }
        Prediction::Classes { probabilities, .. } => {
            let classes: Vec<String> = probabilities.iter().map(|p| p.0.clone()).collect();
            let mut y_true = Vec::with_capacity(rows.len());
            let mut y_pred = Vec::with_capacity(rows.len());
            let mut scores = Vec::with_capacity(rows.len() * classes.len());
            for (prediction, label) in rows {
                let Prediction::Classes {
                    label: predicted,
                    probabilities,
                } = prediction
                else {
                    return Err("answers mix class probabilities and scores".to_string());
                };
                if probabilities.len() != classes.len()
                    || probabilities.iter().zip(&classes).any(|(p, c)| &p.0 != c)
                {
                    return Err("answers have different class lists".to_string());
                }
                let class_of = |l: &str| classes.iter().position(|c| same_label(c, l));
                let truth = class_of(label).ok_or_else(|| {
                    format!(
                        "label {label:?} is not a class of the model ({})",
                        classes.join(", ")
                    )
                })?;
                y_true.push(truth);
                y_pred.push(class_of(predicted).unwrap_or(0));
                scores.extend(probabilities.iter().map(|p| p.1));
            }
            let positive = match positive_label {
                Some(p) => classes
                    .iter()
                    .position(|c| same_label(c, p))
                    .ok_or_else(|| format!("positive_label {p:?} is not a class"))?,
                None => classes.len().saturating_sub(1).min(1),
            };
            ingot_metrics::classification_metrics(
                &y_true,
                &y_pred,
                classes.len(),
                positive,
                ingot_metrics::Scores::Probabilities(&scores),
            )
            .map_err(|e| e.to_string())
        }
    }
}

/// One metric threshold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Threshold {
    pub metric: String,
    pub threshold: f64,
    pub comparison: String,
}

const COMPARISONS: [&str; 4] = [
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
];

/// Parses model-quality constraints: a map of metric → `{threshold, comparison}` (also
/// SageMaker's `comparison_operator` and a `*_constraints` wrapper object).
pub(crate) fn parse_thresholds(value: &Value) -> Result<Vec<Threshold>, String> {
    let mut map = value
        .as_object()
        .ok_or("model-quality constraints must be a JSON object")?;
    if let Some(inner) = map
        .iter()
        .find(|(k, v)| k.ends_with("_constraints") && v.is_object())
        .and_then(|(_, v)| v.as_object())
    {
        map = inner;
    }
    let mut out = Vec::new();
    for (metric, spec) in map {
        if metric == "version" {
            continue;
        }
        let threshold = spec["threshold"]
            .as_f64()
            .ok_or_else(|| format!("constraint {metric:?} has no numeric \"threshold\""))?;
        let comparison = spec["comparison"]
            .as_str()
            .or_else(|| spec["comparison_operator"].as_str())
            .unwrap_or("LessThanThreshold");
        if !COMPARISONS.contains(&comparison) {
            return Err(format!(
                "constraint {metric:?}: comparison {comparison:?} is not one of {}",
                COMPARISONS.join(", ")
            ));
        }
        let metric = match metric.as_str() {
            "auc" => "roc_auc".to_string(),
            other => other.to_string(),
        };
        out.push(Threshold {
            metric,
            threshold,
            comparison: comparison.to_string(),
        });
    }
    Ok(out)
}

/// The violations of `metrics` against `thresholds`, as `constraint_violations.json` entries.
pub(crate) fn violations(metrics: &[(String, f64)], thresholds: &[Threshold]) -> Vec<Value> {
    let by_name: BTreeMap<&str, f64> = metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut out = Vec::new();
    for t in thresholds {
        let Some(&value) = by_name.get(t.metric.as_str()) else {
            out.push(json!({
                "metric_name": t.metric,
                "constraint_check_type": "MissingMetric",
                "description": format!("Metric {} could not be computed on this window", t.metric),
            }));
            continue;
        };
        let violated = match t.comparison.as_str() {
            "LessThanThreshold" => value < t.threshold,
            "LessThanOrEqualToThreshold" => value <= t.threshold,
            "GreaterThanThreshold" => value > t.threshold,
            _ => value >= t.threshold,
        };
        if violated {
            out.push(json!({
                "metric_name": t.metric,
                "constraint_check_type": t.comparison,
                "description": format!(
                    "Metric {} with {value} was {} {}",
                    t.metric, t.comparison, t.threshold
                ),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(label: &str, yes: f64) -> Prediction {
        Prediction::Classes {
            label: label.to_string(),
            probabilities: vec![("no".into(), 1.0 - yes), ("yes".into(), yes)],
        }
    }

    #[test]
    fn ground_truth_reads_csv_and_json_lines() {
        let csv = parse_ground_truth(b"label,event_id\nyes,e1\n\"no\",e2\n", "text/csv").unwrap();
        assert_eq!(
            csv,
            [("e1".into(), "yes".into()), ("e2".into(), "no".into())]
        );
        let lines = parse_ground_truth(
            b"{\"event_id\": \"e1\", \"label\": 1}\n{\"event_id\": \"e2\", \"label\": \"b\"}\n",
            "application/jsonlines",
        )
        .unwrap();
        assert_eq!(
            lines,
            [("e1".into(), "1".into()), ("e2".into(), "b".into())]
        );
        let err = parse_ground_truth(b"id,label\nx,1\n", "text/csv").unwrap_err();
        assert!(err.contains("event_id"), "{err}");
        assert!(parse_ground_truth(b"{\"label\": 1}\n", "application/jsonlines").is_err());
        assert!(parse_ground_truth(b"event_id,label\n", "text/csv").is_err());
    }

    #[test]
    fn classification_metrics_follow_the_labels() {
        // 3 of 4 right; hand-computed accuracy 0.75; the positive class is "yes".
        let rows = vec![
            (classes("yes", 0.9), "yes".to_string()),
            (classes("no", 0.2), "no".to_string()),
            (classes("yes", 0.6), "no".to_string()),
            (classes("no", 0.3), "no".to_string()),
        ];
        let m: BTreeMap<String, f64> = metrics(&rows, None).unwrap().into_iter().collect();
        assert_eq!(m["accuracy"], 0.75);
        // One true positive, one false positive: precision 1/2, recall 1/1.
        assert_eq!(m["precision"], 0.5);
        assert_eq!(m["recall"], 1.0);
        assert!(m.contains_key("roc_auc") && m.contains_key("log_loss"));
        let err = metrics(&[(classes("yes", 0.9), "maybe".to_string())], None).unwrap_err();
        assert!(err.contains("maybe"), "{err}");
    }

    #[test]
    fn regression_metrics_and_numeric_labels() {
        let rows = vec![
            (Prediction::Score(1.0), "2".to_string()),
            (Prediction::Score(3.0), "3".to_string()),
        ];
        let m: BTreeMap<String, f64> = metrics(&rows, None).unwrap().into_iter().collect();
        assert_eq!(m["mae"], 0.5);
        assert_eq!(m["rmse"], 0.5f64.sqrt());
        assert!(metrics(&[(Prediction::Score(1.0), "x".into())], None).is_err());
        assert!(same_label("1", "1.0") && !same_label("1", "2"));
    }

    #[test]
    fn thresholds_raise_violations_by_comparison() {
        let thresholds = parse_thresholds(&json!({
            "accuracy": {"threshold": 0.8, "comparison": "LessThanThreshold"},
            "auc": {"threshold": 0.5},
            "rmse": {"threshold": 1.0, "comparison_operator": "GreaterThanThreshold"},
        }))
        .unwrap();
        assert_eq!(thresholds.len(), 3);
        let metrics = vec![
            ("accuracy".to_string(), 0.75),
            ("roc_auc".to_string(), 0.9),
            ("rmse".to_string(), 1.0),
        ];
        let v = violations(&metrics, &thresholds);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["metric_name"], "accuracy");
        // SageMaker's wrapped form, and a metric this window cannot compute.
        let wrapped = parse_thresholds(&json!({"version": 0.0,
            "binary_classification_constraints": {"f1": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"}}}))
        .unwrap();
        assert_eq!(wrapped[0].metric, "f1");
        assert_eq!(
            violations(&metrics, &wrapped)[0]["constraint_check_type"],
            "MissingMetric"
        );
        assert!(
            parse_thresholds(&json!({"accuracy": {"threshold": 0.5, "comparison": "Below"}}))
                .is_err()
        );
        assert!(parse_thresholds(&json!({"accuracy": {}})).is_err());
    }
}
