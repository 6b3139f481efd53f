//! The two ways an imported graph runs: a tract plan (built and optimized once, with a
//! symbolic batch dimension) over the lowered graph, or the native tree-ensemble evaluator
//! when the graph ends in one TreeEnsemble operator (only casts and identities after it),
//! fed by the input directly or by a tract plan computing its input (e.g. a ColumnTransformer).

use std::collections::HashSet;

use serde_json::{json, Value};
use tract_onnx::pb::{ModelProto, NodeProto, ValueInfoProto};
use tract_onnx::prelude::*;

use crate::graph::{Analysis, InputSpec};
use crate::lower;
use crate::proto::{self, elem};
use crate::tree::TreeEnsemble;
use crate::{Error, Result};

/// A runnable tract plan.
pub type Plan = TypedSimplePlan<TypedModel>;

/// How predictions are computed.
pub enum Engine {
    /// A tract plan; its inputs are `Analysis::inputs` in order, its single output the target.
    Tract(Plan),
    /// A tree ensemble over the single input, or over what the `prefix` plan computes from
    /// the inputs; `round_f32` when the trees see float32 values.
    Trees {
        ensemble: TreeEnsemble,
        round_f32: bool,
        prefix: Option<Plan>,
    },
}

const TREE_OPS: &[&str] = &["TreeEnsembleRegressor", "TreeEnsembleClassifier"];
const PASS_THROUGH: &[&str] = &["Cast", "Identity"];

fn hint() -> String {
    format!(
        "; Ingot runs the standard ONNX operators tract knows, lowers the ai.onnx.ml operators \
         {} (and cuts ZipMap off), and evaluates TreeEnsembleRegressor/TreeEnsembleClassifier \
         natively when they are the last operator of the model",
        lower::LOWERED.join(", ")
    )
}

fn unsupported(node: &NodeProto) -> Error {
    Error::UnsupportedOperator {
        op: node.op_type.clone(),
        domain: if node.domain.is_empty() {
            "ai.onnx".into()
        } else {
            node.domain.clone()
        },
        node: node.name.clone(),
        hint: hint(),
    }
}

/// Builds the engine for an analysed model; also returns facts for `resolved_parameters`.
pub fn build(model: &ModelProto, analysis: &Analysis) -> Result<(Engine, Value)> {
    if let Some(node) = analysis.nodes.iter().find(|n| n.op_type == "TreeEnsemble") {
        return Err(unsupported(node));
    }
    let trees: Vec<&NodeProto> = analysis
        .nodes
        .iter()
        .filter(|n| TREE_OPS.contains(&n.op_type.as_str()))
        .collect();
    if !trees.is_empty() {
        return native_trees(model, analysis, &trees);
    }
    tract_plan(model, analysis)
}

fn combined(tree: &NodeProto, ops: &[&str]) -> Error {
    Error::UnsupportedStructure {
        reason: format!(
            "{} {:?} is combined with {}; Ingot evaluates a tree ensemble natively when it is \
             the last operator of the model (only Cast, Identity or ZipMap after it, any \
             operators tract runs before it)",
            tree.op_type,
            tree.name,
            ops.join(", ")
        ),
    }
}

fn native_trees(
    model: &ModelProto,
    analysis: &Analysis,
    trees: &[&NodeProto],
) -> Result<(Engine, Value)> {
    let tree = trees[0];
    if trees.len() > 1 {
        let ops: Vec<&str> = trees.iter().map(|n| n.op_type.as_str()).collect();
        return Err(combined(tree, &ops));
    }
    let producer = |tensor: &str| {
        analysis
            .nodes
            .iter()
            .find(|n| n.output.iter().any(|o| o == tensor))
    };
    // The target must be the tree's scores (classifier) or values (regressor), maybe cast.
    let classifier = tree.op_type == "TreeEnsembleClassifier";
    let slot = usize::from(classifier);
    let mut tensor = analysis.target.clone();
    while let Some(node) = producer(&tensor).filter(|n| !TREE_OPS.contains(&n.op_type.as_str())) {
        if !(PASS_THROUGH.contains(&node.op_type.as_str()) && node.domain.is_empty()) {
            return Err(combined(tree, &[node.op_type.as_str()]));
        }
        tensor = node.input.first().cloned().unwrap_or_default();
    }
    if tree.output.get(slot) != Some(&tensor) {
        let what = if classifier {
            "probabilities"
        } else {
            "values"
        };
        return Err(Error::UnsupportedOutput {
            reason: format!(
                "output {:?} is not the {what} of {}",
                analysis.target, tree.op_type
            ),
        });
    }
    let ensemble = TreeEnsemble::parse(tree)?;
    match &analysis.classes {
        Some(classes) if classes.len() != ensemble.outputs() => {
            return Err(Error::ClassMismatch {
                model: ensemble.outputs(),
                given: classes.len(),
            })
        }
        None if ensemble.outputs() != 1 => {
            return Err(Error::UnsupportedOutput {
                reason: format!(
                    "the regressor has {} targets; Ingot serves one",
                    ensemble.outputs()
                ),
            })
        }
        _ => {}
    }
    // The tree reads the single graph input, maybe through casts, or what tract computes.
    let tree_input = tree.input.first().cloned().unwrap_or_default();
    let mut round_f32 = false;
    let mut tensor = tree_input.clone();
    while let Some(node) = producer(&tensor)
        .filter(|n| PASS_THROUGH.contains(&n.op_type.as_str()) && n.domain.is_empty())
    {
        round_f32 |=
            node.op_type == "Cast" && proto::int(node, "to") == Some(i64::from(elem::FLOAT));
        tensor = node.input.first().cloned().unwrap_or_default();
    }
    let mut facts = json!({
        "engine": "native tree ensemble",
        "tree_operator": tree.op_type,
        "trees": ensemble.trees(),
    });
    let direct = match analysis.inputs.as_slice() {
        [input] if input.name == tensor && input.elem != elem::STRING => Some(input),
        _ => None,
    };
    let (prefix, width) = match direct {
        Some(input) => {
            round_f32 |= input.elem == elem::FLOAT;
            (None, Some(input.width))
        }
        None => {
            let (nodes, needed) = crate::graph::needed_nodes(&analysis.nodes, &tree_input);
            if let Some(other) = nodes
                .iter()
                .find(|n| TREE_OPS.contains(&n.op_type.as_str()))
            {
                return Err(combined(tree, &[other.op_type.as_str()]));
            }
            let cast = cast_node(&tree_input, "ingot_tree_input");
            let mut nodes = nodes;
            nodes.push(cast);
            let mut needed = needed;
            needed.insert("ingot_tree_input".into());
            let (plan, width, operators) =
                tract_graph(model, analysis, "ingot_tree_input", &nodes, &needed)?;
            facts["engine"] = "tract, then native tree ensemble".into();
            facts["tract_operators"] = operators.into();
            round_f32 = true;
            (Some(plan), width)
        }
    };
    if let Some(width) = width.filter(|&w| ensemble.features() > w) {
        return Err(Error::SchemaMismatch {
            model: ensemble.features(),
            schema: width,
        });
    }
    let engine = Engine::Trees {
        ensemble,
        round_f32,
        prefix,
    };
    Ok((engine, facts))
}

/// `Cast(x, to=FLOAT)` writing `output`.
fn cast_node(x: &str, output: &str) -> NodeProto {
    let mut node = proto::node(
        "Cast",
        format!("{output}_cast"),
        vec![x.to_string()],
        vec![output.to_string()],
    );
    node.attribute = vec![proto::int_attr("to", i64::from(elem::FLOAT))];
    node
}

fn datum_type(elem_type: i32) -> DatumType {
    match elem_type {
        elem::DOUBLE => DatumType::F64,
        elem::INT64 => DatumType::I64,
        elem::INT32 => DatumType::I32,
        elem::STRING => DatumType::String,
        elem::BOOL => DatumType::Bool,
        _ => DatumType::F32,
    }
}

fn tract_plan(model: &ModelProto, analysis: &Analysis) -> Result<(Engine, Value)> {
    let (plan, width, operators) = tract_graph(
        model,
        analysis,
        &analysis.target,
        &analysis.nodes,
        &analysis.needed,
    )?;
    match (&analysis.classes, width) {
        (Some(classes), Some(w)) if w != classes.len() => {
            return Err(Error::ClassMismatch {
                model: w,
                given: classes.len(),
            })
        }
        (None, Some(w)) if w != 1 => {
            return Err(Error::UnsupportedOutput {
                reason: format!(
                    "output {:?} has {w} columns; a regressor has one",
                    analysis.target
                ),
            })
        }
        _ => {}
    }
    let facts = json!({"engine": "tract", "tract_operators": operators});
    Ok((Engine::Tract(plan), facts))
}

/// Lowers `nodes` (computing `target` from the graph inputs), checks every operator, and
/// builds the optimized tract plan; returns it with the output width when known and the
/// operators tract runs.
fn tract_graph(
    model: &ModelProto,
    analysis: &Analysis,
    target: &str,
    nodes: &[NodeProto],
    needed: &HashSet<String>,
) -> Result<(Plan, Option<usize>, Vec<String>)> {
    let graph = model.graph.as_ref().ok_or_else(|| Error::NotOnnx {
        reason: "it has no graph".into(),
    })?;
    let opset = proto::opset(model, "").unwrap_or(9);
    let (nodes, constants) = lower::lower(nodes, &graph.initializer, needed, opset)?;
    let onnx = tract_onnx::onnx();
    for node in &nodes {
        let standard = node.domain.is_empty() || node.domain == "ai.onnx";
        let tract_ml = node.domain == "ai.onnx.ml" && node.op_type == "CategoryMapper";
        if !(standard || tract_ml) || !onnx.op_register.0.contains_key(&node.op_type) {
            return Err(unsupported(node));
        }
    }
    let read: HashSet<&str> = nodes
        .iter()
        .flat_map(|n| n.input.iter().map(String::as_str))
        .collect();
    let mut lowered = model.clone();
    let g = lowered.graph.as_mut().expect("checked above");
    g.initializer.retain(|t| read.contains(t.name.as_str()));
    g.initializer.extend(constants);
    let constant_names: HashSet<String> = g.initializer.iter().map(|t| t.name.clone()).collect();
    g.input
        .retain(|i| !constant_names.contains(&i.name) || read.contains(i.name.as_str()));
    g.node = nodes;
    g.value_info.clear();
    g.output = vec![ValueInfoProto {
        name: target.to_string(),
        ..Default::default()
    }];
    let mut operators: Vec<String> = g.node.iter().map(|n| n.op_type.clone()).collect();
    operators.sort();
    operators.dedup();
    let mut inference = onnx
        .model_for_proto_model(&lowered)
        .map_err(|e| Error::tract("parse", e))?;
    let n = inference.symbols.sym("N");
    let outlets = inference
        .input_outlets()
        .map_err(|e| Error::tract("parse", e))?
        .to_vec();
    if outlets.len() != analysis.inputs.len() {
        return Err(Error::tract(
            "parse",
            format!(
                "{} inputs instead of {}",
                outlets.len(),
                analysis.inputs.len()
            ),
        ));
    }
    for (ix, (outlet, spec)) in outlets.iter().zip(&analysis.inputs).enumerate() {
        let name = &inference.node(outlet.node).name;
        if name != &spec.name {
            return Err(Error::tract(
                "parse",
                format!("input {ix} is {name:?}, expected {:?}", spec.name),
            ));
        }
        let shape: TVec<TDim> = if spec.rank1 {
            tvec![n.clone().into()]
        } else {
            tvec![n.clone().into(), spec.width.to_dim()]
        };
        inference
            .set_input_fact(ix, InferenceFact::dt_shape(datum_type(spec.elem), shape))
            .map_err(|e| Error::tract("set the input shapes of", e))?;
    }
    let typed = inference
        .into_optimized()
        .map_err(|e| Error::tract("optimize", e))?;
    let fact = typed
        .output_fact(0)
        .map_err(|e| Error::tract("optimize", e))?
        .clone();
    let width = match fact.shape.dims() {
        [_] => Some(1),
        [_, w] => w.to_i64().ok().and_then(|w| usize::try_from(w).ok()),
        dims => {
            return Err(Error::UnsupportedOutput {
                reason: format!(
                    "output {target:?} has rank {}; expected [N] or [N, k]",
                    dims.len()
                ),
            })
        }
    };
    let plan = typed.into_runnable().map_err(|e| Error::tract("plan", e))?;
    Ok((plan, width, operators))
}

impl Engine {
    /// Runs tract on one tensor per input; returns the output as float32 with its width.
    pub fn run_tract(plan: &Plan, inputs: Vec<Tensor>) -> Result<(Vec<f32>, usize)> {
        let outputs = plan
            .run(inputs.into_iter().map(TValue::from).collect())
            .map_err(|e| Error::tract("run", e))?;
        let output = outputs
            .first()
            .ok_or_else(|| Error::tract("run", "no output"))?;
        let width = match output.shape() {
            [_] => 1,
            [_, w] => *w,
            shape => return Err(Error::tract("run", format!("output shape {shape:?}"))),
        };
        let values = output
            .cast_to::<f32>()
            .map_err(|e| Error::tract("run", e))?
            .as_slice::<f32>()
            .map_err(|e| Error::tract("run", e))?
            .to_vec();
        Ok((values, width))
    }
}

/// The spec of each input, for building tensors.
pub fn tensor_for(spec: &InputSpec, rows: usize, values: TensorData) -> Result<Tensor> {
    let shape: Vec<usize> = if spec.rank1 {
        vec![rows]
    } else {
        vec![rows, spec.width]
    };
    let tensor = match values {
        TensorData::F32(v) => {
            tract_ndarray::ArrayD::from_shape_vec(shape, v).map(|a| a.into_tensor())
        }
        TensorData::F64(v) => {
            tract_ndarray::ArrayD::from_shape_vec(shape, v).map(|a| a.into_tensor())
        }
        TensorData::I64(v) => {
            tract_ndarray::ArrayD::from_shape_vec(shape, v).map(|a| a.into_tensor())
        }
        TensorData::I32(v) => {
            tract_ndarray::ArrayD::from_shape_vec(shape, v).map(|a| a.into_tensor())
        }
        TensorData::Bool(v) => {
            tract_ndarray::ArrayD::from_shape_vec(shape, v).map(|a| a.into_tensor())
        }
        TensorData::Text(v) => {
            tract_ndarray::ArrayD::from_shape_vec(shape, v).map(|a| a.into_tensor())
        }
    };
    tensor.map_err(|e| Error::tract("run", e))
}

/// Row-major values for one input, in its ONNX element type.
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    Bool(Vec<bool>),
    Text(Vec<String>),
}
