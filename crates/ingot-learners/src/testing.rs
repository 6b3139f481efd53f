//! Test helpers shared by the learners' unit tests: batches, fitting through the trait, and
//! the save → load round trip.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use ingot_algo::{Algorithm, Estimator, FitContext, Result, Target, TrainingData};
use ingot_core::{Hyperparameters, Schema, Task};
use ingot_model_format::{Manifest, FORMAT_VERSION};
use rand::Rng;

/// A batch of float columns.
pub fn floats(columns: &[(&str, Vec<f64>)]) -> RecordBatch {
    RecordBatch::try_from_iter(
        columns
            .iter()
            .map(|(n, v)| (*n, Arc::new(Float64Array::from(v.clone())) as ArrayRef)),
    )
    .unwrap()
}

/// A batch of (nullable) string columns.
pub fn strings(columns: &[(&str, Vec<Option<&str>>)]) -> RecordBatch {
    RecordBatch::try_from_iter(
        columns
            .iter()
            .map(|(n, v)| (*n, Arc::new(StringArray::from(v.clone())) as ArrayRef)),
    )
    .unwrap()
}

/// Hyperparameters from `KEY=VALUE` pairs.
pub fn hp(pairs: &[&str]) -> Hyperparameters {
    Hyperparameters::parse_pairs(pairs.iter().copied()).unwrap()
}

/// Fits through the trait with seed `seed` on 2 threads.
pub fn fit_with(
    algorithm: &dyn Algorithm,
    features: &RecordBatch,
    target: Target,
    params: &[&str],
    seed: u64,
) -> Result<Box<dyn Estimator>> {
    let cancel = AtomicBool::new(false);
    let mut sink = |_| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 2,
        seed,
        events: &mut sink,
    };
    let data = TrainingData {
        features: features.clone(),
        target,
    };
    algorithm.fit(&data, None, &hp(params), &mut ctx)
}

/// Unsupervised target for a batch.
pub fn none(features: &RecordBatch) -> Target {
    Target::Unsupervised {
        rows: features.num_rows(),
    }
}

/// Saves and reloads an estimator through its payload.
pub fn reload(algorithm: &dyn Algorithm, estimator: &dyn Estimator) -> Box<dyn Estimator> {
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        algorithm: algorithm.name().to_string(),
        algorithm_version: algorithm.version(),
        task: algorithm.unsupervised_task().unwrap_or(Task::Regression),
        target: None,
        input_schema: Schema::new(Vec::new()),
        classes: None,
        hyperparameters: Hyperparameters::new(),
        resolved_parameters: serde_json::Value::Null,
        preprocessing: serde_json::Value::Null,
        metrics: Default::default(),
        training_rows: 0,
        validation_rows: 0,
        feature_importance: None,
    };
    algorithm.load(&manifest, &estimator.payload()).unwrap()
}

/// `n` rows of `d` standard-normal-ish features (sum of uniforms), seeded.
pub fn gaussian(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = crate::common::rng(seed, 99);
    (0..d)
        .map(|_| {
            (0..n)
                .map(|_| (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0)
                .collect()
        })
        .collect()
}
