//! Tests of the `random-forest` algorithm through the `Algorithm` / `Estimator` contract.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ingot_algo::{Algorithm, Error, FitContext, Predictions, Target, TrainEvent, TrainingData};
use ingot_core::{Hyperparameters, Task};
use ingot_model_format::{Manifest, FORMAT_VERSION};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// Rows with numeric `a` (10% missing), `b`, and string `city`; the signal uses all three.
fn table(rows: usize, seed: u64, cities: &[&'static str]) -> (RecordBatch, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut a, mut b, mut c, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let av: f64 = rng.gen_range(-2.0..2.0);
        let bv: f64 = rng.gen_range(-2.0..2.0);
        let ci = rng.gen_range(0..cities.len());
        let missing = rng.gen_bool(0.1);
        let city_effect = if ci % 3 == 0 { 1.5 } else { -0.5 };
        let a_effect = if missing { 2.0 } else { av * av };
        y.push(a_effect + bv + city_effect + rng.gen_range(-0.3..0.3));
        a.push(if missing { None } else { Some(av) });
        b.push(Some(bv));
        c.push(Some(cities[ci]));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Float64, true),
        Field::new("b", DataType::Float64, true),
        Field::new("city", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(a)),
        Arc::new(Float64Array::from(b)),
        Arc::new(StringArray::from(c)),
    ];
    (RecordBatch::try_new(schema, columns).unwrap(), y)
}

const CITIES: &[&str] = &["ams", "ber", "cph", "dub", "edi", "fra"];

fn classify(y: &[f64], cuts: &[f64]) -> Target {
    let classes: Vec<String> = (0..=cuts.len()).map(|i| format!("c{i}")).collect();
    let labels = y
        .iter()
        .map(|v| cuts.iter().filter(|&&c| *v > c).count())
        .collect();
    Target::Classification { classes, labels }
}

fn fit_with(
    data: &TrainingData,
    params: &[&str],
    threads: usize,
    events: &mut Vec<TrainEvent>,
) -> Result<ForestModel> {
    let cancel = AtomicBool::new(false);
    let mut sink = |e: TrainEvent| events.push(e);
    let mut ctx = FitContext {
        cancel: &cancel,
        threads,
        seed: 11,
        events: &mut sink,
    };
    let hp = Hyperparameters::parse_pairs(params.iter().copied()).unwrap();
    let params = ForestParams::from_hyperparameters(&hp, ctx.seed)?;
    fit_forest(data, &params, &mut ctx)
}

fn fit(data: &TrainingData, params: &[&str]) -> ForestModel {
    fit_with(data, params, 2, &mut Vec::new()).unwrap()
}

fn values(p: &Predictions) -> Vec<f64> {
    match p {
        Predictions::Regression { values } => values.clone(),
        Predictions::Classification { probabilities, .. } => probabilities.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

fn r2(pred: &[f64], y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let res: f64 = pred.iter().zip(y).map(|(p, t)| (p - t).powi(2)).sum();
    let tot: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    1.0 - res / tot
}

fn accuracy(probabilities: &[f64], k: usize, labels: &[usize]) -> f64 {
    let correct = probabilities
        .chunks_exact(k)
        .zip(labels)
        .filter(|(p, &l)| model::argmax(p) == l)
        .count();
    correct as f64 / labels.len() as f64
}

#[test]
fn regression_oob_r2_is_close_to_held_out_r2() {
    let (x, y) = table(1500, 1, CITIES);
    let (tx, ty) = table(1000, 2, CITIES);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let mut events = Vec::new();
    let model = fit_with(&data, &["num_trees=40"], 2, &mut events).unwrap();
    let held_out = r2(&values(&model.predict(&tx).unwrap()), &ty);
    let oob = model.oob_score.unwrap();
    assert!(held_out > 0.8, "held-out R² {held_out}");
    assert!((oob - held_out).abs() < 0.05, "oob {oob} vs {held_out}");
    assert_eq!(model.training_metrics().get("oob_score"), Some(oob));
    let progress = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Progress { .. }))
        .count();
    assert_eq!(progress, 40);
    assert!(events
        .iter()
        .any(|e| matches!(e, TrainEvent::Metric { name, .. } if name == "oob_score")));
    let importance = model.feature_importance().unwrap();
    assert!(importance.iter().all(|f| f.splits > 0 && f.gain > 0.0));
}

#[test]
fn multiclass_oob_accuracy_is_close_to_held_out_and_probabilities_sum_to_one() {
    let (x, y) = table(1500, 3, CITIES);
    let (tx, ty) = table(1000, 4, CITIES);
    let target = classify(&y, &[0.5, 2.0]);
    let Target::Classification { labels: test, .. } = classify(&ty, &[0.5, 2.0]) else {
        unreachable!()
    };
    let data = TrainingData {
        features: x,
        target,
    };
    let model = fit(&data, &["num_trees=40", "max_features=2"]);
    let p = values(&model.predict(&tx).unwrap());
    for row in p.chunks_exact(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
    }
    let held_out = accuracy(&p, 3, &test);
    let oob = model.oob_score.unwrap();
    assert!(held_out > 0.75, "held-out accuracy {held_out}");
    assert!((oob - held_out).abs() < 0.05, "oob {oob} vs {held_out}");
}

#[test]
fn binary_classification_per_tree_sampling_without_bootstrap() {
    let (x, y) = table(800, 5, CITIES);
    let (tx, ty) = table(500, 6, CITIES);
    let Target::Classification { labels: test, .. } = classify(&ty, &[1.0]) else {
        unreachable!()
    };
    let data = TrainingData {
        features: x,
        target: classify(&y, &[1.0]),
    };
    let model = fit(
        &data,
        &[
            "n_estimators=20",
            "bootstrap=false",
            "feature_sampling=tree",
            "max_features=0.7",
            "max_depth=6",
        ],
    );
    assert_eq!(model.oob_score, None);
    assert_eq!(model.trees.len(), 20);
    let p = values(&model.predict(&tx).unwrap());
    assert!(accuracy(&p, 2, &test) > 0.75);
}

#[test]
fn same_seed_gives_identical_bytes_at_any_thread_count_and_seeds_matter() {
    let (x, y) = table(600, 7, CITIES);
    let data = TrainingData {
        features: x,
        target: classify(&y, &[0.5, 2.0]),
    };
    let params = ["num_trees=12"];
    let one = fit_with(&data, &params, 1, &mut Vec::new()).unwrap();
    let two = fit_with(&data, &params, 2, &mut Vec::new()).unwrap();
    let again = fit_with(&data, &params, 2, &mut Vec::new()).unwrap();
    assert_eq!(one.payload(), two.payload());
    assert_eq!(two.payload(), again.payload());
    let other = fit(&data, &["num_trees=12", "seed=99"]);
    assert_ne!(other.payload(), one.payload());
}

#[test]
fn save_load_gives_identical_predictions_and_unseen_or_missing_values_do_not_panic() {
    let (x, y) = table(500, 8, CITIES);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let model = fit(&data, &["num_trees=10"]);
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        algorithm: NAME.into(),
        algorithm_version: VERSION,
        task: Task::Regression,
        target: Some("y".into()),
        input_schema: ingot_core::Schema::new(Vec::new()),
        classes: None,
        hyperparameters: Hyperparameters::new(),
        resolved_parameters: serde_json::Value::Null,
        preprocessing: serde_json::Value::Null,
        metrics: Default::default(),
        training_rows: 0,
        validation_rows: 0,
        feature_importance: None,
    };
    let loaded = RandomForest.load(&manifest, &model.payload()).unwrap();
    // Unseen cities and a fully missing numeric column.
    let (tx, _) = table(200, 9, &["zzz", "ams", "yyy"]);
    let schema = tx.schema();
    let mut columns = tx.columns().to_vec();
    columns[0] = Arc::new(Float64Array::from(vec![None::<f64>; 200]));
    let tx = RecordBatch::try_new(schema, columns).unwrap();
    let a = values(&model.predict(&tx).unwrap());
    let b = values(&loaded.predict(&tx).unwrap());
    assert_eq!(a, b);
    assert!(a.iter().all(|v| v.is_finite()));
    assert!(RandomForest.load(&manifest, b"{}").is_err());
    manifest.algorithm_version = VERSION + 1;
    assert!(RandomForest.load(&manifest, &model.payload()).is_err());
}

#[test]
fn bad_hyperparameters_are_named() {
    let (x, y) = table(50, 10, CITIES);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    for (param, name) in [
        ("max_features=0", "max_features"),
        ("max_features=1.5", "max_features"),
        ("max_features=many", "max_features"),
        ("num_trees=0", "num_trees"),
        ("max_depth=0", "max_depth"),
        ("min_data_in_leaf=0", "min_data_in_leaf"),
        ("feature_sampling=leaf", "feature_sampling"),
        ("max_bin=1", "max_bin"),
    ] {
        match fit_with(&data, &[param], 1, &mut Vec::new()) {
            Err(Error::InvalidHyperparameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{param}: {other:?}"),
        }
    }
    assert!(matches!(
        fit_with(&data, &["learning_rate=0.1"], 1, &mut Vec::new()),
        Err(Error::UnknownHyperparameter { .. })
    ));
}

#[test]
fn cancellation_stops_training() {
    let (x, y) = table(100, 12, CITIES);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let cancel = AtomicBool::new(true);
    let mut sink = |_: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed: 1,
        events: &mut sink,
    };
    let params = ForestParams::from_hyperparameters(&Hyperparameters::new(), 1).unwrap();
    assert!(matches!(
        fit_forest(&data, &params, &mut ctx),
        Err(Error::Cancelled)
    ));
}

#[test]
fn max_features_counts_follow_scikit_learn() {
    assert_eq!(MaxFeatures::Auto.count(30, true), 5);
    assert_eq!(MaxFeatures::Auto.count(30, false), 30);
    assert_eq!(MaxFeatures::Log2.count(30, false), 4);
    assert_eq!(MaxFeatures::Fraction(0.5).count(5, false), 2);
    assert_eq!(MaxFeatures::Count(50).count(30, true), 30);
    assert_eq!(MaxFeatures::Sqrt.count(1, true), 1);
}

#[test]
fn depth_first_growth_gives_the_same_partition_as_depthwise() {
    use crate::grow::{GrowParams, Learner};
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (rows, cols) = (400, 3);
    let data: Vec<f64> = (0..rows * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let gh: Vec<[f32; 2]> = (0..rows)
        .map(|r| [-(data[r * cols] * data[r * cols + 1]) as f32, 1.0])
        .collect();
    let binned = BinnedData::build(&data, rows, &[None; 3], 255, 1, 0);
    let bag: Vec<u32> = (0..rows as u32).collect();
    let leaves = |policy| {
        let params = GrowParams {
            num_leaves: usize::MAX,
            max_depth: 5,
            policy,
            split: SplitParams {
                min_data_in_leaf: 3,
                min_sum_hessian_in_leaf: 0.0,
                lambda_l1: 0.0,
                lambda_l2: 0.0,
                min_gain_to_split: 0.0,
                max_cat_to_onehot: 4,
                max_cat_threshold: 32,
                cat_smooth: 0.0,
                cat_l2: 0.0,
            },
        };
        let mut learner = Learner::new(&binned, params);
        let grown = learner.grow(&bag, &gh, &[true; 3]);
        let mut parts: Vec<Vec<u32>> = grown
            .ranges
            .iter()
            .map(|&(s, l)| {
                let mut p = learner.rows[s..s + l].to_vec();
                p.sort_unstable();
                p
            })
            .collect();
        parts.sort();
        parts
    };
    let first = leaves(GrowPolicy::DepthFirst);
    assert!(first.len() > 8, "{} leaves", first.len());
    assert_eq!(first, leaves(GrowPolicy::Depthwise));
}
