//! Reading CSV against an all-numeric schema straight into a row-major `f64` matrix, for
//! models that score dense rows: the same records, values and errors as
//! [`crate::read_csv_with_schema`], without building Arrow arrays in between.

use crate::csv::{check_len, field_str, line_of, next_record, open};
use crate::error::excerpt;
use crate::text::{is_missing, parse_float, parse_int, trim};
use crate::typed::{header_positions, schema_positions};
use crate::{Error, Result};
use ::csv::ByteRecord;
use ingot_core::{ColumnType, Field, Schema};
use std::ops::Range;

/// Whether every column of `schema` is an integer or float column, so
/// [`read_csv_dense`] can read rows against it.
pub fn is_dense_schema(schema: &Schema) -> bool {
    schema.fields.iter().all(is_numeric)
}

fn is_numeric(field: &Field) -> bool {
    matches!(field.column_type, ColumnType::Integer | ColumnType::Float)
}

/// Rows read by [`read_csv_dense`].
#[derive(Debug, Clone, PartialEq)]
pub struct DenseRows {
    /// Row-major values, `schema.len()` per row, in schema order; missing values are NaN.
    pub values: Vec<f64>,
    /// Number of rows.
    pub rows: usize,
}

/// Parses CSV against an all-numeric schema (see [`is_dense_schema`]) into row-major values.
///
/// Records, header matching, missing tokens and errors are those of
/// [`crate::read_csv_with_schema`]: the values are what its integer and float columns hold
/// (integers converted to `f64`), with NaN where it has nulls. A non-numeric schema column is
/// an error naming it. Text without quote characters is split here directly, as csv-core
/// would split it; other text goes through csv-core.
pub fn read_csv_dense(bytes: &[u8], schema: &Schema, has_header: bool) -> Result<DenseRows> {
    if let Some(field) = schema.fields.iter().find(|f| !is_numeric(f)) {
        return Err(Error::Conversion {
            column: field.name.clone(),
            from: field.column_type.to_string(),
            to: ColumnType::Float,
            detail: "dense rows hold only integer and float columns".to_string(),
        });
    }
    if bytes.contains(&b'"') {
        read_quoted(bytes, schema, has_header)
    } else {
        read_plain(bytes, schema, has_header)
    }
}

/// One field's value: NaN for a missing token, else the integer or float it must parse as.
fn value_of(text: &str, line: u64, field: &Field) -> Result<f64> {
    let token = trim(text);
    let value = if is_missing(token) {
        Some(f64::NAN)
    } else if field.column_type == ColumnType::Integer {
        parse_int(token).map(|v| v as f64)
    } else {
        parse_float(token)
    };
    value.ok_or_else(|| Error::InvalidValue {
        line,
        column: field.name.clone(),
        expected: field.column_type,
        value: excerpt(text),
    })
}

/// Any CSV text, through csv-core.
fn read_quoted(bytes: &[u8], schema: &Schema, has_header: bool) -> Result<DenseRows> {
    let mut reader = open(bytes)?;
    let mut record = ByteRecord::new();
    let (positions, width) = schema_positions(&mut reader, &mut record, schema, has_header)?;
    let mut values = Vec::with_capacity(bytes.len() / 8);
    let mut rows = 0usize;
    while next_record(&mut reader, &mut record) {
        check_len(&record, width)?;
        let line = line_of(&record);
        for (field, &pos) in schema.fields.iter().zip(&positions) {
            values.push(value_of(
                field_str(&record, pos, line, &field.name)?,
                line,
                field,
            )?);
        }
        rows += 1;
    }
    Ok(DenseRows { values, rows })
}

/// Records of CSV text holding no quote character, split as csv-core splits them with the
/// `csv` crate's defaults: `\r`, `\n` and `\r\n` end a record, runs of line ends between
/// records are skipped, and a record is numbered with the line [`next_record`] gives it (one
/// more than the `\n` bytes consumed before it: those of the line ends skipped before it do
/// not count).
struct PlainRecords<'a> {
    text: &'a [u8],
    /// Where the rest of `text` starts.
    at: usize,
    newlines: u64,
}

impl PlainRecords<'_> {
    /// Reads the next record's fields into `fields` (ranges of `text`) and returns its line;
    /// `None` at the end.
    fn next_record(&mut self, fields: &mut Vec<Range<usize>>) -> Option<u64> {
        let line = 1 + self.newlines;
        let text = self.text;
        let mut i = self.at;
        loop {
            match text.get(i) {
                Some(b'\n') => self.newlines += 1,
                Some(b'\r') => {}
                Some(_) => break,
                None => {
                    self.at = i;
                    return None;
                }
            }
            i += 1;
        }
        fields.clear();
        let mut start = i;
        let end = loop {
            i = next_delimiter(text, i);
            match text.get(i) {
                None => break None,
                Some(b',') => {
                    fields.push(start..i);
                    start = i + 1;
                    i += 1;
                }
                Some(&b) => break Some(b),
            }
        };
        fields.push(start..i);
        match end {
            Some(b) => {
                self.newlines += u64::from(b == b'\n');
                self.at = i + 1;
            }
            None => self.at = i,
        }
        Some(line)
    }
}

/// The index of the first `,`, `\n` or `\r` in `bytes` at or after `i`, else `bytes.len()`.
/// Eight bytes at a time: a word flags its bytes below `-` (the three among them), and the
/// lowest flag marks the first such byte exactly (borrows only run upwards from it).
fn next_delimiter(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let delimiter = |b: u8| matches!(b, b',' | b'\n' | b'\r');
    while let Some(word) = bytes.get(i..i + 8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight);
        let below = x.wrapping_sub(ONES * u64::from(b'-')) & !x & HIGH;
        if below == 0 {
            i += 8;
            continue;
        }
        let at = i + (below.trailing_zeros() / 8) as usize;
        if delimiter(bytes[at]) {
            return at;
        }
        i = at + 1;
    }
    while i < bytes.len() && !delimiter(bytes[i]) {
        i += 1;
    }
    i
}

/// CSV text without quote characters, split here.
fn read_plain(bytes: &[u8], schema: &Schema, has_header: bool) -> Result<DenseRows> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty);
    }
    // csv-core strips one more BOM at the start of its first input, after `open` did.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut records = PlainRecords {
        text,
        at: 0,
        newlines: 0,
    };
    let mut fields: Vec<Range<usize>> = Vec::with_capacity(schema.len());
    let (positions, width) = if has_header {
        let Some(line) = records.next_record(&mut fields) else {
            return Err(Error::Empty);
        };
        let mut header = ByteRecord::new();
        for name in &fields {
            header.push_field(&text[name.clone()]);
        }
        let mut position = ::csv::Position::new();
        position.set_line(line);
        header.set_position(Some(position));
        header_positions(&header, schema)?
    } else {
        ((0..schema.len()).collect(), schema.len())
    };
    // Fields split at ASCII bytes of valid UTF-8 text are valid: check the text once, and
    // each field only when it is not (to name the first bad one).
    let whole = std::str::from_utf8(text).ok();
    let mut values = Vec::with_capacity(bytes.len() / 8);
    let mut rows = 0usize;
    while let Some(line) = records.next_record(&mut fields) {
        if fields.len() != width {
            return Err(Error::RaggedRow {
                line,
                expected: width,
                found: fields.len(),
            });
        }
        for (field, &pos) in schema.fields.iter().zip(&positions) {
            let range = fields[pos].clone();
            let value = match whole.and_then(|whole| whole.get(range.clone())) {
                Some(value) => value,
                None => std::str::from_utf8(&text[range]).map_err(|e| Error::InvalidUtf8 {
                    line,
                    column: field.name.clone(),
                    offset: e.valid_up_to(),
                })?,
            };
            values.push(value_of(value, line, field)?);
        }
        rows += 1;
    }
    Ok(DenseRows { values, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_csv_with_schema;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::Array;
    use ingot_core::Field;

    /// A seeded xorshift generator of indices below `n`, for the randomized comparisons.
    fn xorshift(seed: u64) -> impl FnMut(usize) -> usize {
        let mut state = seed;
        move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        }
    }

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("n", ColumnType::Integer, false),
            Field::new("x", ColumnType::Float, true),
            Field::new("y", ColumnType::Float, false),
        ])
    }

    /// The typed reader's batch as row-major values, NaN for nulls: the reference.
    fn via_arrow(bytes: &[u8], schema: &Schema, header: bool) -> Result<DenseRows> {
        let batch = read_csv_with_schema(bytes, schema, header)?;
        let rows = batch.num_rows();
        let mut values = vec![f64::NAN; rows * schema.len()];
        for (c, column) in batch.columns().iter().enumerate() {
            for r in (0..rows).filter(|&r| column.is_valid(r)) {
                values[r * schema.len() + c] = match schema.fields[c].column_type {
                    ColumnType::Integer => column.as_primitive::<Int64Type>().value(r) as f64,
                    _ => column.as_primitive::<Float64Type>().value(r),
                };
            }
        }
        Ok(DenseRows { values, rows })
    }

    fn same(a: &Result<DenseRows>, b: &Result<DenseRows>) -> bool {
        match (a, b) {
            (Ok(a), Ok(b)) => {
                a.rows == b.rows
                    && a.values.len() == b.values.len()
                    && a.values
                        .iter()
                        .zip(&b.values)
                        .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
            }
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    #[test]
    fn values_and_errors_equal_the_typed_reader() {
        let inputs: [(&[u8], bool); 16] = [
            (b"1,2.5,3\n-4,NA,1e300\n", false),
            (b"y,extra,x,n\n3, 7 ,-0.5,12\n4,,,\n", true),
            (
                b"\xEF\xBB\xBFn,x,y\r\n1,inf,-infinity\r\n\r\n2,null,0\r\n",
                true,
            ),
            (b"1,\"2.25\",3\n", false),
            (b"1,2,3\n1.5,2,3\n", false),
            (b"1,2,3\n1,abc,3\n", false),
            (b"1,2,3\n1,2\n", false),
            (b"1,2,\xff\n", false),
            (b"n,x\n1,2\n", true),
            (b"n,x,y,x\n1,2,3,4\n", true),
            (b"n,x,y\n", true),
            (b"", false),
            (b"  \n", true),
            (b"1,nan,NaN\n9223372036854775807,-0,+1\n", false),
            (b"1,2,3\n4,5,6", false),
            (b"1,2,3\n\"4\n\",5,6\n", false),
        ];
        for (bytes, header) in inputs {
            let ours = read_csv_dense(bytes, &schema(), header);
            let reference = via_arrow(bytes, &schema(), header);
            assert!(
                same(&ours, &reference),
                "{:?}: {ours:?} vs {reference:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn the_plain_splitter_equals_csv_core_on_random_text() {
        // Quote-free text over the bytes that matter to the splitter, the parsers and UTF-8.
        let alphabet: &[&[u8]] = &[
            b"1",
            b"-2",
            b".5",
            b"e3",
            b",",
            b",",
            b",",
            b"\n",
            b"\n",
            b"\r",
            b"\r\n",
            b" ",
            b"NA",
            b"x",
            b"n",
            b"y",
            b"\xC3",
            b"\xA9",
            b"inf",
            b"\xEF\xBB\xBF",
        ];
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let mut compared = 0;
        for case in 0..20_000 {
            let mut text = Vec::new();
            if case % 3 == 0 {
                text.extend_from_slice(b"y,n,x\n");
            }
            if case % 2 == 0 {
                for _ in 0..next(24) {
                    text.extend_from_slice(alphabet[next(alphabet.len())]);
                }
            } else {
                // Mostly well-formed rows, so most inputs parse.
                let values: &[&[u8]] = &[b"1", b"-2.5", b" 3 ", b"NA", b"", b"1e3", b"7", b"-0"];
                let ends: &[&[u8]] = &[b"\n", b"\r\n", b"\r", b"\n\n", b"\n\r\n"];
                for _ in 0..next(5) {
                    let fields = if next(12) == 0 { 2 + next(3) } else { 3 };
                    for f in 0..fields {
                        if f > 0 {
                            text.push(b',');
                        }
                        text.extend_from_slice(values[next(values.len())]);
                    }
                    text.extend_from_slice(ends[next(ends.len())]);
                }
            }
            for header in [false, true] {
                let plain = read_plain(&text, &schema(), header);
                let general = read_quoted(&text, &schema(), header);
                assert!(
                    same(&plain, &general),
                    "{:?} header {header}: {plain:?} vs {general:?}",
                    String::from_utf8_lossy(&text)
                );
                assert!(same(&plain, &via_arrow(&text, &schema(), header)));
                compared += usize::from(plain.is_ok_and(|p| p.rows > 0));
            }
        }
        assert!(compared > 2_000, "only {compared} readable inputs");
    }

    #[test]
    fn delimiters_are_found_as_a_byte_scan_finds_them() {
        let alphabet = [
            b',', b'\n', b'\r', b'-', b'.', b'+', b'0', b'9', 0x80, 0xAC, 0xFF, 0,
        ];
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..5_000 {
            let len = next(40);
            // Mostly digits, so words without any delimiter occur.
            let bytes: Vec<u8> = (0..len)
                .map(|_| match next(3) {
                    0 => alphabet[next(alphabet.len())],
                    _ => b'5',
                })
                .collect();
            for from in 0..=len {
                let want = (from..len)
                    .find(|&i| matches!(bytes[i], b',' | b'\n' | b'\r'))
                    .unwrap_or(len);
                assert_eq!(next_delimiter(&bytes, from), want, "{bytes:?} from {from}");
            }
        }
    }

    #[test]
    fn rows_are_row_major_in_schema_order() {
        let got = read_csv_dense(b"y,n,x\n3,1,2\n6,4,\n", &schema(), true).unwrap();
        assert_eq!(got.rows, 2);
        assert_eq!(got.values.len(), 6);
        assert_eq!(&got.values[..4], &[1.0, 2.0, 3.0, 4.0]);
        assert!(got.values[4].is_nan());
        assert_eq!(got.values[5], 6.0);
    }

    #[test]
    fn non_numeric_schemas_are_refused_by_name() {
        let s = Schema::new(vec![
            Field::new("n", ColumnType::Integer, false),
            Field::new("s", ColumnType::String, true),
        ]);
        assert!(!is_dense_schema(&s));
        assert!(is_dense_schema(&schema()));
        let err = read_csv_dense(b"1,a\n", &s, false).unwrap_err();
        assert!(err.to_string().contains("column \"s\""), "{err}");
    }
}
