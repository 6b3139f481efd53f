//! The error type of the data crate: every failure names the line (or row) and column it concerns.

use ingot_core::ColumnType;

/// Errors raised while reading, converting or reshaping tabular data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The input holds no data at all (zero bytes or only whitespace).
    #[error("file is empty")]
    Empty,
    /// The CSV parser itself failed.
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    /// A CSV row has a different number of fields than the header (or schema).
    #[error("line {line}: expected {expected} fields, found {found}")]
    RaggedRow {
        line: u64,
        expected: usize,
        found: usize,
    },
    /// A data field is not valid UTF-8.
    #[error("line {line}, column {column:?}: invalid UTF-8 at byte {offset} of the field")]
    InvalidUtf8 {
        line: u64,
        column: String,
        offset: usize,
    },
    /// A header field is not valid UTF-8 (so it has no name; `position` is 1-based).
    #[error("line {line}, column {position}: invalid UTF-8 in column name")]
    InvalidHeaderUtf8 { line: u64, position: usize },
    /// A header field is empty (`position` is 1-based).
    #[error("line {line}, column {position}: empty column name")]
    EmptyColumnName { line: u64, position: usize },
    /// Two header fields share a name (positions are 1-based).
    #[error("duplicate column name {name:?} at columns {first} and {second}")]
    DuplicateColumn {
        name: String,
        first: usize,
        second: usize,
    },
    /// A JSON Lines line is not valid JSON.
    #[error("line {line}: invalid JSON: {message}")]
    InvalidJson { line: u64, message: String },
    /// A JSON Lines line is valid JSON but not an object.
    #[error("line {line}: expected a JSON object, found {found}")]
    NotAnObject { line: u64, found: &'static str },
    /// A text value does not parse as the column's type.
    #[error("line {line}, column {column:?}: expected {expected}, got {value:?}")]
    InvalidValue {
        line: u64,
        column: String,
        expected: ColumnType,
        value: String,
    },
    /// A value of an in-memory row (JSON rows, batch column) does not convert to the column's type.
    /// `row` is 0-based; `value` is already rendered (JSON text or a quoted string).
    #[error("row {row}, column {column:?}: expected {expected}, got {value}")]
    InvalidRowValue {
        row: usize,
        column: String,
        expected: ColumnType,
        value: String,
    },
    /// A JSON row array has the wrong number of values.
    #[error("row {row}: expected {expected} values, found {found}")]
    RowLength {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// A JSON row is neither an object nor an array.
    #[error("row {row}: expected an object or an array, found {found}")]
    InvalidRow { row: usize, found: &'static str },
    /// A schema column is absent from the input.
    #[error("missing column {column:?}")]
    MissingColumn { column: String },
    /// Schema columns that no JSON row gives (a key absent from some rows is a null; absent
    /// from all of them, it is most likely misspelled or forgotten).
    #[error("{}", unnamed_columns_message(columns))]
    UnnamedColumns { columns: Vec<String> },
    /// A column cannot be converted to the requested type.
    #[error("column {column:?}: cannot convert {from} to {to}: {detail}")]
    Conversion {
        column: String,
        from: String,
        to: ColumnType,
        detail: String,
    },
    /// A column has an Arrow type Ingot cannot represent.
    #[error("column {column:?}: unsupported type {data_type}")]
    UnsupportedType { column: String, data_type: String },
    /// The Parquet reader failed.
    #[error("invalid parquet file: {0}")]
    Parquet(String),
    /// A data format name was not recognised.
    #[error("unknown data format {0:?}: expected csv, parquet or jsonl")]
    UnknownFormat(String),
    /// A row index is past the end of the batch.
    #[error("row index {index} out of bounds for {len} rows")]
    RowIndexOutOfBounds { index: usize, len: usize },
    /// An Arrow compute kernel failed.
    #[error("arrow error: {0}")]
    Arrow(String),
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Arrow(e.to_string())
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "missing column \"a\": …", or the first few of several names and how many more.
fn unnamed_columns_message(columns: &[String]) -> String {
    const LISTED: usize = 8;
    let mut names = columns
        .iter()
        .take(LISTED)
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if columns.len() > LISTED {
        names.push_str(&format!(" and {} more", columns.len() - LISTED));
    }
    let (noun, pronoun) = if columns.len() == 1 {
        ("column", "it")
    } else {
        ("columns", "them")
    };
    format!("missing {noun} {names}: no row names {pronoun}; send null for a missing value")
}

/// Shortens a value quoted in an error message so huge fields don't flood logs.
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        value.to_string()
    } else {
        let mut s: String = value.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_name_locations() {
        let e = Error::RaggedRow {
            line: 4,
            expected: 3,
            found: 2,
        };
        assert_eq!(e.to_string(), "line 4: expected 3 fields, found 2");
        let e = Error::InvalidValue {
            line: 2,
            column: "Age".into(),
            expected: ColumnType::Integer,
            value: "abc".into(),
        };
        assert_eq!(
            e.to_string(),
            "line 2, column \"Age\": expected integer, got \"abc\""
        );
        assert_eq!(Error::Empty.to_string(), "file is empty");
    }

    #[test]
    fn excerpt_truncates_long_values() {
        assert_eq!(excerpt("abc"), "abc");
        let long = "x".repeat(200);
        assert_eq!(excerpt(&long).chars().count(), 81);
    }
}
