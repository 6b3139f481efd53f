//! Reading rows against a known schema: CSV text (endpoint invocations, local prediction, and
//! batch transforms a batch at a time) and JSON rows (objects by name or arrays in schema order).

use crate::builder::{assemble, ColumnBuilder};
use crate::csv::{check_len, field_str, header_names, line_of, next_record, open, CsvReader};
use crate::error::excerpt;
use crate::{Error, Result};
use ::csv::ByteRecord;
use arrow_array::RecordBatch;
use ingot_core::Schema;
use serde_json::Value;
use std::collections::HashMap;

/// Parses CSV against a known schema.
///
/// Without a header each row must have exactly `schema.len()` fields in schema order. With a
/// header, columns are matched by name, extra columns are ignored and a schema column absent
/// from the header is an error naming it. Values are converted to the column types (a float
/// column accepts integers); missing tokens become nulls.
pub fn read_csv_with_schema(
    bytes: &[u8],
    schema: &Schema,
    has_header: bool,
) -> Result<RecordBatch> {
    let mut whole = None;
    for_each_csv_batch(bytes, schema, has_header, usize::MAX, |batch| {
        whole = Some(batch);
        Ok::<_, Error>(())
    })?;
    whole.ok_or(Error::Empty)
}

/// [`read_csv_with_schema`] a batch of at most `batch_rows` rows at a time, each handed to
/// `each` in order, so a large file is never held decoded whole. A file without rows gives one
/// empty batch (its schema still known). The first error, the reader's or `each`'s, ends it.
pub fn for_each_csv_batch<E: From<Error>>(
    bytes: &[u8],
    schema: &Schema,
    has_header: bool,
    batch_rows: usize,
    mut each: impl FnMut(RecordBatch) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = open(bytes)?;
    let mut record = ByteRecord::new();
    let (positions, width) = schema_positions(&mut reader, &mut record, schema, has_header)?;
    let new_builders = || -> Vec<ColumnBuilder> {
        schema
            .fields
            .iter()
            .map(|f| ColumnBuilder::new(f.column_type, 0, 0))
            .collect()
    };
    let mut builders = new_builders();
    let (mut rows, mut batches) = (0usize, 0usize);
    while next_record(&mut reader, &mut record) {
        check_len(&record, width)?;
        let line = line_of(&record);
        for ((field, &pos), builder) in schema.fields.iter().zip(&positions).zip(&mut builders) {
            let value = field_str(&record, pos, line, &field.name)?;
            if !builder.append_text(value) {
                return Err(Error::InvalidValue {
                    line,
                    column: field.name.clone(),
                    expected: field.column_type,
                    value: excerpt(value),
                }
                .into());
            }
        }
        rows += 1;
        if rows == batch_rows {
            let full = std::mem::replace(&mut builders, new_builders());
            let columns = full.into_iter().map(ColumnBuilder::finish).collect();
            each(assemble(schema, columns, rows)?)?;
            (rows, batches) = (0, batches + 1);
        }
    }
    if rows > 0 || batches == 0 {
        let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
        each(assemble(schema, columns, rows)?)?;
    }
    Ok(())
}

/// Whether a CSV body without a declared header starts with one: its first line names every
/// schema column (in any order, extra names allowed) and is not all numbers. MLflow's and
/// pandas' CSV always carries a header, SageMaker's never does; a data row naming every
/// column is not a plausible row, and numeric names (`0,1,2`) stay data.
pub fn csv_starts_with_header(bytes: &[u8], schema: &Schema) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    let is_column = |name: &str| schema.fields.iter().any(|f| f.name == name);
    // The first field decides most bodies (data rows) with one comparison per column and no
    // allocation: this runs on every headerless CSV invocation.
    let first = unquote(line.split(',').next().unwrap_or_default());
    if schema.fields.is_empty() || !is_column(first) {
        return false;
    }
    let names: Vec<&str> = line.split(',').map(unquote).collect();
    let all_numbers = names.iter().all(|n| n.trim().parse::<f64>().is_ok());
    !all_numbers
        && schema
            .fields
            .iter()
            .all(|f| names.contains(&f.name.as_str()))
}

/// A header name without the quotes CSV may put around it (`""` inside stands for `"`, which
/// no schema column name of ours needs, so it is left as is).
fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
}

/// Where each schema column sits in the records, and how many fields a record has: schema
/// order without a header; with one (read here), matched by name, extra columns ignored, a
/// missing or twice-named schema column an error naming it.
pub(crate) fn schema_positions(
    reader: &mut CsvReader,
    record: &mut ByteRecord,
    schema: &Schema,
    has_header: bool,
) -> Result<(Vec<usize>, usize)> {
    if !has_header {
        return Ok(((0..schema.len()).collect(), schema.len()));
    }
    if !next_record(reader, record) {
        return Err(Error::Empty);
    }
    header_positions(record, schema)
}

/// Where each schema column sits in records under this header, and how many fields a record
/// has (see [`schema_positions`]).
pub(crate) fn header_positions(
    header: &ByteRecord,
    schema: &Schema,
) -> Result<(Vec<usize>, usize)> {
    let names = header_names(header, false)?;
    // Per name, where it first and (if it does) second appears: one pass, not one per column.
    let mut seen: HashMap<&str, (usize, Option<usize>)> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        seen.entry(name.as_ref())
            .and_modify(|(_, second)| {
                second.get_or_insert(i);
            })
            .or_insert((i, None));
    }
    let mut positions = Vec::with_capacity(schema.len());
    for field in &schema.fields {
        match seen.get(field.name.as_str()) {
            None => {
                return Err(Error::MissingColumn {
                    column: field.name.clone(),
                })
            }
            Some(&(first, Some(second))) => {
                return Err(Error::DuplicateColumn {
                    name: field.name.clone(),
                    first: first + 1,
                    second: second + 1,
                })
            }
            Some(&(first, None)) => positions.push(first),
        }
    }
    Ok((positions, names.len()))
}

/// A short name of a JSON value's kind, for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads JSON rows against a known schema. Each row is an object (matched by name; extra keys
/// ignored, absent keys null) or an array of `schema.len()` values in schema order. A column
/// that no row gives is refused rather than read as all null: it is most often a typo.
/// Strings are parsed like CSV text, so `"3"` fits an integer column and `"NA"` is null.
pub fn read_json_rows(rows: &[Value], schema: &Schema) -> Result<RecordBatch> {
    let mut builders: Vec<ColumnBuilder> = schema
        .fields
        .iter()
        .map(|f| ColumnBuilder::new(f.column_type, rows.len(), 0))
        .collect();
    let mut named = vec![false; schema.len()];
    for (row, value) in rows.iter().enumerate() {
        match value {
            Value::Object(_) => {}
            // An array row gives every column by position.
            Value::Array(items) if items.len() == schema.len() => named.fill(true),
            Value::Array(items) => {
                return Err(Error::RowLength {
                    row,
                    expected: schema.len(),
                    found: items.len(),
                })
            }
            other => {
                return Err(Error::InvalidRow {
                    row,
                    found: json_kind(other),
                })
            }
        }
        for (i, (field, builder)) in schema.fields.iter().zip(&mut builders).enumerate() {
            let cell = match value {
                Value::Object(map) => match map.get(&field.name) {
                    Some(cell) => {
                        named[i] = true;
                        cell
                    }
                    None => &Value::Null,
                },
                Value::Array(items) => &items[i],
                _ => &Value::Null,
            };
            if !builder.append_json(cell) {
                return Err(Error::InvalidRowValue {
                    row,
                    column: field.name.clone(),
                    expected: field.column_type,
                    value: excerpt(&cell.to_string()),
                });
            }
        }
    }
    if !rows.is_empty() && named.contains(&false) {
        let columns = schema
            .fields
            .iter()
            .zip(&named)
            .filter(|(_, named)| !**named)
            .map(|(field, _)| field.name.clone())
            .collect();
        return Err(Error::UnnamedColumns { columns });
    }
    let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
    assemble(schema, columns, rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use ingot_core::{ColumnType, Field};
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("Age", ColumnType::Integer, false),
            Field::new("score", ColumnType::Float, true),
            Field::new("name", ColumnType::String, true),
            Field::new("ok", ColumnType::Boolean, true),
            Field::new("at", ColumnType::Timestamp, true),
        ])
    }

    #[test]
    fn csv_without_header_uses_schema_order() {
        let b = read_csv_with_schema(
            b"30,1,ann,true,2020-01-01\n40,2.5,,FALSE,\n",
            &schema(),
            false,
        )
        .unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[30, 40]);
        assert_eq!(
            b.column(1).as_primitive::<Float64Type>().values(),
            &[1.0, 2.5]
        );
        assert!(b.column(2).is_null(1));
        assert!(!b.column(3).as_boolean().value(1));
        assert!(b.column(4).is_null(1));
        assert_eq!(
            b.column(4)
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            1_577_836_800_000_000
        );
        assert_eq!(b.schema().as_ref(), crate::arrow_schema(&schema()).as_ref());
    }

    #[test]
    fn csv_with_header_matches_by_name() {
        let b = read_csv_with_schema(
            b"extra,at,ok,name,score,Age\nz,,true,bo,3,7\n",
            &schema(),
            true,
        )
        .unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(b.column(2).as_string::<i32>().value(0), "bo");
        assert_eq!(b.schema().field(0).name(), "Age");
    }

    #[test]
    fn csv_with_header_missing_column_is_named() {
        let err =
            read_csv_with_schema(b"Age,score,name,ok\n1,2,3,true\n", &schema(), true).unwrap_err();
        assert_eq!(
            err,
            Error::MissingColumn {
                column: "at".into()
            }
        );
        assert!(err.to_string().contains("\"at\""));
    }

    #[test]
    fn csv_typed_errors_name_line_and_column() {
        let err = read_csv_with_schema(b"abc,1,x,true,\n", &schema(), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1, column \"Age\": expected integer, got \"abc\""
        );
        let err = read_csv_with_schema(
            b"Age,score,name,ok,at\n1,2,x,true,\n3.0,2,x,true,\n",
            &schema(),
            true,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column \"Age\": expected integer, got \"3.0\""
        );
        let err = read_csv_with_schema(b"1,2,x,yes,\n", &schema(), false).unwrap_err();
        assert!(err.to_string().contains("line 1, column \"ok\""), "{err}");
        let err = read_csv_with_schema(b"1,2,x,true,2020-13-01\n", &schema(), false).unwrap_err();
        assert!(err.to_string().contains("expected timestamp"), "{err}");
    }

    #[test]
    fn csv_typed_ragged_and_utf8_errors() {
        let err = read_csv_with_schema(b"1,2,x,true,\n1,2\n", &schema(), false).unwrap_err();
        assert_eq!(
            err,
            Error::RaggedRow {
                line: 2,
                expected: 5,
                found: 2
            }
        );
        let err =
            read_csv_with_schema(b"1,2,x,true,\n1,2,\xff,true,\n", &schema(), false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2, column \"name\": invalid UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn csv_typed_duplicate_schema_column_in_header() {
        let err = read_csv_with_schema(
            b"Age,score,name,ok,at,Age\n1,2,x,true,,3\n",
            &schema(),
            true,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate column name \"Age\" at columns 1 and 6"
        );
        // Duplicates and empty names among ignored columns are fine.
        let b = read_csv_with_schema(
            b",x,x,Age,score,name,ok,at\n0,a,b,1,2,n,true,\n",
            &schema(),
            true,
        )
        .unwrap();
        assert_eq!(b.num_rows(), 1);
    }

    #[test]
    fn csv_typed_header_only_and_empty() {
        let b = read_csv_with_schema(b"Age,score,name,ok,at\n", &schema(), true).unwrap();
        assert_eq!(b.num_rows(), 0);
        assert_eq!(b.num_columns(), 5);
        assert_eq!(
            read_csv_with_schema(b"", &schema(), false).unwrap_err(),
            Error::Empty
        );
    }

    #[test]
    fn csv_read_a_batch_at_a_time_equals_the_whole_table() {
        let text = "name,Age,score,ok,at\n\
                    \"two\nlines\",30,1,true,2020-01-01\n\
                    ,40,2.5,FALSE,\n\
                    \"a, b\",41,,true,2021-01-01\n\
                    d,42,-1,,\n\
                    e,43,7,false,2022-02-02\n";
        let whole = read_csv_with_schema(text.as_bytes(), &schema(), true).unwrap();
        for batch_rows in [1, 2, 5, 6, usize::MAX] {
            let mut parts = Vec::new();
            for_each_csv_batch(text.as_bytes(), &schema(), true, batch_rows, |b| {
                parts.push(b);
                Ok::<_, Error>(())
            })
            .unwrap();
            assert!(parts.iter().all(|b| b.num_rows() <= batch_rows));
            assert_eq!(
                parts.len(),
                5usize.div_ceil(batch_rows.min(5)),
                "{batch_rows}"
            );
            let joined = arrow_select::concat::concat_batches(&whole.schema(), &parts).unwrap();
            assert_eq!(joined, whole, "{batch_rows} rows at a time");
        }
        // A header without rows is one empty batch; an error names its line as before.
        let mut empty = Vec::new();
        for_each_csv_batch(b"Age,score,name,ok,at\n", &schema(), true, 2, |b| {
            empty.push(b.num_rows());
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(empty, [0]);
        let bad = "Age,score,name,ok,at\n1,1,a,true,\n2,2,b,true,\n3,x,c,true,\n";
        let err = for_each_csv_batch(bad.as_bytes(), &schema(), true, 2, |_| Ok::<_, Error>(()))
            .unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
    }

    #[test]
    fn a_first_line_naming_every_column_is_taken_for_a_header() {
        let header = |body: &str| csv_starts_with_header(body.as_bytes(), &schema());
        // What pandas' `to_csv(index=False)` writes: names in any order, extra columns, quotes,
        // a BOM, CRLF line ends, a header with no rows.
        assert!(header("Age,score,name,ok,at\n30,1,ann,true,\n"));
        assert!(header("at,ok,name,score,Age,label\r\n30,1,ann,true,,1\r\n"));
        assert!(header("\u{feff}\"Age\",\"score\",name,ok,at"));
        // Data rows, and headers that do not name every column, are not.
        assert!(!header("30,1,ann,true,2020-01-01\n"));
        assert!(!header("Age,score,name,ok\n30,1,ann,true\n"));
        assert!(!header("Age,score,name,ok,at_time\n"));
        assert!(!header(""));
        // Numeric column names: a row of numbers stays data.
        let numbered = Schema::new(vec![
            Field::new("0", ColumnType::Float, false),
            Field::new("1", ColumnType::Float, false),
        ]);
        assert!(!csv_starts_with_header(b"0,1\n", &numbered));
        assert!(!csv_starts_with_header(b"1,0\n", &numbered));
    }

    #[test]
    fn csv_typed_missing_in_non_nullable_column_becomes_null() {
        let b = read_csv_with_schema(b",1,x,true,\n", &schema(), false).unwrap();
        assert!(b.column(0).is_null(0));
        assert!(b.schema().field(0).is_nullable());
    }

    #[test]
    fn json_objects_by_name() {
        let rows = vec![
            json!({"Age": 3, "score": 1, "name": "a", "ok": true, "at": "2020-01-01", "x": 1}),
            json!({"Age": "4", "score": 2.5}),
        ];
        let b = read_json_rows(&rows, &schema()).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[3, 4]);
        assert_eq!(
            b.column(1).as_primitive::<Float64Type>().values(),
            &[1.0, 2.5]
        );
        assert!(b.column(2).is_null(1));
        assert!(b.column(3).as_boolean().value(0));
        assert!(b.column(4).is_null(1));
    }

    #[test]
    fn json_arrays_in_schema_order() {
        let rows = vec![
            json!([1, 2, "n", false, null]),
            json!([2, null, 5, null, null]),
        ];
        let b = read_json_rows(&rows, &schema()).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(2).as_string::<i32>().value(1), "5");
        assert!(b.column(1).is_null(1));
    }

    #[test]
    fn json_errors_name_row_and_column() {
        let rows = vec![json!([1, 2, "n", false, null]), json!({"Age": 3.5})];
        let err = read_json_rows(&rows, &schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 1, column \"Age\": expected integer, got 3.5"
        );
        let rows = vec![json!({"Age": 1, "ok": "maybe"})];
        let err = read_json_rows(&rows, &schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 0, column \"ok\": expected boolean, got \"maybe\""
        );
        let rows = vec![
            json!({"Age": 1}),
            json!({"Age": 1}),
            json!({}),
            json!([1, 2]),
        ];
        let err = read_json_rows(&rows, &schema()).unwrap_err();
        assert_eq!(err.to_string(), "row 3: expected 5 values, found 2");
        let err = read_json_rows(&[json!(7)], &schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 0: expected an object or an array, found a number"
        );
        let err = read_json_rows(&[json!({"at": 5})], &schema()).unwrap_err();
        assert!(err.to_string().contains("column \"at\""), "{err}");
    }

    #[test]
    fn json_columns_no_row_gives_are_refused() {
        // A key absent from some rows is a null; absent from every row, it is refused by name.
        let rows = vec![
            json!({"Age": 1, "score": 2, "nme": "typo", "ok": true}),
            json!({"Age": 2, "at": null}),
        ];
        let err = read_json_rows(&rows, &schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing column \"name\": no row names it; send null for a missing value"
        );
        let err = read_json_rows(&[json!({"Age": 1})], &schema()).unwrap_err();
        assert_eq!(
            err,
            Error::UnnamedColumns {
                columns: vec!["score".into(), "name".into(), "ok".into(), "at".into()]
            }
        );
        assert!(err
            .to_string()
            .starts_with("missing columns \"score\", \"name\", \"ok\", \"at\": no row names them"));
        let many: Vec<String> = (0..11).map(|i| format!("c{i}")).collect();
        let text = Error::UnnamedColumns { columns: many }.to_string();
        assert!(text.contains("\"c7\" and 3 more:"), "{text}");
        // A row given as an array names every column by position.
        let rows = vec![json!([1, null, null, null, null]), json!({"Age": 2})];
        assert!(read_json_rows(&rows, &schema()).is_ok());
    }

    #[test]
    fn json_nested_values_fit_string_columns() {
        let rows =
            vec![json!({"Age": 1, "score": null, "name": {"k": [1, 2]}, "ok": null, "at": null})];
        let b = read_json_rows(&rows, &schema()).unwrap();
        assert_eq!(b.column(2).as_string::<i32>().value(0), "{\"k\":[1,2]}");
    }
}
