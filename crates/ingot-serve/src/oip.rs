//! Open Inference Protocol v2 (KServe V2) REST bodies: typed input tensors into a batch in the
//! model's schema, predictions out as typed output tensors, and model metadata.
//!
//! Inputs are read either as one `[N, F]` tensor whose F columns are the schema's columns in
//! order, or as one `[N]` / `[N, 1]` tensor per schema column, named after it.

use ingot_catalog::Predictions;
use ingot_core::{ColumnType, Schema};
use ingot_data::RecordBatch;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{Error, Result};

#[derive(Deserialize)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    inputs: Vec<InputTensor>,
    #[serde(default)]
    outputs: Option<Vec<RequestedOutput>>,
    #[serde(default)]
    parameters: Option<Value>,
}

#[derive(Deserialize)]
struct InputTensor {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    data: Value,
}

#[derive(Deserialize)]
struct RequestedOutput {
    name: String,
}

/// A decoded `infer` request.
#[derive(Debug)]
pub struct OipRequest {
    /// The client's request id, echoed back.
    pub id: Option<String>,
    /// The rows, conformed to the model's schema.
    pub batch: RecordBatch,
    /// Output names the client asked for (all when `None`).
    pub outputs: Option<Vec<String>>,
    /// `parameters.explain` is `true`: answer SHAP explanations too.
    pub explain: bool,
}

const DATATYPES: &[&str] = &[
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
    "FP32", "FP64", "BYTES",
];

/// Decodes an `infer` body against the model's input schema.
pub fn decode_infer(body: &[u8], schema: &Schema) -> Result<OipRequest> {
    let request: InferRequest = serde_json::from_slice(body)
        .map_err(|e| Error::BadBody(format!("invalid inference request: {e}")))?;
    if request.inputs.is_empty() {
        return Err(Error::BadBody(
            "\"inputs\" must name at least one tensor".into(),
        ));
    }
    let mut tensors = Vec::with_capacity(request.inputs.len());
    for input in &request.inputs {
        if !DATATYPES.contains(&input.datatype.as_str()) {
            return Err(Error::BadBody(format!(
                "input {:?}: unknown datatype {:?}; use one of {}",
                input.name,
                input.datatype,
                DATATYPES.join(", ")
            )));
        }
        if input.shape.iter().any(|d| *d < 0) || input.shape.is_empty() || input.shape.len() > 2 {
            return Err(Error::BadBody(format!(
                "input {:?}: shape {:?} must be [rows] or [rows, columns] with sizes ≥ 0",
                input.name, input.shape
            )));
        }
        let mut flat = Vec::new();
        flatten(&input.data, &mut flat);
        let expected: i64 = input.shape.iter().product();
        if flat.len() as i64 != expected {
            return Err(Error::BadBody(format!(
                "input {:?}: shape {:?} needs {expected} values but data has {}",
                input.name,
                input.shape,
                flat.len()
            )));
        }
        tensors.push((input, flat));
    }
    let rows = if tensors.len() == 1 && tensors[0].0.shape.len() == 2 && schema.len() > 1 {
        let (input, flat) = &tensors[0];
        let (n, width) = (input.shape[0] as usize, input.shape[1] as usize);
        if width != schema.len() {
            return Err(Error::BadBody(format!(
                "input {:?} has {width} columns but the model takes {} ({})",
                input.name,
                schema.len(),
                column_names(schema)
            )));
        }
        (0..n)
            .map(|r| Value::Array(flat[r * width..(r + 1) * width].to_vec()))
            .collect::<Vec<_>>()
    } else {
        by_name(&tensors, schema)?
    };
    let batch = ingot_data::read_json_rows(&rows, schema)?;
    let explain = match request.parameters.as_ref().and_then(|p| p.get("explain")) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => {
            return Err(Error::BadBody(format!(
                "parameters.explain must be true or false, not {other}"
            )))
        }
    };
    Ok(OipRequest {
        id: request.id,
        batch,
        explain,
        outputs: request
            .outputs
            .map(|o| o.into_iter().map(|o| o.name).collect()),
    })
}

/// One tensor per schema column, matched by name.
fn by_name(tensors: &[(&InputTensor, Vec<Value>)], schema: &Schema) -> Result<Vec<Value>> {
    for (input, _) in tensors {
        if !schema.fields.iter().any(|f| f.name == input.name) {
            return Err(Error::BadBody(format!(
                "unknown input {:?}; the model takes {} (or one [rows, {}] tensor)",
                input.name,
                column_names(schema),
                schema.len()
            )));
        }
        if input.shape.len() == 2 && input.shape[1] != 1 {
            return Err(Error::BadBody(format!(
                "input {:?}: a per-column tensor must have shape [rows] or [rows, 1], got {:?}",
                input.name, input.shape
            )));
        }
    }
    let mut columns = Vec::with_capacity(schema.len());
    let mut rows = None;
    for field in &schema.fields {
        let Some((input, flat)) = tensors.iter().find(|(t, _)| t.name == field.name) else {
            return Err(Error::BadBody(format!(
                "missing input {:?}; the model takes {}",
                field.name,
                column_names(schema)
            )));
        };
        match rows {
            None => rows = Some(flat.len()),
            Some(n) if n != flat.len() => {
                return Err(Error::BadBody(format!(
                    "input {:?} has {} rows but earlier inputs have {n}",
                    input.name,
                    flat.len()
                )))
            }
            Some(_) => {}
        }
        columns.push(flat);
    }
    let n = rows.unwrap_or(0);
    Ok((0..n)
        .map(|r| Value::Array(columns.iter().map(|c| c[r].clone()).collect()))
        .collect())
}

fn flatten(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other.clone()),
    }
}

fn column_names(schema: &Schema) -> String {
    schema
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The OIP datatype of a schema column.
pub fn datatype(column: ColumnType) -> &'static str {
    match column {
        ColumnType::Integer => "INT64",
        ColumnType::Float => "FP64",
        ColumnType::Boolean => "BOOL",
        ColumnType::String | ColumnType::Timestamp => "BYTES",
    }
}

/// Output tensors of a prediction: `(name, datatype, shape, data)`.
fn output_tensors(predictions: &Predictions) -> Vec<Value> {
    let n = predictions.len();
    let tensor = |name: &str, datatype: &str, shape: Value, data: Value| json!({"name": name, "datatype": datatype, "shape": shape, "data": data});
    match predictions {
        Predictions::Regression { values } => {
            vec![tensor("predictions", "FP64", json!([n]), json!(values))]
        }
        Predictions::Classification {
            classes,
            probabilities,
        } => {
            let labels = predictions.predicted_labels().unwrap_or_default();
            let mut probs = tensor(
                "probabilities",
                "FP64",
                json!([n, classes.len()]),
                json!(probabilities),
            );
            probs["parameters"] = json!({ "classes": classes });
            vec![tensor("label", "BYTES", json!([n]), json!(labels)), probs]
        }
        Predictions::Clustering {
            k,
            clusters,
            distances,
        } => vec![
            tensor("cluster", "INT64", json!([n]), json!(clusters)),
            tensor("distances", "FP64", json!([n, k]), json!(distances)),
        ],
        Predictions::Projection { components, values } => {
            vec![tensor(
                "components",
                "FP64",
                json!([n, components]),
                json!(values),
            )]
        }
        Predictions::Anomaly { scores, threshold } => {
            let flags: Vec<bool> = scores.iter().map(|s| s > threshold).collect();
            vec![
                tensor("score", "FP64", json!([n]), json!(scores)),
                tensor("is_anomaly", "BOOL", json!([n]), json!(flags)),
            ]
        }
    }
}

/// The `infer` answer.
pub fn encode_infer(
    predictions: &Predictions,
    endpoint: &str,
    model_version: &str,
    id: Option<&str>,
    requested: Option<&[String]>,
) -> Result<Vec<u8>> {
    let mut outputs = output_tensors(predictions);
    if let Some(requested) = requested {
        let available: Vec<String> = outputs
            .iter()
            .filter_map(|o| o["name"].as_str().map(str::to_string))
            .collect();
        for name in requested {
            if !available.contains(name) {
                return Err(Error::BadBody(format!(
                    "unknown output {name:?}; the model produces {}",
                    available.join(", ")
                )));
            }
        }
        outputs.retain(|o| requested.iter().any(|r| o["name"] == r.as_str()));
    }
    let mut answer = json!({
        "model_name": endpoint,
        "model_version": model_version,
        "outputs": outputs,
    });
    if let Some(id) = id {
        answer["id"] = json!(id);
    }
    Ok(answer.to_string().into_bytes())
}

/// `GET /v2/models/{name}`: the model's name, versions, platform and tensors.
pub fn model_metadata(endpoint: &str, versions: &[String], schema: &Schema) -> Value {
    let inputs: Vec<Value> = schema
        .fields
        .iter()
        .map(|f| json!({"name": f.name, "datatype": datatype(f.column_type), "shape": [-1]}))
        .collect();
    json!({
        "name": endpoint,
        "versions": versions,
        "platform": "ingot",
        "inputs": inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingot_core::Field;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("age", ColumnType::Integer, false),
            Field::new("income", ColumnType::Float, true),
        ])
    }

    #[test]
    fn one_matrix_tensor_or_one_tensor_per_column() {
        let matrix = br#"{"id":"7","inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[30,1.5],[40,2.5]]}]}"#;
        let request = decode_infer(matrix, &schema()).unwrap();
        assert_eq!(request.batch.num_rows(), 2);
        assert_eq!(request.id.as_deref(), Some("7"));
        let columns = br#"{"inputs":[{"name":"income","shape":[2],"datatype":"FP64","data":[1.5,2.5]},{"name":"age","shape":[2,1],"datatype":"INT64","data":[30,40]}]}"#;
        let request = decode_infer(columns, &schema()).unwrap();
        assert_eq!(request.batch.num_rows(), 2);
    }

    #[test]
    fn mistakes_are_named() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}"#,
                "3 columns",
            ),
            (
                br#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3]}]}"#,
                "needs 4 values",
            ),
            (
                br#"{"inputs":[{"name":"age","shape":[1],"datatype":"INT64","data":[1]}]}"#,
                "missing input \"income\"",
            ),
            (
                br#"{"inputs":[{"name":"agee","shape":[1],"datatype":"INT64","data":[1]}]}"#,
                "unknown input \"agee\"",
            ),
            (
                br#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FLOAT","data":[1,2]}]}"#,
                "unknown datatype",
            ),
            (
                br#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"BYTES","data":["a","b"]}]}"#,
                "age",
            ),
            (br#"{"nope":1}"#, "inputs"),
        ];
        for (body, expected) in cases {
            let err = decode_infer(body, &schema()).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
        }
    }

    #[test]
    fn outputs_are_typed_and_filterable() {
        let p = Predictions::Classification {
            classes: vec!["no".into(), "yes".into()],
            probabilities: vec![0.2, 0.8],
        };
        let body = encode_infer(&p, "ep", "churn:1", Some("9"), None).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["outputs"][0]["data"], json!(["yes"]));
        assert_eq!(v["outputs"][1]["shape"], json!([1, 2]));
        assert_eq!(v["id"], "9");
        let only = encode_infer(&p, "ep", "churn:1", None, Some(&["label".to_string()])).unwrap();
        let v: Value = serde_json::from_slice(&only).unwrap();
        assert_eq!(v["outputs"].as_array().unwrap().len(), 1);
        assert!(encode_infer(&p, "ep", "churn:1", None, Some(&["x".to_string()])).is_err());
    }
}
