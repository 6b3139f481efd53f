//! The pipeline without a target: unsupervised algorithms (kmeans, pca, random-cut-forest)
//! train on every non-dropped column, record training metrics, and predict their own output
//! shapes; supervised algorithms without a target, and unsupervised ones with one, are
//! refused with errors that say why.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use ingot_catalog::{train, FitContext, LoadedModel, Predictions, TrainEvent, TrainRequest};
use ingot_core::{ColumnType, Field, Hyperparameters, Schema, Task};
use ingot_data::Table;

/// Columns: id (to drop), x and y in two well-separated groups, and a colour.
fn points(n: usize) -> Table {
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut colour = Vec::new();
    for i in 0..n {
        let group = (i % 2) as f64 * 10.0;
        let wobble = ((i * 37) % 11) as f64 / 11.0;
        x.push(group + wobble);
        y.push(group - wobble);
        colour.push(if i % 2 == 0 { "red" } else { "blue" });
    }
    let columns: Vec<(&str, ColumnType, ArrayRef)> = vec![
        (
            "id",
            ColumnType::Integer,
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        ),
        ("x", ColumnType::Float, Arc::new(Float64Array::from(x))),
        ("y", ColumnType::Float, Arc::new(Float64Array::from(y))),
        (
            "colour",
            ColumnType::String,
            Arc::new(StringArray::from(colour)),
        ),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(n, t, _)| Field::new(*n, *t, false))
            .collect(),
    );
    let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, _, a)| (n, a))).unwrap();
    Table { schema, batch }
}

fn run(
    data: &Table,
    request: &TrainRequest,
) -> (
    ingot_catalog::Result<ingot_catalog::TrainOutcome>,
    Vec<TrainEvent>,
) {
    let cancel = AtomicBool::new(false);
    let mut events = Vec::new();
    let mut sink = |e: TrainEvent| events.push(e);
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 2,
        seed: request.seed,
        events: &mut sink,
    };
    let outcome = train(data, None, request, &mut ctx);
    (outcome, events)
}

fn unsupervised(algorithm: &str, pairs: &[&str]) -> TrainRequest {
    let mut r = TrainRequest::unsupervised(algorithm);
    r.hyperparameters = Hyperparameters::parse_pairs(pairs.iter().copied()).unwrap();
    r.drop_columns = vec!["id".to_string()];
    r.seed = 3;
    r
}

#[test]
fn kmeans_trains_without_a_target() {
    let data = points(200);
    let (outcome, events) = run(&data, &unsupervised("kmeans", &["k=2", "k_range=1..3"]));
    let outcome = outcome.unwrap();
    let manifest = &outcome.model.manifest;
    assert_eq!(manifest.task, Task::Clustering);
    assert_eq!(manifest.target, None);
    assert_eq!(
        manifest.input_schema.names().collect::<Vec<_>>(),
        ["x", "y", "colour"]
    );
    assert!(manifest.resolved_parameters.get("predictor_type").is_none());
    assert_eq!(outcome.training_rows, 160);
    let m = &outcome.metrics;
    // Two tight groups: two clusters leave almost nothing; one cluster leaves a lot.
    let (k1, k2) = (
        m.get("training_inertia_k1").unwrap(),
        m.get("training_inertia_k2").unwrap(),
    );
    assert!(k2 < 0.1 * k1, "{k1} {k2}");
    assert_eq!(m.get("training_inertia"), Some(k2));
    assert!(m.get("inertia").is_some(), "validation inertia: {m:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, TrainEvent::Metric { name, step: 3, .. } if name == "elbow_inertia")));
    let model = LoadedModel::from_bytes(&outcome.bytes).unwrap();
    let Predictions::Clustering {
        k,
        clusters,
        distances,
    } = model.predict(&data.batch).unwrap()
    else {
        panic!("not a clustering")
    };
    assert_eq!((k, clusters.len(), distances.len()), (2, 200, 400));
    assert_ne!(clusters[0], clusters[1]);
    assert_eq!(clusters[0], clusters[2]);
    // Same request, same bytes.
    let (again, _) = run(&data, &unsupervised("kmeans", &["k=2", "k_range=1..3"]));
    assert_eq!(again.unwrap().bytes, outcome.bytes);
}

#[test]
fn pca_and_rcf_train_without_a_target() {
    let data = points(300);
    let (pca, _) = run(&data, &unsupervised("pca", &["num_components=2"]));
    let pca = pca.unwrap();
    assert_eq!(pca.model.manifest.task, Task::DimensionalityReduction);
    let ratio = pca
        .metrics
        .get("training_explained_variance_ratio")
        .unwrap();
    assert!(ratio > 0.95 && ratio <= 1.0 + 1e-12, "{ratio}");
    let model = LoadedModel::from_bytes(&pca.bytes).unwrap();
    let Predictions::Projection { components, values } = model.predict(&data.batch).unwrap() else {
        panic!("not a projection")
    };
    assert_eq!((components, values.len()), (2, 600));

    let (rcf, _) = run(&data, &unsupervised("random-cut-forest", &["num_trees=20"]));
    let rcf = rcf.unwrap();
    assert_eq!(rcf.model.manifest.task, Task::AnomalyDetection);
    assert!(rcf.metrics.get("training_threshold").is_some());
    assert!(
        rcf.metrics.get("anomaly_rate").is_some(),
        "{:?}",
        rcf.metrics
    );
    let model = LoadedModel::from_bytes(&rcf.bytes).unwrap();
    let Predictions::Anomaly { scores, .. } = model.predict(&data.batch).unwrap() else {
        panic!("not anomaly scores")
    };
    assert_eq!(scores.len(), 300);
}

#[test]
fn targets_must_match_the_kind_of_algorithm() {
    let data = points(50);
    let mut supervised = TrainRequest::unsupervised("linear-learner");
    supervised.drop_columns = vec!["id".into()];
    let err = run(&data, &supervised).0.unwrap_err().to_string();
    assert!(
        err.contains("linear-learner") && err.contains("needs a target"),
        "{err}"
    );
    let mut with_target = TrainRequest::new("colour", "kmeans");
    with_target.hyperparameters.set("k", 2);
    let err = run(&data, &with_target).0.unwrap_err().to_string();
    assert!(
        err.contains("unsupervised") && err.contains("colour"),
        "{err}"
    );
    let err = run(&data, &unsupervised("kmeans", &["k=2"]).clone())
        .0
        .map(|_| ())
        .err();
    assert!(err.is_none());
    let mut missing = unsupervised("pca", &[]);
    missing.drop_columns.push("nope".into());
    let err = run(&data, &missing).0.unwrap_err().to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn knn_is_supervised_through_the_pipeline() {
    let data = points(200);
    let mut request = TrainRequest::new("colour", "knn");
    request.drop_columns = vec!["id".into()];
    request.hyperparameters.set("k", 3);
    let outcome = run(&data, &request).0.unwrap();
    assert_eq!(outcome.model.manifest.task, Task::BinaryClassification);
    assert_eq!(outcome.metrics.get("accuracy"), Some(1.0));
    assert_eq!(outcome.model.manifest.target.as_deref(), Some("colour"));
}
