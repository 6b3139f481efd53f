//! Imported tree ensembles: XGBoost JSON and LightGBM text models rebuilt as `ingot-gbdt`
//! trees, scored by the shared ensemble code and explained by its exact TreeSHAP.
//!
//! * [`xgboost`]: the XGBoost JSON schema (gbtree / dart, float32 thresholds made exact).
//! * [`lightgbm`]: the LightGBM text format (missing types, categorical bitsets).
//! * [`model`]: the common estimator (link per objective, predictions, SHAP, importance).
//!
//! Both runtimes store the original file as the payload and parse it again on `load`, so a
//! model can be exported byte for byte. Inputs are one numeric column per model feature
//! (categorical features as integer codes); nulls and non-finite values are missing (NaN).

pub mod float32;
pub mod lightgbm;
pub mod model;
pub mod ubjson;
pub mod xgboost;

use ingot_algo::{Error, Estimator, ImportOptions, Imported, ImportedRuntime, Result};
use ingot_model_format::Manifest;

pub use model::{ImportedModel, Link, TreeEnsemble};

/// The `xgboost` runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct XgboostRuntime;

/// The `lightgbm` runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct LightgbmRuntime;

/// The two runtimes, for registration in the catalogue.
pub static XGBOOST: XgboostRuntime = XgboostRuntime;
/// See [`XGBOOST`].
pub static LIGHTGBM: LightgbmRuntime = LightgbmRuntime;

/// Imports a parsed ensemble: schema, classes, importance, payload, checked by building the
/// model once.
fn import(
    format: &'static str,
    ensemble: TreeEnsemble,
    bytes: &[u8],
    options: &ImportOptions,
) -> Result<Imported> {
    let schema = options
        .schema
        .clone()
        .unwrap_or_else(|| ensemble.default_schema());
    let task = ensemble.task;
    let model = ImportedModel::new(
        format,
        ensemble,
        &schema,
        options.classes.as_deref(),
        Vec::new(),
    )?;
    Ok(Imported {
        task,
        input_schema: schema,
        classes: model.classes().map(<[String]>::to_vec),
        resolved_parameters: model.ensemble().resolved.clone(),
        feature_importance: Some(model.importance()),
        payload: bytes.to_vec(),
    })
}

/// Revives a model from the original file and the manifest's schema and classes.
fn load(
    format: &'static str,
    ensemble: TreeEnsemble,
    manifest: &Manifest,
    payload: &[u8],
) -> Result<Box<dyn Estimator>> {
    if manifest.task != ensemble.task {
        return Err(Error::InvalidPayload {
            algorithm: format,
            reason: format!(
                "manifest task {} but the model file is {}",
                manifest.task.as_str(),
                ensemble.task.as_str()
            ),
        });
    }
    Ok(Box::new(ImportedModel::new(
        format,
        ensemble,
        &manifest.input_schema,
        manifest.classes.as_deref(),
        payload.to_vec(),
    )?))
}

impl ImportedRuntime for XgboostRuntime {
    fn name(&self) -> &'static str {
        xgboost::FORMAT
    }

    fn description(&self) -> &'static str {
        "XGBoost JSON or UBJSON model (gbtree or dart; regression, binary, count and multiclass objectives)"
    }

    fn import(&self, bytes: &[u8], options: &ImportOptions) -> Result<Imported> {
        import(xgboost::FORMAT, xgboost::parse(bytes)?, bytes, options)
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        load(xgboost::FORMAT, xgboost::parse(payload)?, manifest, payload)
    }
}

impl ImportedRuntime for LightgbmRuntime {
    fn name(&self) -> &'static str {
        lightgbm::FORMAT
    }

    fn description(&self) -> &'static str {
        "LightGBM text model (regression, count, binary and multiclass objectives, rf mode)"
    }

    fn import(&self, bytes: &[u8], options: &ImportOptions) -> Result<Imported> {
        import(lightgbm::FORMAT, lightgbm::parse(bytes)?, bytes, options)
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        load(
            lightgbm::FORMAT,
            lightgbm::parse(payload)?,
            manifest,
            payload,
        )
    }
}
