//! Lowering of the ai.onnx.ml operators skl2onnx emits (LinearRegressor, LinearClassifier,
//! Scaler, Normalizer, Imputer, Binarizer, FeatureVectorizer, ArrayFeatureExtractor,
//! OneHotEncoder) into standard ONNX operators (and tract's CategoryMapper) that tract runs,
//! with onnxruntime's semantics.

use std::collections::HashSet;

use tract_onnx::pb::{NodeProto, TensorProto};

use crate::proto::{self, elem};
use crate::{Error, Result};

/// The ai.onnx.ml operators this module rewrites.
pub const LOWERED: &[&str] = &[
    "LinearRegressor",
    "LinearClassifier",
    "Scaler",
    "Normalizer",
    "Imputer",
    "Binarizer",
    "FeatureVectorizer",
    "ArrayFeatureExtractor",
    "OneHotEncoder",
];

/// Rewrites `nodes` (topologically ordered) so that only standard operators remain, adding
/// the constants they need. `initializers` are the graph's constants (for index inputs) and
/// `needed` the tensors later nodes or the graph output read.
pub fn lower(
    nodes: &[NodeProto],
    initializers: &[TensorProto],
    needed: &HashSet<String>,
    opset: i64,
) -> Result<(Vec<NodeProto>, Vec<TensorProto>)> {
    let mut out = Lowering {
        opset,
        next: 0,
        nodes: Vec::with_capacity(nodes.len()),
        constants: Vec::new(),
    };
    for node in nodes {
        if node.domain != "ai.onnx.ml" || !LOWERED.contains(&node.op_type.as_str()) {
            out.nodes.push(node.clone());
            continue;
        }
        if node.output.first().is_none_or(String::is_empty) {
            return Err(Error::attribute(
                node,
                "output",
                "the operator has no output",
            ));
        }
        let x = node.input.first().cloned().unwrap_or_default();
        match node.op_type.as_str() {
            "LinearRegressor" => out.linear_regressor(node, x)?,
            "LinearClassifier" => {
                if node
                    .output
                    .first()
                    .is_some_and(|label| needed.contains(label))
                {
                    return Err(Error::UnsupportedStructure {
                        reason: format!(
                            "the label output of LinearClassifier {:?} feeds other operators; \
                             only its scores can be lowered",
                            node.name
                        ),
                    });
                }
                out.linear_classifier(node, x)?
            }
            "Scaler" => out.scaler(node, x)?,
            "Normalizer" => out.normalizer(node, x)?,
            "Imputer" => out.imputer(node, x)?,
            "Binarizer" => {
                let threshold = proto::attr(node, "threshold").map_or(0.0, |a| a.f);
                let t = out.constant_f32(vec![1], vec![threshold]);
                let above = out.emit("Greater", vec![x, t]);
                out.cast_into(above, elem::FLOAT, &node.output[0]);
            }
            "FeatureVectorizer" => {
                let parts = node
                    .input
                    .iter()
                    .map(|i| out.cast(i.clone(), elem::FLOAT))
                    .collect();
                out.emit_into(
                    "Concat",
                    parts,
                    &node.output[0],
                    vec![proto::int_attr("axis", 1)],
                );
            }
            "ArrayFeatureExtractor" => out.array_feature_extractor(node, x, initializers)?,
            "OneHotEncoder" => out.one_hot(node, x)?,
            _ => unreachable!("LOWERED lists the handled operators"),
        }
    }
    Ok((out.nodes, out.constants))
}

struct Lowering {
    opset: i64,
    next: usize,
    nodes: Vec<NodeProto>,
    constants: Vec<TensorProto>,
}

impl Lowering {
    fn fresh(&mut self, what: &str) -> String {
        self.next += 1;
        format!("ingot_lowered_{what}_{}", self.next)
    }

    fn constant_f32(&mut self, dims: Vec<i64>, values: Vec<f32>) -> String {
        let name = self.fresh("const");
        self.constants
            .push(proto::float_tensor(name.clone(), dims, values));
        name
    }

    fn constant_i64(&mut self, values: Vec<i64>) -> String {
        let name = self.fresh("const");
        let dims = vec![values.len() as i64];
        self.constants
            .push(proto::int64_tensor(name.clone(), dims, values));
        name
    }

    /// Adds `op(inputs)` and returns its output name.
    fn emit(&mut self, op: &str, inputs: Vec<String>) -> String {
        let output = self.fresh(op);
        self.emit_into(op, inputs, &output, vec![]);
        output
    }

    fn emit_into(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        output: &str,
        attributes: Vec<tract_onnx::pb::AttributeProto>,
    ) {
        let name = self.fresh("node");
        let mut node = proto::node(op, name, inputs, vec![output.to_string()]);
        node.attribute = attributes;
        self.nodes.push(node);
    }

    fn cast(&mut self, x: String, to: i32) -> String {
        let output = self.fresh("cast");
        self.cast_into(x, to, &output);
        output
    }

    fn cast_into(&mut self, x: String, to: i32, output: &str) {
        self.emit_into(
            "Cast",
            vec![x],
            output,
            vec![proto::int_attr("to", i64::from(to))],
        );
    }

    /// `X · W + B` for ONNX-ml's row-major `[outputs, features]` coefficients.
    fn affine(
        &mut self,
        node: &NodeProto,
        x: String,
        outputs: usize,
        coefficients: &[f32],
        intercepts: &[f32],
    ) -> Result<String> {
        if outputs == 0 || coefficients.is_empty() || !coefficients.len().is_multiple_of(outputs) {
            return Err(Error::attribute(
                node,
                "coefficients",
                format!(
                    "{} values do not split into {outputs} rows",
                    coefficients.len()
                ),
            ));
        }
        if !intercepts.is_empty() && intercepts.len() != outputs {
            return Err(Error::attribute(
                node,
                "intercepts",
                format!("{} values for {outputs} outputs", intercepts.len()),
            ));
        }
        let features = coefficients.len() / outputs;
        let mut w = vec![0f32; coefficients.len()];
        for (o, row) in coefficients.chunks_exact(features).enumerate() {
            for (f, &c) in row.iter().enumerate() {
                w[f * outputs + o] = c;
            }
        }
        let w = self.constant_f32(vec![features as i64, outputs as i64], w);
        let xf = self.cast(x, elem::FLOAT);
        let product = self.emit("MatMul", vec![xf, w]);
        let b = if intercepts.is_empty() {
            vec![0.0; outputs]
        } else {
            intercepts.to_vec()
        };
        let b = self.constant_f32(vec![outputs as i64], b);
        Ok(self.emit("Add", vec![product, b]))
    }

    fn linear_regressor(&mut self, node: &NodeProto, x: String) -> Result<()> {
        let post = proto::string(node, "post_transform").unwrap_or_else(|| "NONE".into());
        if post != "NONE" {
            return Err(Error::attribute(
                node,
                "post_transform",
                format!("{post} is not supported"),
            ));
        }
        let targets = usize::try_from(proto::int(node, "targets").unwrap_or(1)).unwrap_or(0);
        let y = self.affine(
            node,
            x,
            targets,
            &proto::floats(node, "coefficients"),
            &proto::floats(node, "intercepts"),
        )?;
        self.emit_into("Identity", vec![y], &node.output[0], vec![]);
        Ok(())
    }

    /// onnxruntime's LinearClassifier scores: one score column per intercept, the post
    /// transform over them, and for one column with two labels `[1 − s, s]` untransformed.
    fn linear_classifier(&mut self, node: &NodeProto, x: String) -> Result<()> {
        let Some(scores) = node.output.get(1).filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        let intercepts = proto::floats(node, "intercepts");
        let labels = proto::ints(node, "classlabels_ints").len()
            + proto::strings(node, "classlabels_strings").len();
        let outputs = if intercepts.is_empty() {
            labels
        } else {
            intercepts.len()
        };
        let z = self.affine(
            node,
            x,
            outputs,
            &proto::floats(node, "coefficients"),
            &intercepts,
        )?;
        let post = proto::string(node, "post_transform").unwrap_or_else(|| "NONE".into());
        if post == "PROBIT" || post == "SOFTMAX_ZERO" {
            return Err(Error::attribute(
                node,
                "post_transform",
                format!("{post} is not supported"),
            ));
        }
        if outputs == 1 && labels == 2 {
            let one = self.constant_f32(vec![1], vec![1.0]);
            let negative = self.emit("Sub", vec![one, z.clone()]);
            self.emit_into(
                "Concat",
                vec![negative, z],
                scores,
                vec![proto::int_attr("axis", 1)],
            );
            return Ok(());
        }
        match post.as_str() {
            "NONE" => self.emit_into("Identity", vec![z], scores, vec![]),
            "LOGISTIC" => self.emit_into("Sigmoid", vec![z], scores, vec![]),
            "SOFTMAX" => {
                self.emit_into("Softmax", vec![z], scores, vec![proto::int_attr("axis", 1)])
            }
            other => {
                return Err(Error::attribute(
                    node,
                    "post_transform",
                    format!("unknown value {other:?}"),
                ))
            }
        }
        Ok(())
    }

    fn scaler(&mut self, node: &NodeProto, x: String) -> Result<()> {
        let offset = proto::floats(node, "offset");
        let scale = proto::floats(node, "scale");
        let xf = self.cast(x, elem::FLOAT);
        let offset = if offset.is_empty() { vec![0.0] } else { offset };
        let scale = if scale.is_empty() { vec![1.0] } else { scale };
        let o = self.constant_f32(vec![offset.len() as i64], offset);
        let s = self.constant_f32(vec![scale.len() as i64], scale);
        let centered = self.emit("Sub", vec![xf, o]);
        self.emit_into("Mul", vec![centered, s], &node.output[0], vec![]);
        Ok(())
    }

    /// A reduction over axis 1 keeping it, in the form the model's opset expects.
    fn reduce(&mut self, op: &str, x: String) -> String {
        let output = self.fresh(op);
        let axes_as_input = self.opset >= 18 || (op == "ReduceSum" && self.opset >= 13);
        let keep = proto::int_attr("keepdims", 1);
        if axes_as_input {
            let axes = self.constant_i64(vec![1]);
            self.emit_into(op, vec![x, axes], &output, vec![keep]);
        } else {
            self.emit_into(
                op,
                vec![x],
                &output,
                vec![keep, proto::ints_attr("axes", vec![1])],
            );
        }
        output
    }

    /// onnxruntime divides each row by its max, L1 or L2 norm, leaving all-zero rows as is.
    fn normalizer(&mut self, node: &NodeProto, x: String) -> Result<()> {
        let norm = proto::string(node, "norm").unwrap_or_else(|| "MAX".into());
        let xf = self.cast(x, elem::FLOAT);
        let divisor = match norm.as_str() {
            "MAX" => self.reduce("ReduceMax", xf.clone()),
            "L1" => {
                let abs = self.emit("Abs", vec![xf.clone()]);
                self.reduce("ReduceSum", abs)
            }
            "L2" => {
                let square = self.emit("Mul", vec![xf.clone(), xf.clone()]);
                let sum = self.reduce("ReduceSum", square);
                self.emit("Sqrt", vec![sum])
            }
            other => {
                return Err(Error::attribute(
                    node,
                    "norm",
                    format!("unknown value {other:?}"),
                ));
            }
        };
        let zero = self.constant_f32(vec![1], vec![0.0]);
        let one = self.constant_f32(vec![1], vec![1.0]);
        let is_zero = self.emit("Equal", vec![divisor.clone(), zero]);
        let safe = self.emit("Where", vec![is_zero, one, divisor]);
        self.emit_into("Div", vec![xf, safe], &node.output[0], vec![]);
        Ok(())
    }

    fn imputer(&mut self, node: &NodeProto, x: String) -> Result<()> {
        let imputed = proto::floats(node, "imputed_value_floats");
        if imputed.is_empty() {
            return Err(Error::attribute(
                node,
                "imputed_value_floats",
                "only float imputation is supported",
            ));
        }
        let replaced = proto::attr(node, "replaced_value_float").map_or(0.0, |a| a.f);
        let mask = if replaced.is_nan() {
            self.emit("IsNaN", vec![x.clone()])
        } else {
            let r = self.constant_f32(vec![1], vec![replaced]);
            self.emit("Equal", vec![x.clone(), r])
        };
        let values = self.constant_f32(vec![imputed.len() as i64], imputed);
        self.emit_into("Where", vec![mask, values, x], &node.output[0], vec![]);
        Ok(())
    }

    /// `[..] → [.., categories]` indicators; unknown values give all zeros (onnxruntime
    /// fails on them when `zeros` is 0). Strings go to category codes through CategoryMapper,
    /// since tract compares numbers only.
    fn one_hot(&mut self, node: &NodeProto, x: String) -> Result<()> {
        let strings = proto::strings(node, "cats_strings");
        let ints = proto::ints(node, "cats_int64s");
        let (codes, categories) = if !strings.is_empty() {
            let codes = self.fresh("codes");
            let count = strings.len() as i64;
            let mut mapper = proto::node(
                "CategoryMapper",
                self.fresh("node"),
                vec![x],
                vec![codes.clone()],
            );
            mapper.domain = "ai.onnx.ml".into();
            mapper.attribute = vec![
                proto::strings_attr("cats_strings", strings),
                proto::ints_attr("cats_int64s", (0..count).collect()),
                proto::int_attr("default_int64", -1),
            ];
            self.nodes.push(mapper);
            (codes, (0..count).collect())
        } else if !ints.is_empty() {
            (self.cast(x, elem::INT64), ints)
        } else {
            return Err(Error::attribute(node, "cats_strings", "no categories"));
        };
        let expanded = self.fresh("unsqueeze");
        if self.opset >= 13 {
            let axes = self.constant_i64(vec![-1]);
            self.emit_into("Unsqueeze", vec![codes, axes], &expanded, vec![]);
        } else {
            let axes = proto::ints_attr("axes", vec![-1]);
            self.emit_into("Unsqueeze", vec![codes], &expanded, vec![axes]);
        }
        let categories = self.constant_i64(categories);
        let hits = self.emit("Equal", vec![expanded, categories]);
        self.cast_into(hits, elem::FLOAT, &node.output[0]);
        Ok(())
    }

    fn array_feature_extractor(
        &mut self,
        node: &NodeProto,
        x: String,
        initializers: &[TensorProto],
    ) -> Result<()> {
        let index_name = node.input.get(1).cloned().unwrap_or_default();
        let Some(indices) = initializers.iter().find(|t| t.name == index_name) else {
            return Err(Error::UnsupportedStructure {
                reason: format!(
                    "ArrayFeatureExtractor {:?} selects with computed indices {index_name:?}; \
                     only constant indices are supported",
                    node.name
                ),
            });
        };
        let indices = proto::tensor_f64(indices)
            .map_err(|reason| Error::attribute(node, "indices", reason))?
            .into_iter()
            .map(|v| v as i64)
            .collect();
        let indices = self.constant_i64(indices);
        self.emit_into(
            "Gather",
            vec![x, indices],
            &node.output[0],
            vec![proto::int_attr("axis", 1)],
        );
        Ok(())
    }
}
