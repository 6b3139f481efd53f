//! Validation metrics of predictions against a known target, by task.

use ingot_core::Metrics;

use crate::{Predictions, Target};

/// Validation metrics of `predictions` against `target`. Classification: `accuracy`, `auc`
/// (ROC AUC of `classes[1]` for two classes, one-vs-rest macro otherwise), `log_loss`, `f1`
/// (of `classes[1]` for two classes, macro otherwise). Regression: `rmse`, `mae`, `r2`.
/// Unsupervised: `inertia` and `mean_squared_distance` for clustering, `score_mean` and
/// `anomaly_rate` for anomaly scores.
/// Metrics that are undefined (e.g. AUC with a single class present) are left out.
pub fn evaluate(target: &Target, predictions: &Predictions) -> Metrics {
    let mut metrics = Metrics::default();
    let mut put = |name: &str, value: Option<f64>| {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            metrics.insert(name, v);
        }
    };
    match (target, predictions) {
        (Target::Regression(y), Predictions::Regression { values }) => {
            put("rmse", ingot_metrics::rmse(y, values).ok());
            put("mae", ingot_metrics::mae(y, values).ok());
            put("r2", ingot_metrics::r2(y, values).ok());
        }
        (
            Target::Classification { classes, labels },
            Predictions::Classification { probabilities, .. },
        ) => {
            let k = classes.len();
            let predicted = predictions.predicted_indices().unwrap_or_default();
            put("accuracy", ingot_metrics::accuracy(labels, &predicted).ok());
            put(
                "log_loss",
                ingot_metrics::log_loss(labels, probabilities, k).ok(),
            );
            if k == 2 {
                let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                let scores: Vec<f64> = probabilities.chunks_exact(2).map(|r| r[1]).collect();
                put(
                    "auc",
                    ingot_metrics::roc_auc(&positive, &scores).ok().flatten(),
                );
                put("f1", ingot_metrics::f1(labels, &predicted, 1).ok());
            } else {
                let auc = ingot_metrics::roc_auc_ovr_macro(labels, probabilities, k);
                put("auc", auc.ok().flatten());
                put("f1", ingot_metrics::f1_macro(labels, &predicted).ok());
            }
        }
        (
            Target::Unsupervised { .. },
            Predictions::Clustering {
                clusters,
                k,
                distances,
            },
        ) => {
            let inertia: f64 = clusters
                .iter()
                .zip(distances.chunks_exact((*k).max(1)))
                .map(|(&c, row)| row.get(c).map_or(0.0, |d| d * d))
                .sum();
            put("inertia", Some(inertia));
            let n = clusters.len().max(1) as f64;
            put("mean_squared_distance", Some(inertia / n));
        }
        (Target::Unsupervised { .. }, Predictions::Anomaly { scores, threshold }) => {
            let n = scores.len();
            if n > 0 {
                let mean = scores.iter().sum::<f64>() / n as f64;
                let flagged = scores.iter().filter(|s| **s > *threshold).count();
                put("score_mean", Some(mean));
                put("anomaly_rate", Some(flagged as f64 / n as f64));
            }
        }
        _ => {}
    }
    metrics
}
