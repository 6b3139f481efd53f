//! Imported-model runtimes by format name, and packaging an imported model into an
//! `INGOTMDL` file so the registry, serving and explanations treat it like a native one.

use ingot_algo::{Error, ImportOptions, ImportedRuntime, Result};
use ingot_core::Hyperparameters;
use ingot_model_format::{Manifest, ModelFile, FORMAT_VERSION};

/// Every imported-model runtime, in help order.
pub fn runtimes() -> Vec<&'static dyn ImportedRuntime> {
    vec![
        &ingot_onnx::OnnxRuntime,
        &ingot_tree_import::XGBOOST,
        &ingot_tree_import::LIGHTGBM,
    ]
}

/// A runtime by format name; `None` when unknown.
pub fn runtime(name: &str) -> Option<&'static dyn ImportedRuntime> {
    runtimes().into_iter().find(|r| r.name() == name)
}

fn available() -> String {
    runtimes()
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Imports a model file saved by another library (`format` is `xgboost`, `lightgbm` or
/// `onnx`) and returns the `INGOTMDL` file that wraps it.
pub fn import_model(format: &str, bytes: &[u8], options: &ImportOptions) -> Result<ModelFile> {
    let runtime = runtime(format).ok_or_else(|| Error::UnknownFormat {
        name: format.to_string(),
        available: available(),
    })?;
    let imported = runtime.import(bytes, options)?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        algorithm: runtime.name().to_string(),
        algorithm_version: runtime.version(),
        task: imported.task,
        target: None,
        input_schema: imported.input_schema,
        classes: imported.classes,
        hyperparameters: Hyperparameters::default(),
        resolved_parameters: imported.resolved_parameters,
        preprocessing: serde_json::Value::Null,
        metrics: Default::default(),
        training_rows: 0,
        validation_rows: 0,
        feature_importance: imported.feature_importance,
    };
    // Load once so a file that imports but cannot be served is refused now, not at deploy.
    runtime.load(&manifest, &imported.payload)?;
    Ok(ModelFile {
        manifest,
        payload: imported.payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_format_names_the_supported_ones() {
        let err = import_model("pickle", b"", &ImportOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("unknown model format \"pickle\""),
            "{err}"
        );
    }

    #[test]
    fn runtime_names_are_unique_and_distinct_from_algorithms() {
        let mut names: Vec<&str> = runtimes().iter().map(|r| r.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for name in names {
            assert!(
                crate::algorithm(name).is_none(),
                "{name} is also an algorithm"
            );
        }
    }
}
