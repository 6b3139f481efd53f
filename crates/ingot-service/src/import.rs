//! Importing models trained elsewhere as registered model versions: a model file (ONNX,
//! XGBoost JSON or UBJSON, LightGBM text) uploaded as a new version, or the files of a version
//! registered through MLflow (its onnx, xgboost or lightgbm flavor) made servable under its own
//! number when it is first deployed. Either way the file is validated and wrapped by its
//! runtime, stored content-addressed, and recorded like a trained version (without a job).

use bytes::Bytes;
use ingot_catalog::ImportOptions;
use ingot_core::records::{ModelVersion, NewModelVersion};
use ingot_core::{validate_name, Schema};
use ingot_model_format::Manifest;
use ingot_store::tracking::RegistryVersion;

use crate::{Error, ErrorKind, Platform, Result};

/// Largest model file accepted for import.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

/// Largest `MLmodel` file read.
const MAX_MLMODEL_BYTES: u64 = 1024 * 1024;

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
        let new = self
            .wrap_model_file(name, format, bytes, ImportOptions { schema, classes })
            .await?;
        let version = self.store.create_model_version(new).await?;
        tracing::info!(model = %name, version = version.version, format, "model imported");
        Ok(version)
    }

    /// Validates a model file with its runtime, stores the `INGOTMDL` file that wraps it and
    /// returns the version record to write.
    async fn wrap_model_file(
        &self,
        name: &str,
        format: &str,
        bytes: Bytes,
        options: ImportOptions,
    ) -> Result<NewModelVersion> {
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
        let (manifest, file): (Manifest, Vec<u8>) = tokio::task::spawn_blocking(move || {
            ingot_catalog::import_model(&format, &bytes, &options).map(|file| {
                let manifest = file.manifest.clone();
                (manifest, file.encode())
            })
        })
        .await??;
        let artifact = self.artifacts.put(Bytes::from(file)).await?;
        Ok(NewModelVersion {
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
    }

    /// The version endpoints and transforms serve for `model[:version]`; without a version,
    /// the newest of either registry (see [`Self::servable_version`]).
    pub async fn servable(&self, model: &str, version: Option<i64>) -> Result<ModelVersion> {
        let number = match version {
            Some(number) => number,
            None => self.store.newest_version_number(model).await?,
        };
        self.servable_version(model, number).await
    }

    /// The native version endpoints serve for `model:version`. A version registered through
    /// MLflow has none until it is first deployed: its MLflow model directory is read then
    /// (`MLmodel`, and the file of its onnx, xgboost or lightgbm flavor) and imported under the
    /// same number.
    pub async fn servable_version(&self, model: &str, version: i64) -> Result<ModelVersion> {
        let missing = match self.store.model_version(model, Some(version)).await {
            Ok(native) => return Ok(native),
            Err(e @ ingot_store::Error::NotFound { .. }) => e,
            Err(e) => return Err(e.into()),
        };
        let registered = match self.tracking().registry_version(model, version).await {
            Ok(registered) => registered,
            Err(ingot_store::Error::NotFound { .. }) => return Err(missing.into()),
            Err(e) => return Err(e.into()),
        };
        let new = self.import_mlflow_files(&registered).await.map_err(|e| {
            Error::new(
                e.kind,
                format!(
                    "cannot serve {model}:{version}, registered through MLflow from {}: {}",
                    registered.source, e.message
                ),
            )
        })?;
        match self.store.adopt_registry_version(new, version).await {
            Ok(adopted) => {
                tracing::info!(model, version, algorithm = %adopted.algorithm,
                    "MLflow model version made servable");
                Ok(adopted)
            }
            // A concurrent deploy made it first.
            Err(ingot_store::Error::AlreadyExists { .. }) => {
                Ok(self.store.model_version(model, Some(version)).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn import_mlflow_files(&self, registered: &RegistryVersion) -> Result<NewModelVersion> {
        let dir = self.mlflow_model_dir(registered).await?;
        let text = self
            .artifacts
            .read_named(&format!("{dir}/MLmodel"), MAX_MLMODEL_BYTES)
            .await?;
        let text = std::str::from_utf8(&text)
            .map_err(|_| Error::bad_input("its MLmodel file is not UTF-8 text"))?;
        let spec = ingot_catalog::read_mlmodel(text)?;
        let file = self
            .artifacts
            .read_named(&format!("{dir}/{}", spec.data), MAX_IMPORT_BYTES as u64)
            .await?;
        let options = ImportOptions {
            schema: spec.schema,
            classes: None,
        };
        self.wrap_model_file(&registered.name, spec.format, file, options)
            .await
    }

    /// The named-artifact directory of a registry version's MLflow model: a logged model
    /// (`models:/m-…`), a run's artifact path (`runs:/<run>/<path>`) or an artifact URI, all
    /// of which must be in Ingot's own artifact store (`mlflow-artifacts:/…`).
    async fn mlflow_model_dir(&self, registered: &RegistryVersion) -> Result<String> {
        let source = registered.source.as_str();
        let logged_model = source
            .strip_prefix("models:/")
            .filter(|id| id.starts_with("m-") && !id.contains('/'))
            .or(Some(registered.model_id.as_str()).filter(|id| !id.is_empty()));
        let location = if let Some(id) = logged_model {
            self.tracking().logged_model(id).await?.artifact_location
        } else if let Some(rest) = source.strip_prefix("runs:/") {
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            let run = self.tracking().run(run_id).await?;
            format!("{}/{path}", run.info.artifact_uri.trim_end_matches('/'))
        } else {
            source.to_string()
        };
        named_artifact_dir(&location)
    }
}

/// The path below Ingot's named artifacts of an `mlflow-artifacts:` URI (with or without a
/// `//host:port` authority, as MLflow writes either).
fn named_artifact_dir(location: &str) -> Result<String> {
    let Some(rest) = location.strip_prefix("mlflow-artifacts:") else {
        return Err(Error::bad_input(format!(
            "its files are at {location:?}, outside this server's artifact store; download the \
             model file and use `ingot model import`"
        )));
    };
    let path = match rest.strip_prefix("//") {
        Some(with_authority) => with_authority.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Err(Error::bad_input(format!(
            "its artifact location {location:?} names no directory"
        )));
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_map_to_named_paths() {
        let dir = |uri: &str| named_artifact_dir(uri).map_err(|e| e.message);
        assert_eq!(
            dir("mlflow-artifacts:/0/models/m-1/artifacts").unwrap(),
            "0/models/m-1/artifacts"
        );
        assert_eq!(
            dir("mlflow-artifacts://127.0.0.1:5000/3/abc/artifacts/model/").unwrap(),
            "3/abc/artifacts/model"
        );
        assert!(dir("s3://bucket/model")
            .unwrap_err()
            .contains("ingot model import"));
        assert!(dir("mlflow-artifacts:/")
            .unwrap_err()
            .contains("no directory"));
    }
}
