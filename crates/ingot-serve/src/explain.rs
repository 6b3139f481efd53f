//! Explanations on the serving path (`?explain=true`, OIP `parameters.explain`), rendered as
//! one JSON object per row:
//!
//! ```json
//! {"base_values": {"<output>": 0.1}, "shap_values": {"<output>": {"<feature>": 0.3, ...}}}
//! ```
//!
//! * Tree models (Ingot GBDT, random forest, imported XGBoost and LightGBM) served alone get
//!   exact TreeSHAP attributions of their raw scores: the positive class's margin (its logit)
//!   for a binary classifier, one per class for multiclass, `value` for regression; for every
//!   row and output `base + Σ shap = margin`.
//! * Other models (linear learner, ONNX, k-NN, ...) and pipelines get KernelSHAP of their
//!   outputs (class probabilities, values, scores) when the endpoint configures a background
//!   (`EndpointConfig.explain`: rows sampled from a stored dataset when the replica starts);
//!   `base + Σ shap` is then the returned output. Without one they are refused with a 400
//!   that says how to get explanations.

use arrow_array::RecordBatch;
use ingot_catalog::Predictions;
use ingot_explain::shap::{sample_indices, tabular, KernelShapConfig};
use serde_json::{json, Map, Value};

use crate::replica::ExplainBackground;
use crate::served::Served;
use crate::{Error, Result};

/// KernelSHAP's background rows, conformed to the served input schema, and its settings.
#[derive(Debug, Clone)]
pub struct KernelBackground {
    rows: RecordBatch,
    config: KernelShapConfig,
}

impl KernelBackground {
    /// Samples the background from a dataset file (CPU work: call from a blocking context).
    pub fn load(spec: &ExplainBackground, bytes: &[u8], served: &Served) -> Result<Self> {
        let bad = |e: String| Error::BadConfig(format!("explanation background: {e}"));
        let format: ingot_data::DataFormat =
            spec.format.parse().map_err(|e| bad(format!("{e}")))?;
        let table = ingot_data::read_table(bytes, format).map_err(|e| bad(e.to_string()))?;
        let conformed = ingot_data::conform_batch(&table.batch, served.input_schema())
            .map_err(|e| bad(format!("the dataset does not fit the model's input: {e}")))?;
        if conformed.num_rows() == 0 {
            return Err(bad("the dataset has no rows".into()));
        }
        let picked = sample_indices(conformed.num_rows(), spec.rows.max(1), spec.seed);
        Ok(KernelBackground {
            rows: ingot_data::take_rows(&conformed, &picked).map_err(|e| bad(e.to_string()))?,
            config: KernelShapConfig {
                nsamples: spec.nsamples,
                seed: spec.seed,
            },
        })
    }
}

/// A model output matrix for KernelSHAP with its output names.
fn outputs(predictions: Predictions) -> std::result::Result<(Vec<f64>, Vec<String>), String> {
    match predictions {
        Predictions::Classification {
            classes,
            probabilities,
        } => Ok((probabilities, classes)),
        Predictions::Regression { values } => Ok((values, vec!["score".to_string()])),
        Predictions::Anomaly { scores, .. } => Ok((scores, vec!["score".to_string()])),
        Predictions::Projection { components, values } => Ok((
            values,
            (0..components).map(|c| format!("component_{c}")).collect(),
        )),
        Predictions::Clustering { .. } => {
            Err("cluster assignments cannot be explained".to_string())
        }
    }
}

/// KernelSHAP of the whole served pipeline's outputs.
fn kernel(
    served: &Served,
    batch: &RecordBatch,
    background: &KernelBackground,
) -> Result<Vec<Value>> {
    let conformed = ingot_data::conform_batch(batch, served.input_schema())?;
    let first = served.predict(&ingot_data::take_rows(&conformed, &[0])?)?;
    let (_, names) = outputs(first).map_err(Error::BadBody)?;
    let predict = |rows: &RecordBatch| -> std::result::Result<Vec<f64>, String> {
        outputs(served.predict(rows).map_err(|e| e.to_string())?).map(|(values, _)| values)
    };
    let e = tabular::explain_batch(predict, &conformed, &background.rows, &background.config)
        .map_err(|e| Error::BadBody(format!("explanation: {e}")))?;
    let features: Vec<&str> = served
        .input_schema()
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    Ok((0..e.rows)
        .map(|r| {
            let mut base = Map::new();
            let mut shap = Map::new();
            for (k, output) in names.iter().enumerate() {
                base.insert(output.clone(), json!(e.expected_value[k]));
                let values: Map<String, Value> = features
                    .iter()
                    .enumerate()
                    .map(|(f, name)| (name.to_string(), json!(e.value(r, f, k))))
                    .collect();
                shap.insert(output.clone(), Value::Object(values));
            }
            json!({"base_values": base, "shap_values": shap})
        })
        .collect())
}

/// Per-row explanations of a decoded batch, or why the served pipeline cannot give them.
pub fn explanations(
    served: &Served,
    batch: &RecordBatch,
    background: Option<&KernelBackground>,
) -> Result<Vec<Value>> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let loaded = served.last();
    let exact = if served.steps() == 1 {
        let conformed = ingot_data::conform_batch(batch, &loaded.manifest.input_schema)?;
        loaded.estimator().shap_values(&conformed)
    } else {
        None
    };
    let attributions = match (exact, background) {
        (Some(result), _) => result.map_err(|e| Error::BadBody(format!("explanation: {e}")))?,
        (None, Some(background)) => return kernel(served, batch, background),
        (None, None) => {
            let what = if served.steps() > 1 {
                "inference pipelines".to_string()
            } else {
                format!("{} models", loaded.manifest.algorithm)
            };
            return Err(Error::BadBody(format!(
                "explanations for {what} need a background: tree models (gbdt, random-forest, \
                 xgboost, lightgbm) are explained exactly with TreeSHAP; for others, configure \
                 the endpoint's KernelSHAP background (\"explain\": {{\"background_dataset\": \
                 ...}} in its configuration) or explain offline through POST \
                 /api/v1/clarify/explain (ingot clarify explain --model NAME[:VERSION] \
                 --dataset D)"
            )));
        }
    };
    let (features, outputs) = (&attributions.features, &attributions.outputs);
    Ok((0..attributions.rows())
        .map(|r| {
            let mut base = Map::new();
            let mut shap = Map::new();
            for (k, output) in outputs.iter().enumerate() {
                base.insert(output.clone(), json!(attributions.base_values[k]));
                let values: Map<String, Value> = features
                    .iter()
                    .enumerate()
                    .map(|(f, name)| (name.clone(), json!(attributions.value(r, k, f))))
                    .collect();
                shap.insert(output.clone(), Value::Object(values));
            }
            json!({"base_values": base, "shap_values": shap})
        })
        .collect())
}
