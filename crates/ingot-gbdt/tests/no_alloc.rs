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

#[test]
fn the_single_row_estimator_path_equals_the_batch_path_and_allocates_only_its_answer() {
    use ingot_algo::Estimator;
    let train = data(300);
    let params = GbdtParams::from_hyperparameters(
        &Hyperparameters::parse_pairs(["num_trees=10", "num_leaves=7"]).unwrap(),
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
    let all = model.predict(&train.features).unwrap();
    let ingot_algo::Predictions::Classification { probabilities, .. } = &all else {
        panic!("{all:?}")
    };
    let width = 3;
    let rows: Vec<RecordBatch> = (0..train.features.num_rows())
        .map(|i| train.features.slice(i, 1))
        .collect();
    // Warm the per-thread scratch, then count.
    model.predict(&rows[0]).unwrap();
    let mut singles = Vec::new();
    let counted = allocation_counter::measure(|| {
        for row in &rows {
            singles.push(model.predict(row).unwrap());
        }
    });
    for (i, single) in singles.iter().enumerate() {
        let ingot_algo::Predictions::Classification {
            probabilities: p, ..
        } = single
        else {
            panic!("{single:?}")
        };
        assert_eq!(
            p.as_slice(),
            &probabilities[i * width..(i + 1) * width],
            "row {i}"
        );
    }
    // Per row: the probabilities vector, the class labels of the answer, and the growth of
    // `singles` itself; nothing per tree or per feature.
    let per_row = counted.count_total as f64 / rows.len() as f64;
    assert!(per_row <= 6.0, "{per_row} allocations per row");
}
