//! Reading the ONNX protobuf: decoding a model, node attributes, constant tensors and the
//! declared types of graph inputs and outputs, plus builders for the nodes lowering adds.

use tract_onnx::pb::{
    self, tensor_shape_proto::dimension, type_proto, AttributeProto, NodeProto, TensorProto,
    ValueInfoProto,
};
use tract_onnx::prelude::Framework;

use crate::{Error, Result};

/// ONNX tensor element types (`TensorProto.DataType`).
pub mod elem {
    pub const FLOAT: i32 = 1;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const STRING: i32 = 8;
    pub const BOOL: i32 = 9;
    pub const DOUBLE: i32 = 11;

    /// The ONNX name of an element type, for messages.
    pub fn name(t: i32) -> &'static str {
        match t {
            FLOAT => "float",
            2 => "uint8",
            3 => "int8",
            4 => "uint16",
            5 => "int16",
            INT32 => "int32",
            INT64 => "int64",
            STRING => "string",
            BOOL => "bool",
            10 => "float16",
            DOUBLE => "double",
            _ => "unknown",
        }
    }
}

/// Decodes model bytes and checks that they hold a graph with inputs, outputs and nodes.
pub fn decode(bytes: &[u8]) -> Result<pb::ModelProto> {
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| Error::NotOnnx {
            reason: format!("protobuf decoding failed ({e})"),
        })?;
    let Some(graph) = &model.graph else {
        return Err(Error::NotOnnx {
            reason: "it has no graph".into(),
        });
    };
    if graph.node.is_empty() || graph.input.is_empty() || graph.output.is_empty() {
        return Err(Error::NotOnnx {
            reason: format!(
                "its graph has {} nodes, {} inputs and {} outputs",
                graph.node.len(),
                graph.input.len(),
                graph.output.len()
            ),
        });
    }
    // External data would make tract read files next to the process: refuse it.
    let external = graph
        .initializer
        .iter()
        .chain(
            graph
                .node
                .iter()
                .flat_map(|n| n.attribute.iter().filter_map(|a| a.t.as_ref())),
        )
        .find(|t| t.data_location == Some(1) || !t.external_data.is_empty());
    if let Some(tensor) = external {
        return Err(Error::UnsupportedStructure {
            reason: format!(
                "tensor {:?} keeps its data in an external file; save the model with its data \
                 inside (onnx.save(..., save_as_external_data=False))",
                tensor.name
            ),
        });
    }
    Ok(model)
}

/// The version of an operator set the model imports (`""` is the default ONNX domain).
pub fn opset(model: &pb::ModelProto, domain: &str) -> Option<i64> {
    model
        .opset_import
        .iter()
        .filter(|o| o.domain == domain || (domain.is_empty() && o.domain == "ai.onnx"))
        .map(|o| o.version)
        .max()
}

/// An attribute by name.
pub fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// Integer list attribute (empty when absent).
pub fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    attr(node, name).map(|a| a.ints.clone()).unwrap_or_default()
}

/// Float list attribute (empty when absent).
pub fn floats(node: &NodeProto, name: &str) -> Vec<f32> {
    attr(node, name)
        .map(|a| a.floats.clone())
        .unwrap_or_default()
}

/// String list attribute (empty when absent).
pub fn strings(node: &NodeProto, name: &str) -> Vec<String> {
    attr(node, name)
        .map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// String attribute.
pub fn string(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// Integer attribute.
pub fn int(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

/// A float list given either as `name` (floats) or `name_as_tensor` (a tensor, usually of
/// doubles, in ai.onnx.ml opset 3); empty when both are absent.
pub fn reals(node: &NodeProto, name: &str) -> Result<Vec<f64>> {
    if let Some(tensor) = attr(node, &format!("{name}_as_tensor")).and_then(|a| a.t.as_ref()) {
        return tensor_f64(tensor).map_err(|reason| Error::attribute(node, name, reason));
    }
    Ok(floats(node, name).into_iter().map(f64::from).collect())
}

fn chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N)
        .map(|c| <[u8; N]>::try_from(c).unwrap_or([0; N]))
}

/// The values of a numeric constant tensor as `f64`.
pub fn tensor_f64(t: &TensorProto) -> Result<Vec<f64>, String> {
    let raw = !t.raw_data.is_empty();
    Ok(match t.data_type {
        elem::FLOAT if raw => chunks::<4>(&t.raw_data)
            .map(|b| f64::from(f32::from_le_bytes(b)))
            .collect(),
        elem::FLOAT => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        elem::DOUBLE if raw => chunks::<8>(&t.raw_data).map(f64::from_le_bytes).collect(),
        elem::DOUBLE => t.double_data.clone(),
        elem::INT64 if raw => chunks::<8>(&t.raw_data)
            .map(|b| i64::from_le_bytes(b) as f64)
            .collect(),
        elem::INT64 => t.int64_data.iter().map(|&v| v as f64).collect(),
        elem::INT32 if raw => chunks::<4>(&t.raw_data)
            .map(|b| f64::from(i32::from_le_bytes(b)))
            .collect(),
        elem::INT32 => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
        other => {
            return Err(format!(
                "{} tensor where numbers were expected",
                elem::name(other)
            ))
        }
    })
}

/// The values of an integer or string constant tensor as labels.
pub fn tensor_labels(t: &TensorProto) -> Option<Vec<String>> {
    match t.data_type {
        elem::STRING => Some(
            t.string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        elem::INT64 | elem::INT32 => Some(
            tensor_f64(t)
                .ok()?
                .into_iter()
                .map(|v| (v as i64).to_string())
                .collect(),
        ),
        _ => None,
    }
}

/// The declared type of a graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredType {
    /// ONNX element type; `None` when the value is not a tensor (sequence, map).
    pub elem: Option<i32>,
    /// Dimensions (`None` for symbolic or unknown ones); `None` when no shape is declared.
    pub dims: Option<Vec<Option<i64>>>,
}

impl DeclaredType {
    /// Reads a value info.
    pub fn of(info: &ValueInfoProto) -> DeclaredType {
        let tensor = info
            .r#type
            .as_ref()
            .and_then(|t| t.value.as_ref())
            .map(|type_proto::Value::TensorType(tensor)| tensor);
        let Some(tensor) = tensor else {
            return DeclaredType {
                elem: None,
                dims: None,
            };
        };
        let dims = tensor.shape.as_ref().map(|shape| {
            shape
                .dim
                .iter()
                .map(|d| match d.value {
                    Some(dimension::Value::DimValue(v)) if v > 0 => Some(v),
                    _ => None,
                })
                .collect()
        });
        DeclaredType {
            elem: Some(tensor.elem_type),
            dims,
        }
    }

    /// Text like `float[?, 4]`, for messages and resolved parameters.
    pub fn describe(&self) -> String {
        let Some(elem) = self.elem else {
            return "non-tensor (sequence or map)".into();
        };
        let dims = match &self.dims {
            None => "?".to_string(),
            Some(dims) => dims
                .iter()
                .map(|d| d.map_or("?".to_string(), |v| v.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        };
        format!("{}[{dims}]", elem::name(elem))
    }
}

/// Builds a node of the default ONNX domain.
pub fn node(op: &str, name: String, inputs: Vec<String>, outputs: Vec<String>) -> NodeProto {
    NodeProto {
        op_type: op.to_string(),
        name,
        input: inputs,
        output: outputs,
        ..Default::default()
    }
}

/// An integer attribute.
pub fn int_attr(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: 2,
        i: value,
        ..Default::default()
    }
}

/// An integer list attribute.
pub fn ints_attr(name: &str, values: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: 7,
        ints: values,
        ..Default::default()
    }
}

/// A string list attribute.
pub fn strings_attr(name: &str, values: Vec<String>) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: 8,
        strings: values.into_iter().map(String::into_bytes).collect(),
        ..Default::default()
    }
}

/// A float constant tensor.
pub fn float_tensor(name: String, dims: Vec<i64>, values: Vec<f32>) -> TensorProto {
    TensorProto {
        name,
        dims,
        data_type: elem::FLOAT,
        float_data: values,
        ..Default::default()
    }
}

/// An int64 constant tensor.
pub fn int64_tensor(name: String, dims: Vec<i64>, values: Vec<i64>) -> TensorProto {
    TensorProto {
        name,
        dims,
        data_type: elem::INT64,
        int64_data: values,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_onnx() {
        let err = decode(b"\xff\xfe definitely not protobuf \x00\x01").unwrap_err();
        assert!(err.to_string().contains("not an ONNX model"), "{err}");
        // The empty message decodes as protobuf but holds no graph.
        let err = decode(b"").unwrap_err();
        assert!(err.to_string().contains("no graph"), "{err}");
    }

    #[test]
    fn raw_and_typed_tensor_data_agree() {
        let typed = float_tensor("t".into(), vec![2], vec![1.5, -2.0]);
        let mut raw = typed.clone();
        raw.float_data.clear();
        raw.raw_data = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(tensor_f64(&typed).unwrap(), vec![1.5, -2.0]);
        assert_eq!(tensor_f64(&raw).unwrap(), vec![1.5, -2.0]);
        let labels = int64_tensor("c".into(), vec![2], vec![3, 7]);
        assert_eq!(tensor_labels(&labels).unwrap(), vec!["3", "7"]);
    }
}
