//! CSV reading with schema inference, plus the record-level helpers (BOM handling, line numbers,
//! UTF-8 validation, header checks) shared with the typed CSV reader.

use crate::builder::{assemble, ColumnBuilder};
use crate::infer::TextInference;
use crate::{Error, Result, Table};
use ::csv::ByteRecord;
use ingot_core::{Field, Schema};
use std::collections::HashMap;

/// A CSV reader over a byte slice. It drives csv-core's parser directly: building that
/// parser's state machine costs more than parsing a one-row request, so each thread keeps one
/// built parser, lends it to a reader and takes it back reset. (A cloned parser does not
/// parse: csv-core 0.1 clones only part of the state machine.)
pub(crate) struct CsvReader<'a> {
    parser: Option<csv_core::Reader>,
    input: &'a [u8],
    fields: Vec<u8>,
    ends: Vec<usize>,
    done: bool,
}

thread_local! {
    /// This thread's idle parser, with the `csv` crate's defaults (comma, double quotes, any
    /// line end).
    static PARSER: std::cell::Cell<Option<csv_core::Reader>> = const { std::cell::Cell::new(None) };
}

/// A parser with its state machine built (`csv_core::Reader::default()` has none).
fn built_parser() -> csv_core::Reader {
    csv_core::ReaderBuilder::new().build()
}

impl Drop for CsvReader<'_> {
    fn drop(&mut self) {
        if let Some(mut parser) = self.parser.take() {
            parser.reset();
            PARSER.with(|idle| idle.set(Some(parser)));
        }
    }
}

/// A CSV reader over the input with any UTF-8 BOM removed; whitespace-only input is empty.
pub(crate) fn open(bytes: &[u8]) -> Result<CsvReader<'_>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty);
    }
    Ok(CsvReader {
        parser: Some(PARSER.with(|idle| idle.take()).unwrap_or_else(built_parser)),
        input: bytes,
        fields: vec![0; 1024],
        ends: vec![0; 64],
        done: false,
    })
}

/// Reads the next record, positioned at the line it starts on; `false` at the end of input.
/// Never fails: csv-core accepts any bytes, and records may have any number of fields.
pub(crate) fn next_record(reader: &mut CsvReader, record: &mut ByteRecord) -> bool {
    use csv_core::ReadRecordResult::{End, InputEmpty, OutputEndsFull, OutputFull, Record};
    let parser = reader.parser.get_or_insert_with(built_parser);
    record.clear();
    let mut position = ::csv::Position::new();
    position.set_line(parser.line());
    record.set_position(Some(position));
    if reader.done {
        return false;
    }
    let (mut out, mut ends) = (0, 0);
    loop {
        let (result, read, wrote, ended) = parser.read_record(
            reader.input,
            &mut reader.fields[out..],
            &mut reader.ends[ends..],
        );
        reader.input = &reader.input[read..];
        out += wrote;
        ends += ended;
        match result {
            InputEmpty => continue,
            OutputFull => {
                let len = reader.fields.len();
                reader.fields.resize(len * 2, 0);
            }
            OutputEndsFull => {
                let len = reader.ends.len();
                reader.ends.resize(len * 2, 0);
            }
            Record => {
                let mut start = 0;
                for &end in &reader.ends[..ends] {
                    record.push_field(&reader.fields[start..end]);
                    start = end;
                }
                return true;
            }
            End => {
                reader.done = true;
                return false;
            }
        }
    }
}

/// The 1-based physical line a record starts on.
pub(crate) fn line_of(record: &ByteRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// One field as text, or an error naming the line and column.
pub(crate) fn field_str<'r>(
    record: &'r ByteRecord,
    index: usize,
    line: u64,
    column: &str,
) -> Result<&'r str> {
    let bytes = record.get(index).unwrap_or_default();
    std::str::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        line,
        column: column.to_string(),
        offset: e.valid_up_to(),
    })
}

/// Checks a record's field count.
pub(crate) fn check_len(record: &ByteRecord, expected: usize) -> Result<()> {
    if record.len() == expected {
        Ok(())
    } else {
        Err(Error::RaggedRow {
            line: line_of(record),
            expected,
            found: record.len(),
        })
    }
}

/// The header's names (UTF-8 checked). With `strict`, empty and duplicate names are errors;
/// otherwise they are left for the caller to judge.
pub(crate) fn header_names(record: &ByteRecord, strict: bool) -> Result<Vec<String>> {
    let line = line_of(record);
    let mut names = Vec::with_capacity(record.len());
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (i, raw) in record.iter().enumerate() {
        let name = std::str::from_utf8(raw).map_err(|_| Error::InvalidHeaderUtf8 {
            line,
            position: i + 1,
        })?;
        if strict {
            if name.is_empty() {
                return Err(Error::EmptyColumnName {
                    line,
                    position: i + 1,
                });
            }
            if let Some(first) = seen.insert(raw, i) {
                return Err(Error::DuplicateColumn {
                    name: name.to_string(),
                    first: first + 1,
                    second: i + 1,
                });
            }
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Finds the field of a record that is not valid UTF-8 and names it.
fn utf8_error(record: &ByteRecord, names: &[String]) -> Error {
    let line = line_of(record);
    for (i, name) in names.iter().enumerate() {
        if let Err(e) = field_str(record, i, line, name) {
            return e;
        }
    }
    // Unreachable in practice: the record failed validation so some field must too.
    Error::Csv {
        line,
        message: "invalid UTF-8".to_string(),
    }
}

/// One column's text, stored contiguously, and what its values allow so far.
#[derive(Default)]
struct TextColumn {
    data: String,
    ends: Vec<usize>,
    inference: TextInference,
}

/// Reads a CSV file with a header row, inferring each column's type in the same pass that
/// stores its text, then converting column by column.
pub(crate) fn read_csv_table(bytes: &[u8]) -> Result<Table> {
    let mut reader = open(bytes)?;
    let mut record = ByteRecord::new();
    if !next_record(&mut reader, &mut record) {
        return Err(Error::Empty);
    }
    let names = header_names(&record, true)?;
    let width = names.len();
    let mut columns: Vec<TextColumn> = (0..width).map(|_| TextColumn::default()).collect();
    let mut rows = 0usize;
    while next_record(&mut reader, &mut record) {
        check_len(&record, width)?;
        let Ok(text) = std::str::from_utf8(record.as_slice()) else {
            return Err(utf8_error(&record, &names));
        };
        for (i, column) in columns.iter_mut().enumerate() {
            // A multi-byte character split across two fields leaves both invalid on their own.
            let Some(value) = record.range(i).and_then(|r| text.get(r)) else {
                return Err(utf8_error(&record, &names));
            };
            column.inference.observe(value);
            column.data.push_str(value);
            column.ends.push(column.data.len());
        }
        rows += 1;
    }
    let mut fields = Vec::with_capacity(width);
    let mut arrays = Vec::with_capacity(width);
    for (name, column) in names.into_iter().zip(columns) {
        let (column_type, nullable) = column.inference.finish();
        let mut builder = ColumnBuilder::new(column_type, rows, column.data.len());
        let mut start = 0;
        for &end in &column.ends {
            if !builder.append_text(&column.data[start..end]) {
                // Cannot happen: inference accepted every value with the same parsers.
                builder.append_null();
            }
            start = end;
        }
        arrays.push(builder.finish());
        fields.push(Field::new(name, column_type, nullable));
    }
    let schema = Schema::new(fields);
    let batch = assemble(&schema, arrays, rows)?;
    Ok(Table { schema, batch })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use ingot_core::ColumnType;

    fn read(s: &str) -> Result<Table> {
        read_csv_table(s.as_bytes())
    }

    #[test]
    fn infers_each_type() {
        let t = read(
            "i,f,b,s,t,mixed\n\
             1,1.5,true,x,2021-01-01,1\n\
             -2,2,False,y,2021-01-02T03:04:05Z,2.5\n",
        )
        .unwrap();
        let types: Vec<_> = t.schema.fields.iter().map(|f| f.column_type).collect();
        use ColumnType::*;
        assert_eq!(
            types,
            vec![Integer, Float, Boolean, String, Timestamp, Float]
        );
        assert!(t.schema.fields.iter().all(|f| !f.nullable));
        let b = &t.batch;
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().value(1), -2);
        assert_eq!(b.column(1).as_primitive::<Float64Type>().value(1), 2.0);
        assert!(!b.column(2).as_boolean().value(1));
        assert_eq!(b.column(3).as_string::<i32>().value(0), "x");
        assert_eq!(
            b.column(4)
                .as_primitive::<TimestampMicrosecondType>()
                .value(1),
            crate::text::parse_timestamp("2021-01-02T03:04:05Z").unwrap()
        );
        assert_eq!(b.column(5).as_primitive::<Float64Type>().value(0), 1.0);
    }

    #[test]
    fn missing_tokens_make_nullable_columns() {
        let t = read("a,b,c\n1,NA,\n,x,null\n3,None,N/A\n").unwrap();
        let f = &t.schema.fields;
        assert_eq!(
            (f[0].column_type, f[0].nullable),
            (ColumnType::Integer, true)
        );
        assert_eq!(
            (f[1].column_type, f[1].nullable),
            (ColumnType::String, true)
        );
        assert_eq!(
            (f[2].column_type, f[2].nullable),
            (ColumnType::String, true)
        );
        assert_eq!(t.batch.column(0).null_count(), 1);
        assert_eq!(t.batch.column(1).null_count(), 2);
        assert_eq!(t.batch.column(2).null_count(), 3);
        assert!(t.batch.schema().field(0).is_nullable());
    }

    #[test]
    fn header_only_is_an_empty_table() {
        let t = read("a,b\n").unwrap();
        assert_eq!(t.num_rows(), 0);
        assert_eq!(t.schema.names().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(t.batch.num_columns(), 2);
    }

    #[test]
    fn empty_input_is_an_error() {
        assert_eq!(read("").unwrap_err(), Error::Empty);
        assert_eq!(read(" \n\r\n\t").unwrap_err(), Error::Empty);
        assert_eq!(read("\u{feff}").unwrap_err(), Error::Empty);
        assert_eq!(read("").unwrap_err().to_string(), "file is empty");
    }

    #[test]
    fn bom_does_not_break_the_first_name() {
        let t = read("\u{feff}id,v\n1,2\n").unwrap();
        assert_eq!(t.schema.fields[0].name, "id");
    }

    #[test]
    fn ragged_row_names_its_line() {
        let err = read("a,b,c\n1,2,3\n4,5,6\n7,8\n").unwrap_err();
        assert_eq!(
            err,
            Error::RaggedRow {
                line: 4,
                expected: 3,
                found: 2
            }
        );
        assert_eq!(err.to_string(), "line 4: expected 3 fields, found 2");
    }

    #[test]
    fn ragged_row_line_counts_quoted_newlines() {
        let err = read("a,b\n\"x\ny\",1\n1,2,3\n").unwrap_err();
        assert!(err.to_string().starts_with("line 4:"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let err = read_csv_table(b"id,name\n1,ok\n2,bad\xff\n").unwrap_err();
        assert_eq!(
            err,
            Error::InvalidUtf8 {
                line: 3,
                column: "name".into(),
                offset: 3
            }
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("line 3, column \"name\": invalid UTF-8"),
            "{msg}"
        );
    }

    #[test]
    fn utf8_split_across_fields_is_caught() {
        // "é" is C3 A9; split over two fields the record is valid but neither field is.
        let err = read_csv_table(b"a,b\n\xC3,\xA9\n").unwrap_err();
        assert!(
            matches!(err, Error::InvalidUtf8 { line: 2, ref column, .. } if column == "a"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_in_header_names_position() {
        let err = read_csv_table(b"a,\xfe\n1,2\n").unwrap_err();
        assert_eq!(
            err,
            Error::InvalidHeaderUtf8 {
                line: 1,
                position: 2
            }
        );
        assert!(err.to_string().contains("line 1, column 2"), "{err}");
    }

    #[test]
    fn duplicate_and_empty_header_names() {
        let err = read("a,b,a\n1,2,3\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate column name \"a\" at columns 1 and 3"
        );
        let err = read("a,,c\n1,2,3\n").unwrap_err();
        assert_eq!(
            err,
            Error::EmptyColumnName {
                line: 1,
                position: 2
            }
        );
        assert!(err.to_string().contains("column 2"), "{err}");
    }

    #[test]
    fn quoted_fields_and_crlf() {
        let t = read("name,n\r\n\"a, b\",1\r\n\"say \"\"hi\"\"\",2\r\n").unwrap();
        let names = t.batch.column(0).as_string::<i32>();
        assert_eq!(names.value(0), "a, b");
        assert_eq!(names.value(1), "say \"hi\"");
        assert_eq!(t.schema.fields[1].column_type, ColumnType::Integer);
    }

    #[test]
    fn wide_records_grow_the_buffers_and_readers_can_overlap() {
        let names: Vec<String> = (0..300).map(|i| format!("column_number_{i}")).collect();
        let values: Vec<String> = (0..300).map(|i| format!("\"{i},{i}\"")).collect();
        let text = format!("{}\r\n\n{}\n", names.join(","), values.join(","));
        let mut outer = open(text.as_bytes()).unwrap();
        let mut record = ByteRecord::new();
        assert!(next_record(&mut outer, &mut record));
        assert_eq!(record.len(), 300);
        assert_eq!(&record[299], b"column_number_299");
        // A second reader on the same thread meanwhile, then dropped: the first goes on.
        let mut inner = open(b"x\n1\n").unwrap();
        let mut other = ByteRecord::new();
        assert!(next_record(&mut inner, &mut other));
        assert_eq!(&other[0], b"x");
        drop(inner);
        assert!(next_record(&mut outer, &mut record));
        assert_eq!((record.len(), &record[7]), (300, &b"7,7"[..]));
        assert!(!next_record(&mut outer, &mut record));
        drop(outer);
        // The parser handed back is reset: a new reader starts at line 1.
        let mut again = open(b"a\n").unwrap();
        assert!(next_record(&mut again, &mut record));
        assert_eq!((line_of(&record), &record[0]), (1, &b"a"[..]));
    }

    #[test]
    fn records_and_lines_equal_the_csv_crate_reader() {
        let inputs: [&[u8]; 6] = [
            b"a,b\n1,2\n\n3,4",
            b"a,b\r\n1,\"x\ny\"\r\n\r\n\r\n5,6\r\n",
            b"\xEF\xBB\xBFh\n1\n2,3,4\n",
            b"\"q\"\"uote\",, \n,\n",
            b"one",
            b"a\rb\rc\n",
        ];
        for input in inputs {
            let mut ours = open(input).unwrap();
            let mut theirs = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input));
            let (mut a, mut b) = (ByteRecord::new(), ByteRecord::new());
            loop {
                let more = next_record(&mut ours, &mut a);
                assert_eq!(more, theirs.read_byte_record(&mut b).unwrap());
                if !more {
                    break;
                }
                assert_eq!(a, b, "{input:?}");
                assert_eq!(line_of(&a), line_of(&b), "{input:?} {a:?}");
            }
        }
    }
}
