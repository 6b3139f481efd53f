//! Reading Arrow columns as optional f64 values or optional strings, whatever their width.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};
use ingot_core::ColumnType;

use crate::{Error, Result};

/// The logical type of an Arrow column, or an error naming the column.
pub fn column_type(column: &str, data_type: &DataType) -> Result<ColumnType> {
    Ok(match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ColumnType::Integer,
        DataType::Float32 | DataType::Float64 => ColumnType::Float,
        DataType::Boolean => ColumnType::Boolean,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::String,
        DataType::Timestamp(_, _) => ColumnType::Timestamp,
        other => {
            return Err(Error::UnsupportedColumnType {
                column: column.to_string(),
                data_type: other.to_string(),
            })
        }
    })
}

fn primitive<T>(array: &dyn Array, convert: impl Fn(T::Native) -> f64) -> Vec<Option<f64>>
where
    T: ArrowPrimitiveType,
{
    let array = array.as_primitive::<T>();
    array.iter().map(|v| v.map(&convert)).collect()
}

/// Numeric, boolean (0/1) and timestamp (epoch seconds) values as f64; nulls and non-finite
/// numbers become `None`.
pub fn numeric_values(column: &str, array: &dyn Array) -> Result<Vec<Option<f64>>> {
    let values = match array.data_type() {
        DataType::Int8 => primitive::<Int8Type>(array, f64::from),
        DataType::Int16 => primitive::<Int16Type>(array, f64::from),
        DataType::Int32 => primitive::<Int32Type>(array, f64::from),
        DataType::Int64 => primitive::<Int64Type>(array, |v| v as f64),
        DataType::UInt8 => primitive::<UInt8Type>(array, f64::from),
        DataType::UInt16 => primitive::<UInt16Type>(array, f64::from),
        DataType::UInt32 => primitive::<UInt32Type>(array, f64::from),
        DataType::UInt64 => primitive::<UInt64Type>(array, |v| v as f64),
        DataType::Float32 => primitive::<Float32Type>(array, f64::from),
        DataType::Float64 => primitive::<Float64Type>(array, |v| v),
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map(|b| if b { 1.0 } else { 0.0 }))
            .collect(),
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => primitive::<TimestampSecondType>(array, |v| v as f64),
            TimeUnit::Millisecond => {
                primitive::<TimestampMillisecondType>(array, |v| v as f64 / 1e3)
            }
            TimeUnit::Microsecond => {
                primitive::<TimestampMicrosecondType>(array, |v| v as f64 / 1e6)
            }
            TimeUnit::Nanosecond => primitive::<TimestampNanosecondType>(array, |v| v as f64 / 1e9),
        },
        other => {
            return Err(Error::UnsupportedColumnType {
                column: column.to_string(),
                data_type: other.to_string(),
            })
        }
    };
    Ok(values
        .into_iter()
        .map(|v| v.filter(|x| x.is_finite()))
        .collect())
}

/// String values; nulls become `None`.
pub fn string_values<'a>(column: &str, array: &'a dyn Array) -> Result<Vec<Option<&'a str>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        other => {
            return Err(Error::UnsupportedColumnType {
                column: column.to_string(),
                data_type: other.to_string(),
            })
        }
    })
}

/// One row of a numeric-like column as f64 (see [`numeric_values`]), without allocating.
pub fn numeric_at(column: &str, array: &dyn Array, row: usize) -> Result<Option<f64>> {
    if array.is_null(row) {
        return Ok(None);
    }
    fn at<T: ArrowPrimitiveType>(array: &dyn Array, row: usize) -> T::Native {
        array.as_primitive::<T>().value(row)
    }
    let value = match array.data_type() {
        DataType::Int8 => f64::from(at::<Int8Type>(array, row)),
        DataType::Int16 => f64::from(at::<Int16Type>(array, row)),
        DataType::Int32 => f64::from(at::<Int32Type>(array, row)),
        DataType::Int64 => at::<Int64Type>(array, row) as f64,
        DataType::UInt8 => f64::from(at::<UInt8Type>(array, row)),
        DataType::UInt16 => f64::from(at::<UInt16Type>(array, row)),
        DataType::UInt32 => f64::from(at::<UInt32Type>(array, row)),
        DataType::UInt64 => at::<UInt64Type>(array, row) as f64,
        DataType::Float32 => f64::from(at::<Float32Type>(array, row)),
        DataType::Float64 => at::<Float64Type>(array, row),
        DataType::Boolean => {
            if array.as_boolean().value(row) {
                1.0
            } else {
                0.0
            }
        }
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => at::<TimestampSecondType>(array, row) as f64,
            TimeUnit::Millisecond => at::<TimestampMillisecondType>(array, row) as f64 / 1e3,
            TimeUnit::Microsecond => at::<TimestampMicrosecondType>(array, row) as f64 / 1e6,
            TimeUnit::Nanosecond => at::<TimestampNanosecondType>(array, row) as f64 / 1e9,
        },
        other => {
            return Err(Error::UnsupportedColumnType {
                column: column.to_string(),
                data_type: other.to_string(),
            })
        }
    };
    Ok(Some(value).filter(|x| x.is_finite()))
}

/// One row of a string column, without allocating.
pub fn string_at<'a>(column: &str, array: &'a dyn Array, row: usize) -> Result<Option<&'a str>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        DataType::Utf8View => array.as_string_view().value(row),
        other => {
            return Err(Error::UnsupportedColumnType {
                column: column.to_string(),
                data_type: other.to_string(),
            })
        }
    }))
}
