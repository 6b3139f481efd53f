//! KernelSHAP over Arrow record batches, for models that take whole tables (any column types:
//! numbers, strings, booleans, timestamps, missing values).
//!
//! KernelSHAP only ever gives a feature either the explained row's value or a background row's
//! value, so each column is one feature and nothing needs to be numeric: the explained rows and
//! the background rows are stacked into one pool, every cell is replaced by a **value code** (the
//! index of the first pool row holding an equal value in that column; equality is exact, on the
//! value's text form, nulls equal to nulls), and the numeric engine runs on the codes. The model
//! closure turns a matrix of codes back into a batch by taking, column by column, the pool rows
//! the codes name, and predicts on it. Equal codes mean equal values, so a column whose explained
//! value equals every background value is recognised as non-varying, as `shap` does for numbers.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch, UInt64Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{Field, Schema};

use super::{explain, Background, Equality, Explanation, KernelShapConfig};
use crate::{Error, Result};

/// Value codes of every cell of `pool`, row-major `rows × columns`.
fn value_codes(pool: &RecordBatch) -> Result<Vec<f64>> {
    let (rows, columns) = (pool.num_rows(), pool.num_columns());
    let mut codes = vec![0.0; rows * columns];
    let options = FormatOptions::default().with_null("\u{0}null");
    for (j, array) in pool.columns().iter().enumerate() {
        let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
        let mut first: HashMap<String, usize> = HashMap::new();
        for i in 0..rows {
            let key = formatter.value(i).to_string();
            let code = *first.entry(key).or_insert(i);
            codes[i * columns + j] = code as f64;
        }
    }
    Ok(codes)
}

/// Rebuilds a batch from a `rows × columns` matrix of value codes.
fn decode(
    pool: &RecordBatch,
    codes: &[f64],
    rows: usize,
) -> std::result::Result<RecordBatch, String> {
    let columns = pool.num_columns();
    let arrays = (0..columns)
        .map(|j| {
            let indices =
                UInt64Array::from_iter_values((0..rows).map(|r| codes[r * columns + j] as u64));
            arrow_select::take::take(pool.column(j).as_ref(), &indices, None)
        })
        .collect::<std::result::Result<Vec<Arc<dyn Array>>, _>>()
        .map_err(|e| e.to_string())?;
    RecordBatch::try_new(pool.schema(), arrays).map_err(|e| e.to_string())
}

/// The explained rows followed by the background rows. Columns must agree in name and type;
/// nullability may differ (the pool's columns are nullable).
fn stack(rows: &RecordBatch, background: &RecordBatch) -> Result<RecordBatch> {
    let (a, b) = (rows.schema(), background.schema());
    let same = a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type());
    if !same {
        return Err(Error::Table(
            "the explained rows and the background rows have different columns".into(),
        ));
    }
    if rows.num_columns() == 0 {
        return Err(Error::Empty("the feature list"));
    }
    if background.num_rows() == 0 {
        return Err(Error::Empty("the background data"));
    }
    let fields: Vec<Field> = a
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), f.data_type().clone(), true))
        .collect();
    let columns = (0..rows.num_columns())
        .map(|j| {
            arrow_select::concat::concat(&[rows.column(j).as_ref(), background.column(j).as_ref()])
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Explains every row of `rows` against the background rows `background` (same schema; pick
/// them with [`super::sample_indices`]), for a model that maps a batch to `rows × outputs`
/// values. Features are the batch's columns, in order.
pub fn explain_batch<F>(
    predict: F,
    rows: &RecordBatch,
    background: &RecordBatch,
    config: &KernelShapConfig,
) -> Result<Explanation>
where
    F: Fn(&RecordBatch) -> std::result::Result<Vec<f64>, String> + Sync,
{
    let pool = stack(rows, background)?;
    let codes = value_codes(&pool)?;
    let m = pool.num_columns();
    let split = rows.num_rows() * m;
    let bg = Background::new(codes[split..].to_vec(), m)?;
    let model = |data: &[f64], n: usize| -> std::result::Result<Vec<f64>, String> {
        predict(&decode(&pool, data, n)?)
    };
    explain(&model, &bg, &codes[..split], config, Equality::Exact)
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::{Float64Array, StringArray};

    use super::*;
    use crate::shap::kernel_shap;

    fn batch(x: Vec<Option<f64>>, colour: Vec<Option<&str>>) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(x)) as Arc<dyn Array>),
            (
                "colour",
                Arc::new(StringArray::from(colour)) as Arc<dyn Array>,
            ),
        ])
        .unwrap()
    }

    /// f = 2x (missing x counts as 0) + 3 if red, 1 if blue, 0 otherwise (also when missing).
    fn predict(b: &RecordBatch) -> std::result::Result<Vec<f64>, String> {
        let x = b.column(0).as_primitive::<Float64Type>();
        let colour = b.column(1).as_string::<i32>();
        Ok((0..b.num_rows())
            .map(|i| {
                let x = if x.is_null(i) { 0.0 } else { x.value(i) };
                let c = match colour.is_valid(i).then(|| colour.value(i)) {
                    Some("red") => 3.0,
                    Some("blue") => 1.0,
                    _ => 0.0,
                };
                2.0 * x + c
            })
            .collect())
    }

    #[test]
    fn string_columns_are_masked_as_whole_values() {
        let rows = batch(vec![Some(1.0), None], vec![Some("red"), Some("blue")]);
        let bg = batch(
            vec![Some(0.0), Some(2.0), Some(4.0)],
            vec![Some("blue"), None, Some("blue")],
        );
        let e = explain_batch(predict, &rows, &bg, &KernelShapConfig::default()).unwrap();
        // Additive model: φ_x = 2 (x − mean x_bg) = 2 (x − 2); φ_colour = c(x) − mean c(bg)
        // = c − (1 + 0 + 1)/3.
        let expected = [
            [2.0 * (1.0 - 2.0), 3.0 - 2.0 / 3.0],
            [2.0 * (0.0 - 2.0), 1.0 - 2.0 / 3.0],
        ];
        for (r, row) in expected.iter().enumerate() {
            for (j, want) in row.iter().enumerate() {
                assert!((e.value(r, j, 0) - want).abs() < 1e-12, "row {r} col {j}");
            }
        }
        // The same as the numeric engine on the numeric encoding of the same model.
        let numeric = |data: &[f64], n: usize| -> Vec<f64> {
            (0..n)
                .map(|r| 2.0 * data[r * 2] + data[r * 2 + 1])
                .collect()
        };
        let bg_numeric = Background::new(vec![0.0, 1.0, 2.0, 0.0, 4.0, 1.0], 2).unwrap();
        let n = kernel_shap(
            numeric,
            &bg_numeric,
            &[1.0, 3.0, 0.0, 1.0],
            &KernelShapConfig::default(),
        )
        .unwrap();
        for (a, b) in n.values.iter().zip(&e.values) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn equal_values_do_not_vary() {
        // The explained colour equals every background colour: it gets exactly 0.
        let rows = batch(vec![Some(5.0)], vec![Some("blue")]);
        let bg = batch(vec![Some(1.0), Some(3.0)], vec![Some("blue"), Some("blue")]);
        let e = explain_batch(predict, &rows, &bg, &KernelShapConfig::default()).unwrap();
        assert_eq!(e.value(0, 1, 0), 0.0);
        assert!((e.value(0, 0, 0) - 2.0 * (5.0 - 2.0)).abs() < 1e-12);
        let other = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Float64Array::from(vec![1.0])) as Arc<dyn Array>,
        )])
        .unwrap();
        assert!(explain_batch(predict, &rows, &other, &KernelShapConfig::default()).is_err());
    }
}
