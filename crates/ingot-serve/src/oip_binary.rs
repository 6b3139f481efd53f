//! The Open Inference Protocol's binary tensor data extension (Triton's, which `tritonclient`
//! uses by default): a JSON header of `Inference-Header-Content-Length` bytes followed by the
//! raw little-endian tensors it names with `parameters.binary_data_size`. Requests are turned
//! into plain JSON before scoring; answers go back in binary for the outputs the client asked
//! to get that way (`parameters.binary_data_output`, or `binary_data` on a requested output).

use serde_json::{Map, Value};

use crate::{Error, Result};

/// The header that gives the JSON part's length, in requests and answers.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// Which outputs the client wants as binary data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryOutputs {
    All,
    Named(Vec<String>),
}

/// A request rewritten into plain JSON, and the outputs to answer in binary (`None`: all as
/// JSON).
#[derive(Debug)]
pub struct PlainRequest {
    pub json: Vec<u8>,
    pub binary_outputs: Option<BinaryOutputs>,
}

/// Whether a body may use the extension: a header length, or a `binary_data` parameter.
pub fn may_use_binary(header_length: Option<&str>, body: &[u8]) -> bool {
    header_length.is_some() || memchr::memmem::find(body, b"\"binary_data").is_some()
}

/// Reads a request in either form (`header_length` from `Inference-Header-Content-Length`).
pub fn plain_request(body: &[u8], header_length: Option<&str>) -> Result<PlainRequest> {
    let json_length = match header_length {
        None => body.len(),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= body.len())
            .ok_or_else(|| {
                Error::BadBody(format!(
                    "Inference-Header-Content-Length {text:?} is not a length within the body's {} bytes",
                    body.len()
                ))
            })?,
    };
    let (head, mut binary) = body.split_at(json_length);
    let mut request: Value = serde_json::from_slice(head)
        .map_err(|e| Error::BadBody(format!("invalid inference request: {e}")))?;
    if let Some(inputs) = request.get_mut("inputs").and_then(Value::as_array_mut) {
        for input in inputs {
            let Some(size) = take_parameter(input, "binary_data_size") else {
                continue;
            };
            let name = input["name"].as_str().unwrap_or("?").to_string();
            let size = size.as_u64().map(|n| n as usize).ok_or_else(|| {
                Error::BadBody(format!("input {name}: binary_data_size must be a number"))
            })?;
            if size > binary.len() {
                return Err(Error::BadBody(format!(
                    "input {name}: binary_data_size {size} is past the body's end ({} bytes left)",
                    binary.len()
                )));
            }
            let (data, rest) = binary.split_at(size);
            binary = rest;
            let datatype = input["datatype"].as_str().unwrap_or("").to_string();
            input["data"] = Value::Array(decode(&name, &datatype, data)?);
        }
    }
    if !binary.is_empty() {
        return Err(Error::BadBody(format!(
            "{} bytes of binary data follow the inputs' binary_data_size",
            binary.len()
        )));
    }
    let all = take_parameter(&mut request, "binary_data_output").and_then(|v| v.as_bool());
    let mut named = Vec::new();
    if let Some(outputs) = request.get_mut("outputs").and_then(Value::as_array_mut) {
        for output in outputs {
            if take_parameter(output, "binary_data").and_then(|v| v.as_bool()) == Some(true) {
                named.push(output["name"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    let binary_outputs = match (all, named.is_empty()) {
        (Some(true), _) => Some(BinaryOutputs::All),
        (_, false) => Some(BinaryOutputs::Named(named)),
        _ => None,
    };
    let json = serde_json::to_vec(&request)
        .map_err(|e| Error::Internal(format!("cannot encode the request: {e}")))?;
    Ok(PlainRequest {
        json,
        binary_outputs,
    })
}

/// An answer with the chosen outputs' data moved behind the JSON; returns the body and the
/// JSON part's length (the answer's `Inference-Header-Content-Length`).
pub fn binary_answer(answer: &[u8], wanted: &BinaryOutputs) -> Result<(Vec<u8>, usize)> {
    let mut answer: Value = serde_json::from_slice(answer)
        .map_err(|e| Error::Internal(format!("cannot read the answer: {e}")))?;
    let mut binary = Vec::new();
    if let Some(outputs) = answer.get_mut("outputs").and_then(Value::as_array_mut) {
        for output in outputs {
            let name = output["name"].as_str().unwrap_or_default();
            let chosen = match wanted {
                BinaryOutputs::All => true,
                BinaryOutputs::Named(names) => names.iter().any(|n| n == name),
            };
            if !chosen {
                continue;
            }
            let datatype = output["datatype"].as_str().unwrap_or_default().to_string();
            let Some(data) = output.as_object_mut().and_then(|o| o.remove("data")) else {
                continue;
            };
            let start = binary.len();
            encode(&datatype, &data, &mut binary)?;
            let parameters = output.as_object_mut().map(|o| {
                o.entry("parameters")
                    .or_insert_with(|| Value::Object(Map::new()))
            });
            if let Some(Value::Object(parameters)) = parameters {
                parameters.insert("binary_data_size".into(), (binary.len() - start).into());
            }
        }
    }
    let mut body = serde_json::to_vec(&answer)
        .map_err(|e| Error::Internal(format!("cannot encode the answer: {e}")))?;
    let json_length = body.len();
    body.extend_from_slice(&binary);
    Ok((body, json_length))
}

/// Removes `parameters.KEY` from a tensor or request, returning it.
fn take_parameter(object: &mut Value, key: &str) -> Option<Value> {
    object
        .get_mut("parameters")
        .and_then(Value::as_object_mut)
        .and_then(|p| p.remove(key))
}

/// The element width of a fixed-size datatype.
fn width(datatype: &str) -> Option<usize> {
    Some(match datatype {
        "BOOL" | "INT8" | "UINT8" => 1,
        "INT16" | "UINT16" | "FP16" => 2,
        "INT32" | "UINT32" | "FP32" => 4,
        "INT64" | "UINT64" | "FP64" => 8,
        _ => return None,
    })
}

/// Raw little-endian elements into JSON values.
fn decode(name: &str, datatype: &str, data: &[u8]) -> Result<Vec<Value>> {
    if datatype == "BYTES" {
        let mut values = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let bad = || Error::BadBody(format!("input {name}: BYTES data is cut short"));
            let (length, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
            let length = u32::from_le_bytes(*length) as usize;
            let (text, tail) = tail.split_at_checked(length).ok_or_else(bad)?;
            values.push(Value::String(String::from_utf8_lossy(text).into_owned()));
            rest = tail;
        }
        return Ok(values);
    }
    let width = width(datatype)
        .ok_or_else(|| Error::BadBody(format!("input {name}: unknown datatype {datatype:?}")))?;
    if !data.len().is_multiple_of(width) {
        return Err(Error::BadBody(format!(
            "input {name}: {} bytes are not a whole number of {datatype} elements",
            data.len()
        )));
    }
    let value = |b: &[u8]| -> Value {
        // Chunks are exactly `width` bytes, so the fixed-size reads below cannot fail.
        let eight = || <[u8; 8]>::try_from(b).unwrap_or_default();
        match datatype {
            "BOOL" => Value::Bool(b[0] != 0),
            "INT8" => (b[0] as i8).into(),
            "UINT8" => b[0].into(),
            "INT16" => i16::from_le_bytes([b[0], b[1]]).into(),
            "UINT16" => u16::from_le_bytes([b[0], b[1]]).into(),
            "FP16" => f64::from(half_to_f32(u16::from_le_bytes([b[0], b[1]]))).into(),
            "INT32" => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
            "UINT32" => u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
            "FP32" => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).into(),
            "INT64" => i64::from_le_bytes(eight()).into(),
            "UINT64" => u64::from_le_bytes(eight()).into(),
            _ => f64::from_le_bytes(eight()).into(),
        }
    };
    Ok(data.chunks_exact(width).map(value).collect())
}

/// JSON values (nested rows allowed) into raw little-endian elements.
fn encode(datatype: &str, data: &Value, out: &mut Vec<u8>) -> Result<()> {
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    for value in flat {
        let wrong = || Error::Internal(format!("an output value {value} is not {datatype}"));
        match datatype {
            "BYTES" => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            "BOOL" => out.push(u8::from(value.as_bool().ok_or_else(wrong)?)),
            "INT64" => out.extend_from_slice(&value.as_i64().ok_or_else(wrong)?.to_le_bytes()),
            "INT32" => {
                let v = i32::try_from(value.as_i64().ok_or_else(wrong)?).map_err(|_| wrong())?;
                out.extend_from_slice(&v.to_le_bytes());
            }
            "FP32" => {
                out.extend_from_slice(&(value.as_f64().ok_or_else(wrong)? as f32).to_le_bytes())
            }
            "FP64" => out.extend_from_slice(&value.as_f64().ok_or_else(wrong)?.to_le_bytes()),
            other => {
                return Err(Error::Internal(format!(
                    "outputs of datatype {other} cannot be sent as binary data"
                )))
            }
        }
    }
    Ok(())
}

fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

/// IEEE 754 half precision to single.
fn half_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f32::from(bits & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + fraction / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(json: &Value, tail: &[u8]) -> (Vec<u8>, String) {
        let mut body = serde_json::to_vec(json).unwrap();
        let length = body.len().to_string();
        body.extend_from_slice(tail);
        (body, length)
    }

    #[test]
    fn binary_inputs_become_json_data() {
        let mut tail = Vec::new();
        for v in [1.5f32, -2.0] {
            tail.extend_from_slice(&v.to_le_bytes());
        }
        tail.extend_from_slice(&7i64.to_le_bytes());
        tail.extend_from_slice(&3u32.to_le_bytes());
        tail.extend_from_slice(b"red");
        tail.extend_from_slice(&0x3c00u16.to_le_bytes()); // 1.0 in half precision
        let request = json!({"id": "9", "inputs": [
            {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
            {"name": "n", "shape": [1], "datatype": "INT64", "parameters": {"binary_data_size": 8}},
            {"name": "c", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}},
            {"name": "h", "shape": [1], "datatype": "FP16", "parameters": {"binary_data_size": 2}},
            {"name": "j", "shape": [1], "datatype": "FP64", "data": [0.25]},
        ], "parameters": {"binary_data_output": true}});
        let (bytes, length) = body(&request, &tail);
        let plain = plain_request(&bytes, Some(&length)).unwrap();
        let read: Value = serde_json::from_slice(&plain.json).unwrap();
        let data: Vec<&Value> = read["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["data"])
            .collect();
        assert_eq!(
            data,
            [
                &json!([1.5, -2.0]),
                &json!([7]),
                &json!(["red"]),
                &json!([1.0]),
                &json!([0.25])
            ]
        );
        assert_eq!(read["inputs"][0]["parameters"], json!({}));
        assert_eq!(plain.binary_outputs, Some(BinaryOutputs::All));
    }

    #[test]
    fn outputs_can_be_asked_for_one_by_one_or_not_at_all() {
        let request = json!({"inputs": [], "outputs": [
            {"name": "label", "parameters": {"binary_data": false}},
            {"name": "probabilities", "parameters": {"binary_data": true}},
        ]});
        let (bytes, _) = body(&request, b"");
        let plain = plain_request(&bytes, None).unwrap();
        assert_eq!(
            plain.binary_outputs,
            Some(BinaryOutputs::Named(vec!["probabilities".into()]))
        );
        let (bytes, _) = body(&json!({"inputs": []}), b"");
        assert_eq!(plain_request(&bytes, None).unwrap().binary_outputs, None);
        assert!(!may_use_binary(None, &bytes));
        assert!(may_use_binary(
            None,
            br#"{"parameters":{"binary_data_output":true}}"#
        ));
    }

    #[test]
    fn mistakes_name_the_input() {
        let request = json!({"inputs": [
            {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
        ]});
        let (bytes, length) = body(&request, &[0; 4]);
        let error = plain_request(&bytes, Some(&length))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("input x: binary_data_size 8 is past the body's end"),
            "{error}"
        );
        let (bytes, length) = body(&request, &[0; 10]);
        let error = plain_request(&bytes, Some(&length))
            .unwrap_err()
            .to_string();
        assert!(error.contains("2 bytes of binary data follow"), "{error}");
        let error = plain_request(&bytes, Some("999")).unwrap_err().to_string();
        assert!(
            error.contains("Inference-Header-Content-Length \"999\""),
            "{error}"
        );
        let odd = json!({"inputs": [
            {"name": "y", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": 4}},
        ]});
        let (bytes, length) = body(&odd, &[0; 4]);
        let error = plain_request(&bytes, Some(&length))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("input y: 4 bytes are not a whole number of FP64"),
            "{error}"
        );
    }

    #[test]
    fn answers_move_the_chosen_outputs_behind_the_json() {
        let answer = json!({"model_name": "m", "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["0", "1"]},
            {"name": "probabilities", "datatype": "FP64", "shape": [2, 2], "data": [[0.75, 0.25], [0.5, 0.5]],
             "parameters": {"classes": ["0", "1"]}},
        ]});
        let bytes = serde_json::to_vec(&answer).unwrap();
        let wanted = BinaryOutputs::Named(vec!["probabilities".into()]);
        let (body, length) = binary_answer(&bytes, &wanted).unwrap();
        let head: Value = serde_json::from_slice(&body[..length]).unwrap();
        assert_eq!(head["outputs"][0]["data"], json!(["0", "1"]));
        let probabilities = &head["outputs"][1];
        assert_eq!(probabilities.get("data"), None);
        assert_eq!(probabilities["parameters"]["binary_data_size"], 32);
        assert_eq!(probabilities["parameters"]["classes"], json!(["0", "1"]));
        let values: Vec<f64> = body[length..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, [0.75, 0.25, 0.5, 0.5]);
        let (body, length) = binary_answer(&bytes, &BinaryOutputs::All).unwrap();
        // Two BYTES elements (4-byte length each) and four doubles.
        assert_eq!(body.len() - length, 4 + 1 + 4 + 1 + 32);
        assert_eq!(&body[length..length + 5], &[1, 0, 0, 0, b'0']);
    }
}
