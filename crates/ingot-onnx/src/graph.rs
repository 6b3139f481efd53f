//! Reading an ONNX graph for serving: which inputs become which schema columns, which output
//! holds the predictions (cutting ZipMap off), the class labels, the nodes that output needs,
//! and whether it is a whole-graph tree ensemble (evaluated natively) or a tract graph.

use std::collections::{BTreeMap, HashMap, HashSet};

use ingot_algo::ImportOptions;
use ingot_core::{ColumnType, Field, Schema};
use serde_json::{json, Value};
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto};

use crate::proto::{self, elem, DeclaredType};
use crate::{Error, Result};

/// One graph input and the schema columns feeding it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// The ONNX input name.
    pub name: String,
    /// ONNX element type.
    pub elem: i32,
    /// Columns per row.
    pub width: usize,
    /// Whether the input is `[N]` rather than `[N, width]`.
    pub rank1: bool,
}

/// What the import learned, before any engine is built.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub inputs: Vec<InputSpec>,
    pub schema: Schema,
    /// The tensor holding predictions (probabilities for classifiers).
    pub target: String,
    /// Class labels; `None` for regressors.
    pub classes: Option<Vec<String>>,
    /// The nodes computing `target`, in graph order.
    pub nodes: Vec<NodeProto>,
    /// Every tensor those nodes read plus `target`.
    pub needed: HashSet<String>,
    /// Facts for `resolved_parameters`.
    pub facts: Value,
}

fn column_type(elem_type: i32) -> Option<ColumnType> {
    match elem_type {
        elem::FLOAT | elem::DOUBLE => Some(ColumnType::Float),
        elem::INT64 | elem::INT32 => Some(ColumnType::Integer),
        elem::STRING => Some(ColumnType::String),
        elem::BOOL => Some(ColumnType::Boolean),
        _ => None,
    }
}

fn graph_inputs(graph: &GraphProto) -> Result<Vec<(InputSpec, Option<usize>)>> {
    let constants: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut inputs = Vec::new();
    for info in graph
        .input
        .iter()
        .filter(|i| !constants.contains(i.name.as_str()))
    {
        let declared = DeclaredType::of(info);
        let unsupported = |reason: String| Error::UnsupportedInput {
            name: info.name.clone(),
            reason,
        };
        let elem_type = declared
            .elem
            .filter(|&e| column_type(e).is_some())
            .ok_or_else(|| {
                unsupported(format!(
                    "type {} is not supported (float, double, int64, int32, string or bool \
                     tensors are)",
                    declared.describe()
                ))
            })?;
        let (rank1, width) = match declared.dims.as_deref() {
            Some([_]) => (true, Some(1)),
            Some([_, width]) => (false, *width),
            None => (false, None),
            Some(dims) => {
                return Err(unsupported(format!(
                    "rank {} tensors are not supported; inputs must be [N] or [N, features]",
                    dims.len()
                )))
            }
        };
        let spec = InputSpec {
            name: info.name.clone(),
            elem: elem_type,
            width: width.map_or(0, |w| w as usize),
            rank1,
        };
        inputs.push((spec, width.map(|w| w as usize)));
    }
    if inputs.is_empty() {
        return Err(Error::NotOnnx {
            reason: "its graph has no inputs besides constants".into(),
        });
    }
    Ok(inputs)
}

/// Fixes input widths and builds the schema, from the model or from `options.schema`.
fn schema_for(
    inputs: Vec<(InputSpec, Option<usize>)>,
    options: &ImportOptions,
) -> Result<(Vec<InputSpec>, Schema)> {
    let single = inputs.len() == 1;
    let Some(given) = &options.schema else {
        let mut fields = Vec::new();
        let mut specs = Vec::new();
        for (spec, width) in inputs {
            let width = width.ok_or_else(|| Error::UnsupportedInput {
                name: spec.name.clone(),
                reason: "its feature count is not fixed; give a schema on import".into(),
            })?;
            let column_type = column_type(spec.elem).unwrap_or(ColumnType::Float);
            for j in 0..width {
                let name = match (single, width) {
                    (true, _) => format!("f{j}"),
                    (false, 1) => spec.name.clone(),
                    (false, _) => format!("{}_{j}", spec.name),
                };
                fields.push(Field::new(
                    name,
                    column_type,
                    column_type == ColumnType::Float,
                ));
            }
            specs.push(InputSpec { width, ..spec });
        }
        return Ok((specs, Schema::new(fields)));
    };
    let columns = given.fields.len();
    let mut specs = Vec::new();
    if single {
        let (spec, width) = inputs.into_iter().next().expect("one input");
        if let Some(width) = width.filter(|&w| w != columns) {
            return Err(Error::SchemaMismatch {
                model: width,
                schema: columns,
            });
        }
        specs.push(InputSpec {
            width: columns,
            ..spec
        });
    } else {
        let mut total = 0;
        for (spec, width) in inputs {
            let width = width.ok_or_else(|| Error::UnsupportedInput {
                name: spec.name.clone(),
                reason: "its feature count is not fixed, so schema columns cannot be matched \
                         to inputs"
                    .into(),
            })?;
            total += width;
            specs.push(InputSpec { width, ..spec });
        }
        if total != columns {
            return Err(Error::SchemaMismatch {
                model: total,
                schema: columns,
            });
        }
    }
    let mut fields = given.fields.iter();
    for spec in &specs {
        let text = spec.elem == elem::STRING;
        for field in fields.by_ref().take(spec.width) {
            let ok = match field.column_type {
                ColumnType::String => text,
                ColumnType::Float | ColumnType::Integer | ColumnType::Boolean => !text,
                ColumnType::Timestamp => false,
            };
            if !ok {
                return Err(Error::SchemaType {
                    column: field.name.clone(),
                    column_type: field.column_type.as_str().to_string(),
                    needs: if text { "string" } else { "numbers" }.into(),
                });
            }
        }
    }
    Ok((specs, given.clone()))
}

/// The prediction tensor and, for classifiers, the labels found next to it.
struct Target {
    name: String,
    classifier: bool,
    width: Option<usize>,
    zipmap_labels: Option<Vec<String>>,
}

fn labels_of(node: &NodeProto) -> Option<Vec<String>> {
    let ints = [
        proto::ints(node, "classlabels_ints"),
        proto::ints(node, "classlabels_int64s"),
    ]
    .into_iter()
    .find(|v| !v.is_empty());
    if let Some(ints) = ints {
        return Some(ints.iter().map(i64::to_string).collect());
    }
    Some(proto::strings(node, "classlabels_strings")).filter(|v| !v.is_empty())
}

fn find_target(graph: &GraphProto, producers: &HashMap<&str, usize>) -> Result<Target> {
    let described: Vec<String> = graph
        .output
        .iter()
        .map(|o| format!("{} {}", o.name, DeclaredType::of(o).describe()))
        .collect();
    let mut labels = false;
    let mut scores = Vec::new();
    for output in &graph.output {
        let declared = DeclaredType::of(output);
        let producer = producers.get(output.name.as_str()).map(|&i| &graph.node[i]);
        if let Some(zipmap) = producer.filter(|n| n.op_type == "ZipMap") {
            return Ok(Target {
                name: zipmap.input.first().cloned().unwrap_or_default(),
                classifier: true,
                width: None,
                zipmap_labels: labels_of(zipmap),
            });
        }
        match declared.elem {
            Some(elem::FLOAT | elem::DOUBLE) => scores.push((output, declared)),
            Some(elem::INT64 | elem::INT32 | elem::STRING) => labels = true,
            _ => {}
        }
    }
    let width = |d: &DeclaredType| match d.dims.as_deref() {
        Some([_]) => Some(1),
        Some([_, w]) => w.map(|w| w as usize),
        _ => None,
    };
    if labels && !scores.is_empty() {
        let (output, declared) = scores
            .iter()
            .find(|(o, _)| o.name.contains("probabilit"))
            .or_else(|| {
                scores
                    .iter()
                    .find(|(_, d)| d.dims.as_ref().is_some_and(|v| v.len() == 2))
            })
            .unwrap_or(&scores[0]);
        return Ok(Target {
            name: output.name.clone(),
            classifier: true,
            width: width(declared),
            zipmap_labels: None,
        });
    }
    match scores.as_slice() {
        [(output, declared)] => match width(declared) {
            Some(w) if w > 1 => Err(Error::UnsupportedOutput {
                reason: format!(
                    "output {:?} has {w} columns and there is no label output; Ingot serves \
                     single-output regressors and classifiers (label + probabilities)",
                    output.name
                ),
            }),
            w => Ok(Target {
                name: output.name.clone(),
                classifier: false,
                width: w,
                zipmap_labels: None,
            }),
        },
        _ => Err(Error::UnsupportedOutput {
            reason: format!(
                "expected one float output (regressor) or a label and a probability output \
                 (classifier); the model has {}",
                described.join(", ")
            ),
        }),
    }
}

/// The nodes of `all` (topologically ordered) that `target` depends on, in order, and the
/// tensors they read plus `target`.
pub fn needed_nodes(all: &[NodeProto], target: &str) -> (Vec<NodeProto>, HashSet<String>) {
    let mut producers = HashMap::new();
    for (i, node) in all.iter().enumerate() {
        for output in &node.output {
            producers.insert(output.as_str(), i);
        }
    }
    let mut keep = vec![false; all.len()];
    let mut needed = HashSet::from([target.to_string()]);
    let mut stack = vec![target.to_string()];
    while let Some(tensor) = stack.pop() {
        if let Some(&i) = producers.get(tensor.as_str()) {
            if !keep[i] {
                keep[i] = true;
                for input in all[i].input.iter().filter(|s| !s.is_empty()) {
                    if needed.insert(input.clone()) {
                        stack.push(input.clone());
                    }
                }
            }
        }
    }
    let nodes = all
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(n, _)| n.clone())
        .collect();
    (nodes, needed)
}

/// Reads the graph: inputs and schema, prediction output, classes and needed nodes.
pub fn analyze(model: &ModelProto, options: &ImportOptions) -> Result<Analysis> {
    let graph = model.graph.as_ref().ok_or_else(|| Error::NotOnnx {
        reason: "it has no graph".into(),
    })?;
    let (inputs, schema) = schema_for(graph_inputs(graph)?, options)?;
    let mut producers = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for output in &node.output {
            producers.insert(output.as_str(), i);
        }
    }
    let target = find_target(graph, &producers)?;
    if !producers.contains_key(target.name.as_str()) {
        return Err(Error::UnsupportedOutput {
            reason: format!("output {:?} is not computed by any operator", target.name),
        });
    }
    let (nodes, needed) = needed_nodes(&graph.node, &target.name);
    let classes = if target.classifier {
        let model_labels = target.zipmap_labels.clone().or_else(|| {
            nodes
                .iter()
                .rev()
                .chain(graph.node.iter())
                .find_map(labels_of)
                .or_else(|| {
                    graph
                        .node
                        .iter()
                        .filter(|n| n.op_type == "ArrayFeatureExtractor")
                        .filter_map(|n| {
                            graph
                                .initializer
                                .iter()
                                .find(|t| Some(&t.name) == n.input.first())
                        })
                        .find_map(proto::tensor_labels)
                })
        });
        let model_count = target.width.or(model_labels.as_ref().map(Vec::len));
        Some(match (&options.classes, model_labels, model_count) {
            (Some(given), _, Some(count)) if given.len() != count => {
                return Err(Error::ClassMismatch {
                    model: count,
                    given: given.len(),
                })
            }
            (Some(given), _, _) => given.clone(),
            (None, Some(labels), _) => labels,
            (None, None, Some(count)) => (0..count).map(|k| k.to_string()).collect(),
            (None, None, None) => {
                return Err(Error::UnsupportedOutput {
                    reason: "the number of classes is unknown; give the classes on import".into(),
                })
            }
        })
    } else {
        None
    };
    let mut operators = BTreeMap::new();
    for node in &graph.node {
        let key = if node.domain.is_empty() {
            node.op_type.clone()
        } else {
            format!("{}.{}", node.domain, node.op_type)
        };
        *operators.entry(key).or_insert(0usize) += 1;
    }
    let opsets: BTreeMap<String, i64> = model
        .opset_import
        .iter()
        .map(|o| {
            (
                if o.domain.is_empty() {
                    "ai.onnx".into()
                } else {
                    o.domain.clone()
                },
                o.version,
            )
        })
        .collect();
    let describe = |infos: &[tract_onnx::pb::ValueInfoProto]| -> Vec<Value> {
        infos
            .iter()
            .map(|i| json!({"name": i.name, "type": DeclaredType::of(i).describe()}))
            .collect()
    };
    let facts = json!({
        "producer": format!("{} {}", model.producer_name, model.producer_version).trim(),
        "ir_version": model.ir_version,
        "opsets": opsets,
        "inputs": describe(&graph.input[..]),
        "outputs": describe(&graph.output[..]),
        "prediction_output": target.name,
        "operators": operators,
    });
    Ok(Analysis {
        inputs,
        schema,
        target: target.name,
        classes,
        nodes,
        needed,
        facts,
    })
}
