//! Parquet reading: decodes with parquet's Arrow reader, concatenates the batches and maps every
//! column to its canonical Arrow type (unsupported types are errors naming the column).

use crate::builder::assemble;
use crate::convert::to_canonical;
use crate::{Error, Result, Table};
use arrow_array::{Array, RecordBatch};
use ingot_core::{Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A Parquet library error, as ours.
fn parquet_error(e: impl std::fmt::Display) -> Error {
    Error::Parquet(e.to_string())
}

/// Reads a Parquet file, inferring the logical schema from its Arrow types. A column is nullable
/// when it holds nulls (the file's declared nullability is not trusted: most writers mark
/// everything nullable). The whole file decodes as one batch, straight into its final arrays
/// (no batches to concatenate afterwards).
pub(crate) fn read_parquet_table(bytes: bytes::Bytes) -> Result<Table> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(parquet_error)?;
    let rows = builder.metadata().file_metadata().num_rows();
    let arrow_schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(usize::try_from(rows).unwrap_or(0).max(1))
        .build()
        .map_err(parquet_error)?;
    let mut batches = reader
        .collect::<std::result::Result<Vec<RecordBatch>, _>>()
        .map_err(parquet_error)?;
    let batch = match batches.len() {
        1 => batches.remove(0),
        _ => arrow_select::concat::concat_batches(&arrow_schema, &batches)?,
    };
    canonical_table(&batch)
}

/// Maps every column of a decoded batch to its canonical Arrow type.
fn canonical_table(batch: &RecordBatch) -> Result<Table> {
    let arrow_schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in arrow_schema.fields().iter().zip(batch.columns()) {
        let (column_type, canonical) = to_canonical(field.name(), column)?;
        fields.push(Field::new(
            field.name(),
            column_type,
            canonical.null_count() > 0,
        ));
        columns.push(canonical);
    }
    let schema = Schema::new(fields);
    let batch = assemble(&schema, columns, batch.num_rows())?;
    Ok(Table { schema, batch })
}

/// The batches of a Parquet file (about `batch_rows` rows each, canonical types), decoded one at
/// a time as the iterator is advanced, so a caller can stream over the file without holding the
/// whole decoded table. Nullability in each batch's schema reflects that batch only.
pub fn parquet_batches(
    bytes: bytes::Bytes,
    batch_rows: usize,
) -> Result<impl Iterator<Item = Result<Table>>> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(parquet_error)?
        .with_batch_size(batch_rows.max(1))
        .build()
        .map_err(parquet_error)?;
    Ok(reader.map(|batch| {
        let batch = batch.map_err(parquet_error)?;
        canonical_table(&batch)
    }))
}

/// Calls `each` with every batch of [`parquet_batches`]; returns the row count.
pub fn for_each_parquet_batch(
    bytes: bytes::Bytes,
    batch_rows: usize,
    mut each: impl FnMut(Table) -> Result<()>,
) -> Result<usize> {
    let mut rows = 0;
    for table in parquet_batches(bytes, batch_rows)? {
        let table = table?;
        rows += table.num_rows();
        each(table)?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float32Array, Int32Array, Int64Array,
        LargeStringArray, StringArray, TimestampMillisecondArray, UInt8Array,
    };
    use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema};
    use ingot_core::ColumnType;
    use parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    fn read(bytes: &[u8]) -> Result<Table> {
        read_parquet_table(bytes::Bytes::copy_from_slice(bytes))
    }

    fn write(batches: &[RecordBatch]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batches[0].schema(), None).unwrap();
        for b in batches {
            writer.write(b).unwrap();
        }
        writer.close().unwrap();
        out
    }

    #[test]
    fn round_trips_and_canonicalises_types() {
        let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        let batch = RecordBatch::try_from_iter(vec![
            ("i32", Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "u8",
                Arc::new(UInt8Array::from(vec![Some(4), None, Some(6)])),
            ),
            ("f32", Arc::new(Float32Array::from(vec![0.5, 1.5, 2.5]))),
            ("s", Arc::new(StringArray::from(vec!["x", "y", "z"]))),
            ("ls", Arc::new(LargeStringArray::from(vec!["p", "q", "r"]))),
            ("dict", Arc::new(dict)),
            ("b", Arc::new(BooleanArray::from(vec![true, false, true]))),
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(vec![1, 2, 3]).with_timezone("UTC")),
            ),
            ("d", Arc::new(Date32Array::from(vec![0, 1, 2]))),
        ])
        .unwrap();
        let bytes = write(&[batch.clone(), batch]);
        let t = read(&bytes).unwrap();
        assert_eq!(t.num_rows(), 6);
        use ColumnType::*;
        let types: Vec<_> = t.schema.fields.iter().map(|f| f.column_type).collect();
        assert_eq!(
            types,
            vec![Integer, Integer, Float, String, String, String, Boolean, Timestamp, Timestamp]
        );
        let nullable: Vec<_> = t.schema.fields.iter().map(|f| f.nullable).collect();
        assert_eq!(
            nullable,
            vec![false, true, false, false, false, false, false, false, false]
        );
        assert_eq!(
            t.batch.schema().as_ref(),
            crate::arrow_schema(&t.schema).as_ref()
        );
        let b = &t.batch;
        assert_eq!(
            b.column(0).as_primitive::<Int64Type>().values(),
            &[1, 2, 3, 1, 2, 3]
        );
        assert_eq!(b.column(2).as_primitive::<Float64Type>().value(1), 1.5);
        assert_eq!(b.column(5).as_string::<i32>().value(2), "a");
        assert_eq!(
            b.column(7)
                .as_primitive::<TimestampMicrosecondType>()
                .value(1),
            2_000
        );
        assert_eq!(
            b.column(8)
                .as_primitive::<TimestampMicrosecondType>()
                .value(1),
            86_400_000_000
        );
    }

    #[test]
    fn unsupported_types_name_the_column() {
        let list = arrow_array::ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(
            vec![Some(1)],
        )]);
        let schema = ArrowSchema::new(vec![
            ArrowField::new("ok", DataType::Int64, false),
            ArrowField::new("tags", list.data_type().clone(), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(arrow_array::Int64Array::from(vec![1])),
                Arc::new(list),
            ],
        )
        .unwrap();
        let err = read(&write(&[batch])).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedType { ref column, .. } if column == "tags"),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with("column \"tags\": unsupported type"));
    }

    #[test]
    fn garbage_and_empty_input_are_errors() {
        assert_eq!(read(b"").unwrap_err(), Error::Empty);
        let err = read(b"not a parquet file at all").unwrap_err();
        assert!(matches!(err, Error::Parquet(_)), "{err}");
    }

    #[test]
    fn zero_row_file_keeps_its_schema() {
        let batch = RecordBatch::try_from_iter(vec![(
            "a",
            Arc::new(Int32Array::from(Vec::<i32>::new())) as ArrayRef,
        )])
        .unwrap();
        let t = read(&write(&[batch])).unwrap();
        assert_eq!(t.num_rows(), 0);
        assert_eq!(t.schema.fields[0].column_type, ColumnType::Integer);
    }

    #[test]
    fn row_groups_decode_into_one_table_in_order() {
        use parquet::file::properties::WriterProperties;
        let values: Vec<i64> = (0..10_000).collect();
        let labels: Vec<Option<String>> = values
            .iter()
            .map(|v| (v % 7 != 0).then(|| format!("r{v}")))
            .collect();
        let batch = RecordBatch::try_from_iter(vec![
            ("v", Arc::new(Int64Array::from(values.clone())) as ArrayRef),
            ("s", Arc::new(StringArray::from(labels.clone())) as ArrayRef),
        ])
        .unwrap();
        let mut bytes = Vec::new();
        let properties = WriterProperties::builder()
            .set_max_row_group_size(999)
            .build();
        let mut writer =
            ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let metadata = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.clone()))
            .unwrap()
            .metadata()
            .clone();
        assert_eq!(metadata.num_row_groups(), 11);
        let t = read(&bytes).unwrap();
        let v = t.batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(v.values(), &values[..]);
        let s = t.batch.column(1).as_string::<i32>();
        let back: Vec<Option<String>> = s.iter().map(|x| x.map(str::to_string)).collect();
        assert_eq!(back, labels);
        assert!(t.schema.fields[1].nullable && !t.schema.fields[0].nullable);
    }
}

/// Encodes a batch as a Parquet file (zstd-compressed), e.g. a dataset written whole.
pub fn write_parquet(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut sink = ParquetSink::default();
    sink.write(batch)?;
    sink.finish()
}

/// A Parquet file (zstd-compressed) written batch by batch, e.g. batch transform output. Every
/// batch must have the first one's schema.
#[derive(Default)]
pub struct ParquetSink {
    writer: Option<parquet::arrow::ArrowWriter<Vec<u8>>>,
}

impl ParquetSink {
    /// Appends a batch (the first one fixes the file's schema).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        use parquet::basic::{Compression, ZstdLevel};
        use parquet::file::properties::WriterProperties;
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                let writer = parquet::arrow::ArrowWriter::try_new(
                    Vec::new(),
                    batch.schema(),
                    Some(properties),
                )
                .map_err(parquet_error)?;
                self.writer.insert(writer)
            }
        };
        writer.write(batch).map_err(parquet_error)
    }

    /// Whether no batch was written yet.
    pub fn is_empty(&self) -> bool {
        self.writer.is_none()
    }

    /// The file's bytes; an error when no batch was written (a file needs a schema).
    pub fn finish(self) -> Result<Vec<u8>> {
        let writer = self
            .writer
            .ok_or_else(|| Error::Parquet("no batch was written".into()))?;
        writer.into_inner().map_err(parquet_error)
    }
}

#[cfg(test)]
mod write_tests {
    use super::*;

    #[test]
    fn batches_stream_the_same_rows_as_the_whole_table() {
        let mut csv = String::from("a,b\n");
        for i in 0..1000 {
            csv.push_str(&format!("{i},{}\n", if i % 7 == 0 { "" } else { "x" }));
        }
        let table = crate::read_table(csv.as_bytes(), crate::DataFormat::Csv).unwrap();
        let bytes = write_parquet(&table.batch).unwrap();
        let mut pieces = Vec::new();
        let rows = for_each_parquet_batch(bytes::Bytes::from(bytes), 300, |t| {
            pieces.push(t.batch);
            Ok(())
        })
        .unwrap();
        assert_eq!(rows, 1000);
        assert!(pieces.len() >= 4);
        let joined = arrow_select::concat::concat_batches(&pieces[0].schema(), &pieces).unwrap();
        assert_eq!(joined.column(0), table.batch.column(0));
        assert_eq!(joined.column(1), table.batch.column(1));
    }

    #[test]
    fn batches_written_one_by_one_read_back_as_one_table() {
        let table = crate::read_table(b"a,b\n1,x\n2,\n3,y\n", crate::DataFormat::Csv).unwrap();
        let mut sink = ParquetSink::default();
        assert!(sink.is_empty());
        for start in 0..3 {
            sink.write(&table.batch.slice(start, 1)).unwrap();
        }
        let bytes = bytes::Bytes::from(sink.finish().unwrap());
        let pieces: Vec<Table> = parquet_batches(bytes.clone(), 2)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(pieces.len(), 2);
        let back = read_parquet_table(bytes).unwrap();
        assert_eq!(back.batch, table.batch);
        assert!(ParquetSink::default().finish().is_err());
    }

    #[test]
    fn written_parquet_reads_back() {
        let table = crate::read_table(b"a,b\n1,x\n2,\n", crate::DataFormat::Csv).unwrap();
        let bytes = write_parquet(&table.batch).unwrap();
        let back = read_parquet_table(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(back.batch, table.batch);
        assert_eq!(back.schema, table.schema);
    }
}
