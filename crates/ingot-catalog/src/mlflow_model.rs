//! MLflow model directories, as `mlflow.<flavor>.log_model` writes them: which flavor in an
//! `MLmodel` file Ingot can serve natively (ONNX, XGBoost, LightGBM), the file inside the
//! directory that holds it, and the input schema of a column-based signature.

use ingot_algo::{Error, Result};
use ingot_core::{ColumnType, Field, Schema};
use yaml_rust2::{Yaml, YamlLoader};

/// The flavors Ingot reads, in the order it prefers them, with the runtime that imports each.
const SERVABLE: [(&str, &str); 3] = [
    ("onnx", "onnx"),
    ("xgboost", "xgboost"),
    ("lightgbm", "lightgbm"),
];

/// What an `MLmodel` file says about serving its model with an Ingot runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct MlflowModel {
    /// The flavor chosen (`onnx`, `xgboost` or `lightgbm`), also the import format's name.
    pub format: &'static str,
    /// The model file, relative to the directory holding `MLmodel`.
    pub data: String,
    /// The signature's input columns, when it names them and every one is a plain scalar.
    pub schema: Option<Schema>,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidOption {
        name: "MLmodel",
        reason: reason.into(),
    }
}

/// Reads an `MLmodel` file and picks the flavor to serve.
pub fn read_mlmodel(text: &str) -> Result<MlflowModel> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| invalid(format!("not YAML: {e}")))?;
    let doc = docs.first().ok_or_else(|| invalid("the file is empty"))?;
    let flavors = doc["flavors"]
        .as_hash()
        .ok_or_else(|| invalid("it has no `flavors` section"))?;
    let names: Vec<&str> = flavors.keys().filter_map(Yaml::as_str).collect();
    let (flavor, format) = SERVABLE
        .iter()
        .copied()
        .find(|(flavor, _)| names.contains(flavor))
        .ok_or_else(|| {
            invalid(format!(
                "its flavors ({}) have no native runtime here; Ingot serves the onnx, xgboost \
                 and lightgbm flavors (log scikit-learn pipelines with mlflow.onnx.log_model \
                 after skl2onnx)",
                names.join(", ")
            ))
        })?;
    let spec = &doc["flavors"][flavor];
    let data = spec["data"]
        .as_str()
        .ok_or_else(|| invalid(format!("flavor {flavor} names no `data` file")))?;
    check_relative(data)?;
    if flavor == "lightgbm" && data.ends_with(".pkl") {
        return Err(invalid(format!(
            "flavor lightgbm holds a pickled scikit-learn wrapper ({data}); log the booster \
             instead: mlflow.lightgbm.log_model(model.booster_, ...)"
        )));
    }
    Ok(MlflowModel {
        format,
        data: data.to_string(),
        schema: signature_schema(&doc["signature"]["inputs"])?,
    })
}

/// A `data` path must stay inside the model's directory.
fn check_relative(path: &str) -> Result<()> {
    let escapes = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.split('/').any(|part| part == ".." || part == ".");
    if escapes {
        return Err(invalid(format!(
            "data path {path:?} must be a plain path inside the model directory"
        )));
    }
    Ok(())
}

/// The schema of a column-based signature (`[{"type": "double", "name": "age"}, ...]`, a JSON
/// string inside the YAML). Tensor signatures and columns of other types give none: the
/// model's own input names then apply.
fn signature_schema(inputs: &Yaml) -> Result<Option<Schema>> {
    let Some(text) = inputs.as_str() else {
        return Ok(None);
    };
    let columns: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| invalid(format!("signature.inputs is not a JSON list: {e}")))?;
    let mut fields = Vec::with_capacity(columns.len());
    for column in &columns {
        let (Some(name), Some(kind)) = (column["name"].as_str(), column["type"].as_str()) else {
            return Ok(None);
        };
        let column_type = match kind {
            "double" | "float" => ColumnType::Float,
            "long" | "integer" => ColumnType::Integer,
            "boolean" => ColumnType::Boolean,
            _ => return Ok(None),
        };
        fields.push(Field::new(name, column_type, true));
    }
    Ok((!fields.is_empty()).then(|| Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `mlflow.xgboost.log_model` writes (MLflow 3), signature folded over lines.
    const XGBOOST: &str = r#"artifact_path: mlflow-artifacts:/0/models/m-1/artifacts
flavors:
  python_function:
    data: model.ubj
    loader_module: mlflow.xgboost
  xgboost:
    code: null
    data: model.ubj
    model_class: xgboost.sklearn.XGBClassifier
    model_format: ubj
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "double", "name": "f0", "required": true}, {"type": "long",
    "name": "plan", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1,
    2]}}]'
  params: null
"#;

    #[test]
    fn picks_the_servable_flavor_its_file_and_the_signature() {
        let model = read_mlmodel(XGBOOST).unwrap();
        assert_eq!(model.format, "xgboost");
        assert_eq!(model.data, "model.ubj");
        assert_eq!(
            model.schema,
            Some(Schema::new(vec![
                Field::new("f0", ColumnType::Float, true),
                Field::new("plan", ColumnType::Integer, true),
            ]))
        );
        let onnx = "flavors:\n  onnx:\n    data: model.onnx\n  python_function: {}\n\
                    signature:\n  inputs: '[{\"type\": \"tensor\", \"tensor-spec\": {}}]'\n";
        let model = read_mlmodel(onnx).unwrap();
        assert_eq!((model.format, model.schema), ("onnx", None));
        let lightgbm = "flavors:\n  lightgbm:\n    data: model.lgb\n";
        assert_eq!(read_mlmodel(lightgbm).unwrap().data, "model.lgb");
        let strings = XGBOOST.replace("\"long\"", "\"string\"");
        assert_eq!(read_mlmodel(&strings).unwrap().schema, None);
    }

    #[test]
    fn what_cannot_be_served_is_named() {
        let sklearn = "flavors:\n  python_function:\n    data: model.pkl\n  sklearn:\n    pickled_model: model.pkl\n";
        let err = read_mlmodel(sklearn).unwrap_err().to_string();
        assert!(
            err.contains("python_function, sklearn") && err.contains("mlflow.onnx.log_model"),
            "{err}"
        );
        let pickled = "flavors:\n  lightgbm:\n    data: model.pkl\n";
        assert!(read_mlmodel(pickled)
            .unwrap_err()
            .to_string()
            .contains("booster_"));
        for path in ["../../etc/passwd", "/abs", "a/./b", ""] {
            let text = format!("flavors:\n  onnx:\n    data: '{path}'\n");
            let err = read_mlmodel(&text).unwrap_err().to_string();
            assert!(err.contains("inside the model directory"), "{path}: {err}");
        }
        assert!(read_mlmodel("flavors: [").is_err());
        assert!(read_mlmodel("name: x\n")
            .unwrap_err()
            .to_string()
            .contains("no `flavors`"));
    }
}
