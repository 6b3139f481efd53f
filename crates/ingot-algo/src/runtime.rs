//! The contract of imported-model runtimes: models trained elsewhere (XGBoost JSON, LightGBM
//! text, ONNX) that Ingot stores, serves and explains but never fits.

use ingot_core::{Schema, Task};
use ingot_model_format::{FeatureImportance, Manifest};

use crate::{Estimator, Result};

/// What the user tells an import beyond the model file itself.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The input columns, in the model's feature order. When absent, the runtime derives them
    /// from the model (feature names in the file, or `f0..fN-1` as all-float columns).
    pub schema: Option<Schema>,
    /// Class labels in the model's output order (classification only). When absent, the
    /// runtime uses the labels in the file, or `0..k-1`.
    pub classes: Option<Vec<String>>,
}

/// What a runtime learned from a model file: the manifest fields it can fill and the payload
/// Ingot stores (usually the original bytes, so the model can be exported unchanged).
#[derive(Debug, Clone)]
pub struct Imported {
    /// What the model predicts.
    pub task: Task,
    /// The input columns in feature order.
    pub input_schema: Schema,
    /// Class labels in probability-column order (classification only).
    pub classes: Option<Vec<String>>,
    /// Facts read from the file (objective, tree count, opset, ...), shown by `model show`.
    pub resolved_parameters: serde_json::Value,
    /// Per-feature importance when the model format has one (trees).
    pub feature_importance: Option<Vec<FeatureImportance>>,
    /// The bytes to store as the model payload; `load` receives them back.
    pub payload: Vec<u8>,
}

/// A runtime for one external model format.
pub trait ImportedRuntime: Send + Sync {
    /// Stable name, also the manifest's `algorithm` and `--format` value: `xgboost`,
    /// `lightgbm`, `onnx`.
    fn name(&self) -> &'static str;
    /// One line for `ingot algorithms` / help text.
    fn description(&self) -> &'static str;
    /// Version of the payload encoding written by `import`.
    fn version(&self) -> u32 {
        1
    }
    /// Parses and validates a model file as saved by its library. Errors name what is wrong
    /// (unsupported objective, operator, shape, schema mismatch).
    fn import(&self, bytes: &[u8], options: &ImportOptions) -> Result<Imported>;
    /// Revives the model from a manifest and the payload `import` returned. The estimator's
    /// `predict` receives batches already conformed to `manifest.input_schema`.
    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>>;
}
