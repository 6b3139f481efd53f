//! Model outputs and their CSV / JSON / JSON Lines renderings.

use serde_json::{json, Map, Value};

/// What a model predicts for a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// One real value per row.
    Regression { values: Vec<f64> },
    /// Class probabilities, row-major `n × classes.len()`.
    Classification {
        classes: Vec<String>,
        probabilities: Vec<f64>,
    },
    /// Clustering: each row's nearest cluster and its distances to all `k` centroids
    /// (row-major `n × k`).
    Clustering {
        k: usize,
        clusters: Vec<usize>,
        distances: Vec<f64>,
    },
    /// Dimensionality reduction: each row's coordinates on the leading `components`
    /// principal components (row-major `n × components`).
    Projection { components: usize, values: Vec<f64> },
    /// Anomaly detection: one score per row; a row is an anomaly when its score exceeds
    /// `threshold`.
    Anomaly { scores: Vec<f64>, threshold: f64 },
}

impl Predictions {
    /// A supervised estimator's output matrix: regression values when `classes` is `None`,
    /// otherwise row-major class probabilities (`n × classes.len()`).
    pub fn supervised(classes: Option<&[String]>, values: Vec<f64>) -> Predictions {
        match classes {
            None => Predictions::Regression { values },
            Some(classes) => Predictions::Classification {
                classes: classes.to_vec(),
                probabilities: values,
            },
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Predictions::Regression { values } => values.len(),
            Predictions::Classification {
                classes,
                probabilities,
            } => probabilities.len().checked_div(classes.len()).unwrap_or(0),
            Predictions::Clustering { clusters, .. } => clusters.len(),
            Predictions::Projection { components, values } => {
                values.len().checked_div(*components).unwrap_or(0)
            }
            Predictions::Anomaly { scores, .. } => scores.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the most probable class of each row (first one on ties); `None` for regression.
    pub fn predicted_indices(&self) -> Option<Vec<usize>> {
        match self {
            Predictions::Regression { .. }
            | Predictions::Clustering { .. }
            | Predictions::Projection { .. }
            | Predictions::Anomaly { .. } => None,
            Predictions::Classification {
                classes,
                probabilities,
            } => {
                if classes.is_empty() {
                    return Some(Vec::new());
                }
                let argmax = |row: &[f64]| {
                    let mut best = 0;
                    for (i, p) in row.iter().enumerate() {
                        if *p > row[best] || row[best].is_nan() {
                            best = i;
                        }
                    }
                    best
                };
                Some(
                    probabilities
                        .chunks_exact(classes.len())
                        .map(argmax)
                        .collect(),
                )
            }
        }
    }

    /// The most probable class label of each row; `None` for regression.
    pub fn predicted_labels(&self) -> Option<Vec<&str>> {
        let Predictions::Classification { classes, .. } = self else {
            return None;
        };
        let indices = self.predicted_indices()?;
        Some(indices.into_iter().map(|i| classes[i].as_str()).collect())
    }

    /// CSV with a header row. Classification: one probability column per class, headed by the
    /// class label; regression: a single `prediction` column; clustering: `cluster` then
    /// `distance_0…distance_{k-1}`; projection: `component_0…`; anomaly: `score,anomaly`.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        match self {
            Predictions::Regression { values } => {
                out.push_str("prediction\n");
                for v in values {
                    push_csv_row(&mut out, std::slice::from_ref(v));
                }
            }
            Predictions::Classification {
                classes,
                probabilities,
            } => {
                let header: Vec<String> = classes.iter().map(|c| csv_field(c)).collect();
                out.push_str(&header.join(","));
                out.push('\n');
                if !classes.is_empty() {
                    out.reserve(probabilities.len() * 20);
                    for row in probabilities.chunks_exact(classes.len()) {
                        push_csv_row(&mut out, row);
                    }
                }
            }
            Predictions::Clustering {
                k,
                clusters,
                distances,
            } => {
                let mut header = vec!["cluster".to_string()];
                header.extend((0..*k).map(|j| format!("distance_{j}")));
                out.push_str(&header.join(","));
                out.push('\n');
                for (cluster, row) in clusters.iter().zip(distances.chunks_exact((*k).max(1))) {
                    out.push_str(&cluster.to_string());
                    for d in row {
                        out.push(',');
                        out.push_str(&d.to_string());
                    }
                    out.push('\n');
                }
            }
            Predictions::Projection { components, values } => {
                let header: Vec<String> =
                    (0..*components).map(|j| format!("component_{j}")).collect();
                out.push_str(&header.join(","));
                out.push('\n');
                if *components > 0 {
                    for row in values.chunks_exact(*components) {
                        push_csv_row(&mut out, row);
                    }
                }
            }
            Predictions::Anomaly { scores, threshold } => {
                out.push_str("score,anomaly\n");
                for s in scores {
                    out.push_str(&format!("{s},{}\n", *s > *threshold));
                }
            }
        }
        out
    }

    /// `{"predictions": [...]}` with one object per row (see [`Predictions::to_json_lines`]).
    pub fn to_json(&self) -> Value {
        json!({ "predictions": self.row_objects() })
    }

    /// One JSON object per line: `{"predicted_label": "1", "probabilities": {"0": 0.2, "1": 0.8}}`
    /// for classification, `{"score": 3.2}` for regression, `{"cluster": 1, "distance": 0.5,
    /// "distances": [2.1, 0.5]}` for clustering, `{"components": [0.3, -1.2]}` for a
    /// projection, `{"score": 4.1, "anomaly": false}` for anomaly detection.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for row in self.row_objects() {
            out.push_str(&row.to_string());
            out.push('\n');
        }
        out
    }

    fn row_objects(&self) -> Vec<Value> {
        match self {
            Predictions::Regression { values } => {
                values.iter().map(|v| json!({ "score": v })).collect()
            }
            Predictions::Classification {
                classes,
                probabilities,
            } => {
                let labels = self.predicted_labels().unwrap_or_default();
                if classes.is_empty() {
                    return Vec::new();
                }
                probabilities
                    .chunks_exact(classes.len())
                    .zip(labels)
                    .map(|(row, label)| {
                        let probs: Map<String, Value> = classes
                            .iter()
                            .cloned()
                            .zip(row.iter().map(|p| json!(p)))
                            .collect();
                        json!({ "predicted_label": label, "probabilities": probs })
                    })
                    .collect()
            }
            Predictions::Clustering {
                k,
                clusters,
                distances,
            } => clusters
                .iter()
                .zip(distances.chunks_exact((*k).max(1)))
                .map(|(&cluster, row)| {
                    let distance = row.get(cluster).copied().unwrap_or(f64::NAN);
                    json!({ "cluster": cluster, "distance": distance, "distances": row })
                })
                .collect(),
            Predictions::Projection { components, values } => {
                if *components == 0 {
                    return Vec::new();
                }
                values
                    .chunks_exact(*components)
                    .map(|row| json!({ "components": row }))
                    .collect()
            }
            Predictions::Anomaly { scores, threshold } => scores
                .iter()
                .map(|s| json!({ "score": s, "anomaly": *s > *threshold }))
                .collect(),
        }
    }
}

/// Quotes a CSV field when it contains a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Appends one CSV row of numbers, each in `f64`'s `Display` form (what `to_string` gives),
/// without a string per value.
fn push_csv_row(out: &mut String, values: &[f64]) {
    use std::fmt::Write;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{v}");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classification() -> Predictions {
        Predictions::Classification {
            classes: vec!["0".into(), "1".into()],
            probabilities: vec![0.2, 0.8, 0.75, 0.25],
        }
    }

    #[test]
    fn labels_are_argmax() {
        let p = classification();
        assert_eq!(p.len(), 2);
        assert_eq!(p.predicted_labels().unwrap(), vec!["1", "0"]);
        let r = Predictions::Regression { values: vec![1.5] };
        assert!(r.predicted_labels().is_none());
        assert!(!r.is_empty());
    }

    #[test]
    fn csv_rows_render_numbers_as_to_string_does() {
        let values = [
            0.1,
            -0.0,
            3.0,
            1e-7,
            1e21,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            0.30000000000000004,
            -123456.789,
        ];
        let mut out = String::new();
        push_csv_row(&mut out, &values);
        let want: Vec<String> = values.iter().map(f64::to_string).collect();
        assert_eq!(out, format!("{}\n", want.join(",")));
        let mut empty = String::new();
        push_csv_row(&mut empty, &[]);
        assert_eq!(empty, "\n");
    }

    #[test]
    fn csv_rendering() {
        assert_eq!(classification().to_csv(), "0,1\n0.2,0.8\n0.75,0.25\n");
        let r = Predictions::Regression {
            values: vec![3.0, 0.1, -2.5e-7],
        };
        assert_eq!(r.to_csv(), "prediction\n3\n0.1\n-0.00000025\n");
        let quoted = Predictions::Classification {
            classes: vec!["a,b".into(), "say \"hi\"".into()],
            probabilities: vec![0.5, 0.5],
        };
        assert_eq!(quoted.to_csv(), "\"a,b\",\"say \"\"hi\"\"\"\n0.5,0.5\n");
    }

    #[test]
    fn json_rendering() {
        let v = classification().to_json();
        assert_eq!(
            v,
            json!({"predictions": [
                {"predicted_label": "1", "probabilities": {"0": 0.2, "1": 0.8}},
                {"predicted_label": "0", "probabilities": {"0": 0.75, "1": 0.25}},
            ]})
        );
        let r = Predictions::Regression {
            values: vec![3.2, 1.0],
        };
        assert_eq!(
            r.to_json(),
            json!({"predictions": [{"score": 3.2}, {"score": 1.0}]})
        );
        assert_eq!(r.to_json_lines(), "{\"score\":3.2}\n{\"score\":1.0}\n");
    }

    #[test]
    fn unsupervised_renderings() {
        let c = Predictions::Clustering {
            k: 2,
            clusters: vec![1, 0],
            distances: vec![2.5, 0.5, 0.25, 3.0],
        };
        assert_eq!(c.len(), 2);
        assert!(c.predicted_labels().is_none());
        assert_eq!(
            c.to_csv(),
            "cluster,distance_0,distance_1\n1,2.5,0.5\n0,0.25,3\n"
        );
        assert_eq!(
            c.to_json(),
            json!({"predictions": [
                {"cluster": 1, "distance": 0.5, "distances": [2.5, 0.5]},
                {"cluster": 0, "distance": 0.25, "distances": [0.25, 3.0]},
            ]})
        );
        let p = Predictions::Projection {
            components: 2,
            values: vec![1.0, -2.0, 0.5, 0.0],
        };
        assert_eq!(p.len(), 2);
        assert_eq!(p.to_csv(), "component_0,component_1\n1,-2\n0.5,0\n");
        assert_eq!(
            p.to_json_lines(),
            "{\"components\":[1.0,-2.0]}\n{\"components\":[0.5,0.0]}\n"
        );
        let a = Predictions::Anomaly {
            scores: vec![1.0, 9.0],
            threshold: 4.0,
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a.to_csv(), "score,anomaly\n1,false\n9,true\n");
        assert_eq!(
            a.to_json(),
            json!({"predictions": [
                {"score": 1.0, "anomaly": false},
                {"score": 9.0, "anomaly": true},
            ]})
        );
    }
}
