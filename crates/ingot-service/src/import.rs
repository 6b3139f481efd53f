//! Importing models trained elsewhere (ONNX, XGBoost JSON, LightGBM text) as registered model
//! versions: the file is validated and wrapped by its runtime, stored content-addressed, and
//! recorded like a trained version (without a job).

use bytes::Bytes;
use ingot_catalog::ImportOptions;
use ingot_core::records::{ModelVersion, NewModelVersion};
use ingot_core::{validate_name, Schema};

use crate::{Error, ErrorKind, Platform, Result};

/// Largest model file accepted for import.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

impl Platform {
    /// Imports a model file as a new version of `name`.
    pub async fn import_model(
        &self,
        name: &str,
        format: &str,
        bytes: Bytes,
        schema: Option<Schema>,
        classes: Option<Vec<String>>,
    ) -> Result<ModelVersion> {
        validate_name(name)?;
        if bytes.is_empty() {
            return Err(Error::bad_input("the model file is empty"));
        }
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("model file exceeds {MAX_IMPORT_BYTES} bytes"),
            ));
        }
        let format = format.to_string();
        let options = ImportOptions { schema, classes };
        let encoded = tokio::task::spawn_blocking(move || {
            ingot_catalog::import_model(&format, &bytes, &options).map(|file| {
                let manifest = file.manifest.clone();
                (manifest, file.encode())
            })
        })
        .await??;
        let (manifest, file) = encoded;
        let artifact = self.artifacts.put(Bytes::from(file)).await?;
        let version = self
            .store
            .create_model_version(NewModelVersion {
                model: name.to_string(),
                artifact_hash: artifact.digest,
                algorithm: manifest.algorithm.clone(),
                task: manifest.task,
                metrics: manifest.metrics.clone(),
                input_schema: manifest.input_schema.clone(),
                job_id: None,
                dataset: None,
                dataset_version: None,
            })
            .await?;
        tracing::info!(model = %name, version = version.version, format = %manifest.algorithm, "model imported");
        Ok(version)
    }
}
