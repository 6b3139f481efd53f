//! Loading model files for prediction.

use arrow_array::RecordBatch;
use ingot_model_format::{Manifest, ModelFile};

use ingot_algo::{Error, Estimator, Predictions, Result};

use crate::registry::algorithm;

/// A decoded model ready to predict.
pub struct LoadedModel {
    /// The model's manifest.
    pub manifest: Manifest,
    estimator: Box<dyn Estimator>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl LoadedModel {
    /// Decodes and verifies a model file and revives its estimator.
    pub fn from_bytes(bytes: &[u8]) -> Result<LoadedModel> {
        let file = ModelFile::decode(bytes)?;
        let manifest = file.manifest;
        let estimator = if let Some(algo) = algorithm(&manifest.algorithm) {
            check_version(&manifest, algo.version())?;
            algo.load(&manifest, &file.payload)?
        } else if let Some(runtime) = crate::runtime(&manifest.algorithm) {
            check_version(&manifest, runtime.version())?;
            runtime.load(&manifest, &file.payload)?
        } else {
            return Err(Error::UnknownAlgorithm {
                name: manifest.algorithm.clone(),
                available: crate::registry::algorithms()
                    .iter()
                    .map(|a| a.name())
                    .chain(crate::runtimes().iter().map(|r| r.name()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        Ok(LoadedModel {
            manifest,
            estimator,
        })
    }

    /// The revived estimator (for callers that conform batches themselves).
    pub fn estimator(&self) -> &dyn Estimator {
        self.estimator.as_ref()
    }

    /// Predicts for a batch. Columns are selected by name and converted to the input schema's
    /// types first, so extra columns are ignored and a missing one is an error naming it.
    pub fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let conformed = ingot_data::conform_batch(features, &self.manifest.input_schema)?;
        self.estimator.predict(&conformed)
    }

    /// Whether [`LoadedModel::predict_dense`] answers: the input schema is all integer and
    /// float columns and the model reads them as raw numbers (imported tree models).
    pub fn reads_dense_rows(&self) -> bool {
        ingot_data::is_dense_schema(&self.manifest.input_schema)
            && self.estimator.reads_dense_rows()
    }

    /// Predicts for rows of raw values in input-schema order (row-major, NaN for missing), as
    /// [`ingot_data::read_csv_dense`] reads them: the same predictions as [`LoadedModel::predict`]
    /// on the batch [`ingot_data::read_csv_with_schema`] reads from the same text. `None` when
    /// the model does not read dense rows (see [`LoadedModel::reads_dense_rows`]).
    pub fn predict_dense(&self, values: &[f64], rows: usize) -> Option<Result<Predictions>> {
        if !self.reads_dense_rows() {
            return None;
        }
        self.estimator.predict_dense(values, rows)
    }
}

fn check_version(manifest: &Manifest, supported: u32) -> Result<()> {
    if manifest.algorithm_version > supported {
        return Err(Error::UnsupportedAlgorithmVersion {
            algorithm: manifest.algorithm.clone(),
            found: manifest.algorithm_version,
            supported,
        });
    }
    Ok(())
}
