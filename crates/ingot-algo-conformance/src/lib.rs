//! The conformance suite every Ingot algorithm must pass, run against every algorithm in
//! `ingot_catalog::algorithms()` (so a newly registered algorithm is covered automatically).
//!
//! For each task the algorithm [`supports`](ingot_algo::Algorithm::supports) (regression,
//! binary, multiclass, or its unsupervised task), on the small fixtures of [`fixtures`]:
//! * it trains through the real pipeline (`ingot_catalog::train`) and predicts well-formed
//!   output (one row per input row, finite numbers, probabilities in `[0, 1]` summing to 1);
//! * the same seed gives an identical model file, whatever the thread count (1 or 2);
//! * the model file decodes, and a fitted estimator's payload loads back into an estimator
//!   that predicts exactly the same values;
//! * scoring rows with unseen categories and missing values neither panics nor fails;
//! * an unknown hyperparameter, and a malformed value for each numeric or boolean one, are
//!   rejected with an error naming the parameter.
//!
//! [`check_algorithm`] returns every failure as text instead of stopping at the first, and
//! catches panics, so one broken algorithm does not hide problems in another.

pub mod fixtures;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;

use ingot_algo::{Algorithm, FitContext, Predictions, Target, TrainEvent, TrainingData};
use ingot_catalog::{LoadedModel, TrainOutcome, TrainRequest};
use ingot_core::{Hyperparameters, Task};
use ingot_data::Table;

/// The seed used for every fit.
pub const SEED: u64 = 7;

/// The tasks `algorithm` is checked on.
pub fn tasks(algorithm: &dyn Algorithm) -> Vec<Task> {
    Task::ALL
        .iter()
        .copied()
        .filter(|&t| algorithm.supports(t))
        .collect()
}

/// Runs the whole suite on one registered algorithm; returns the failures (empty: passed).
pub fn check_algorithm(algorithm: &dyn Algorithm) -> Vec<String> {
    let name = algorithm.name();
    let mut failures = Vec::new();
    if ingot_catalog::algorithm(name).is_none() {
        failures.push(format!(
            "{name}: not registered in ingot_catalog::algorithms()"
        ));
        return failures;
    }
    for spec in algorithm.hyperparameters() {
        if spec.description.trim().is_empty() {
            failures.push(format!(
                "{name}: hyperparameter {} is undocumented",
                spec.name
            ));
        }
    }
    let tasks = tasks(algorithm);
    if tasks.is_empty() {
        failures.push(format!("{name}: supports no task"));
    }
    let (train, probe) = match (
        fixtures::table(&fixtures::training_csv()),
        fixtures::table(&fixtures::probe_csv()),
    ) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(e), _) | (_, Err(e)) => return vec![format!("fixtures do not parse: {e}")],
    };
    for task in tasks {
        let result = catch_unwind(AssertUnwindSafe(|| {
            check_task(algorithm, task, &train, &probe)
        }));
        match result {
            Ok(task_failures) => failures.extend(
                task_failures
                    .into_iter()
                    .map(|f| format!("{name} ({}): {f}", task.as_str())),
            ),
            Err(panic) => failures.push(format!(
                "{name} ({}): panicked: {}",
                task.as_str(),
                panic_text(panic.as_ref())
            )),
        }
    }
    failures
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-text panic)".to_string())
}

/// The pipeline request for `task` on the fixture.
fn request(algorithm: &dyn Algorithm, task: Task, hp: Hyperparameters) -> TrainRequest {
    let target = fixtures::target_for(task);
    let mut request = match target {
        Some(target) => TrainRequest::new(target, algorithm.name()),
        None => TrainRequest::unsupervised(algorithm.name()),
    };
    request.drop_columns = fixtures::TARGETS
        .iter()
        .filter(|&&t| Some(t) != target)
        .map(|t| t.to_string())
        .collect();
    if task.is_supervised() {
        let predictor = match task {
            Task::Regression => "regressor",
            Task::BinaryClassification => "binary_classifier",
            _ => "multiclass_classifier",
        };
        request.hyperparameters = hp;
        request.hyperparameters.set("predictor_type", predictor);
    } else {
        request.hyperparameters = hp;
    }
    request.validation_fraction = 0.25;
    request.seed = SEED;
    request
}

fn train(
    table: &Table,
    request: &TrainRequest,
    threads: usize,
) -> ingot_algo::Result<TrainOutcome> {
    let cancel = AtomicBool::new(false);
    let mut sink = |_: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads,
        seed: request.seed,
        events: &mut sink,
    };
    ingot_catalog::train(table, None, request, &mut ctx)
}

fn check_task(algorithm: &dyn Algorithm, task: Task, table: &Table, probe: &Table) -> Vec<String> {
    let mut failures = Vec::new();
    let request = request(algorithm, task, Hyperparameters::new());
    let first = match train(table, &request, 1) {
        Ok(outcome) => outcome,
        Err(e) => return vec![format!("training with default hyperparameters failed: {e}")],
    };
    if first.model.manifest.task != task {
        failures.push(format!(
            "trained for {} instead",
            first.model.manifest.task.as_str()
        ));
    }
    match train(table, &request, 2) {
        Ok(second) if second.bytes == first.bytes => {}
        Ok(_) => failures.push(
            "the same data, hyperparameters and seed gave different model bytes (threads 1 vs 2)"
                .to_string(),
        ),
        Err(e) => failures.push(format!("training again failed: {e}")),
    }
    match ingot_model_format::ModelFile::decode(&first.bytes) {
        Ok(decoded) if decoded == first.model => {}
        Ok(_) => failures.push("the model file decodes to a different model".to_string()),
        Err(e) => failures.push(format!("the model file does not decode: {e}")),
    }
    let loaded = match LoadedModel::from_bytes(&first.bytes) {
        Ok(model) => model,
        Err(e) => {
            failures.push(format!("the model file does not load: {e}"));
            return failures;
        }
    };
    match loaded.predict(&table.batch) {
        Ok(p) => failures.extend(check_predictions(&p, table.batch.num_rows(), task)),
        Err(e) => failures.push(format!("predicting the training rows failed: {e}")),
    }
    failures.extend(check_save_load(algorithm, task, table, &loaded));
    match loaded.predict(&probe.batch) {
        Ok(p) => failures.extend(
            check_predictions(&p, probe.batch.num_rows(), task)
                .into_iter()
                .map(|f| format!("on unseen categories / missing values: {f}")),
        ),
        Err(e) => failures.push(format!(
            "predicting rows with unseen categories / missing values failed: {e}"
        )),
    }
    failures.extend(check_bad_hyperparameters(algorithm, task, table));
    failures
}

/// Fits an estimator directly, saves its payload, loads it back, and compares predictions.
fn check_save_load(
    algorithm: &dyn Algorithm,
    task: Task,
    table: &Table,
    loaded: &LoadedModel,
) -> Vec<String> {
    let manifest = &loaded.manifest;
    let features = match ingot_data::conform_batch(&table.batch, &manifest.input_schema) {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot select the model's input columns: {e}")],
    };
    let target = match target_values(table, task, manifest.classes.as_deref()) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let data = TrainingData { features, target };
    let cancel = AtomicBool::new(false);
    let mut sink = |_: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed: SEED,
        events: &mut sink,
    };
    let hp = request(algorithm, task, Hyperparameters::new()).hyperparameters;
    let estimator = match algorithm.fit(&data, None, &hp, &mut ctx) {
        Ok(e) => e,
        Err(e) => return vec![format!("fitting directly failed: {e}")],
    };
    let before = match estimator.predict(&data.features) {
        Ok(p) => p,
        Err(e) => return vec![format!("the fitted estimator cannot predict: {e}")],
    };
    let revived = match algorithm.load(manifest, &estimator.payload()) {
        Ok(r) => r,
        Err(e) => return vec![format!("the payload does not load back: {e}")],
    };
    match revived.predict(&data.features) {
        Ok(after) if after == before => Vec::new(),
        Ok(_) => vec!["save -> load changed the predictions".to_string()],
        Err(e) => vec![format!("the reloaded estimator cannot predict: {e}")],
    }
}

/// The fixture's target for `task` in the form algorithms receive it.
fn target_values(table: &Table, task: Task, classes: Option<&[String]>) -> Result<Target, String> {
    let Some(column) = fixtures::target_for(task) else {
        return Ok(Target::Unsupervised {
            rows: table.batch.num_rows(),
        });
    };
    let array = table
        .batch
        .column_by_name(column)
        .ok_or_else(|| format!("fixture lacks {column}"))?;
    let text = arrow_array::cast::as_string_array;
    let float = arrow_array::cast::as_primitive_array::<arrow_array::types::Float64Type>;
    if task == Task::Regression {
        return Ok(Target::Regression(float(array).values().to_vec()));
    }
    let classes = classes.ok_or("a classification model without classes")?;
    let labels = text(array)
        .iter()
        .map(|v| {
            let v = v.unwrap_or_default();
            classes
                .iter()
                .position(|c| c == v)
                .ok_or_else(|| format!("label {v:?} is not among the model's classes {classes:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Target::Classification {
        classes: classes.to_vec(),
        labels,
    })
}

/// Checks predictions are well formed: `rows` rows of finite numbers; probabilities in
/// `[0, 1]` summing to 1; the variant matching the task.
pub fn check_predictions(predictions: &Predictions, rows: usize, task: Task) -> Vec<String> {
    let mut failures = Vec::new();
    if predictions.len() != rows {
        failures.push(format!(
            "{} prediction rows for {rows} input rows",
            predictions.len()
        ));
    }
    match predictions {
        Predictions::Regression { values } => {
            if task != Task::Regression {
                failures.push("regression output for a non-regression task".to_string());
            }
            if values.iter().any(|v| !v.is_finite()) {
                failures.push("non-finite regression predictions".to_string());
            }
        }
        Predictions::Classification {
            classes,
            probabilities,
        } => {
            if !task.is_classification() {
                failures.push("class probabilities for a non-classification task".to_string());
            }
            let k = classes.len().max(1);
            for (row, p) in probabilities.chunks(k).enumerate() {
                let sum: f64 = p.iter().sum();
                if p.iter().any(|v| !(0.0..=1.0).contains(v)) || (sum - 1.0).abs() > 1e-9 {
                    failures.push(format!("row {row}: invalid probabilities {p:?}"));
                    break;
                }
            }
        }
        other => {
            if task.is_supervised() {
                failures.push(format!("unsupervised output for {}", task.as_str()));
            }
            if !json_is_finite(&other.to_json()) {
                failures.push("missing or non-finite values in the output".to_string());
            }
        }
    }
    failures
}

/// Whether a JSON value holds no nulls (what serde_json writes for NaN and infinities).
fn json_is_finite(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Array(items) => items.iter().all(json_is_finite),
        serde_json::Value::Object(map) => map.values().all(json_is_finite),
        _ => true,
    }
}

/// An unknown key and a malformed value for every numeric or boolean hyperparameter must be
/// rejected with an error that names the parameter.
fn check_bad_hyperparameters(algorithm: &dyn Algorithm, task: Task, table: &Table) -> Vec<String> {
    let mut failures = Vec::new();
    let mut cases = vec![("no_such_parameter".to_string(), "1".to_string())];
    for spec in algorithm.hyperparameters() {
        let bad = if spec.default.parse::<f64>().is_ok() {
            "not-a-number"
        } else if matches!(spec.default, "true" | "false") {
            "maybe"
        } else {
            continue;
        };
        cases.push((spec.name.to_string(), bad.to_string()));
    }
    for (key, value) in cases {
        let mut hp = Hyperparameters::new();
        hp.set(key.clone(), value.clone());
        let request = request(algorithm, task, hp);
        match train(table, &request, 1) {
            Ok(_) => failures.push(format!("accepted the bad hyperparameter {key}={value}")),
            Err(e) if !e.to_string().contains(&key) => failures.push(format!(
                "the error for {key}={value} does not name the parameter: {e}"
            )),
            Err(_) => {}
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_predictions_are_reported() {
        let ok = Predictions::Regression {
            values: vec![1.0, 2.0],
        };
        assert!(check_predictions(&ok, 2, Task::Regression).is_empty());
        assert_eq!(check_predictions(&ok, 3, Task::Regression).len(), 1);
        let nan = Predictions::Regression {
            values: vec![1.0, f64::NAN],
        };
        assert!(!check_predictions(&nan, 2, Task::Regression).is_empty());
        let bad_probs = Predictions::Classification {
            classes: vec!["a".into(), "b".into()],
            probabilities: vec![0.5, 0.5, 0.7, 0.7],
        };
        let failures = check_predictions(&bad_probs, 2, Task::BinaryClassification);
        assert!(failures[0].contains("row 1"), "{failures:?}");
        assert!(!check_predictions(&ok, 2, Task::BinaryClassification).is_empty());
        let anomaly = Predictions::Anomaly {
            scores: vec![0.1, f64::INFINITY],
            threshold: 1.0,
        };
        assert!(!check_predictions(&anomaly, 2, Task::AnomalyDetection).is_empty());
    }

    #[test]
    fn unregistered_algorithms_fail() {
        struct Ghost;
        impl Algorithm for Ghost {
            fn name(&self) -> &'static str {
                "ghost"
            }
            fn description(&self) -> &'static str {
                "not registered"
            }
            fn hyperparameters(&self) -> &'static [ingot_algo::HyperparameterSpec] {
                &[]
            }
            fn fit(
                &self,
                _: &TrainingData,
                _: Option<&TrainingData>,
                _: &Hyperparameters,
                _: &mut FitContext,
            ) -> ingot_algo::Result<Box<dyn ingot_algo::Estimator>> {
                Err(ingot_algo::Error::EmptyTrainingData)
            }
            fn load(
                &self,
                _: &ingot_model_format::Manifest,
                _: &[u8],
            ) -> ingot_algo::Result<Box<dyn ingot_algo::Estimator>> {
                Err(ingot_algo::Error::EmptyTrainingData)
            }
        }
        let failures = check_algorithm(&Ghost);
        assert!(failures[0].contains("not registered"), "{failures:?}");
    }
}
