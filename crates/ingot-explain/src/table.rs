//! Arrow columns as the owned slices the analyses take: numeric columns (integers, floats,
//! decimals, timestamps) become `f64`, every other type its text form (booleans `true` /
//! `false`), with a validity mask so callers can drop rows with missing values.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::bias::Column;
use crate::{Error, Result};

/// An owned column of numbers or text.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedColumn {
    Numeric(Vec<f64>),
    Text(Vec<String>),
}

impl OwnedColumn {
    /// A borrowed view for [`crate::bias`].
    pub fn as_column(&self) -> Column<'_> {
        match self {
            OwnedColumn::Numeric(v) => Column::Numeric(v),
            OwnedColumn::Text(v) => Column::Text(v),
        }
    }

    /// The rows where `keep` is true.
    pub fn filter(&self, keep: &[bool]) -> OwnedColumn {
        fn pick<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
            v.iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(x, _)| x.clone())
                .collect()
        }
        match self {
            OwnedColumn::Numeric(v) => OwnedColumn::Numeric(pick(v, keep)),
            OwnedColumn::Text(v) => OwnedColumn::Text(pick(v, keep)),
        }
    }

    /// Whether the column holds numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(self, OwnedColumn::Numeric(_))
    }
}

/// Whether an Arrow type is read as numbers.
pub fn is_numeric_type(data_type: &DataType) -> bool {
    data_type.is_numeric()
        || matches!(
            data_type,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
}

/// The column `name` of `batch` and its validity (false where the value is missing; NaN counts
/// as missing in numeric columns).
pub fn column(batch: &RecordBatch, name: &str) -> Result<(OwnedColumn, Vec<bool>)> {
    let Some(array) = batch.column_by_name(name) else {
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        return Err(Error::Table(format!(
            "column {name:?} not found; columns are: {}",
            names.join(", ")
        )));
    };
    if is_numeric_type(array.data_type()) {
        let as_int;
        let source = if matches!(
            array.data_type(),
            DataType::Timestamp(..) | DataType::Date64
        ) {
            as_int = arrow_cast::cast(array, &DataType::Int64)?;
            &as_int
        } else if matches!(array.data_type(), DataType::Date32) {
            as_int = arrow_cast::cast(array, &DataType::Int32)?;
            &as_int
        } else {
            array
        };
        let floats = arrow_cast::cast(source, &DataType::Float64)?;
        let floats = floats.as_primitive::<Float64Type>();
        let values: Vec<f64> = (0..floats.len())
            .map(|i| {
                if floats.is_null(i) {
                    f64::NAN
                } else {
                    floats.value(i)
                }
            })
            .collect();
        let valid = values.iter().map(|v| !v.is_nan()).collect();
        return Ok((OwnedColumn::Numeric(values), valid));
    }
    let text = arrow_cast::cast(array, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let valid: Vec<bool> = (0..text.len()).map(|i| text.is_valid(i)).collect();
    let values = (0..text.len())
        .map(|i| {
            if text.is_valid(i) {
                text.value(i).to_string()
            } else {
                String::new()
            }
        })
        .collect();
    Ok((OwnedColumn::Text(values), valid))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{BooleanArray, Int64Array, StringArray};

    use super::*;

    #[test]
    fn reads_numbers_text_and_missing_values() {
        let batch = RecordBatch::try_from_iter([
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])) as _,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as _,
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![true, false, true])) as _,
            ),
        ])
        .unwrap();
        let (n, valid) = column(&batch, "n").unwrap();
        assert!(n.is_numeric());
        assert_eq!(valid, [true, false, true]);
        let (s, valid) = column(&batch, "s").unwrap();
        assert_eq!(
            s,
            OwnedColumn::Text(vec!["a".into(), "b".into(), String::new()])
        );
        assert_eq!(valid, [true, true, false]);
        let (b, _) = column(&batch, "b").unwrap();
        assert_eq!(
            b.filter(&[true, false, true]),
            OwnedColumn::Text(vec!["true".into(), "true".into()])
        );
        assert!(column(&batch, "missing")
            .unwrap_err()
            .to_string()
            .contains("n, s, b"));
    }
}
