//! Media types of invocations: parsing `Content-Type`/`Accept`, decoding bodies into record
//! batches in the model's schema, and encoding predictions.

use ingot_catalog::Predictions;
use ingot_core::Schema;
use ingot_data::RecordBatch;

use crate::{Error, Result};

/// How an invocation body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFormat {
    /// CSV; a header row maps columns by name, otherwise values are in schema column order.
    Csv { header: CsvHeader },
    /// `{"instances": [...]}`, a bare array of rows, or one record object.
    Json,
    /// One JSON row (object or array) per line.
    JsonLines,
}

impl RequestFormat {
    /// Parses a `Content-Type` header value (parameters such as `charset` are allowed).
    pub fn from_content_type(content_type: &str) -> Result<Self> {
        let mut parts = content_type.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut header = CsvHeader::Detect;
        for parameter in parts {
            if parameter.eq_ignore_ascii_case("header=present") {
                header = CsvHeader::Present;
            } else if parameter.eq_ignore_ascii_case("header=absent") {
                header = CsvHeader::Absent;
            }
        }
        match essence.as_str() {
            "text/csv" | "application/csv" => Ok(RequestFormat::Csv { header }),
            "application/json" => Ok(RequestFormat::Json),
            "application/jsonlines" | "application/x-ndjson" | "application/jsonl" => {
                Ok(RequestFormat::JsonLines)
            }
            _ => Err(Error::UnsupportedMediaType {
                content_type: content_type.to_string(),
            }),
        }
    }
}

/// Whether a CSV body starts with a header row, from `Content-Type`'s `header` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvHeader {
    /// `header=present`.
    Present,
    /// `header=absent` (SageMaker's convention for bare rows).
    Absent,
    /// No parameter: a first line naming every schema column is a header (MLflow's and
    /// pandas' CSV), anything else is data ([`ingot_data::csv_starts_with_header`]).
    Detect,
}

impl CsvHeader {
    /// Whether this body's first line is a header.
    pub fn in_body(self, body: &[u8], schema: &Schema) -> bool {
        match self {
            CsvHeader::Present => true,
            CsvHeader::Absent => false,
            CsvHeader::Detect => ingot_data::csv_starts_with_header(body, schema),
        }
    }
}

/// How predictions are encoded in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// A header row (class labels, or `prediction`) then one row per input row.
    Csv,
    /// `{"predictions": [...]}`.
    Json,
    /// One prediction object per line.
    JsonLines,
}

impl ResponseFormat {
    /// Chooses from an `Accept` header; `*/*` or no header answers in the request's own type.
    pub fn from_accept(accept: Option<&str>, request: RequestFormat) -> Result<Self> {
        let same_as_request = match request {
            RequestFormat::Csv { .. } => ResponseFormat::Csv,
            RequestFormat::Json => ResponseFormat::Json,
            RequestFormat::JsonLines => ResponseFormat::JsonLines,
        };
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            return Ok(same_as_request);
        };
        for candidate in accept.split(',') {
            let essence = candidate.split(';').next().unwrap_or("").trim();
            match essence.to_ascii_lowercase().as_str() {
                "*/*" => return Ok(same_as_request),
                "text/csv" | "text/*" => return Ok(ResponseFormat::Csv),
                "application/json" => return Ok(ResponseFormat::Json),
                "application/jsonlines" | "application/x-ndjson" | "application/jsonl" => {
                    return Ok(ResponseFormat::JsonLines)
                }
                "application/*" => return Ok(ResponseFormat::Json),
                _ => {}
            }
        }
        Err(Error::NotAcceptable {
            accept: accept.to_string(),
        })
    }

    /// The `Content-Type` of answers in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseFormat::Csv => "text/csv",
            ResponseFormat::Json => "application/json",
            ResponseFormat::JsonLines => "application/jsonlines",
        }
    }
}

/// Decodes an invocation body into a batch conforming to `schema`.
pub fn decode_request(body: &[u8], format: RequestFormat, schema: &Schema) -> Result<RecordBatch> {
    check_not_empty(body)?;
    match format {
        RequestFormat::Csv { header } => Ok(ingot_data::read_csv_with_schema(
            body,
            schema,
            header.in_body(body, schema),
        )?),
        RequestFormat::Json => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| Error::BadBody(format!("invalid JSON body: {e}")))?;
            let rows = json_rows(value)?;
            Ok(ingot_data::read_json_rows(&rows, schema)?)
        }
        RequestFormat::JsonLines => {
            let mut rows = Vec::new();
            for (index, line) in body.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let value = serde_json::from_slice(line).map_err(|e| {
                    Error::BadBody(format!("line {}: invalid JSON: {e}", index + 1))
                })?;
                rows.push(value);
            }
            Ok(ingot_data::read_json_rows(&rows, schema)?)
        }
    }
}

/// Decodes a CSV body straight into dense rows of an all-numeric `schema` (see
/// [`ingot_data::read_csv_dense`]): the values and errors of [`decode_request`] without a batch.
pub(crate) fn decode_csv_dense(
    body: &[u8],
    header: CsvHeader,
    schema: &Schema,
) -> Result<ingot_data::DenseRows> {
    check_not_empty(body)?;
    Ok(ingot_data::read_csv_dense(
        body,
        schema,
        header.in_body(body, schema),
    )?)
}

fn check_not_empty(body: &[u8]) -> Result<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadBody("request body is empty".to_string()));
    }
    Ok(())
}

/// Extracts rows from the accepted JSON shapes: `{"instances": [...]}`, MLflow's
/// `{"dataframe_split": {"columns": [...], "data": [[...]]}}`, `{"dataframe_records": [...]}`
/// and `{"inputs": [...]}`, a bare array of rows, or one object.
fn json_rows(value: serde_json::Value) -> Result<Vec<serde_json::Value>> {
    use serde_json::Value;
    let array_field = |field: &str, value: Value| match value {
        Value::Array(rows) => Ok(rows),
        _ => Err(Error::BadBody(format!(
            "field {field:?} must be an array of rows"
        ))),
    };
    match value {
        Value::Array(rows) => Ok(rows),
        Value::Object(mut object) => {
            for field in ["instances", "dataframe_records", "inputs"] {
                if let Some(rows) = object.remove(field) {
                    return array_field(field, rows);
                }
            }
            if let Some(split) = object.remove("dataframe_split") {
                return dataframe_split(split);
            }
            Ok(vec![Value::Object(object)])
        }
        _ => Err(Error::BadBody(
            "JSON body must be {\"instances\": [...]}, {\"dataframe_split\": {...}}, \
             {\"dataframe_records\": [...]}, an array of records, or one record"
                .to_string(),
        )),
    }
}

/// MLflow's pandas `split` orientation: named columns and positional rows.
fn dataframe_split(split: serde_json::Value) -> Result<Vec<serde_json::Value>> {
    use serde_json::{Map, Value};
    let Value::Object(mut split) = split else {
        return Err(Error::BadBody(
            "field \"dataframe_split\" must be an object with \"columns\" and \"data\"".into(),
        ));
    };
    let data = match split.remove("data") {
        Some(Value::Array(rows)) => rows,
        _ => {
            return Err(Error::BadBody(
                "field \"dataframe_split.data\" must be an array of rows".into(),
            ))
        }
    };
    let Some(columns) = split.remove("columns") else {
        // Without names, rows are positional in schema order.
        return Ok(data);
    };
    let columns: Vec<String> = match columns {
        Value::Array(names) => names
            .into_iter()
            .map(|n| match n {
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::BadBody(
                "field \"dataframe_split.columns\" must be an array of names".into(),
            ))
        }
    };
    data.into_iter()
        .enumerate()
        .map(|(row, values)| match values {
            Value::Array(values) if values.len() == columns.len() => Ok(Value::Object(
                columns.iter().cloned().zip(values).collect::<Map<_, _>>(),
            )),
            Value::Array(values) => Err(Error::BadBody(format!(
                "dataframe_split row {row} has {} values but {} columns are named",
                values.len(),
                columns.len()
            ))),
            _ => Err(Error::BadBody(format!(
                "dataframe_split row {row} must be an array"
            ))),
        })
        .collect()
}

/// Encodes predictions in `format`.
pub fn encode_response(predictions: &Predictions, format: ResponseFormat) -> Vec<u8> {
    match format {
        ResponseFormat::Csv => predictions.to_csv().into_bytes(),
        ResponseFormat::Json => predictions.to_json().to_string().into_bytes(),
        ResponseFormat::JsonLines => predictions.to_json_lines().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingot_core::{ColumnType, Field};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("age", ColumnType::Integer, false),
            Field::new("country", ColumnType::String, true),
        ])
    }

    #[test]
    fn content_types_map_to_formats() {
        assert_eq!(
            RequestFormat::from_content_type("text/csv; charset=utf-8").unwrap(),
            RequestFormat::Csv {
                header: CsvHeader::Detect
            }
        );
        assert_eq!(
            RequestFormat::from_content_type("text/csv;header=present").unwrap(),
            RequestFormat::Csv {
                header: CsvHeader::Present
            }
        );
        assert_eq!(
            RequestFormat::from_content_type("text/csv; Header=Absent").unwrap(),
            RequestFormat::Csv {
                header: CsvHeader::Absent
            }
        );
        assert!(matches!(
            RequestFormat::from_content_type("application/xml"),
            Err(Error::UnsupportedMediaType { .. })
        ));
    }

    #[test]
    fn accept_defaults_to_the_request_type() {
        let csv = RequestFormat::Csv {
            header: CsvHeader::Detect,
        };
        assert_eq!(
            ResponseFormat::from_accept(None, csv).unwrap(),
            ResponseFormat::Csv
        );
        assert_eq!(
            ResponseFormat::from_accept(Some("*/*"), RequestFormat::Json).unwrap(),
            ResponseFormat::Json
        );
        assert_eq!(
            ResponseFormat::from_accept(Some("application/xml, application/json;q=0.5"), csv)
                .unwrap(),
            ResponseFormat::Json
        );
        assert!(ResponseFormat::from_accept(Some("image/png"), csv).is_err());
    }

    #[test]
    fn json_shapes_all_decode_to_the_same_rows() {
        let shapes = [
            r#"{"instances": [{"age": 31, "country": "FR"}, [45, null]]}"#,
            r#"[{"age": 31, "country": "FR"}, {"age": 45}]"#,
        ];
        for body in shapes {
            let batch = decode_request(body.as_bytes(), RequestFormat::Json, &schema()).unwrap();
            assert_eq!(batch.num_rows(), 2, "{body}");
            assert_eq!(batch.num_columns(), 2);
        }
        let mlflow = [
            r#"{"dataframe_split": {"columns": ["country", "age"], "data": [["FR", 31], [null, 45]]}}"#,
            r#"{"dataframe_records": [{"age": 31, "country": "FR"}, {"age": 45}]}"#,
        ];
        for body in mlflow {
            let batch = decode_request(body.as_bytes(), RequestFormat::Json, &schema()).unwrap();
            assert_eq!(batch.num_rows(), 2, "{body}");
            let ages = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap();
            assert_eq!(ages.values(), &[31, 45], "{body}");
        }
        let err = decode_request(
            br#"{"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}"#,
            RequestFormat::Json,
            &schema(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("row 0 has 2 values"), "{err}");
        let one = decode_request(
            br#"{"age": 3, "country": "DE"}"#,
            RequestFormat::Json,
            &schema(),
        )
        .unwrap();
        assert_eq!(one.num_rows(), 1);
    }

    #[test]
    fn bad_bodies_are_named() {
        let err = decode_request(b"  ", RequestFormat::Json, &schema()).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = decode_request(b"{oops", RequestFormat::Json, &schema()).unwrap_err();
        assert!(err.to_string().contains("invalid JSON"), "{err}");
        let err = decode_request(b"{\"age\":1}\n{bad\n", RequestFormat::JsonLines, &schema())
            .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let detect = RequestFormat::Csv {
            header: CsvHeader::Detect,
        };
        let err = decode_request(b"31,FR\n45\n", detect, &schema()).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        // A detected header is skipped, so a bad value is named on its own line and column.
        let err = decode_request(b"country,age\nFR,x\n", detect, &schema()).unwrap_err();
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("\"age\""),
            "{err}"
        );
        // Declared absent, the same first line is data, and its "age" is not an integer.
        let absent = RequestFormat::Csv {
            header: CsvHeader::Absent,
        };
        let err = decode_request(b"age,country\n31,FR\n", absent, &schema()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn csv_headers_are_detected_unless_declared() {
        let detect = RequestFormat::Csv {
            header: CsvHeader::Detect,
        };
        // pandas' `to_csv(index=False)`, columns in another order: matched by name.
        let named = decode_request(b"country,age\nFR,31\nDE,45\n", detect, &schema()).unwrap();
        let bare = decode_request(b"31,FR\n45,DE\n", detect, &schema()).unwrap();
        assert_eq!(named, bare);
        assert_eq!(named.num_rows(), 2);
    }
}
