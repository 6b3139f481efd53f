//! Logical column types and table schemas, independent of any storage format.

use serde::{Deserialize, Serialize};

/// The logical type of a column, as inferred from data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// 64-bit signed integers.
    Integer,
    /// 64-bit floating point numbers.
    Float,
    /// `true`/`false`.
    Boolean,
    /// UTF-8 text; categorical features are strings.
    String,
    /// Instants, stored as microseconds since the Unix epoch (UTC).
    Timestamp,
}

impl ColumnType {
    /// The lowercase name used in schemas, errors and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::String => "string",
            ColumnType::Timestamp => "timestamp",
        }
    }

    /// Whether the column holds numbers (integer or float).
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Float)
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Column name as it appeared in the source header.
    pub name: String,
    /// Inferred logical type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Whether any value may be missing.
    pub nullable: bool,
}

impl Field {
    /// Builds a field.
    pub fn new(name: impl Into<String>, column_type: ColumnType, nullable: bool) -> Self {
        Field {
            name: name.into(),
            column_type,
            nullable,
        }
    }
}

/// An ordered list of fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    /// The columns, in source order.
    pub fields: Vec<Field>,
}

impl Schema {
    /// Builds a schema from fields.
    pub fn new(fields: Vec<Field>) -> Self {
        Schema { fields }
    }

    /// The position of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// A column by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Column names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the schema has no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Parses the compact form `name:type,name:type,...` (types: integer, float, boolean,
    /// string, timestamp; every column nullable), as `ingot model import --schema` takes it.
    pub fn parse_spec(spec: &str) -> crate::Result<Schema> {
        let invalid = |reason: String| crate::Error::InvalidConfig {
            field: "schema".to_string(),
            reason,
        };
        let mut fields = Vec::new();
        for (i, part) in spec.split(',').enumerate() {
            let part = part.trim();
            let (name, kind) = part
                .rsplit_once(':')
                .ok_or_else(|| invalid(format!("column {} ({part:?}) must be NAME:TYPE", i + 1)))?;
            let column_type = match kind.trim().to_ascii_lowercase().as_str() {
                "integer" | "int" | "int64" => ColumnType::Integer,
                "float" | "double" | "float64" | "float32" => ColumnType::Float,
                "boolean" | "bool" => ColumnType::Boolean,
                "string" | "str" => ColumnType::String,
                "timestamp" => ColumnType::Timestamp,
                other => {
                    return Err(invalid(format!(
                        "column {name:?} has unknown type {other:?}; use integer, float, \
                         boolean, string or timestamp"
                    )))
                }
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(invalid(format!("column {} has an empty name", i + 1)));
            }
            if fields.iter().any(|f: &Field| f.name == name) {
                return Err(invalid(format!("column {name:?} appears twice")));
            }
            fields.push(Field::new(name, column_type, true));
        }
        Ok(Schema { fields })
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;

    #[test]
    fn compact_schemas_parse_and_mistakes_are_named() {
        let schema = Schema::parse_spec("age:integer, income:float,plan:string").unwrap();
        assert_eq!(
            schema.names().collect::<Vec<_>>(),
            ["age", "income", "plan"]
        );
        assert_eq!(schema.fields[1].column_type, ColumnType::Float);
        let err = Schema::parse_spec("age:int,x").unwrap_err().to_string();
        assert!(err.contains("column 2"), "{err}");
        let err = Schema::parse_spec("age:decimal").unwrap_err().to_string();
        assert!(err.contains("\"decimal\""), "{err}");
        let err = Schema::parse_spec("a:int,a:float").unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
    }
}
