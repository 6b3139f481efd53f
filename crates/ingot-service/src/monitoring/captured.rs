//! Reading data capture back: the SageMaker-shaped JSON Lines records of a time window, their
//! inputs decoded against the model's input schema, and their outputs parsed into predicted
//! labels, class probabilities or scores.

use arrow_array::RecordBatch;
use ingot_core::Schema;
use ingot_serve::RequestFormat;
use serde_json::Value;

use super::cadence::parse_rfc3339;

/// One body of a captured event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Body {
    pub content_type: String,
    pub data: String,
    pub encoding: String,
}

/// One captured event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub event_id: String,
    pub at_millis: i64,
    pub input: Body,
    pub output: Body,
}

fn body(value: &Value) -> Option<Body> {
    Some(Body {
        content_type: value["observedContentType"].as_str()?.to_string(),
        data: value["data"].as_str()?.to_string(),
        encoding: value["encoding"].as_str().unwrap_or("TEXT").to_string(),
    })
}

/// The events of one capture file; lines that are not capture records are counted, not fatal.
pub(crate) fn parse_file(text: &str) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let parsed = serde_json::from_str::<Value>(line).ok().and_then(|v| {
            let meta = &v["eventMetadata"];
            Some(Event {
                event_id: meta["eventId"].as_str()?.to_string(),
                at_millis: parse_rfc3339(meta["inferenceTime"].as_str()?)?,
                input: body(&v["captureData"]["endpointInput"])?,
                output: body(&v["captureData"]["endpointOutput"])?,
            })
        });
        match parsed {
            Some(event) => events.push(event),
            None => bad += 1,
        }
    }
    (events, bad)
}

/// The capture time of a file's first record, from its name (`<millis>-<uuid>.jsonl`).
pub(crate) fn file_millis(path: &str) -> Option<i64> {
    let name = path.rsplit('/').next()?;
    name.split('-').next()?.parse().ok()
}

/// Decodes one captured request into rows of `schema`.
pub(crate) fn decode_input(body: &Body, schema: &Schema) -> Result<RecordBatch, String> {
    if body.encoding == "BASE64" {
        return Err("binary request bodies are not decoded".to_string());
    }
    let format = RequestFormat::from_content_type(&body.content_type).map_err(|e| e.to_string())?;
    ingot_serve::decode_request(body.data.as_bytes(), format, schema).map_err(|e| e.to_string())
}

/// One answered row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prediction {
    /// Class probabilities in answer order, with the predicted label.
    Classes {
        label: String,
        probabilities: Vec<(String, f64)>,
    },
    /// A regression (or any real-valued) score.
    Score(f64),
}

/// Parses a captured answer: CSV with a header of class labels (or `prediction`), JSON
/// `{"predictions": [...]}`, or JSON Lines, one object per row.
pub(crate) fn parse_output(body: &Body) -> Result<Vec<Prediction>, String> {
    let essence = body
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.contains("csv") {
        return parse_csv_output(&body.data);
    }
    let rows: Vec<Value> =
        if essence.contains("jsonlines") || essence.contains("ndjson") || essence.contains("jsonl")
        {
            body.data
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("invalid JSON Lines answer: {e}"))?
        } else {
            let value: Value = serde_json::from_str(&body.data)
                .map_err(|e| format!("invalid JSON answer: {e}"))?;
            match value {
                Value::Object(mut map) => match map.remove("predictions") {
                    Some(Value::Array(rows)) => rows,
                    _ => return Err("JSON answer has no \"predictions\" array".to_string()),
                },
                Value::Array(rows) => rows,
                _ => return Err("JSON answer is neither an object nor an array".to_string()),
            }
        };
    rows.iter().map(json_prediction).collect()
}

fn json_prediction(row: &Value) -> Result<Prediction, String> {
    if let Some(probabilities) = row["probabilities"].as_object() {
        let probabilities: Vec<(String, f64)> = probabilities
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        let label = match &row["predicted_label"] {
            Value::String(s) => s.clone(),
            Value::Null => argmax(&probabilities).ok_or("answer row has no classes")?,
            other => other.to_string(),
        };
        return Ok(Prediction::Classes {
            label,
            probabilities,
        });
    }
    for key in ["score", "prediction"] {
        if let Some(score) = row[key].as_f64() {
            return Ok(Prediction::Score(score));
        }
    }
    if let Some(score) = row.as_f64() {
        return Ok(Prediction::Score(score));
    }
    Err(format!("answer row {row} has no probabilities or score"))
}

fn argmax(probabilities: &[(String, f64)]) -> Option<String> {
    let mut best: Option<&(String, f64)> = None;
    for p in probabilities {
        if best.is_none_or(|b| p.1 > b.1) {
            best = Some(p);
        }
    }
    best.map(|b| b.0.clone())
}

fn parse_csv_output(text: &str) -> Result<Vec<Prediction>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or("empty CSV answer")?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_string())
        .collect();
    let score = header.len() == 1 && header[0] == "prediction";
    lines
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<f64> = line
                .split(',')
                .map(|c| c.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("CSV answer row {}: {e}", i + 1))?;
            if cells.len() != header.len() {
                return Err(format!(
                    "CSV answer row {} has {} cells for {} columns",
                    i + 1,
                    cells.len(),
                    header.len()
                ));
            }
            if score {
                return Ok(Prediction::Score(cells[0]));
            }
            let probabilities: Vec<(String, f64)> = header.iter().cloned().zip(cells).collect();
            let label = argmax(&probabilities).ok_or("CSV answer has no classes")?;
            Ok(Prediction::Classes {
                label,
                probabilities,
            })
        })
        .collect()
}

/// The id ground truth uses for row `i` of a captured request: the event id itself for a
/// one-row request, `<event id>:<row>` when the request had several rows.
pub(crate) fn row_event_id(event_id: &str, single_row: bool, i: usize) -> String {
    if single_row {
        event_id.to_string()
    } else {
        format!("{event_id}:{i}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingot_core::{ColumnType, Field};

    fn line(id: &str, time: &str, ct: &str, input: &str, out_ct: &str, output: &str) -> String {
        serde_json::json!({
            "captureData": {
                "endpointInput": {"observedContentType": ct, "mode": "INPUT", "data": input, "encoding": "CSV"},
                "endpointOutput": {"observedContentType": out_ct, "mode": "OUTPUT", "data": output, "encoding": "JSON"},
            },
            "eventMetadata": {"eventId": id, "inferenceTime": time, "variant": "main", "model": "m", "modelVersion": 1},
            "eventVersion": "0",
        })
        .to_string()
    }

    #[test]
    fn capture_files_parse_and_skip_foreign_lines() {
        let text = format!(
            "{}\nnot json\n{{\"captureData\": {{}}}}\n\n{}\n",
            line(
                "a",
                "2026-11-21T08:15:53.250Z",
                "text/csv",
                "1,x\n",
                "text/csv",
                "no,yes\n0.2,0.8\n"
            ),
            line(
                "b",
                "2026-11-21T08:15:54.000Z",
                "application/json",
                "{\"instances\": [[2, \"y\"]]}",
                "application/json",
                "{}"
            ),
        );
        let (events, bad) = parse_file(&text);
        assert_eq!(bad, 2);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_id, "a");
        assert_eq!(events[0].at_millis, 1_795_248_953_250);
        assert_eq!(events[1].input.content_type, "application/json");
        assert_eq!(events[1].at_millis - events[0].at_millis, 750);
        assert_eq!(
            file_millis("ep/2026/11/21/08/1795248953250-abc.jsonl"),
            Some(1_795_248_953_250)
        );
        assert_eq!(file_millis("ep/2026/11/21/08/notes.txt"), None);
    }

    #[test]
    fn inputs_decode_against_the_schema() {
        let schema = Schema::new(vec![
            Field::new("x", ColumnType::Float, true),
            Field::new("c", ColumnType::String, true),
        ]);
        let body = |ct: &str, data: &str| Body {
            content_type: ct.to_string(),
            data: data.to_string(),
            encoding: "CSV".to_string(),
        };
        let csv = decode_input(&body("text/csv", "1.5,a\n2.5,b\n"), &schema).unwrap();
        assert_eq!((csv.num_rows(), csv.num_columns()), (2, 2));
        let json = decode_input(
            &body("application/json", r#"{"instances": [{"x": 1, "c": "z"}]}"#),
            &schema,
        )
        .unwrap();
        assert_eq!(json.num_rows(), 1);
        let lines = decode_input(
            &body(
                "application/jsonlines",
                "[1, \"a\"]\n[2, \"b\"]\n[3, \"c\"]\n",
            ),
            &schema,
        )
        .unwrap();
        assert_eq!(lines.num_rows(), 3);
        assert!(decode_input(&body("text/csv", "oops,a,b,c\n"), &schema).is_err());
        let mut binary = body("application/octet-stream", "AAAA");
        binary.encoding = "BASE64".to_string();
        assert!(decode_input(&binary, &schema).is_err());
    }

    #[test]
    fn outputs_parse_in_every_answer_format() {
        let body = |ct: &str, data: &str| Body {
            content_type: ct.to_string(),
            data: data.to_string(),
            encoding: "TEXT".to_string(),
        };
        let csv = parse_output(&body("text/csv", "no,yes\n0.2,0.8\n0.9,0.1\n")).unwrap();
        assert_eq!(
            csv,
            [
                Prediction::Classes {
                    label: "yes".into(),
                    probabilities: vec![("no".into(), 0.2), ("yes".into(), 0.8)]
                },
                Prediction::Classes {
                    label: "no".into(),
                    probabilities: vec![("no".into(), 0.9), ("yes".into(), 0.1)]
                },
            ]
        );
        let regression = parse_output(&body("text/csv", "prediction\n3.5\n-1\n")).unwrap();
        assert_eq!(
            regression,
            [Prediction::Score(3.5), Prediction::Score(-1.0)]
        );
        let json = parse_output(&body(
            "application/json",
            r#"{"predictions": [{"predicted_label": "b", "probabilities": {"a": 0.4, "b": 0.6}}, {"score": 2.0}]}"#,
        ))
        .unwrap();
        assert!(matches!(&json[0], Prediction::Classes { label, .. } if label == "b"));
        assert_eq!(json[1], Prediction::Score(2.0));
        let lines = parse_output(&body(
            "application/jsonlines",
            "{\"score\": 1}\n{\"score\": 4}\n",
        ))
        .unwrap();
        assert_eq!(lines, [Prediction::Score(1.0), Prediction::Score(4.0)]);
        assert!(parse_output(&body("text/csv", "a,b\n0.5\n")).is_err());
        assert!(parse_output(&body("application/json", "{\"nope\": 1}")).is_err());
    }
}
