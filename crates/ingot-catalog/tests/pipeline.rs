//! End-to-end tests of the training pipeline: task resolution, splitting, metrics, model files,
//! determinism, loading and the errors users see.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use ingot_catalog::{train, Error, FitContext, LoadedModel, Predictions, TrainEvent, TrainRequest};
use ingot_core::{ColumnType, Field, Hyperparameters, Schema, Task};
use ingot_data::Table;

fn table(columns: Vec<(&str, ColumnType, ArrayRef)>) -> Table {
    let schema = Schema::new(
        columns
            .iter()
            .map(|(n, t, a)| Field::new(*n, *t, a.null_count() > 0))
            .collect(),
    );
    let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, _, a)| (n, a))).unwrap();
    Table { schema, batch }
}

/// A deterministic pseudo-random number in [0, 1) from an index.
fn noise(i: usize, salt: u64) -> f64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 29;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Columns: id (dropped), age (integer), income (float, some missing), city (string), label.
fn customers(n: usize) -> Table {
    let cities = ["paris", "lyon", "nice"];
    let mut age = Vec::new();
    let mut income = Vec::new();
    let mut city = Vec::new();
    let mut label = Vec::new();
    for i in 0..n {
        let a = 20 + (noise(i, 1) * 50.0) as i64;
        let inc = 20.0 + noise(i, 2) * 80.0;
        let c = cities[i % 3];
        let score = (a as f64 - 45.0) / 10.0
            + (inc - 60.0) / 20.0
            + if c == "paris" { 1.0 } else { 0.0 }
            + (noise(i, 3) - 0.5);
        age.push(a);
        income.push(if i % 17 == 0 { None } else { Some(inc) });
        city.push(c);
        label.push(if score > 0.3 { "yes" } else { "no" });
    }
    table(vec![
        (
            "id",
            ColumnType::Integer,
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        ),
        ("age", ColumnType::Integer, Arc::new(Int64Array::from(age))),
        (
            "income",
            ColumnType::Float,
            Arc::new(Float64Array::from(income)),
        ),
        (
            "city",
            ColumnType::String,
            Arc::new(StringArray::from(city)),
        ),
        (
            "label",
            ColumnType::String,
            Arc::new(StringArray::from(label)),
        ),
    ])
}

struct Run {
    events: Vec<TrainEvent>,
}

impl Run {
    fn new() -> Run {
        Run { events: Vec::new() }
    }

    fn train(
        &mut self,
        data: &Table,
        validation: Option<&Table>,
        request: &TrainRequest,
    ) -> ingot_catalog::Result<ingot_catalog::TrainOutcome> {
        let cancel = AtomicBool::new(false);
        let events = &mut self.events;
        let mut sink = |e: TrainEvent| events.push(e);
        let mut ctx = FitContext {
            cancel: &cancel,
            threads: 2,
            seed: request.seed,
            events: &mut sink,
        };
        train(data, validation, request, &mut ctx)
    }
}

fn request(target: &str, pairs: &[&str]) -> TrainRequest {
    let mut r = TrainRequest::new(target, "linear-learner");
    r.hyperparameters = Hyperparameters::parse_pairs(pairs.iter().copied()).unwrap();
    r.seed = 42;
    r
}

fn binary_request() -> TrainRequest {
    let mut r = request("label", &[]);
    r.drop_columns = vec!["id".into()];
    r
}

#[test]
fn binary_classification_end_to_end() {
    let data = customers(500);
    let mut run = Run::new();
    let outcome = run.train(&data, None, &binary_request()).unwrap();
    let m = &outcome.model.manifest;
    assert_eq!(m.task, Task::BinaryClassification);
    assert_eq!(
        m.classes.as_deref(),
        Some(&["no".to_string(), "yes".to_string()][..])
    );
    assert_eq!(
        m.input_schema.names().collect::<Vec<_>>(),
        vec!["age", "income", "city"]
    );
    assert_eq!((outcome.training_rows, outcome.validation_rows), (400, 100));
    assert_eq!((m.training_rows, m.validation_rows), (400, 100));
    for key in ["accuracy", "auc", "log_loss", "f1"] {
        assert!(outcome.metrics.get(key).is_some(), "missing {key}");
    }
    assert!(
        outcome.metrics.get("auc").unwrap() > 0.9,
        "{:?}",
        outcome.metrics
    );
    assert_eq!(m.metrics, outcome.metrics);
    assert_eq!(m.resolved_parameters["l2"], 0.0001);
    assert_eq!(m.resolved_parameters["predictor_type"], "auto");
    assert!(m.preprocessing["columns"].is_array());
    assert!(run
        .events
        .iter()
        .any(|e| matches!(e, TrainEvent::Progress { .. })));
    assert!(run
        .events
        .iter()
        .any(|e| matches!(e, TrainEvent::Metric { name, .. } if name == "training_loss")));
    assert!(run.events.iter().any(|e| matches!(e, TrainEvent::Log(_))));
}

#[test]
fn same_seed_gives_identical_bytes() {
    let data = customers(300);
    let a = Run::new().train(&data, None, &binary_request()).unwrap();
    let b = Run::new().train(&data, None, &binary_request()).unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.bytes, a.model.encode());
    let mut other = binary_request();
    other.seed = 7;
    let c = Run::new().train(&data, None, &other).unwrap();
    assert_ne!(a.bytes, c.bytes);
}

#[test]
fn loaded_model_predicts_like_the_trained_one() {
    let data = customers(300);
    let outcome = Run::new().train(&data, None, &binary_request()).unwrap();
    let model = LoadedModel::from_bytes(&outcome.bytes).unwrap();
    assert_eq!(model.manifest, outcome.model.manifest);
    let first = model.predict(&data.batch).unwrap();
    let again = LoadedModel::from_bytes(&outcome.model.encode()).unwrap();
    assert_eq!(first, again.predict(&data.batch).unwrap());
    assert_eq!(first.len(), 300);
    let csv = first.to_csv();
    assert!(csv.starts_with("no,yes\n"), "{csv}");
    assert_eq!(csv.lines().count(), 301);
    assert_eq!(first.to_json_lines().lines().count(), 300);
    // Unseen categories and missing numbers at predict time do not error.
    let probe = table(vec![
        (
            "age",
            ColumnType::Integer,
            Arc::new(Int64Array::from(vec![Some(30), None])),
        ),
        (
            "income",
            ColumnType::Float,
            Arc::new(Float64Array::from(vec![None, Some(50.0)])),
        ),
        (
            "city",
            ColumnType::String,
            Arc::new(StringArray::from(vec![Some("tokyo"), None])),
        ),
    ]);
    assert_eq!(model.predict(&probe.batch).unwrap().len(), 2);
    // A missing input column is named.
    let err = model
        .predict(&probe.batch.project(&[0, 1]).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("city"), "{err}");
    // Corrupt bytes are rejected.
    let mut corrupt = outcome.bytes.clone();
    corrupt[40] ^= 1;
    assert!(LoadedModel::from_bytes(&corrupt).is_err());
}

#[test]
fn regression_with_validation_table() {
    let make = |n: usize, salt: u64| {
        let x: Vec<f64> = (0..n).map(|i| noise(i, salt) * 10.0).collect();
        let y: Vec<i64> = x.iter().map(|v| (3.0 * v + 5.0).round() as i64).collect();
        table(vec![
            ("y", ColumnType::Integer, Arc::new(Int64Array::from(y))),
            ("x", ColumnType::Float, Arc::new(Float64Array::from(x))),
        ])
    };
    let data = make(200, 1);
    // The validation table has its columns in another order and an extra column.
    let v = make(50, 2);
    let validation = table(vec![
        ("x", ColumnType::Float, v.batch.column(1).clone()),
        (
            "extra",
            ColumnType::Integer,
            Arc::new(Int64Array::from(vec![1; 50])),
        ),
        ("y", ColumnType::Integer, v.batch.column(0).clone()),
    ]);
    let outcome = Run::new()
        .train(&data, Some(&validation), &request("y", &[]))
        .unwrap();
    assert_eq!(outcome.model.manifest.task, Task::Regression);
    assert_eq!(outcome.model.manifest.classes, None);
    assert_eq!((outcome.training_rows, outcome.validation_rows), (200, 50));
    assert!(
        outcome.metrics.get("r2").unwrap() > 0.99,
        "{:?}",
        outcome.metrics
    );
    assert!(outcome.metrics.get("rmse").unwrap() < 0.5);
    assert!(outcome.metrics.get("mae").is_some());
    let model = LoadedModel::from_bytes(&outcome.bytes).unwrap();
    let Predictions::Regression { values } = model.predict(&validation.batch).unwrap() else {
        panic!("expected regression");
    };
    assert_eq!(values.len(), 50);
}

#[test]
fn task_resolution_and_class_order() {
    let n = 60;
    let x: ArrayRef = Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64)));
    // Integer target with two values: binary, classes in numeric order.
    let ints: ArrayRef = Arc::new(Int64Array::from_iter_values((0..n).map(|i| {
        if i < 30 {
            10
        } else {
            2
        }
    })));
    let t = table(vec![
        ("x", ColumnType::Float, x.clone()),
        ("t", ColumnType::Integer, ints),
    ]);
    let o = Run::new().train(&t, None, &request("t", &[])).unwrap();
    assert_eq!(o.model.manifest.task, Task::BinaryClassification);
    assert_eq!(o.model.manifest.classes.unwrap(), vec!["2", "10"]);
    // Boolean target: false < true.
    let bools: ArrayRef = Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 2 == 0))));
    let t = table(vec![
        ("x", ColumnType::Float, x.clone()),
        ("t", ColumnType::Boolean, bools),
    ]);
    let o = Run::new().train(&t, None, &request("t", &[])).unwrap();
    assert_eq!(o.model.manifest.classes.unwrap(), vec!["false", "true"]);
    // Strings with three values: multiclass with macro metrics.
    let s: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| ["c", "a", "b"][i * 3 / n]),
    ));
    let t = table(vec![
        ("x", ColumnType::Float, x.clone()),
        ("t", ColumnType::String, s),
    ]);
    let o = Run::new().train(&t, None, &request("t", &[])).unwrap();
    assert_eq!(o.model.manifest.task, Task::MulticlassClassification);
    assert_eq!(o.model.manifest.classes.unwrap(), vec!["a", "b", "c"]);
    assert!(o.metrics.get("auc").is_some() && o.metrics.get("f1").is_some());
    // predictor_type overrides: integer with two values as a regressor.
    let ints: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..n).map(|i| i64::from(i >= 30)),
    ));
    let t = table(vec![
        ("x", ColumnType::Float, x),
        ("t", ColumnType::Integer, ints),
    ]);
    let o = Run::new()
        .train(&t, None, &request("t", &["predictor_type=regressor"]))
        .unwrap();
    assert_eq!(o.model.manifest.task, Task::Regression);
    let err = Run::new()
        .train(&t, None, &request("t", &["predictor_type=guess"]))
        .unwrap_err();
    assert!(err.to_string().contains("predictor_type"), "{err}");
}

#[test]
fn missing_targets_error_or_are_dropped() {
    let n = 40;
    let x: ArrayRef = Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64)));
    let y: ArrayRef = Arc::new(Float64Array::from_iter(
        (0..n).map(|i| (i != 5 && i != 9).then_some(i as f64)),
    ));
    let t = table(vec![
        ("x", ColumnType::Float, x),
        ("y", ColumnType::Float, y),
    ]);
    let err = Run::new().train(&t, None, &request("y", &[])).unwrap_err();
    assert!(matches!(err, Error::MissingTarget { row: 6, .. }), "{err}");
    assert!(
        err.to_string().contains("\"y\"") && err.to_string().contains('6'),
        "{err}"
    );
    let o = Run::new()
        .train(&t, None, &request("y", &["drop_missing_target=true"]))
        .unwrap();
    assert_eq!(o.training_rows + o.validation_rows, 38);
}

#[test]
fn request_errors_name_the_problem() {
    let data = customers(50);
    let check = |request: TrainRequest, needle: &str| {
        let err = Run::new()
            .train(&data, None, &request)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        err
    };
    check(request("nope", &[]), "nope");
    let mut r = binary_request();
    r.drop_columns.push("ghost".into());
    check(r, "ghost");
    let mut r = binary_request();
    r.drop_columns.push("label".into());
    check(r, "cannot also be dropped");
    let err = check(request("label", &["momentum=0.1"]), "momentum");
    assert!(
        err.contains("l2") && err.contains("predictor_type"),
        "{err}"
    );
    let mut r = binary_request();
    r.algorithm = "xgboost".into();
    check(r, "xgboost");
    let mut r = binary_request();
    r.drop_columns = vec!["id".into(), "age".into(), "income".into(), "city".into()];
    check(r, "no feature columns");
    let mut r = binary_request();
    r.validation_fraction = 1.0;
    check(r, "validation fraction");
    check(request("label", &["l2=abc"]), "l2");
}

#[test]
fn cancellation_is_a_distinct_error() {
    let data = customers(200);
    let cancel = AtomicBool::new(false);
    let mut sink = |e: TrainEvent| {
        if matches!(e, TrainEvent::Progress { done: 2, .. }) {
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let flag = AtomicBool::new(false);
    // Cancelled before starting.
    flag.store(true, Ordering::Relaxed);
    let mut quiet = |_e: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &flag,
        threads: 1,
        seed: 0,
        events: &mut quiet,
    };
    assert!(matches!(
        train(&data, None, &binary_request(), &mut ctx),
        Err(Error::Cancelled)
    ));
    // Cancelled mid-way, from the event sink.
    let cancel_ref = &cancel;
    let mut ctx = FitContext {
        cancel: cancel_ref,
        threads: 1,
        seed: 0,
        events: &mut sink,
    };
    assert!(matches!(
        train(&data, None, &binary_request(), &mut ctx),
        Err(Error::Cancelled)
    ));
}

#[test]
fn reads_csv_through_the_data_layer() {
    let mut csv = String::from("x,color,y\n");
    for i in 0..80 {
        let color = ["red", "blue"][i % 2];
        let y = 2.0 * i as f64 + if color == "red" { 3.0 } else { -3.0 };
        csv.push_str(&format!("{i},{color},{y}\n"));
    }
    let data = ingot_data::read_table(csv.as_bytes(), ingot_data::DataFormat::Csv).unwrap();
    let o = Run::new()
        .train(&data, None, &request("y", &["l2=0"]))
        .unwrap();
    assert!(o.metrics.get("rmse").unwrap() < 1e-4, "{:?}", o.metrics);
}
