//! ONNX models (as exported by skl2onnx) served through tract, as the `onnx` imported-model
//! runtime.
//!
//! * [`proto`]: decoding the protobuf, attributes, constant tensors, declared types.
//! * [`graph`]: which inputs become schema columns, which output holds the predictions
//!   (ZipMap is cut off), class labels, and the nodes that output needs.
//! * [`lower`]: ai.onnx.ml operators rewritten into standard ONNX operators for tract.
//! * [`tree`]: native TreeEnsembleRegressor / TreeEnsembleClassifier evaluation.
//! * `engine`: the tract plan (optimized once at load, symbolic batch size), the trees, or a
//!   tract plan feeding the trees.
//!
//! Pure: the model arrives as bytes, no file or network is touched (external tensor data is
//! refused).

mod engine;
mod error;
mod estimator;
pub mod graph;
pub mod lower;
pub mod proto;
pub mod tree;

#[cfg(test)]
mod tests;

use ingot_algo::{Estimator, ImportOptions, Imported, ImportedRuntime};
use ingot_core::{Schema, Task};
use ingot_model_format::Manifest;
use serde_json::Value;

pub use error::{Error, Result};
pub use estimator::OnnxEstimator;

/// The `onnx` runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnnxRuntime;

fn open(bytes: &[u8], options: &ImportOptions) -> Result<(OnnxEstimator, Task, Schema)> {
    from_model(&proto::decode(bytes)?, bytes.to_vec(), options)
}

/// Analyses a decoded model and builds its engine; `payload` is what the estimator stores.
fn from_model(
    model: &tract_onnx::pb::ModelProto,
    payload: Vec<u8>,
    options: &ImportOptions,
) -> Result<(OnnxEstimator, Task, Schema)> {
    let analysis = graph::analyze(model, options)?;
    let (engine, engine_facts) = engine::build(model, &analysis)?;
    let mut facts = analysis.facts;
    if let (Value::Object(facts), Value::Object(extra)) = (&mut facts, engine_facts) {
        facts.extend(extra);
    }
    let task = match &analysis.classes {
        None => Task::Regression,
        Some(classes) if classes.len() == 2 => Task::BinaryClassification,
        Some(_) => Task::MulticlassClassification,
    };
    let schema = analysis.schema;
    let estimator = OnnxEstimator {
        inputs: analysis.inputs,
        classes: analysis.classes,
        engine,
        facts,
        payload,
    };
    Ok((estimator, task, schema))
}

impl ImportedRuntime for OnnxRuntime {
    fn name(&self) -> &'static str {
        "onnx"
    }

    fn description(&self) -> &'static str {
        "ONNX models (e.g. scikit-learn through skl2onnx) run by tract; tree ensembles natively"
    }

    fn import(&self, bytes: &[u8], options: &ImportOptions) -> ingot_algo::Result<Imported> {
        let (estimator, task, input_schema) = open(bytes, options)?;
        Ok(Imported {
            task,
            input_schema,
            classes: estimator.classes.clone(),
            resolved_parameters: estimator.facts.clone(),
            feature_importance: None,
            payload: estimator.payload,
        })
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> ingot_algo::Result<Box<dyn Estimator>> {
        let options = ImportOptions {
            schema: Some(manifest.input_schema.clone()),
            classes: manifest.classes.clone(),
        };
        let (estimator, _, _) = open(payload, &options)?;
        Ok(Box::new(estimator))
    }
}
