//! LightGBM text models (`booster.save_model("model.txt")`, LightGBM 4.x) as Ingot trees:
//! regression, count, binary, multiclass (softmax and one-vs-all) objectives, `average_output`
//! (random-forest mode), the three missing-value types of numeric splits and categorical
//! bitset splits.
//!
//! LightGBM's numeric decision: NaN becomes 0.0 unless the missing type is NaN; then a
//! missing value (NaN for type NaN, `|x| <= 1e-35` for type Zero) follows the default
//! direction, everything else goes left when `x <= threshold`. So type None becomes an Ingot
//! node whose default direction is where 0.0 goes, type Zero a `zero_missing` node, type NaN a
//! plain node. Categorical nodes send the codes in their bitset left, and NaN, negative and
//! unknown codes right (`unknown_right`, default right); codes are truncated like LightGBM's
//! `static_cast<int>`.

use std::collections::BTreeMap;

use ingot_algo::{Error, Result};
use ingot_core::Task;
use ingot_gbdt::shap::Cover;
use ingot_gbdt::tree::{Node, Tree};
use serde_json::json;

use crate::model::{Link, TreeEnsemble};

/// Runtime and manifest name.
pub const FORMAT: &str = "lightgbm";

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidImport {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// `key=value` lines of one section.
type Section<'a> = BTreeMap<&'a str, &'a str>;

fn section<'a>(lines: &[&'a str]) -> Section<'a> {
    lines
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (l.trim(), ""),
        })
        .collect()
}

fn get<'a>(s: &Section<'a>, path: &str, key: &str) -> Result<&'a str> {
    s.get(key)
        .copied()
        .ok_or_else(|| invalid(format!("{path}: missing field {key}")))
}

fn parse_list<T: std::str::FromStr>(s: &Section<'_>, path: &str, key: &str) -> Result<Vec<T>> {
    let value = get(s, path, key)?;
    value
        .split_whitespace()
        .enumerate()
        .map(|(i, v)| {
            v.parse::<T>()
                .map_err(|_| invalid(format!("{path}: {key}[{i}] is not a number: {v:?}")))
        })
        .collect()
}

fn parse_one<T: std::str::FromStr>(s: &Section<'_>, path: &str, key: &str) -> Result<T> {
    let value = get(s, path, key)?;
    value
        .parse::<T>()
        .map_err(|_| invalid(format!("{path}: {key} is not a number: {value:?}")))
}

/// The link and task of an objective line such as `binary sigmoid:1`.
fn objective(line: &str, num_class: usize) -> Result<(Link, Task)> {
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or("");
    let options: BTreeMap<&str, &str> = words
        .map(|w| w.split_once(':').unwrap_or((w, "")))
        .collect();
    let sigmoid = || -> Result<f64> {
        match options.get("sigmoid") {
            None => Ok(1.0),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0)
                .ok_or_else(|| invalid(format!("objective: bad sigmoid {v:?}"))),
        }
    };
    let regression = |link| {
        if num_class != 1 {
            return Err(invalid(format!(
                "objective {name} with num_class={num_class}"
            )));
        }
        Ok((link, Task::Regression))
    };
    match name {
        "regression" | "regression_l2" | "regression_l1" | "huber" | "fair" | "quantile"
        | "mape" => regression(if options.contains_key("sqrt") {
            Link::Square
        } else {
            Link::Identity
        }),
        "poisson" | "gamma" | "tweedie" => regression(Link::Exp),
        "cross_entropy" | "xentropy" => regression(Link::Sigmoid { scale: 1.0 }),
        "binary" => {
            if num_class != 1 {
                return Err(invalid(format!(
                    "objective binary with num_class={num_class}"
                )));
            }
            Ok((
                Link::Sigmoid { scale: sigmoid()? },
                Task::BinaryClassification,
            ))
        }
        "multiclass" | "softmax" | "multiclassova" | "multiclass_ova" | "ova" | "ovr" => {
            if num_class < 2 {
                return Err(invalid(format!(
                    "objective {name} with num_class={num_class}; need at least 2 classes"
                )));
            }
            let link = if name == "multiclass" || name == "softmax" {
                Link::Softmax
            } else {
                Link::SigmoidEach { scale: sigmoid()? }
            };
            let task = if num_class == 2 {
                Task::BinaryClassification
            } else {
                Task::MulticlassClassification
            };
            Ok((link, task))
        }
        "" => Err(invalid(
            "objective: the model has no objective line (custom objective); its output \
             transform is unknown",
        )),
        other => Err(invalid(format!(
            "objective: unsupported objective {other:?} (supported: regression, \
             regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie, \
             cross_entropy, binary, multiclass, multiclassova)"
        ))),
    }
}

/// Parses a saved LightGBM text model.
pub fn parse(bytes: &[u8]) -> Result<TreeEnsemble> {
    let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8 text: {e}")))?;
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    if lines.first() != Some(&"tree") {
        return Err(invalid(
            "not a LightGBM text model: the first line must be \"tree\" (save the model with \
             booster.save_model(\"model.txt\"))",
        ));
    }
    let end = lines
        .iter()
        .position(|l| *l == "end of trees")
        .ok_or_else(|| invalid("truncated model: no \"end of trees\" line"))?;
    let first_tree = lines[..end]
        .iter()
        .position(|l| l.starts_with("Tree="))
        .unwrap_or(end);
    let header = section(&lines[1..first_tree]);
    let version = header.get("version").copied().unwrap_or("");
    let num_class: usize = parse_one(&header, "header", "num_class")?;
    let per_iteration: usize = parse_one(&header, "header", "num_tree_per_iteration")?;
    let max_feature: usize = parse_one(&header, "header", "max_feature_idx")?;
    let num_features = max_feature + 1;
    let objective_line = header.get("objective").copied().unwrap_or("");
    let (link, task) = objective(objective_line, num_class)?;
    let outputs = num_class.max(1);
    if per_iteration != outputs {
        return Err(invalid(format!(
            "header: num_tree_per_iteration={per_iteration} but num_class={num_class}"
        )));
    }
    let average = header.contains_key("average_output");
    let feature_names: Option<Vec<String>> = header
        .get("feature_names")
        .map(|v| v.split_whitespace().map(str::to_string).collect());
    if let Some(names) = &feature_names {
        if names.len() != num_features {
            return Err(invalid(format!(
                "header: feature_names has {} names for {num_features} features",
                names.len()
            )));
        }
    }
    // Categorical features list their values ("0:3:1"); numeric ones a range "[lo:hi]".
    let integer_features: Vec<bool> = header
        .get("feature_infos")
        .map(|v| {
            v.split_whitespace()
                .map(|info| !info.starts_with('[') && info != "none")
                .collect()
        })
        .unwrap_or_default();

    let mut trees = Vec::new();
    let mut start = first_tree;
    while start < end {
        let stop = lines[start + 1..end]
            .iter()
            .position(|l| l.starts_with("Tree="))
            .map_or(end, |p| start + 1 + p);
        let path = lines[start];
        trees.push(convert_tree(
            &section(&lines[start + 1..stop]),
            path,
            num_features,
        )?);
        start = stop;
    }
    if !trees.len().is_multiple_of(outputs) {
        return Err(invalid(format!(
            "{} trees is not a whole number of iterations of {outputs}",
            trees.len()
        )));
    }
    let iterations = trees.len() / outputs;
    let divisor = if average && iterations > 0 {
        iterations as f64
    } else {
        1.0
    };
    let resolved = json!({
        "format": FORMAT,
        "version": version,
        "objective": objective_line,
        "num_class": num_class,
        "num_feature": num_features,
        "trees": trees.len(),
        "average_output": average,
    });
    Ok(TreeEnsemble {
        trees,
        outputs,
        base_margin: vec![0.0; outputs],
        divisor,
        link,
        task,
        num_features,
        feature_names,
        integer_features,
        cover: Cover::Count,
        resolved,
        float32: false,
    })
}

/// Decision type bits.
const CATEGORICAL: u8 = 1;
const DEFAULT_LEFT: u8 = 2;
/// Missing types in bits 2–3.
const MISSING_ZERO: u8 = 1;
const MISSING_NAN: u8 = 2;

fn convert_tree(s: &Section<'_>, path: &str, num_features: usize) -> Result<Tree> {
    let num_leaves: usize = parse_one(s, path, "num_leaves")?;
    let leaf_value: Vec<f64> = parse_list(s, path, "leaf_value")?;
    if leaf_value.len() != num_leaves || num_leaves == 0 {
        return Err(invalid(format!(
            "{path}: leaf_value has {} values for num_leaves={num_leaves}",
            leaf_value.len()
        )));
    }
    if s.get("is_linear").is_some_and(|v| *v != "0") {
        return Err(invalid(format!(
            "{path}: linear trees (linear_tree=true) are not supported"
        )));
    }
    let optional = |key: &str, len: usize| -> Result<Vec<f64>> {
        if s.contains_key(key) {
            let v: Vec<f64> = parse_list(s, path, key)?;
            if v.len() != len {
                return Err(invalid(format!(
                    "{path}: {key} has {} values, expected {len}",
                    v.len()
                )));
            }
            Ok(v)
        } else {
            Ok(vec![0.0; len])
        }
    };
    let leaf_count = optional("leaf_count", num_leaves)?;
    let leaf_weight = optional("leaf_weight", num_leaves)?;
    if !leaf_value.iter().all(|v| v.is_finite()) {
        return Err(invalid(format!(
            "{path}: leaf_value holds a non-finite value"
        )));
    }
    if num_leaves == 1 {
        return Ok(Tree::new(
            Vec::new(),
            leaf_value,
            vec![leaf_count[0] as u64],
            leaf_weight,
        ));
    }
    let inner = num_leaves - 1;
    let list = |key: &str| -> Result<Vec<f64>> {
        let v: Vec<f64> = parse_list(s, path, key)?;
        if v.len() != inner {
            return Err(invalid(format!(
                "{path}: {key} has {} values for {inner} internal nodes",
                v.len()
            )));
        }
        Ok(v)
    };
    let split_feature = list("split_feature")?;
    let threshold = list("threshold")?;
    let decision_type = list("decision_type")?;
    let left_child = list("left_child")?;
    let right_child = list("right_child")?;
    let split_gain = optional("split_gain", inner)?;
    let internal_value = optional("internal_value", inner)?;
    let internal_weight = optional("internal_weight", inner)?;
    let internal_count = optional("internal_count", inner)?;
    let num_cat: usize = s
        .get("num_cat")
        .map_or(Ok(0), |_| parse_one(s, path, "num_cat"))?;
    let (boundaries, bitset): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
        (
            parse_list(s, path, "cat_boundaries")?,
            parse_list(s, path, "cat_threshold")?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut nodes = Vec::with_capacity(inner);
    for i in 0..inner {
        let feature = split_feature[i];
        if feature < 0.0 || feature as usize >= num_features {
            return Err(invalid(format!(
                "{path}: split_feature[{i}] is {feature}, beyond {num_features} features"
            )));
        }
        let decision = decision_type[i] as u8;
        let missing = (decision >> 2) & 3;
        let mut node = Node {
            feature: feature as u32,
            threshold: threshold[i],
            categories: Vec::new(),
            default_left: decision & DEFAULT_LEFT != 0,
            zero_missing: false,
            unknown_right: false,
            left: left_child[i] as i32,
            right: right_child[i] as i32,
            gain: split_gain[i],
            count: internal_count[i] as u64,
            hessian: internal_weight[i],
            value: internal_value[i],
        };
        if decision & CATEGORICAL != 0 {
            let index = threshold[i] as usize;
            let (Some(&from), Some(&to)) = (boundaries.get(index), boundaries.get(index + 1))
            else {
                return Err(invalid(format!(
                    "{path}: threshold[{i}] names categorical split {index}, beyond \
                     cat_boundaries"
                )));
            };
            let Some(words) = bitset.get(from..to) else {
                return Err(invalid(format!(
                    "{path}: cat_boundaries[{index}] points outside cat_threshold"
                )));
            };
            node.categories = words
                .iter()
                .enumerate()
                .flat_map(|(w, &bits)| {
                    (0..32)
                        .filter(move |b| bits >> b & 1 == 1)
                        .map(move |b| (w * 32 + b) as u32)
                })
                .collect();
            if node.categories.is_empty() {
                return Err(invalid(format!(
                    "{path}: categorical node {i} has no categories"
                )));
            }
            node.default_left = false;
            node.unknown_right = true;
        } else {
            // LightGBM writes `inf` for a split that only separates missing values.
            if node.threshold.is_nan() {
                return Err(invalid(format!("{path}: threshold[{i}] is NaN")));
            }
            match missing {
                MISSING_NAN => {}
                MISSING_ZERO => node.zero_missing = true,
                // None: NaN is compared as 0.0.
                _ => node.default_left = 0.0 <= node.threshold,
            }
        }
        nodes.push(node);
    }
    let tree = Tree::new(
        nodes,
        leaf_value,
        leaf_count.iter().map(|&c| c as u64).collect(),
        leaf_weight,
    );
    tree.validate(num_features)
        .map_err(|e| invalid(format!("{path}: {e}")))?;
    Ok(tree)
}

#[cfg(test)]
#[path = "lightgbm_tests.rs"]
mod tests;
