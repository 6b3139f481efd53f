//! Conversions between Arrow columns: canonicalising arbitrary Arrow types to Ingot's logical
//! types, conforming batches to a schema, and selecting rows.

use crate::builder::{assemble, ColumnBuilder};
use crate::error::excerpt;
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float64Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch, UInt64Array};
use arrow_cast::{cast_with_options, CastOptions};
use arrow_schema::{ArrowError, DataType, TimeUnit};
use ingot_core::{ColumnType, Schema};
use std::sync::Arc;

/// The logical type an Arrow type maps to, if any.
pub(crate) fn logical_type(data_type: &DataType) -> Option<ColumnType> {
    use DataType::*;
    Some(match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => ColumnType::Integer,
        Float16 | Float32 | Float64 => ColumnType::Float,
        Utf8 | LargeUtf8 | Utf8View | Null => ColumnType::String,
        Dictionary(_, v) if matches!(**v, Utf8 | LargeUtf8 | Utf8View) => ColumnType::String,
        Boolean => ColumnType::Boolean,
        Timestamp(_, _) | Date32 | Date64 => ColumnType::Timestamp,
        _ => return None,
    })
}

fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn conversion_error(column: &str, from: &DataType, to: ColumnType, e: impl ToString) -> Error {
    Error::Conversion {
        column: column.to_string(),
        from: from.to_string(),
        to,
        detail: e.to_string(),
    }
}

/// Rescales a temporal column to microseconds, failing on overflow.
fn to_micros<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    op: impl Fn(T::Native) -> Option<i64>,
) -> std::result::Result<ArrayRef, ArrowError> {
    let out: PrimitiveArray<TimestampMicrosecondType> =
        array.as_primitive::<T>().try_unary(|v| {
            op(v).ok_or_else(|| ArrowError::ComputeError("timestamp out of range".to_string()))
        })?;
    Ok(Arc::new(out))
}

/// Converts a column of any supported Arrow type to the canonical Arrow type of its logical
/// type. Timestamps keep their UTC instant whatever their unit or time zone.
pub(crate) fn to_canonical(column: &str, array: &ArrayRef) -> Result<(ColumnType, ArrayRef)> {
    let data_type = array.data_type();
    let Some(logical) = logical_type(data_type) else {
        return Err(Error::UnsupportedType {
            column: column.to_string(),
            data_type: data_type.to_string(),
        });
    };
    let target = crate::arrow_type(logical);
    if *data_type == target {
        return Ok((logical, array.clone()));
    }
    const PER_DAY: i64 = 86_400_000_000;
    let converted = match data_type {
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => {
                to_micros::<TimestampSecondType>(array, |v| v.checked_mul(1_000_000))
            }
            TimeUnit::Millisecond => {
                to_micros::<TimestampMillisecondType>(array, |v| v.checked_mul(1_000))
            }
            TimeUnit::Microsecond => to_micros::<TimestampMicrosecondType>(array, Some),
            TimeUnit::Nanosecond => {
                to_micros::<TimestampNanosecondType>(array, |v| Some(v.div_euclid(1_000)))
            }
        },
        DataType::Date32 => to_micros::<Date32Type>(array, |d| i64::from(d).checked_mul(PER_DAY)),
        DataType::Date64 => to_micros::<Date64Type>(array, |ms| ms.checked_mul(1_000)),
        _ => cast_with_options(array, &target, &strict()),
    }
    .map_err(|e| conversion_error(column, data_type, logical, e))?;
    Ok((logical, converted))
}

/// Converts a canonical column of one logical type to another, naming the first offending row.
fn convert(column: &str, from: ColumnType, array: &ArrayRef, to: ColumnType) -> Result<ArrayRef> {
    match (from, to) {
        (ColumnType::String, _) => {
            let strings = array.as_string::<i32>();
            let mut builder = ColumnBuilder::new(to, array.len(), 0);
            for (row, value) in strings.iter().enumerate() {
                match value {
                    None => builder.append_null(),
                    Some(v) => {
                        if !builder.append_text(v) {
                            return Err(Error::InvalidRowValue {
                                row,
                                column: column.to_string(),
                                expected: to,
                                value: format!("{:?}", excerpt(v)),
                            });
                        }
                    }
                }
            }
            Ok(builder.finish())
        }
        (ColumnType::Float, ColumnType::Integer) => {
            let floats = array.as_primitive::<Float64Type>();
            const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
            for (row, value) in floats.iter().enumerate() {
                if let Some(v) = value {
                    if v.fract() != 0.0 || !(-LIMIT..LIMIT).contains(&v) {
                        return Err(Error::InvalidRowValue {
                            row,
                            column: column.to_string(),
                            expected: to,
                            value: v.to_string(),
                        });
                    }
                }
            }
            let ints: PrimitiveArray<Int64Type> = floats.unary(|v| v as i64);
            Ok(Arc::new(ints))
        }
        (ColumnType::Integer, ColumnType::Float) | (_, ColumnType::String) => {
            cast_with_options(array, &crate::arrow_type(to), &strict())
                .map_err(|e| conversion_error(column, array.data_type(), to, e))
        }
        _ => Err(Error::Conversion {
            column: column.to_string(),
            from: from.as_str().to_string(),
            to,
            detail: "incompatible types".to_string(),
        }),
    }
}

/// Conforms an arbitrary batch to a schema: selects the schema's columns by name (extra columns
/// are ignored, a missing one is an error naming it) and converts each to the schema type.
/// Text columns are parsed like CSV values; floats convert to integers only when integral.
pub fn conform_batch(batch: &RecordBatch, schema: &Schema) -> Result<RecordBatch> {
    let source = batch.schema();
    let mut columns = Vec::with_capacity(schema.len());
    for field in &schema.fields {
        let Ok(index) = source.index_of(&field.name) else {
            return Err(Error::MissingColumn {
                column: field.name.clone(),
            });
        };
        let (from, canonical) = to_canonical(&field.name, batch.column(index))?;
        let column = if from == field.column_type {
            canonical
        } else {
            convert(&field.name, from, &canonical, field.column_type)?
        };
        columns.push(column);
    }
    assemble(schema, columns, batch.num_rows())
}

/// The rows at `indices` (in that order, repeats allowed).
pub fn take_rows(batch: &RecordBatch, indices: &[usize]) -> Result<RecordBatch> {
    let len = batch.num_rows();
    if let Some(&index) = indices.iter().find(|&&i| i >= len) {
        return Err(Error::RowIndexOutOfBounds { index, len });
    }
    let indices = UInt64Array::from_iter_values(indices.iter().map(|&i| i as u64));
    Ok(arrow_select::take::take_record_batch(batch, &indices)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMillisecondArray, TimestampSecondArray, UInt64Array,
    };
    use arrow_schema::{Field as ArrowField, Schema as ArrowSchema};
    use ingot_core::Field;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn canonicalises_temporal_types_to_micros() {
        let secs: ArrayRef =
            Arc::new(TimestampSecondArray::from(vec![Some(2), None]).with_timezone("+02:00"));
        let (t, a) = to_canonical("t", &secs).unwrap();
        assert_eq!(t, ColumnType::Timestamp);
        assert_eq!(a.data_type(), &crate::arrow_type(ColumnType::Timestamp));
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>().value(0),
            2_000_000
        );
        assert!(a.is_null(1));
        let ms: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![-1]));
        let (_, a) = to_canonical("t", &ms).unwrap();
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>().value(0),
            -1_000
        );
        let days: ArrayRef = Arc::new(Date32Array::from(vec![1]));
        let (_, a) = to_canonical("d", &days).unwrap();
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>().value(0),
            86_400_000_000
        );
    }

    #[test]
    fn unsigned_overflow_names_the_column() {
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        let err = to_canonical("u", &big).unwrap_err();
        assert!(err.to_string().starts_with("column \"u\""), "{err}");
    }

    #[test]
    fn conform_selects_reorders_and_casts() {
        let b = batch(vec![
            (
                "extra",
                Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef,
            ),
            ("f", Arc::new(Int32Array::from(vec![1, 2]))),
            ("i", Arc::new(Float64Array::from(vec![Some(3.0), None]))),
            ("s", Arc::new(StringArray::from(vec!["7", "x"]))),
            ("n", Arc::new(StringArray::from(vec!["7", "8"]))),
        ]);
        let schema = Schema::new(vec![
            Field::new("n", ColumnType::Integer, false),
            Field::new("i", ColumnType::Integer, true),
            Field::new("f", ColumnType::Float, false),
            Field::new("s", ColumnType::String, false),
        ]);
        let out = conform_batch(&b, &schema).unwrap();
        assert_eq!(out.schema().as_ref(), crate::arrow_schema(&schema).as_ref());
        assert_eq!(out.column(0).as_primitive::<Int64Type>().values(), &[7, 8]);
        assert_eq!(out.column(1).as_primitive::<Int64Type>().value(0), 3);
        assert!(out.column(1).is_null(1));
        assert_eq!(
            out.column(2).as_primitive::<Float64Type>().values(),
            &[1.0, 2.0]
        );
    }

    #[test]
    fn conform_errors_name_the_column() {
        let b = batch(vec![
            (
                "s",
                Arc::new(StringArray::from(vec!["1", "abc"])) as ArrayRef,
            ),
            ("f", Arc::new(Float64Array::from(vec![1.5, 2.0]))),
        ]);
        let schema = Schema::new(vec![Field::new("missing", ColumnType::Integer, false)]);
        assert_eq!(
            conform_batch(&b, &schema).unwrap_err().to_string(),
            "missing column \"missing\""
        );
        let schema = Schema::new(vec![Field::new("s", ColumnType::Integer, false)]);
        assert_eq!(
            conform_batch(&b, &schema).unwrap_err().to_string(),
            "row 1, column \"s\": expected integer, got \"abc\""
        );
        let b = batch(vec![(
            "f",
            Arc::new(Float64Array::from(vec![1.5])) as ArrayRef,
        )]);
        let schema = Schema::new(vec![Field::new("f", ColumnType::Integer, false)]);
        let err = conform_batch(&b, &schema).unwrap_err();
        assert!(err.to_string().contains("column \"f\""), "{err}");
        let schema = Schema::new(vec![Field::new("f", ColumnType::Boolean, false)]);
        let err = conform_batch(&b, &schema).unwrap_err();
        assert!(
            err.to_string().starts_with("column \"f\": cannot convert"),
            "{err}"
        );
    }

    #[test]
    fn conform_rejects_unsupported_types() {
        let list = arrow_array::ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(
            vec![Some(1)],
        )]);
        let b = RecordBatch::try_new(
            Arc::new(ArrowSchema::new(vec![ArrowField::new(
                "l",
                list.data_type().clone(),
                true,
            )])),
            vec![Arc::new(list)],
        )
        .unwrap();
        let schema = Schema::new(vec![Field::new("l", ColumnType::String, true)]);
        let err = conform_batch(&b, &schema).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedType { ref column, .. } if column == "l"),
            "{err}"
        );
    }

    #[test]
    fn take_rows_selects_and_checks_bounds() {
        let b = batch(vec![(
            "a",
            Arc::new(Int64Array::from(vec![10, 20, 30])) as ArrayRef,
        )]);
        let t = take_rows(&b, &[2, 0, 2]).unwrap();
        assert_eq!(
            t.column(0).as_primitive::<Int64Type>().values(),
            &[30, 10, 30]
        );
        assert_eq!(take_rows(&b, &[]).unwrap().num_rows(), 0);
        assert_eq!(
            take_rows(&b, &[3]).unwrap_err(),
            Error::RowIndexOutOfBounds { index: 3, len: 3 }
        );
    }
}
