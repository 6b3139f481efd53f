//! The serving hot path: scoring one row with `GbdtModel::predict_row` makes no heap
//! allocation, counted by a test-only allocator (this test binary only).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use ingot_algo::{FitContext, Target, TrainingData};
use ingot_core::Hyperparameters;
use ingot_gbdt::{fit_gbdt, GbdtParams};

fn data(rows: usize) -> TrainingData {
    let x: Vec<Option<f64>> = (0..rows)
        .map(|i| (i % 13 != 0).then(|| (i as f64 * 0.37).sin() * 3.0))
        .collect();
    let colour: Vec<&str> = (0..rows).map(|i| ["red", "green", "blue"][i % 3]).collect();
    let labels: Vec<usize> = (0..rows).map(|i| (i * 7 + i / 3) % 3).collect();
    let features = RecordBatch::try_from_iter([
        ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
        ("colour", Arc::new(StringArray::from(colour)) as ArrayRef),
    ])
    .unwrap();
    TrainingData {
        features,
        target: Target::Classification {
            classes: vec!["a".into(), "b".into(), "c".into()],
            labels,
        },
    }
}

#[test]
fn scoring_one_row_allocates_nothing() {
    let train = data(600);
    let params = GbdtParams::from_hyperparameters(
        &Hyperparameters::parse_pairs(["num_trees=20", "num_leaves=15"]).unwrap(),
        0,
    )
    .unwrap();
    let cancel = AtomicBool::new(false);
    let model = fit_gbdt(
        &train,
        None,
        &params,
        &mut FitContext {
            cancel: &cancel,
            threads: 1,
            seed: 0,
            events: &mut |_| {},
        },
    )
    .unwrap();
    let matrix = model.preprocessor.transform(&train.features).unwrap();
    let mut out = vec![0.0; model.prediction_width()];
    let mut checksum = 0.0;
    let counted = allocation_counter::measure(|| {
        for i in 0..matrix.rows {
            model.predict_row(matrix.row(i), &mut out);
            checksum += out[0];
        }
    });
    assert_eq!(
        counted.count_total, 0,
        "predict_row allocated {} times over {} rows",
        counted.count_total, matrix.rows
    );
    assert!(checksum.is_finite() && checksum > 0.0);
    // The counter does see allocations: the batch path allocates its output.
    let batch = allocation_counter::measure(|| {
        let _ = model.predict_matrix(&matrix.data, matrix.rows);
    });
    assert!(batch.count_total > 0);
}
