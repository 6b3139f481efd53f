//! Hand-built ONNX graphs through analysis, lowering and both engines, against values worked
//! out from the operator definitions.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use ingot_algo::{Estimator, ImportOptions, Predictions};
use ingot_core::{ColumnType, Field, Schema, Task};
use tract_onnx::pb::{
    tensor_shape_proto::{dimension, Dimension},
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

use crate::proto::{elem, ints_attr};
use crate::{from_model, OnnxEstimator};

fn value(name: &str, elem_type: i32, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => dimension::Value::DimValue(*v),
                None => dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A value that is not a tensor (what ZipMap produces).
fn sequence(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto::default()),
        ..Default::default()
    }
}

fn floats(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 6,
        floats: v.to_vec(),
        ..Default::default()
    }
}

fn text(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 3,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn texts(name: &str, v: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 8,
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

fn ml(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        domain: "ai.onnx.ml".into(),
        name: format!("{op}_node"),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

fn model(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
) -> ModelProto {
    let opset = |domain: &str, version| OperatorSetIdProto {
        domain: domain.into(),
        version,
    };
    ModelProto {
        ir_version: 8,
        producer_name: "hand".into(),
        opset_import: vec![opset("", 17), opset("ai.onnx.ml", 1)],
        graph: Some(GraphProto {
            node: nodes,
            input: inputs,
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn estimator(model: &ModelProto) -> (OnnxEstimator, Task, Schema) {
    from_model(model, Vec::new(), &ImportOptions::default()).unwrap()
}

fn float_batch(names: &[&str], rows: &[&[f64]]) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let values: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            (*n, Arc::new(Float64Array::from(values)) as ArrayRef)
        })
        .collect();
    RecordBatch::try_from_iter(columns).unwrap()
}

fn assert_close(ours: &[f64], expected: &[f64]) {
    assert_eq!(ours.len(), expected.len(), "{ours:?} vs {expected:?}");
    for (a, b) in ours.iter().zip(expected) {
        assert!((a - b).abs() < 1e-6, "{ours:?} vs {expected:?}");
    }
}

/// X[N, 2] → Scaler(offset [1, 0], scale [2, 1]) → LinearRegressor([3, −1], 0.5).
fn scaled_regression() -> ModelProto {
    model(
        vec![
            ml(
                "Scaler",
                &["X"],
                &["scaled"],
                vec![floats("offset", &[1.0, 0.0]), floats("scale", &[2.0, 1.0])],
            ),
            ml(
                "LinearRegressor",
                &["scaled"],
                &["variable"],
                vec![
                    floats("coefficients", &[3.0, -1.0]),
                    floats("intercepts", &[0.5]),
                ],
            ),
        ],
        vec![value("X", elem::FLOAT, &[None, Some(2)])],
        vec![value("variable", elem::FLOAT, &[None, Some(1)])],
    )
}

#[test]
fn scaler_and_linear_regressor_follow_their_definitions() {
    let (model, task, schema) = estimator(&scaled_regression());
    assert_eq!(task, Task::Regression);
    let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["f0", "f1"]);
    let batch = float_batch(&["f0", "f1"], &[&[1.0, 2.0], &[3.0, -1.0]]);
    let Predictions::Regression { values } = model.predict(&batch).unwrap() else {
        panic!("not a regression")
    };
    // ((1−1)·2)·3 + (2·1)·(−1) + 0.5 and ((3−1)·2)·3 + (−1)·(−1) + 0.5
    assert_close(&values, &[-1.5, 13.5]);
    let empty = float_batch(&["f0", "f1"], &[]);
    assert!(model.predict(&empty).unwrap().is_empty());
    assert_eq!(model.resolved_parameters()["engine"], "tract");
}

#[test]
fn a_schema_of_the_wrong_width_names_both_counts() {
    let three = Schema::new(
        ["a", "b", "c"]
            .iter()
            .map(|n| Field::new(*n, ColumnType::Float, true))
            .collect(),
    );
    let options = ImportOptions {
        schema: Some(three),
        classes: None,
    };
    let err = from_model(&scaled_regression(), Vec::new(), &options)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("takes 2 input columns but the given schema has 3"),
        "{err}"
    );
}

#[test]
fn binary_linear_classifier_behind_zipmap_gives_one_minus_s_and_s() {
    // One score column and two labels: onnxruntime outputs [1 − s, s] with s the raw score.
    let graph = model(
        vec![
            ml(
                "LinearClassifier",
                &["X"],
                &["label", "scores"],
                vec![
                    floats("coefficients", &[1.0, 1.0]),
                    floats("intercepts", &[0.0]),
                    texts("classlabels_strings", &["no", "yes"]),
                    text("post_transform", "LOGISTIC"),
                ],
            ),
            ml(
                "ZipMap",
                &["scores"],
                &["output_probability"],
                vec![texts("classlabels_strings", &["no", "yes"])],
            ),
        ],
        vec![value("X", elem::FLOAT, &[None, Some(2)])],
        vec![
            value("label", elem::STRING, &[None]),
            sequence("output_probability"),
        ],
    );
    let (model, task, _) = estimator(&graph);
    assert_eq!(task, Task::BinaryClassification);
    let batch = float_batch(&["f0", "f1"], &[&[0.25, 0.5]]);
    let Predictions::Classification {
        classes,
        probabilities,
    } = model.predict(&batch).unwrap()
    else {
        panic!("not a classification")
    };
    assert_eq!(classes, ["no", "yes"]);
    assert_close(&probabilities, &[0.25, 0.75]);
}

#[test]
fn l1_normalizer_divides_rows_and_leaves_zero_rows() {
    let graph = model(
        vec![
            ml(
                "LinearClassifier",
                &["X"],
                &["label", "raw"],
                vec![
                    floats(
                        "coefficients",
                        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                    ),
                    floats("intercepts", &[0.0, 0.0, 0.0]),
                    ints_attr("classlabels_ints", vec![4, 5, 6]),
                ],
            ),
            ml(
                "Normalizer",
                &["raw"],
                &["probabilities"],
                vec![text("norm", "L1")],
            ),
        ],
        vec![value("X", elem::FLOAT, &[None, Some(3)])],
        vec![
            value("label", elem::INT64, &[None]),
            value("probabilities", elem::FLOAT, &[None, Some(3)]),
        ],
    );
    let (model, task, _) = estimator(&graph);
    assert_eq!(task, Task::MulticlassClassification);
    let batch = float_batch(&["f0", "f1", "f2"], &[&[1.0, -1.0, 2.0], &[0.0, 0.0, 0.0]]);
    let Predictions::Classification {
        classes,
        probabilities,
    } = model.predict(&batch).unwrap()
    else {
        panic!("not a classification")
    };
    assert_eq!(classes, ["4", "5", "6"]);
    assert_close(&probabilities, &[0.25, -0.25, 0.5, 0.0, 0.0, 0.0]);
}

#[test]
fn per_column_inputs_become_typed_columns() {
    let graph = model(
        vec![NodeProto {
            op_type: "Identity".into(),
            input: vec!["age".into()],
            output: vec!["y".into()],
            ..Default::default()
        }],
        vec![
            value("age", elem::FLOAT, &[None, Some(1)]),
            value("visits", elem::INT64, &[None, Some(1)]),
            value("city", elem::STRING, &[None, Some(1)]),
        ],
        vec![value("y", elem::FLOAT, &[None, Some(1)])],
    );
    let analysis = crate::graph::analyze(&graph, &ImportOptions::default()).unwrap();
    let columns: Vec<(&str, ColumnType)> = analysis
        .schema
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.column_type))
        .collect();
    assert_eq!(
        columns,
        [
            ("age", ColumnType::Float),
            ("visits", ColumnType::Integer),
            ("city", ColumnType::String)
        ]
    );
}

#[test]
fn unsupported_operators_and_compositions_are_named() {
    let svm = model(
        vec![ml("SVMRegressor", &["X"], &["y"], vec![])],
        vec![value("X", elem::FLOAT, &[None, Some(2)])],
        vec![value("y", elem::FLOAT, &[None, Some(1)])],
    );
    let err = from_model(&svm, Vec::new(), &ImportOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("SVMRegressor") && err.contains("not supported"),
        "{err}"
    );

    let tree = ml(
        "TreeEnsembleRegressor",
        &["X"],
        &["raw"],
        vec![
            ints_attr("nodes_treeids", vec![0]),
            ints_attr("nodes_nodeids", vec![0]),
            ints_attr("nodes_featureids", vec![0]),
            texts("nodes_modes", &["LEAF"]),
            floats("nodes_values", &[0.0]),
            ints_attr("nodes_truenodeids", vec![0]),
            ints_attr("nodes_falsenodeids", vec![0]),
            ints_attr("target_treeids", vec![0]),
            ints_attr("target_nodeids", vec![0]),
            ints_attr("target_ids", vec![0]),
            floats("target_weights", &[2.0]),
        ],
    );
    let after = NodeProto {
        op_type: "Neg".into(),
        input: vec!["raw".into()],
        output: vec!["y".into()],
        ..Default::default()
    };
    let inside = model(
        vec![tree.clone(), after],
        vec![value("X", elem::FLOAT, &[None, Some(2)])],
        vec![value("y", elem::FLOAT, &[None, Some(1)])],
    );
    let err = from_model(&inside, Vec::new(), &ImportOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("TreeEnsembleRegressor") && err.contains("combined with Neg"),
        "{err}"
    );

    // The same tree alone is served natively.
    let alone = model(
        vec![tree],
        vec![value("X", elem::FLOAT, &[None, Some(2)])],
        vec![value("raw", elem::FLOAT, &[None, Some(1)])],
    );
    let (model, _, _) = estimator(&alone);
    let Predictions::Regression { values } = model
        .predict(&float_batch(&["f0", "f1"], &[&[1.0, 2.0]]))
        .unwrap()
    else {
        panic!("not a regression")
    };
    assert_eq!(values, [2.0]);
}
