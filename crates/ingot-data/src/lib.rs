//! Ingot's tabular data layer: reads CSV, Parquet and JSON Lines into Arrow record batches with
//! an inferred (or given) logical schema, conforms batches to schemas, splits and profiles
//! datasets. Pure: it only ever sees bytes handed to it, never files, sockets or async runtimes.

mod builder;
mod convert;
mod csv;
mod csv_write;
mod dense;
mod error;
mod format;
mod infer;
mod json;
mod parquet;
mod profile;
mod split;
mod text;
mod typed;

pub use arrow_array::RecordBatch;
pub use convert::{conform_batch, take_rows};
pub use csv_write::write_csv;
pub use dense::{is_dense_schema, read_csv_dense, DenseRows};
pub use error::{Error, Result};
pub use format::DataFormat;
pub use json::for_each_jsonl_batch;
pub use parquet::{for_each_parquet_batch, parquet_batches, write_parquet, ParquetSink};
pub use profile::{profile, ColumnProfile, DatasetProfile, Histogram, ValueCount};
pub use split::split_indices;
pub use typed::{csv_starts_with_header, for_each_csv_batch, read_csv_with_schema, read_json_rows};

use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, SchemaRef, TimeUnit};
use ingot_core::{ColumnType, Schema};
use std::sync::Arc;

/// A record batch together with its logical schema (same columns, same order).
#[derive(Debug, Clone)]
pub struct Table {
    /// The logical schema: names, Ingot types and nullability.
    pub schema: Schema,
    /// The data, with canonical Arrow types (see [`arrow_type`]).
    pub batch: RecordBatch,
}

impl Table {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }
}

/// Reads a whole file — CSV with a header row, JSON Lines records or Parquet — inferring the
/// schema. A CSV file with a header but no rows is a valid empty table.
pub fn read_table(bytes: &[u8], format: DataFormat) -> Result<Table> {
    match format {
        DataFormat::Csv => csv::read_csv_table(bytes),
        DataFormat::JsonLines => json::read_jsonl_table(bytes),
        DataFormat::Parquet => parquet::read_parquet_table(bytes::Bytes::copy_from_slice(bytes)),
    }
}

/// [`read_table`] of bytes the caller already shares (an artifact, an upload): a Parquet file
/// is decoded in place instead of being copied first.
pub fn read_table_bytes(bytes: bytes::Bytes, format: DataFormat) -> Result<Table> {
    match format {
        DataFormat::Parquet => parquet::read_parquet_table(bytes),
        other => read_table(&bytes, other),
    }
}

/// The canonical Arrow type of a logical column type.
pub fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Integer => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::String => DataType::Utf8,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
    }
}

/// The canonical Arrow schema of a logical schema.
pub fn arrow_schema(schema: &Schema) -> SchemaRef {
    Arc::new(ArrowSchema::new(
        schema
            .fields
            .iter()
            .map(|f| ArrowField::new(&f.name, arrow_type(f.column_type), f.nullable))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingot_core::Field;

    #[test]
    fn arrow_types_are_canonical() {
        assert_eq!(arrow_type(ColumnType::Integer), DataType::Int64);
        assert_eq!(arrow_type(ColumnType::Float), DataType::Float64);
        assert_eq!(arrow_type(ColumnType::Boolean), DataType::Boolean);
        assert_eq!(arrow_type(ColumnType::String), DataType::Utf8);
        assert_eq!(
            arrow_type(ColumnType::Timestamp),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        let s = Schema::new(vec![
            Field::new("a", ColumnType::Integer, false),
            Field::new("b", ColumnType::String, true),
        ]);
        let a = arrow_schema(&s);
        assert_eq!(a.fields().len(), 2);
        assert_eq!(a.field(0).name(), "a");
        assert!(!a.field(0).is_nullable());
        assert_eq!(a.field(1).data_type(), &DataType::Utf8);
        assert!(a.field(1).is_nullable());
    }

    #[test]
    fn read_table_dispatches_on_format() {
        let t = read_table(b"a,b\n1,x\n", DataFormat::Csv).unwrap();
        assert_eq!(t.num_rows(), 1);
        let t = read_table(b"{\"a\":1}\n{\"a\":2}\n", DataFormat::JsonLines).unwrap();
        assert_eq!(t.num_rows(), 2);
        assert_eq!(
            read_table(b"", DataFormat::Parquet).unwrap_err(),
            Error::Empty
        );
    }
}
