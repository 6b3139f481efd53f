//! Unit tests of the XGBoost JSON reader on hand-written models: routing (numeric, missing,
//! categorical), base scores and links, and errors that name the offending field.

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use ingot_algo::{Estimator, Predictions};
use serde_json::{json, Value};
use std::sync::Arc;

use super::*;
use crate::model::ImportedModel;

/// A one-tree model: node 0 splits feature 1 at 0.5 (NaN left), leaves -0.4 and 0.6.
fn stump(objective: &str, base_score: &str) -> Value {
    json!({
        "learner": {
            "feature_names": [],
            "feature_types": [],
            "learner_model_param": {
                "base_score": base_score, "num_class": "0", "num_feature": "2", "num_target": "1"
            },
            "objective": {"name": objective},
            "gradient_booster": {
                "name": "gbtree",
                "model": {
                    "tree_info": [0],
                    "trees": [{
                        "left_children": [1, -1, -1],
                        "right_children": [2, -1, -1],
                        "split_indices": [1, 0, 0],
                        "split_conditions": [0.5, -0.4, 0.6],
                        "default_left": [1, 0, 0],
                        "split_type": [0, 0, 0],
                        "sum_hessian": [10.0, 4.0, 6.0],
                        "loss_changes": [3.0, 0.0, 0.0],
                        "base_weights": [0.0, -0.4, 0.6],
                        "categories": [], "categories_nodes": [],
                        "categories_segments": [], "categories_sizes": [],
                        "tree_param": {"num_nodes": "3", "size_leaf_vector": "1", "num_feature": "2"}
                    }]
                }
            }
        },
        "version": [3, 2, 0]
    })
}

fn model(value: &Value) -> ImportedModel {
    let bytes = serde_json::to_vec(value).unwrap();
    let ensemble = parse(&bytes).unwrap();
    let schema = ensemble.default_schema();
    ImportedModel::new(FORMAT, ensemble, &schema, None, bytes).unwrap()
}

fn batch(rows: &[[f64; 2]]) -> RecordBatch {
    let col = |j: usize| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|r| (!r[j].is_nan()).then_some(r[j]))
                .collect::<Vec<_>>(),
        ))
    };
    RecordBatch::try_from_iter([("f0", col(0)), ("f1", col(1))]).unwrap()
}

fn error(value: &Value) -> String {
    parse(&serde_json::to_vec(value).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn stump_routes_numbers_and_missing_values() {
    let m = model(&stump("reg:squarederror", "[1E0]"));
    let Predictions::Regression { values } = m
        .predict(&batch(&[
            [0.0, 0.2],
            [0.0, 0.5],
            [0.0, 0.7],
            [0.0, f64::NAN],
        ]))
        .unwrap()
    else {
        panic!("regression expected");
    };
    // 1 + leaf, summed in float32 as XGBoost does; 0.5 is not < 0.5 so it goes right; NaN
    // takes the default (left).
    let left = f64::from(1.0f32 + -0.4f32);
    let right = f64::from(1.0f32 + 0.6f32);
    assert_eq!(&values[..3], &[left, right, right]);
    assert_eq!(values[3], left);
    // Cover-weighted expectation 1 + 0.4·(-0.4) + 0.6·0.6, and attributions summing to it.
    let shap = m.explain(&batch(&[[0.0, 0.2]])).unwrap();
    let expected = 1.0 + (4.0 * (-0.4f32) as f64 + 6.0 * 0.6f32 as f64) / 10.0;
    assert!((shap.base_values[0] - expected).abs() < 1e-12);
    assert_eq!(shap.value(0, 0, 0), 0.0);
    // SHAP is exact in f64; the prediction carries XGBoost's float32 rounding.
    assert!((shap.margin(0, 0) - (1.0 + f64::from(-0.4f32))).abs() < 1e-12);
    assert!((shap.margin(0, 0) - values[0]).abs() < 1e-6);
}

#[test]
fn trees_pack_for_float32_rows_as_xgboost_compares_them() {
    let m = model(&stump("binary:logistic", "[2.5E-1]"));
    let float32 = Some(ingot_gbdt::packed::Precision::Float32);
    assert_eq!(m.packed_precision(), float32);
}

#[test]
fn dense_rows_predict_as_batches_do() {
    let m = model(&stump("binary:logistic", "[2.5E-1]"));
    assert!(m.reads_dense_rows());
    // Infinities are missing values in a batch (the preprocessing drops non-finite numbers).
    let rows = [
        [0.0, 0.2],
        [1.0, 0.5],
        [0.0, f64::INFINITY],
        [f64::NAN, f64::NEG_INFINITY],
        [2.0, f64::NAN],
        [0.0, 0.7],
    ];
    let dense: Vec<f64> = rows.iter().flatten().copied().collect();
    let want = m.predict(&batch(&rows)).unwrap();
    assert_eq!(m.predict_dense(&dense, rows.len()).unwrap().unwrap(), want);
    // Missing goes left here, so an infinity read as a number would go right instead.
    let Predictions::Classification { probabilities, .. } = &want else {
        panic!("classification expected");
    };
    assert_eq!(probabilities[5], probabilities[1]);
    assert_eq!(probabilities[5], probabilities[7]);
    assert_ne!(probabilities[5], probabilities[11]);
    let err = m
        .predict_dense(&dense[1..], rows.len())
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("rows of 2 columns"), "{err}");
}

#[test]
fn base_score_is_a_probability_for_logistic_objectives() {
    let m = model(&stump("binary:logistic", "[2.5E-1]"));
    let Predictions::Classification {
        classes,
        probabilities,
    } = m.predict(&batch(&[[0.0, 0.9]])).unwrap()
    else {
        panic!("classification expected");
    };
    assert_eq!(classes, ["0", "1"]);
    let margin = (0.25f64 / 0.75).ln() + 0.6f32 as f64;
    let p = 1.0 / (1.0 + (-margin).exp());
    assert!(
        (probabilities[1] - p).abs() < 1e-7,
        "{probabilities:?} vs {p}"
    );
    assert!((probabilities[0] + probabilities[1] - 1.0).abs() < 1e-15);
    // XGBoost 2.x writes a bare number.
    let m = model(&stump("count:poisson", "2E0"));
    let Predictions::Regression { values } = m.predict(&batch(&[[0.0, 0.0]])).unwrap() else {
        panic!()
    };
    assert!((values[0] - 2.0 * ((-0.4f32) as f64).exp()).abs() < 1e-6);
}

#[test]
fn categorical_nodes_send_listed_codes_right_and_unknown_codes_left() {
    for default_left in [1, 0] {
        let mut v = stump("reg:squarederror", "[0E0]");
        let tree = &mut v["learner"]["gradient_booster"]["model"]["trees"][0];
        tree["split_type"] = json!([1, 0, 0]);
        tree["default_left"] = json!([default_left, 0, 0]);
        tree["categories"] = json!([1, 3]);
        tree["categories_nodes"] = json!([0]);
        tree["categories_segments"] = json!([0]);
        tree["categories_sizes"] = json!([2]);
        let m = model(&v);
        let rows = [
            [0.0, 1.0],
            [0.0, 3.0],
            [0.0, 2.0],
            [0.0, -1.0],
            [0.0, 70.0],
            [0.0, f64::NAN],
        ];
        let Predictions::Regression { values } = m.predict(&batch(&rows)).unwrap() else {
            panic!()
        };
        let (left, right) = ((-0.4f32) as f64, 0.6f32 as f64);
        let nan = if default_left == 1 { left } else { right };
        assert_eq!(
            values,
            [right, right, left, left, left, nan],
            "default_left {default_left}"
        );
    }
}

#[test]
fn dart_weights_scale_the_trees() {
    let mut v = stump("reg:squarederror", "[0E0]");
    let model_value = v["learner"]["gradient_booster"]["model"].take();
    v["learner"]["gradient_booster"] = json!({
        "name": "dart", "gbtree": {"name": "gbtree", "model": model_value}, "weight_drop": [0.5]
    });
    let m = model(&v);
    let Predictions::Regression { values } = m.predict(&batch(&[[0.0, 1.0]])).unwrap() else {
        panic!()
    };
    assert_eq!(values[0], 0.5 * 0.6f32 as f64);
}

/// Plain UBJSON (untyped containers, `L`-prefixed keys and strings) of a JSON value.
fn to_ubjson(value: &Value) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, text: &str) {
        out.push(b'L');
        out.extend_from_slice(&(text.len() as i64).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    fn write(out: &mut Vec<u8>, value: &Value) {
        match value {
            Value::Null => out.push(b'Z'),
            Value::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
            Value::Number(n) => match n.as_i64() {
                Some(i) => {
                    out.push(b'L');
                    out.extend_from_slice(&i.to_be_bytes());
                }
                None => {
                    out.push(b'D');
                    out.extend_from_slice(&n.as_f64().unwrap().to_be_bytes());
                }
            },
            Value::String(s) => {
                out.push(b'S');
                text(out, s);
            }
            Value::Array(items) => {
                out.push(b'[');
                items.iter().for_each(|item| write(out, item));
                out.push(b']');
            }
            Value::Object(map) => {
                out.push(b'{');
                for (key, item) in map {
                    text(out, key);
                    write(out, item);
                }
                out.push(b'}');
            }
        }
    }
    let mut out = Vec::new();
    write(&mut out, value);
    out
}

#[test]
fn a_ubjson_model_reads_as_its_json_twin() {
    let model = stump("binary:logistic", "[5E-1]");
    let from_json = parse(&serde_json::to_vec(&model).unwrap()).unwrap();
    let from_ubjson = parse(&to_ubjson(&model)).unwrap();
    assert_eq!(format!("{from_ubjson:?}"), format!("{from_json:?}"));
}

#[test]
fn bad_files_are_refused_naming_the_problem() {
    let good = serde_json::to_vec(&stump("reg:squarederror", "[0E0]")).unwrap();
    let truncated = parse(&good[..good.len() / 2]).unwrap_err().to_string();
    assert!(truncated.contains("not valid JSON"), "{truncated}");
    let garbage = parse(b"\x00\x01binary").unwrap_err().to_string();
    assert!(garbage.contains("legacy binary"), "{garbage}");
    let ubjson = to_ubjson(&stump("reg:squarederror", "[0E0]"));
    let damaged = parse(&ubjson[..ubjson.len() - 9]).unwrap_err().to_string();
    assert!(damaged.contains("not valid UBJSON"), "{damaged}");
    let e = error(&stump("rank:pairwise", "[0E0]"));
    assert!(
        e.contains("learner.objective.name") && e.contains("rank:pairwise"),
        "{e}"
    );
    let mut v = stump("reg:squarederror", "[0E0]");
    v["learner"]["gradient_booster"]["name"] = json!("gblinear");
    let e = error(&v);
    assert!(
        e.contains("learner.gradient_booster.name") && e.contains("gblinear"),
        "{e}"
    );
    let mut v = stump("reg:squarederror", "[0E0]");
    v["learner"]["learner_model_param"]
        .as_object_mut()
        .unwrap()
        .remove("num_feature");
    let e = error(&v);
    assert!(e.contains("learner.learner_model_param.num_feature"), "{e}");
    let mut v = stump("reg:quantileerror", "[0E0]");
    v["learner"]["learner_model_param"]["num_target"] = json!("3");
    let e = error(&v);
    assert!(e.contains("num_target") && e.contains("quantiles"), "{e}");
    let mut v = stump("reg:squarederror", "[0E0]");
    v["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"] = json!([5, 0, 0]);
    let e = error(&v);
    assert!(e.contains("trees[0].split_indices[0]"), "{e}");
    let mut v = stump("reg:squarederror", "[0E0]");
    v["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"] = json!([0, -1, -1]);
    let e = error(&v);
    assert!(e.contains("reached twice"), "{e}");
    let mut v = stump("reg:squarederror", "[0E0]");
    v["learner"]["gradient_booster"]["model"]["trees"][0]["tree_param"]["size_leaf_vector"] =
        json!("3");
    let e = error(&v);
    assert!(e.contains("multi-output"), "{e}");
    let mut v = stump("multi:softprob", "[0E0]");
    v["learner"]["learner_model_param"]["num_class"] = json!("3");
    v["learner"]["gradient_booster"]["model"]["tree_info"] = json!([4]);
    let e = error(&v);
    assert!(e.contains("tree_info[0]"), "{e}");
}
