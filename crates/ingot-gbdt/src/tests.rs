//! End-to-end tests of the `gbdt` algorithm through the `Algorithm` / `Estimator` contract.

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

/// Rows with numeric `a` (10% missing), `b`, and string `city` (one of 8); the signal uses all
/// three, including "missing a" as its own effect.
fn table(rows: usize, seed: u64) -> (RecordBatch, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cities = ["ams", "ber", "cph", "dub", "edi", "fra", "gva", "hel"];
    let (mut a, mut b, mut c, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let av: f64 = rng.gen_range(-2.0..2.0);
        let bv: f64 = rng.gen_range(-2.0..2.0);
        let ci = rng.gen_range(0..cities.len());
        let missing = rng.gen_bool(0.1);
        let city_effect = if ci % 3 == 0 { 1.5 } else { -0.5 };
        let a_effect = if missing { 2.0 } else { av * av };
        y.push(a_effect + bv + city_effect + rng.gen_range(-0.1..0.1));
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

fn classify(y: &[f64], cuts: &[f64]) -> Target {
    let classes: Vec<String> = (0..=cuts.len()).map(|i| format!("c{i}")).collect();
    let labels = y
        .iter()
        .map(|v| cuts.iter().filter(|&&c| *v > c).count())
        .collect();
    Target::Classification { classes, labels }
}

fn hp(pairs: &[&str]) -> Hyperparameters {
    Hyperparameters::parse_pairs(pairs.iter().copied()).unwrap()
}

fn fit_with(
    data: &TrainingData,
    valid: Option<&TrainingData>,
    params: &[&str],
    threads: usize,
    events: &mut Vec<TrainEvent>,
) -> Result<Box<dyn Estimator>> {
    let cancel = AtomicBool::new(false);
    let mut sink = |e: TrainEvent| events.push(e);
    let mut ctx = FitContext {
        cancel: &cancel,
        threads,
        seed: 7,
        events: &mut sink,
    };
    Gbdt.fit(data, valid, &hp(params), &mut ctx)
}

fn fit(data: &TrainingData, params: &[&str]) -> Box<dyn Estimator> {
    fit_with(data, None, params, 2, &mut Vec::new()).unwrap()
}

fn manifest(task: Task) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        algorithm: NAME.into(),
        algorithm_version: VERSION,
        task,
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
    }
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64).sqrt()
}

fn values(p: &Predictions) -> Vec<f64> {
    match p {
        Predictions::Regression { values } => values.clone(),
        Predictions::Classification { probabilities, .. } => probabilities.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn regression_learns_numeric_missing_and_categorical_signal() {
    let (x, y) = table(3000, 1);
    let (tx, ty) = table(1000, 2);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y.clone()),
    };
    let model = fit(&data, &[]);
    let pred = values(&model.predict(&tx).unwrap());
    let baseline = {
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        rmse(&vec![mean; ty.len()], &ty)
    };
    let error = rmse(&pred, &ty);
    assert!(
        error < 0.25 * baseline,
        "rmse {error} vs baseline {baseline}"
    );
    let importance = model.feature_importance().unwrap();
    let names: Vec<&str> = importance.iter().map(|f| f.feature.as_str()).collect();
    assert_eq!(names, ["a", "b", "city"]);
    assert!(importance.iter().all(|f| f.splits > 0 && f.gain > 0.0));
}

#[test]
fn same_seed_and_threads_give_identical_bytes_and_threads_do_not_matter() {
    let (x, y) = table(2000, 3);
    let data = TrainingData {
        features: x,
        target: classify(&y, &[0.5, 2.0]),
    };
    let params = [
        "num_trees=20",
        "bagging_fraction=0.7",
        "bagging_freq=1",
        "feature_fraction=0.7",
    ];
    let one = fit_with(&data, None, &params, 2, &mut Vec::new()).unwrap();
    let two = fit_with(&data, None, &params, 2, &mut Vec::new()).unwrap();
    let single = fit_with(&data, None, &params, 1, &mut Vec::new()).unwrap();
    assert_eq!(one.payload(), two.payload());
    assert_eq!(one.payload(), single.payload());
    let other_seed = fit_with(
        &data,
        None,
        &[&params[..], &["seed=99"]].concat(),
        2,
        &mut Vec::new(),
    )
    .unwrap();
    assert_ne!(one.payload(), other_seed.payload());
}

#[test]
fn save_load_round_trip_predicts_identically() {
    let (x, y) = table(1500, 4);
    let (tx, _) = table(300, 5);
    for (target, task) in [
        (Target::Regression(y.clone()), Task::Regression),
        (classify(&y, &[1.0]), Task::BinaryClassification),
        (
            classify(&y, &[0.0, 1.0, 2.5]),
            Task::MulticlassClassification,
        ),
    ] {
        let data = TrainingData {
            features: x.clone(),
            target,
        };
        let model = fit(&data, &["num_trees=15"]);
        let loaded = Gbdt.load(&manifest(task), &model.payload()).unwrap();
        assert_eq!(
            model.predict(&tx).unwrap(),
            loaded.predict(&tx).unwrap(),
            "{task:?}"
        );
        assert_eq!(loaded.payload(), model.payload());
    }
}

#[test]
fn missing_values_and_unseen_categories_at_predict_time() {
    let (x, y) = table(1000, 6);
    let data = TrainingData {
        features: x,
        target: classify(&y, &[1.0]),
    };
    let model = fit(&data, &["num_trees=10"]);
    let schema = data.features.schema();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(vec![None, Some(f64::NAN), Some(1.0)])),
        Arc::new(Float64Array::from(vec![
            None,
            Some(0.0),
            Some(f64::INFINITY),
        ])),
        Arc::new(StringArray::from(vec![
            Some("zzz-unseen"),
            None,
            Some("ams"),
        ])),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    let p = values(&model.predict(&batch).unwrap());
    assert_eq!(p.len(), 6);
    assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
}

#[test]
fn single_row_path_matches_batch() {
    let (x, y) = table(800, 8);
    let data = TrainingData {
        features: x.clone(),
        target: classify(&y, &[0.0, 1.0, 2.5]),
    };
    let model = fit_gbdt(
        &data,
        None,
        &GbdtParams::from_hyperparameters(&hp(&["num_trees=8"]), 0).unwrap(),
        &mut FitContext {
            cancel: &AtomicBool::new(false),
            threads: 1,
            seed: 0,
            events: &mut |_| {},
        },
    )
    .unwrap();
    let raw = model.preprocessor.transform(&x).unwrap();
    let batch = model.predict_matrix(&raw.data, raw.rows);
    let mut out = vec![0.0; model.prediction_width()];
    for i in 0..raw.rows {
        model.predict_row(raw.row(i), &mut out);
        assert_eq!(out[..], batch[i * 4..(i + 1) * 4]);
    }
}

#[test]
fn bad_hyperparameters_name_the_parameter() {
    let (x, y) = table(100, 9);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let cases: &[(&str, &str)] = &[
        ("learning_rate=-0.1", "learning_rate"),
        ("learning_rate=fast", "learning_rate"),
        ("num_leaves=1", "num_leaves"),
        ("num_trees=ten", "num_trees"),
        ("bagging_fraction=0", "bagging_fraction"),
        ("max_depth=0", "max_depth"),
        ("objective=binary", "objective"),
        ("objective=gamma", "objective"),
        ("lambda_l2=-1", "lambda_l2"),
        ("grow_policy=random", "grow_policy"),
        ("num_leafs=8", "num_leafs"),
    ];
    for (pair, name) in cases {
        let err = fit_with(&data, None, &[pair], 1, &mut Vec::new())
            .err()
            .unwrap_or_else(|| panic!("{pair} was accepted"));
        let text = err.to_string();
        assert!(text.contains(name), "{pair}: {text}");
        if *pair == "num_leafs=8" {
            assert!(matches!(err, Error::UnknownHyperparameter { .. }));
        }
    }
}

#[test]
fn early_stopping_keeps_the_best_round_and_reports_metrics() {
    let (x, y) = table(1500, 10);
    let (vx, vy) = table(500, 11);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let valid = TrainingData {
        features: vx,
        target: Target::Regression(vy),
    };
    let mut events = Vec::new();
    let params = [
        "num_trees=400",
        "learning_rate=0.5",
        "early_stopping_rounds=5",
    ];
    let model = fit_with(&data, Some(&valid), &params, 2, &mut events).unwrap();
    let metric = |name: &str| -> Vec<f64> {
        events
            .iter()
            .filter_map(|e| match e {
                TrainEvent::Metric { name: n, value, .. } if n == name => Some(*value),
                _ => None,
            })
            .collect()
    };
    let valid_curve = metric("validation_l2");
    let train_curve = metric("training_l2");
    assert!(valid_curve.len() < 400, "early stopping never triggered");
    assert_eq!(train_curve.len(), valid_curve.len());
    assert!(train_curve.last() < train_curve.first());
    let best = valid_curve
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(valid_curve.len(), best + 1 + 5);
    let kept = model.resolved_parameters()["trees_kept"].as_u64().unwrap();
    assert_eq!(kept as usize, best + 1);
    assert!(events
        .iter()
        .any(|e| matches!(e, TrainEvent::Progress { done, total } if done == total)));
}

#[test]
fn cancellation_stops_training() {
    let (x, y) = table(500, 12);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let cancel = AtomicBool::new(true);
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 2,
        seed: 0,
        events: &mut |_| {},
    };
    assert!(matches!(
        Gbdt.fit(&data, None, &Hyperparameters::new(), &mut ctx),
        Err(Error::Cancelled)
    ));
}

#[test]
fn every_objective_and_growth_policy_beats_the_constant() {
    let (x, y) = table(2000, 13);
    let (tx, ty) = table(500, 14);
    let counts: Vec<f64> = y.iter().map(|v| (v + 3.0).max(0.0).floor()).collect();
    let tcounts: Vec<f64> = ty.iter().map(|v| (v + 3.0).max(0.0).floor()).collect();
    let cases: &[(&[&str], bool)] = &[
        (&["objective=regression_l1"], false),
        (&["objective=huber", "alpha=1.0"], false),
        (&["objective=quantile", "alpha=0.5"], false),
        (&["objective=poisson"], true),
        (&["grow_policy=depthwise", "max_depth=4"], false),
        (&["max_depth=3", "num_leaves=64"], false),
        (
            &["lambda_l1=1", "lambda_l2=1", "min_gain_to_split=0.1"],
            false,
        ),
    ];
    for (params, poisson) in cases {
        let (target, truth) = if *poisson {
            (counts.clone(), &tcounts)
        } else {
            (y.clone(), &ty)
        };
        let data = TrainingData {
            features: x.clone(),
            target: Target::Regression(target.clone()),
        };
        let model = fit(&data, params);
        let pred = values(&model.predict(&tx).unwrap());
        let mean = target.iter().sum::<f64>() / target.len() as f64;
        let error = rmse(&pred, truth);
        let baseline = rmse(&vec![mean; truth.len()], truth);
        assert!(error < 0.5 * baseline, "{params:?}: {error} vs {baseline}");
    }
}

#[test]
fn depth_limit_is_respected() {
    let (x, y) = table(1000, 15);
    let data = TrainingData {
        features: x,
        target: Target::Regression(y),
    };
    let model = GbdtModel::from_payload(
        &fit(
            &data,
            &["grow_policy=depthwise", "max_depth=2", "num_trees=5"],
        )
        .payload(),
    )
    .unwrap();
    for tree in &model.trees {
        assert!(tree.num_leaves() <= 4);
    }
}
