//! Unit tests of the LightGBM text reader on hand-written models: the three missing-value
//! types, categorical bitsets, links, `average_output`, and errors naming the problem.

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use ingot_algo::{Estimator, Predictions};
use std::sync::Arc;

use super::*;
use crate::model::ImportedModel;

/// A model with one two-leaf tree splitting feature 0 at 0.5 with `decision_type`.
fn text(objective: &str, decision_type: u8, extra_tree: &str, extra_header: &str) -> String {
    format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
         max_feature_idx=1\nobjective={objective}\n{extra_header}feature_names=a b\n\
         feature_infos=[0:1] [0:1]\ntree_sizes=100\n\n\
         Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=2.5\nthreshold=0.5\n\
         decision_type={decision_type}\nleft_child=-1\nright_child=-2\n\
         leaf_value=-1.25 2.5\nleaf_weight=3 5\nleaf_count=30 50\ninternal_value=0\n\
         internal_weight=8\ninternal_count=80\n{extra_tree}is_linear=0\nshrinkage=1\n\n\n\
         end of trees\n\nparameters:\nend of parameters\n"
    )
}

fn values(model_text: &str, xs: &[f64]) -> Vec<f64> {
    let bytes = model_text.as_bytes().to_vec();
    let ensemble = parse(&bytes).unwrap();
    let schema = ensemble.default_schema();
    let model = ImportedModel::new(FORMAT, ensemble, &schema, None, bytes).unwrap();
    let a: ArrayRef = Arc::new(Float64Array::from(
        xs.iter()
            .map(|x| (!x.is_nan()).then_some(*x))
            .collect::<Vec<_>>(),
    ));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![0.0; xs.len()]));
    let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
    match model.predict(&batch).unwrap() {
        Predictions::Regression { values } => values,
        Predictions::Classification { probabilities, .. } => {
            probabilities.chunks(2).map(|p| p[1]).collect()
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn trees_pack_for_exact_rows_as_lightgbm_compares_them() {
    let bytes = text("regression", 2, "", "").into_bytes();
    let ensemble = parse(&bytes).unwrap();
    let schema = ensemble.default_schema();
    let model = ImportedModel::new(FORMAT, ensemble, &schema, None, bytes).unwrap();
    let exact = Some(ingot_gbdt::packed::Precision::Exact);
    assert_eq!(model.packed_precision(), exact);
}

fn error(model_text: &str) -> String {
    parse(model_text.as_bytes()).unwrap_err().to_string()
}

#[test]
fn missing_types_route_nan_and_zero() {
    let xs = [0.4, 0.6, f64::NAN, 0.0, 1e-36];
    // Type NaN (8) default right: NaN right, zero compared.
    assert_eq!(
        values(&text("regression", 8, "", ""), &xs),
        [-1.25, 2.5, 2.5, -1.25, -1.25]
    );
    // Type NaN default left (10).
    assert_eq!(values(&text("regression", 10, "", ""), &xs)[2], -1.25);
    // Type None (0): NaN is 0.0, which is <= 0.5, so left, whatever the default bit.
    assert_eq!(
        values(&text("regression", 0, "", ""), &xs),
        [-1.25, 2.5, -1.25, -1.25, -1.25]
    );
    // Type Zero (4) default right: NaN and (near) zero go right.
    assert_eq!(
        values(&text("regression", 4, "", ""), &xs),
        [-1.25, 2.5, 2.5, 2.5, 2.5]
    );
    // LightGBM writes `inf` for a split that only separates the missing values.
    let t = text("regression", 8, "", "").replace("threshold=0.5", "threshold=inf");
    assert_eq!(values(&t, &[1e300, -3.0, f64::NAN]), [-1.25, -1.25, 2.5]);
}

#[test]
fn categorical_bitsets_send_members_left_and_the_rest_right() {
    // Categories {1, 3, 33} → words 0b1010 and 0b10 (bit 33 - 32 = 1).
    let t = text(
        "regression",
        1,
        "cat_boundaries=0 2\ncat_threshold=10 2\n",
        "",
    )
    .replace("num_cat=0", "num_cat=1")
    .replace("threshold=0.5", "threshold=0");
    let got = values(&t, &[1.0, 3.0, 33.0, 0.0, 2.0, -1.0, 64.0, f64::NAN, 3.9]);
    assert_eq!(got, [-1.25, -1.25, -1.25, 2.5, 2.5, 2.5, 2.5, 2.5, -1.25]);
}

#[test]
fn links_and_average_output() {
    let p = values(&text("binary sigmoid:2", 8, "", ""), &[0.6])[0];
    assert!((p - 1.0 / (1.0 + (-2.0f64 * 2.5).exp())).abs() < 1e-15);
    let v = values(&text("poisson", 8, "", ""), &[0.4])[0];
    assert!((v - (-1.25f64).exp()).abs() < 1e-15);
    let v = values(&text("regression sqrt", 8, "", ""), &[0.4])[0];
    assert_eq!(v, -1.5625);
    // Two identical trees averaged give one tree's output.
    let one = text("regression", 8, "", "average_output\n");
    let start = one.find("Tree=0").unwrap();
    let end = one.find("end of trees").unwrap();
    let twice = format!(
        "{}{}{}",
        &one[..end],
        one[start..end].replace("Tree=0", "Tree=1"),
        &one[end..]
    );
    assert_eq!(values(&twice, &[0.6]), [2.5]);
}

#[test]
fn bad_files_are_refused_naming_the_problem() {
    let good = text("regression", 8, "", "");
    let e = error(&good[..good.find("end of trees").unwrap()]);
    assert!(e.contains("truncated"), "{e}");
    let e = error("garbage\x00");
    assert!(e.contains("first line"), "{e}");
    let e = error(&text("lambdarank", 8, "", ""));
    assert!(e.contains("objective") && e.contains("lambdarank"), "{e}");
    let e = error(&text("", 8, "", "").replace("objective=\n", ""));
    assert!(e.contains("custom objective"), "{e}");
    let e = error(&text("regression", 8, "", "").replace("is_linear=0", "is_linear=1"));
    assert!(e.contains("linear trees"), "{e}");
    let e = error(&text("regression", 8, "", "").replace("leaf_value=-1.25 2.5", "leaf_value=x 2"));
    assert!(e.contains("Tree=0") && e.contains("leaf_value[0]"), "{e}");
    let e = error(&text("regression", 8, "", "").replace("split_feature=0", "split_feature=7"));
    assert!(e.contains("split_feature[0]"), "{e}");
    let e = error(&text("regression", 8, "", "").replace("right_child=-2", "right_child=0"));
    assert!(e.contains("invalid child"), "{e}");
    let e = error(&text("regression", 8, "", "").replace("max_feature_idx=1", "max_feature_idx=q"));
    assert!(e.contains("max_feature_idx"), "{e}");
}
