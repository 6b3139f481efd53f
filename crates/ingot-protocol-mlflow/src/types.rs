//! MLflow's JSON wire types (proto3 JSON with snake_case field names). Requests accept int64
//! values as numbers or strings and doubles as numbers or `NaN`/`Infinity` strings; responses
//! write ids as strings and timestamps as numbers, as MLflow's server does.

use serde::{Deserialize, Serialize};

use crate::numbers::{f64_proto, opt_bool, opt_f64, opt_i64};

/// A key/value pair: tags, params, experiment tags, model tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KeyValue {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// A metric as it arrives in a request.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct MetricIn {
    #[serde(default)]
    pub key: String,
    #[serde(default, deserialize_with = "opt_f64")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
    /// The logged model the point is also recorded against (MLflow 3).
    #[serde(default)]
    pub model_id: Option<String>,
}

/// A metric as a response carries it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricOut {
    pub key: String,
    #[serde(serialize_with = "f64_proto")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub last_update_time: i64,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub run_uuid: String,
    pub run_name: String,
    pub experiment_id: String,
    pub user_id: String,
    pub status: String,
    pub start_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RunData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Dataset {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DatasetInput {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RunInputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
}

/// A logged model a run produced (MLflow 3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RunOutputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    pub inputs: RunInputs,
    pub outputs: RunOutputs,
}

/// Logged model info (MLflow 3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LoggedModelData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<LoggedModelMetricOut>,
}

/// A metric point logged against a logged model, with the run that logged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModelMetricOut {
    #[serde(flatten)]
    pub metric: MetricOut,
    pub model_id: String,
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub user_id: String,
    pub current_stage: String,
    pub description: String,
    pub source: String,
    pub run_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    pub run_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Alias>,
}

/// The `runs/search` response, serialized without an intermediate JSON tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchRunsResponse {
    pub runs: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// One entry of an artifact listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub is_dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// One part URL of a proxied multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultipartCredential {
    pub url: String,
    pub part_number: i64,
    pub headers: std::collections::BTreeMap<String, String>,
}

/// The body of `mpu/create`, `mpu/complete` and `mpu/abort`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct MultipartRequest {
    #[serde(default)]
    pub path: String,
    #[serde(default, deserialize_with = "opt_i64")]
    pub num_parts: Option<i64>,
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub parts: Vec<MultipartPart>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct MultipartPart {
    #[serde(default, deserialize_with = "opt_i64")]
    pub part_number: Option<i64>,
    #[serde(default)]
    pub etag: Option<String>,
}

/// Every request field the tracking and registry endpoints read. Each endpoint reads the few
/// it needs and reports a missing one by name; unknown fields are ignored, as MLflow does.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default)]
pub struct Request {
    pub experiment_id: Option<String>,
    pub experiment_ids: Vec<String>,
    pub experiment_name: Option<String>,
    pub name: Option<String>,
    pub new_name: Option<String>,
    pub artifact_location: Option<String>,
    pub tags: Vec<KeyValue>,
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub run_name: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub start_time: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub end_time: Option<i64>,
    pub key: Option<String>,
    pub value: Option<serde_json::Value>,
    #[serde(deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub step: Option<i64>,
    pub metrics: Vec<MetricIn>,
    pub params: Vec<KeyValue>,
    pub datasets: Vec<DatasetInput>,
    pub filter: Option<String>,
    pub filter_string: Option<String>,
    /// Strings (`"metrics.acc DESC"`) or, for logged models, `{field_name, ascending}`.
    pub order_by: Vec<serde_json::Value>,
    #[serde(deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
    pub view_type: Option<String>,
    pub run_view_type: Option<String>,
    pub metric_key: Option<String>,
    pub description: Option<String>,
    pub version: Option<serde_json::Value>,
    pub stage: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub archive_existing_versions: Option<bool>,
    pub source: Option<String>,
    pub run_link: Option<String>,
    pub model_id: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub alias: Option<String>,
    pub models: Vec<serde_json::Value>,
    pub model_json: Option<String>,
    pub path: Option<String>,
    pub stages: Vec<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub allow_deleted: Option<bool>,
}

impl Request {
    /// The run id from `run_id` or the legacy `run_uuid`.
    pub fn run(&self) -> Option<&str> {
        self.run_id
            .as_deref()
            .or(self.run_uuid.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// `order_by` entries as strings, converting `{field_name, ascending}` objects.
    pub fn order_by_strings(&self) -> Vec<String> {
        self.order_by
            .iter()
            .filter_map(|entry| match entry {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(o) => {
                    let field = o.get("field_name")?.as_str()?;
                    let ascending = o
                        .get("ascending")
                        .map(|a| a.as_bool().unwrap_or(a.as_str() != Some("false")))
                        .unwrap_or(true);
                    Some(format!(
                        "{field} {}",
                        if ascending { "ASC" } else { "DESC" }
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// The filter from `filter` or `filter_string`.
    pub fn filter_text(&self) -> Option<&str> {
        self.filter.as_deref().or(self.filter_string.as_deref())
    }

    /// A version given as a number or a string.
    pub fn version_number(&self) -> Option<Result<i64, String>> {
        self.version.as_ref().map(|v| match v {
            serde_json::Value::Number(n) => n.as_i64().ok_or_else(|| n.to_string()),
            serde_json::Value::String(s) => s.trim().parse::<i64>().map_err(|_| s.clone()),
            other => Err(other.to_string()),
        })
    }

    /// A string-or-number `value` (params and tags) as text.
    pub fn value_text(&self) -> Option<String> {
        self.value.as_ref().map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// A numeric `value` (log-metric), accepting `NaN` and infinities as strings.
    pub fn value_number(&self) -> Option<Result<f64, String>> {
        self.value.as_ref().map(|v| match v {
            serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| n.to_string()),
            serde_json::Value::String(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => other.parse::<f64>().map_err(|_| s.clone()),
            },
            other => Err(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_accept_proto_json_variants() {
        let r: Request = serde_json::from_str(
            r#"{"run_id":"abc","key":"m","value":"NaN","timestamp":"17","step":3,
                "metrics":[{"key":"a","value":1,"timestamp":2,"step":"4"}],
                "order_by":["metrics.a DESC"],"max_results":"5","unknown":1}"#,
        )
        .unwrap();
        assert_eq!(r.run(), Some("abc"));
        assert!(r.value_number().unwrap().unwrap().is_nan());
        assert_eq!(
            (r.timestamp, r.step, r.max_results),
            (Some(17), Some(3), Some(5))
        );
        assert_eq!(r.metrics[0].step, Some(4));
        assert!(serde_json::from_str::<Request>(r#"{"step":"x"}"#).is_err());
    }

    #[test]
    fn responses_write_non_finite_metrics_as_strings() {
        let m = MetricOut {
            key: "k".into(),
            value: f64::NAN,
            timestamp: 1,
            step: 0,
        };
        assert_eq!(serde_json::to_value(&m).unwrap()["value"], "NaN");
    }
}
