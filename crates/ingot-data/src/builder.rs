//! Typed Arrow column builders fed with text or JSON values, and batch assembly.

use crate::text::{is_missing, parse_bool, parse_float, parse_int, parse_timestamp, trim};
use crate::Result;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field as ArrowField, Schema as ArrowSchema};
use ingot_core::{ColumnType, Schema};
use serde_json::Value;
use std::sync::Arc;

/// Builds one canonical Arrow column of a logical type.
pub(crate) enum ColumnBuilder {
    Integer(Int64Builder),
    Float(Float64Builder),
    Boolean(BooleanBuilder),
    String(StringBuilder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    /// A builder with room for `rows` values (`text_bytes` of string data).
    pub(crate) fn new(t: ColumnType, rows: usize, text_bytes: usize) -> Self {
        match t {
            ColumnType::Integer => ColumnBuilder::Integer(Int64Builder::with_capacity(rows)),
            ColumnType::Float => ColumnBuilder::Float(Float64Builder::with_capacity(rows)),
            ColumnType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnType::String => {
                ColumnBuilder::String(StringBuilder::with_capacity(rows, text_bytes))
            }
            ColumnType::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
        }
    }

    /// Appends a text value: missing tokens become null, others must parse as the column type.
    /// Returns `false` (appending nothing) when the value does not parse.
    #[inline]
    pub(crate) fn append_text(&mut self, raw: &str) -> bool {
        let token = trim(raw);
        if is_missing(token) {
            self.append_null();
            return true;
        }
        match self {
            ColumnBuilder::Integer(b) => parse_int(token).map(|v| b.append_value(v)).is_some(),
            ColumnBuilder::Float(b) => parse_float(token).map(|v| b.append_value(v)).is_some(),
            ColumnBuilder::Boolean(b) => parse_bool(token).map(|v| b.append_value(v)).is_some(),
            ColumnBuilder::Timestamp(b) => {
                parse_timestamp(token).map(|v| b.append_value(v)).is_some()
            }
            ColumnBuilder::String(b) => {
                b.append_value(raw);
                true
            }
        }
    }

    /// Appends a JSON value. Strings are parsed like text; numbers, booleans and null map
    /// naturally; a string column takes any value (nested values as JSON text). Returns `false`
    /// when the value does not fit.
    pub(crate) fn append_json(&mut self, v: &Value) -> bool {
        match v {
            Value::Null => {
                self.append_null();
                true
            }
            Value::String(s) => self.append_text(s),
            Value::Bool(x) => match self {
                ColumnBuilder::Boolean(b) => {
                    b.append_value(*x);
                    true
                }
                ColumnBuilder::String(b) => {
                    b.append_value(if *x { "true" } else { "false" });
                    true
                }
                _ => false,
            },
            Value::Number(n) => match self {
                ColumnBuilder::Integer(b) => n.as_i64().map(|x| b.append_value(x)).is_some(),
                ColumnBuilder::Float(b) => n.as_f64().map(|x| b.append_value(x)).is_some(),
                ColumnBuilder::String(b) => {
                    b.append_value(n.to_string());
                    true
                }
                _ => false,
            },
            Value::Array(_) | Value::Object(_) => match self {
                ColumnBuilder::String(b) => {
                    b.append_value(v.to_string());
                    true
                }
                _ => false,
            },
        }
    }

    pub(crate) fn append_null(&mut self) {
        match self {
            ColumnBuilder::Integer(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::String(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
        }
    }

    pub(crate) fn append_i64(&mut self, v: i64) {
        match self {
            ColumnBuilder::Integer(b) => b.append_value(v),
            ColumnBuilder::Timestamp(b) => b.append_value(v),
            ColumnBuilder::Float(b) => b.append_value(v as f64),
            _ => unreachable!("append_i64 on a non-integer builder"),
        }
    }

    pub(crate) fn append_f64(&mut self, v: f64) {
        match self {
            ColumnBuilder::Float(b) => b.append_value(v),
            _ => unreachable!("append_f64 on a non-float builder"),
        }
    }

    pub(crate) fn append_bool(&mut self, v: bool) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_value(v),
            _ => unreachable!("append_bool on a non-boolean builder"),
        }
    }

    pub(crate) fn append_str(&mut self, v: &str) {
        match self {
            ColumnBuilder::String(b) => b.append_value(v),
            _ => unreachable!("append_str on a non-string builder"),
        }
    }

    pub(crate) fn finish(self) -> ArrayRef {
        match self {
            ColumnBuilder::Integer(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Float(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(mut b) => Arc::new(b.finish()),
            ColumnBuilder::String(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Assembles a batch whose columns are already of the schema's canonical types. A field is
/// marked nullable in the Arrow schema when the logical schema says so or the column has nulls.
pub(crate) fn assemble(
    schema: &Schema,
    columns: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch> {
    let fields: Vec<ArrowField> = schema
        .fields
        .iter()
        .zip(&columns)
        .map(|(f, c)| {
            ArrowField::new(
                &f.name,
                crate::arrow_type(f.column_type),
                f.nullable || c.null_count() > 0,
            )
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(ArrowSchema::new(fields)),
        columns,
        &options,
    )?)
}
