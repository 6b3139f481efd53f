//! JSON Lines reading with schema inference: one object per non-blank line, keys collected in
//! first-seen order, JSON types mapped naturally and strings still inferred as timestamps; and
//! the same file read again a batch at a time against the schema so inferred.

use crate::builder::{assemble, ColumnBuilder};
use crate::text::{is_missing, parse_timestamp, trim};
use crate::typed::json_kind;
use crate::{Error, Result, Table};
use arrow_array::RecordBatch;
use ingot_core::{ColumnType, Field, Schema};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;

/// A JSON object with its keys in document order (serde_json's map may sort them).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// One value of a JSON Lines column before the column's type is known.
enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A nested array or object, as JSON text.
    Nested(String),
}

/// One column's cells and the kinds of values it has seen.
#[derive(Default)]
struct JsonColumn {
    cells: Vec<Cell>,
    nulls: bool,
    bools: bool,
    ints: bool,
    floats: bool,
    timestamps: bool,
    texts: bool,
}

impl JsonColumn {
    fn push(&mut self, value: Value) {
        let cell = match value {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Cell::Int(i),
                None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) if is_missing(trim(&s)) => Cell::Null,
            Value::String(s) => Cell::Str(s),
            nested => Cell::Nested(nested.to_string()),
        };
        match &cell {
            Cell::Null => self.nulls = true,
            Cell::Bool(_) => self.bools = true,
            Cell::Int(_) => self.ints = true,
            Cell::Float(_) => self.floats = true,
            Cell::Str(s) => {
                if !self.texts && parse_timestamp(trim(s)).is_some() {
                    self.timestamps = true;
                } else {
                    self.texts = true;
                }
            }
            Cell::Nested(_) => self.texts = true,
        }
        self.cells.push(cell);
    }

    /// Inferred type and nullability: mixing kinds (other than integer with float) gives string.
    fn finish_type(&self) -> (ColumnType, bool) {
        let numbers = self.ints || self.floats;
        let kinds = [self.bools, numbers, self.timestamps, self.texts]
            .iter()
            .filter(|k| **k)
            .count();
        let t = if kinds != 1 || self.texts {
            ColumnType::String
        } else if self.bools {
            ColumnType::Boolean
        } else if self.floats {
            ColumnType::Float
        } else if self.ints {
            ColumnType::Integer
        } else {
            ColumnType::Timestamp
        };
        (t, self.nulls || kinds == 0)
    }
}

/// Describes a serde_json failure on one line without serde_json's own "line 1" suffix.
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let base = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    format!("{base} at column {}", e.column())
}

/// Gathers objects into columns, keeping keys in first-seen order.
#[derive(Default)]
struct Collector {
    index: HashMap<String, usize>,
    names: Vec<String>,
    columns: Vec<JsonColumn>,
    rows: usize,
}

impl Collector {
    fn add(&mut self, object: OrderedObject, line: u64) -> Result<()> {
        let rows = self.rows;
        for (key, value) in object.0 {
            let col = match self.index.get(&key) {
                Some(&c) => c,
                None => {
                    if key.is_empty() {
                        return Err(Error::InvalidJson {
                            line,
                            message: "an empty key is not a valid column name".to_string(),
                        });
                    }
                    let mut column = JsonColumn::default();
                    if rows > 0 {
                        column.nulls = true;
                        column.cells.extend((0..rows).map(|_| Cell::Null));
                    }
                    self.columns.push(column);
                    self.names.push(key.clone());
                    self.index.insert(key, self.columns.len() - 1);
                    self.columns.len() - 1
                }
            };
            let column = &mut self.columns[col];
            if column.cells.len() > rows {
                // A repeated key within one object: the last value wins.
                column.cells.pop();
            }
            column.push(value);
        }
        self.rows += 1;
        for column in &mut self.columns {
            if column.cells.len() < self.rows {
                column.nulls = true;
                column.cells.push(Cell::Null);
            }
        }
        Ok(())
    }

    /// The rows gathered so far as a batch of `schema`, the schema inferred from the whole file
    /// these rows come from: each cell converted to its column's type as [`Collector::finish`]
    /// converts it, a column none of these rows has all nulls.
    fn finish_as(&self, schema: &Schema) -> Result<RecordBatch> {
        let arrays = schema
            .fields
            .iter()
            .map(|field| {
                let mut builder = ColumnBuilder::new(field.column_type, self.rows, 0);
                match self.index.get(&field.name).map(|&c| &self.columns[c]) {
                    Some(column) => {
                        for cell in &column.cells {
                            append_cell(&mut builder, field.column_type, cell);
                        }
                    }
                    None => (0..self.rows).for_each(|_| builder.append_null()),
                }
                builder.finish()
            })
            .collect();
        assemble(schema, arrays, self.rows)
    }

    fn finish(self) -> Result<Table> {
        if self.rows == 0 {
            return Err(Error::Empty);
        }
        let rows = self.rows;
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (name, column) in self.names.into_iter().zip(self.columns) {
            let (t, nullable) = column.finish_type();
            let mut builder = ColumnBuilder::new(t, rows, 0);
            for cell in &column.cells {
                append_cell(&mut builder, t, cell);
            }
            arrays.push(builder.finish());
            fields.push(Field::new(name, t, nullable));
        }
        let schema = Schema::new(fields);
        let batch = assemble(&schema, arrays, rows)?;
        Ok(Table { schema, batch })
    }
}

/// Reads JSON Lines, inferring the schema. As a convenience a document whose first character
/// is `[` is read as one JSON array of objects (a plain `.json` export).
pub(crate) fn read_jsonl_table(bytes: &[u8]) -> Result<Table> {
    let mut collector = Collector::default();
    for_each_object::<Error>(bytes, |object, line| collector.add(object, line))?;
    collector.finish()
}

/// Reads JSON Lines against the schema inferred from the same file when it was uploaded, at most
/// `batch_rows` rows at a time, each batch handed to `each` in order: a large file is never held
/// decoded whole (a JSON array of objects is parsed whole, then handed on in batches). The
/// values are converted as [`crate::read_table_bytes`] converts them, so the batches together
/// equal its table. The first error, the reader's or `each`'s, ends it.
pub fn for_each_jsonl_batch<E: From<Error>>(
    bytes: &[u8],
    schema: &Schema,
    batch_rows: usize,
    mut each: impl FnMut(RecordBatch) -> Result<(), E>,
) -> Result<(), E> {
    let mut collector = Collector::default();
    let mut batches = 0usize;
    for_each_object::<E>(bytes, |object, line| {
        collector.add(object, line)?;
        if collector.rows == batch_rows {
            let full = std::mem::take(&mut collector).finish_as(schema)?;
            batches += 1;
            each(full)?;
        }
        Ok(())
    })?;
    if collector.rows > 0 || batches == 0 {
        each(collector.finish_as(schema)?)?;
    }
    Ok(())
}

/// Hands each object of a JSON Lines document (or of a JSON array of objects) to `add` with its
/// line number; a blank line is skipped, anything else that is not an object is an error naming
/// its line.
fn for_each_object<E: From<Error>>(
    bytes: &[u8],
    mut add: impl FnMut(OrderedObject, u64) -> Result<(), E>,
) -> Result<(), E> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let objects = serde_json::from_slice::<Vec<OrderedObject>>(bytes).map_err(|e| {
            Error::InvalidJson {
                line: e.line() as u64,
                message: json_message(&e),
            }
        })?;
        for object in objects {
            add(object, 1)?;
        }
        return Ok(());
    }
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object = match serde_json::from_slice::<OrderedObject>(raw) {
            Ok(o) => o,
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                return Err(match serde_json::from_slice::<Value>(raw) {
                    Ok(v) => Error::NotAnObject {
                        line,
                        found: json_kind(&v),
                    },
                    Err(_) => Error::InvalidJson {
                        line,
                        message: json_message(&e),
                    },
                }
                .into());
            }
            Err(e) => {
                return Err(Error::InvalidJson {
                    line,
                    message: json_message(&e),
                }
                .into())
            }
        };
        add(object, line)?;
    }
    Ok(())
}

/// Appends a cell to a builder of the column's inferred type (which the cell always fits).
fn append_cell(builder: &mut ColumnBuilder, t: ColumnType, cell: &Cell) {
    match (cell, t) {
        (Cell::Bool(b), ColumnType::Boolean) => builder.append_bool(*b),
        (Cell::Int(i), ColumnType::Integer | ColumnType::Float) => builder.append_i64(*i),
        (Cell::Float(f), ColumnType::Float) => builder.append_f64(*f),
        (Cell::Str(s), ColumnType::Timestamp) => match parse_timestamp(trim(s)) {
            Some(v) => builder.append_i64(v),
            None => builder.append_null(),
        },
        (Cell::Bool(b), ColumnType::String) => {
            builder.append_str(if *b { "true" } else { "false" })
        }
        (Cell::Int(i), ColumnType::String) => builder.append_str(&i.to_string()),
        (Cell::Float(f), ColumnType::String) => match serde_json::Number::from_f64(*f) {
            Some(n) => builder.append_str(&n.to_string()),
            None => builder.append_str(&f.to_string()),
        },
        (Cell::Str(s) | Cell::Nested(s), ColumnType::String) => builder.append_str(s),
        _ => builder.append_null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;

    fn read(s: &str) -> Result<Table> {
        read_jsonl_table(s.as_bytes())
    }

    #[test]
    fn infers_types_and_key_order() {
        let t = read(concat!(
            "{\"z\": 1, \"f\": 1, \"b\": true, \"s\": \"x\", \"t\": \"2021-01-01\", \"n\": [1]}\n",
            "\n",
            "{\"f\": 2.5, \"z\": 2, \"b\": false, \"s\": \"y\", \"t\": \"2021-01-02 10:00:00\", \"n\": {\"a\": 1}, \"new\": 5}\n",
        ))
        .unwrap();
        let names: Vec<_> = t.schema.names().collect();
        assert_eq!(names, vec!["z", "f", "b", "s", "t", "n", "new"]);
        let types: Vec<_> = t.schema.fields.iter().map(|f| f.column_type).collect();
        use ColumnType::*;
        assert_eq!(
            types,
            vec![Integer, Float, Boolean, String, Timestamp, String, Integer]
        );
        let nullable: Vec<_> = t.schema.fields.iter().map(|f| f.nullable).collect();
        assert_eq!(
            nullable,
            vec![false, false, false, false, false, false, true]
        );
        let b = &t.batch;
        assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[1, 2]);
        assert_eq!(
            b.column(1).as_primitive::<Float64Type>().values(),
            &[1.0, 2.5]
        );
        assert_eq!(
            b.column(4)
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            1_609_459_200_000_000
        );
        assert_eq!(b.column(5).as_string::<i32>().value(0), "[1]");
        assert_eq!(b.column(5).as_string::<i32>().value(1), "{\"a\":1}");
        assert!(b.column(6).is_null(0));
        assert_eq!(b.column(6).as_primitive::<Int64Type>().value(1), 5);
    }

    #[test]
    fn absent_keys_and_nulls_are_nullable() {
        let t = read("{\"a\": 1, \"b\": null}\n{\"b\": \"NA\"}\n").unwrap();
        assert_eq!(t.schema.fields[0].column_type, ColumnType::Integer);
        assert!(t.schema.fields[0].nullable);
        assert_eq!(t.schema.fields[1].column_type, ColumnType::String);
        assert!(t.schema.fields[1].nullable);
        assert_eq!(t.batch.column(0).null_count(), 1);
        assert_eq!(t.batch.column(1).null_count(), 2);
    }

    #[test]
    fn mixed_kinds_become_strings() {
        let t = read("{\"a\": 1, \"b\": true}\n{\"a\": \"x\", \"b\": 2.5}\n").unwrap();
        assert_eq!(t.schema.fields[0].column_type, ColumnType::String);
        assert_eq!(t.schema.fields[1].column_type, ColumnType::String);
        let a = t.batch.column(0).as_string::<i32>();
        assert_eq!((a.value(0), a.value(1)), ("1", "x"));
        let b = t.batch.column(1).as_string::<i32>();
        assert_eq!((b.value(0), b.value(1)), ("true", "2.5"));
    }

    #[test]
    fn jsonl_read_a_batch_at_a_time_equals_the_whole_table() {
        // Integers and floats in one column, a number among strings, a key absent from whole
        // batches, nulls and "NA", timestamps, a nested value, a blank line and a BOM.
        let mut text = String::from("\u{feff}");
        for i in 0..23 {
            let mut row = format!(
                "{{\"id\": {i}, \"x\": {}",
                if i % 3 == 0 { "1.5" } else { "2" }
            );
            row += &format!(
                ", \"label\": {}",
                if i == 7 {
                    "42".into()
                } else {
                    format!("\"r{i}\"")
                }
            );
            if i >= 16 {
                row += ", \"late\": true";
            }
            row += &format!(", \"at\": \"2021-01-{:02}\"", i % 28 + 1);
            row += if i % 5 == 0 {
                ", \"n\": null"
            } else {
                ", \"n\": \"NA\""
            };
            row += if i == 4 {
                ", \"nested\": {\"k\": [1, 2]}}\n"
            } else {
                "}\n"
            };
            text += &row;
            if i == 10 {
                text += "\n";
            }
        }
        let whole = read(&text).unwrap();
        assert_eq!(whole.schema.fields[2].column_type, ColumnType::String);
        for batch_rows in [1, 5, 8, 23, 100] {
            let mut batches = Vec::new();
            for_each_jsonl_batch(text.as_bytes(), &whole.schema, batch_rows, |b| {
                batches.push(b);
                Ok::<_, Error>(())
            })
            .unwrap();
            assert_eq!(batches.len(), 23usize.div_ceil(batch_rows), "{batch_rows}");
            let joined =
                arrow_select::concat::concat_batches(&whole.batch.schema(), &batches).unwrap();
            assert_eq!(joined, whole.batch, "batches of {batch_rows}");
        }
        // The array form is read in batches too.
        let array = "[{\"a\": 1}, {\"a\": 2.5}, {\"a\": null}]";
        let whole = read(array).unwrap();
        let mut sizes = Vec::new();
        for_each_jsonl_batch(array.as_bytes(), &whole.schema, 2, |b| {
            sizes.push(b.num_rows());
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(sizes, [2, 1]);
        // An error in a later batch names its line, after the earlier batches went out.
        let bad = "{\"a\": 1}\n{\"a\": 2}\n{\"a\": }\n";
        let schema = read("{\"a\": 1}\n").unwrap().schema;
        let mut seen = 0;
        let err = for_each_jsonl_batch(bad.as_bytes(), &schema, 1, |b| {
            seen += b.num_rows();
            Ok::<_, Error>(())
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidJson { line: 3, .. }), "{err:?}");
        assert_eq!(seen, 2);
    }

    #[test]
    fn empty_input_is_an_error() {
        assert_eq!(read("").unwrap_err(), Error::Empty);
        assert_eq!(read("\n  \n").unwrap_err(), Error::Empty);
    }

    #[test]
    fn invalid_json_names_its_line() {
        let err = read("{\"a\": 1}\n\n{\"a\": }\n").unwrap_err();
        assert!(matches!(err, Error::InvalidJson { line: 3, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("line 3: invalid JSON"), "{msg}");
        assert!(!msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn non_object_line_names_its_line() {
        let err = read("{\"a\": 1}\n[1, 2]\n").unwrap_err();
        assert_eq!(
            err,
            Error::NotAnObject {
                line: 2,
                found: "an array"
            }
        );
        assert_eq!(
            err.to_string(),
            "line 2: expected a JSON object, found an array"
        );
        let err = read("3\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1:"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let err = read_jsonl_table(b"{\"a\": \"x\"}\n{\"a\": \"\xff\"}\n").unwrap_err();
        assert!(matches!(err, Error::InvalidJson { line: 2, .. }), "{err}");
    }

    #[test]
    fn empty_key_is_rejected() {
        let err = read("{\"a\": 1}\n{\"\": 2}\n").unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }

    #[test]
    fn repeated_key_keeps_the_last_value() {
        let t = read("{\"a\": 1, \"a\": 2}\n").unwrap();
        assert_eq!(t.num_rows(), 1);
        assert_eq!(t.batch.column(0).as_primitive::<Int64Type>().value(0), 2);
    }

    #[test]
    fn a_json_array_document_is_accepted() {
        let t = read("[\n  {\"a\": 1, \"b\": \"x\"},\n  {\"a\": 2}\n]\n").unwrap();
        assert_eq!(t.num_rows(), 2);
        assert_eq!(t.schema.names().collect::<Vec<_>>(), vec!["a", "b"]);
        let err = read("[\n  {\"a\": 1},\n  3\n]").unwrap_err();
        assert!(matches!(err, Error::InvalidJson { line: 3, .. }), "{err}");
        assert_eq!(read("[]").unwrap_err(), Error::Empty);
    }

    #[test]
    fn crlf_and_bom_are_tolerated() {
        let t = read("\u{feff}{\"a\": 1}\r\n{\"a\": 2}\r\n").unwrap();
        assert_eq!(t.schema.fields[0].name, "a");
        assert_eq!(t.num_rows(), 2);
    }
}
