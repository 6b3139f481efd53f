//! XGBoost JSON models (`booster.save_model("model.json")`, XGBoost 2.x / 3.x schema) as Ingot
//! trees: gbtree and dart boosters, regression / binary / count / multiclass objectives,
//! scalar or per-class `base_score`, numeric splits (float32 comparisons turned into exact
//! f64 thresholds, see [`crate::float32`]) and categorical splits.

use ingot_algo::{Error, Result};
use ingot_core::Task;
use ingot_gbdt::shap::Cover;
use ingot_gbdt::tree::{Node, Tree};
use serde_json::{json, Value};

use crate::float32::threshold_below;
use crate::model::{Link, TreeEnsemble};

/// Runtime and manifest name.
pub const FORMAT: &str = "xgboost";

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidImport {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// `value[key]`, or an error naming the full path.
fn field<'a>(value: &'a Value, path: &str, key: &str) -> Result<&'a Value> {
    value
        .get(key)
        .ok_or_else(|| invalid(format!("missing field {path}.{key}")))
}

fn text<'a>(value: &'a Value, path: &str) -> Result<&'a str> {
    value
        .as_str()
        .ok_or_else(|| invalid(format!("{path} is not a string")))
}

/// A number stored as a JSON number or, as XGBoost writes parameters, a string.
fn number(value: &Value, path: &str) -> Result<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("{path} is not a number: {value}")))
}

fn count(value: &Value, path: &str) -> Result<usize> {
    let n = number(value, path)?;
    if n < 0.0 || n.fract() != 0.0 || n > u32::MAX as f64 {
        return Err(invalid(format!("{path} is not a count: {value}")));
    }
    Ok(n as usize)
}

fn numbers(value: &Value, path: &str) -> Result<Vec<f64>> {
    value
        .as_array()
        .ok_or_else(|| invalid(format!("{path} is not an array")))?
        .iter()
        .enumerate()
        .map(|(i, v)| number(v, &format!("{path}[{i}]")))
        .collect()
}

/// `base_score` as XGBoost 3 writes it (`"[4.65E-1]"`, `"[a,b,c]"`) or 2.x (`"5E-1"`).
fn base_scores(value: &Value, path: &str) -> Result<Vec<f64>> {
    match value {
        Value::String(s) => {
            let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
            inner
                .split(',')
                .map(|part| {
                    part.trim()
                        .parse::<f64>()
                        .map_err(|_| invalid(format!("{path} is not a number list: {s:?}")))
                })
                .collect()
        }
        Value::Array(_) => numbers(value, path),
        other => Ok(vec![number(other, path)?]),
    }
}

/// Maps `base_score` (output space) to a margin.
type ToMargin = fn(f64) -> f64;

/// An objective's link, task (`None`: multiclass) and how `base_score` becomes a margin.
fn objective(name: &str) -> Result<(Link, Option<Task>, ToMargin)> {
    let identity: ToMargin = |b| b;
    let logit: ToMargin = |p| (p / (1.0 - p)).ln();
    let log: ToMargin = f64::ln;
    Ok(match name {
        "reg:squarederror"
        | "reg:linear"
        | "reg:absoluteerror"
        | "reg:pseudohubererror"
        | "reg:quantileerror"
        | "reg:squaredlogerror" => (Link::Identity, Some(Task::Regression), identity),
        "reg:logistic" => (Link::Sigmoid { scale: 1.0 }, Some(Task::Regression), logit),
        "binary:logistic" => (
            Link::Sigmoid { scale: 1.0 },
            Some(Task::BinaryClassification),
            logit,
        ),
        // Raw margins; Ingot reports the probabilities their logistic loss implies.
        "binary:logitraw" => (
            Link::Sigmoid { scale: 1.0 },
            Some(Task::BinaryClassification),
            identity,
        ),
        "count:poisson" | "reg:gamma" | "reg:tweedie" => (Link::Exp, Some(Task::Regression), log),
        "multi:softprob" | "multi:softmax" => (Link::Softmax, None, identity),
        other => {
            return Err(invalid(format!(
                "learner.objective.name: unsupported objective {other:?} (supported: \
                 reg:squarederror, reg:absoluteerror, reg:pseudohubererror, \
                 reg:quantileerror, reg:squaredlogerror, reg:logistic, binary:logistic, \
                 binary:logitraw, count:poisson, reg:gamma, reg:tweedie, multi:softprob, \
                 multi:softmax)"
            )))
        }
    })
}

/// Parses a saved XGBoost model: JSON (`m.json`) or UBJSON (`m.ubj`, XGBoost's binary format).
pub fn parse(bytes: &[u8]) -> Result<TreeEnsemble> {
    let root: Value = if crate::ubjson::looks_like_ubjson(bytes) {
        crate::ubjson::decode(bytes).map_err(|e| invalid(format!("not valid UBJSON: {e}")))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            let hint = if bytes.first() == Some(&b'{') {
                ""
            } else {
                " (is this a legacy binary model? save it as m.json or m.ubj)"
            };
            invalid(format!("not valid JSON: {e}{hint}"))
        })?
    };
    let learner = field(&root, "model", "learner")?;
    let params = field(learner, "learner", "learner_model_param")?;
    let path = "learner.learner_model_param";
    let num_features = count(
        field(params, path, "num_feature")?,
        &format!("{path}.num_feature"),
    )?;
    let num_class = match params.get("num_class") {
        Some(v) => count(v, &format!("{path}.num_class"))?,
        None => 0,
    };
    if let Some(v) = params.get("num_target") {
        let targets = count(v, &format!("{path}.num_target"))?;
        if targets > 1 {
            return Err(invalid(format!(
                "{path}.num_target is {targets}: multi-target models (several quantiles or \
                 targets) are not supported"
            )));
        }
    }
    let objective_name = text(
        field(
            field(learner, "learner", "objective")?,
            "learner.objective",
            "name",
        )?,
        "learner.objective.name",
    )?;
    let (link, task, to_margin) = objective(objective_name)?;
    let outputs = num_class.max(1);
    let task = match task {
        Some(task) => task,
        None if outputs > 2 => Task::MulticlassClassification,
        None if outputs == 2 => Task::BinaryClassification,
        None => {
            return Err(invalid(format!(
                "{path}.num_class is {num_class}; {objective_name} needs at least 2 classes"
            )))
        }
    };
    if link != Link::Softmax && outputs != 1 {
        return Err(invalid(format!(
            "{path}.num_class is {num_class} but {objective_name} has one output"
        )));
    }
    let bases = base_scores(
        field(params, path, "base_score")?,
        &format!("{path}.base_score"),
    )?;
    let base_margin: Vec<f64> = match bases.len() {
        1 => vec![to_margin(f64::from(bases[0] as f32)); outputs],
        n if n == outputs => bases
            .iter()
            .map(|&b| to_margin(f64::from(b as f32)))
            .collect(),
        n => {
            return Err(invalid(format!(
                "{path}.base_score has {n} values for {outputs} outputs"
            )))
        }
    };
    if base_margin.iter().any(|m| !m.is_finite()) {
        return Err(invalid(format!(
            "{path}.base_score {bases:?} has no finite margin under {objective_name}"
        )));
    }

    let booster = field(learner, "learner", "gradient_booster")?;
    let booster_name = text(
        field(booster, "learner.gradient_booster", "name")?,
        "learner.gradient_booster.name",
    )?;
    let (model, weights) = match booster_name {
        "gbtree" => (field(booster, "learner.gradient_booster", "model")?, None),
        "dart" => {
            let gbtree = field(booster, "learner.gradient_booster", "gbtree")?;
            let weights = numbers(
                field(booster, "learner.gradient_booster", "weight_drop")?,
                "learner.gradient_booster.weight_drop",
            )?;
            (
                field(gbtree, "learner.gradient_booster.gbtree", "model")?,
                Some(weights),
            )
        }
        other => {
            return Err(invalid(format!(
                "learner.gradient_booster.name: unsupported booster {other:?} (gbtree and \
                 dart are supported)"
            )))
        }
    };
    let mpath = "learner.gradient_booster.model";
    let raw_trees = field(model, mpath, "trees")?
        .as_array()
        .ok_or_else(|| invalid(format!("{mpath}.trees is not an array")))?;
    let tree_info: Vec<usize> = numbers(
        field(model, mpath, "tree_info")?,
        &format!("{mpath}.tree_info"),
    )?
    .into_iter()
    .map(|g| g as usize)
    .collect();
    if tree_info.len() != raw_trees.len() {
        return Err(invalid(format!(
            "{mpath}.tree_info has {} entries for {} trees",
            tree_info.len(),
            raw_trees.len()
        )));
    }
    if let Some(w) = &weights {
        if w.len() != raw_trees.len() {
            return Err(invalid(format!(
                "learner.gradient_booster.weight_drop has {} weights for {} trees",
                w.len(),
                raw_trees.len()
            )));
        }
    }
    // Group trees by output, then interleave them round-robin (tree t → output t % outputs).
    let mut by_output: Vec<Vec<Tree>> = vec![Vec::new(); outputs];
    for (i, raw) in raw_trees.iter().enumerate() {
        let group = tree_info[i];
        if group >= outputs {
            return Err(invalid(format!(
                "{mpath}.tree_info[{i}] is {group} but the model has {outputs} outputs"
            )));
        }
        let weight = weights.as_ref().map_or(1.0, |w| w[i]);
        let tree = convert_tree(raw, &format!("{mpath}.trees[{i}]"), num_features, weight)?;
        by_output[group].push(tree);
    }
    let rounds = by_output.iter().map(Vec::len).max().unwrap_or(0);
    let mut trees = Vec::with_capacity(rounds * outputs);
    let mut iters: Vec<_> = by_output.into_iter().map(Vec::into_iter).collect();
    for _ in 0..rounds {
        for it in iters.iter_mut() {
            // Outputs with fewer trees get zero trees, which change neither scores nor SHAP.
            trees.push(
                it.next()
                    .unwrap_or_else(|| Tree::new(Vec::new(), vec![0.0], vec![0], vec![1.0])),
            );
        }
    }

    let feature_names: Vec<String> = match learner.get("feature_names") {
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("learner.feature_names holds a non-string"))?,
        _ => Vec::new(),
    };
    if !feature_names.is_empty() && feature_names.len() != num_features {
        return Err(invalid(format!(
            "learner.feature_names has {} names for {num_features} features",
            feature_names.len()
        )));
    }
    let feature_types: Vec<String> = match learner.get("feature_types") {
        Some(Value::Array(types)) => types
            .iter()
            .map(|t| t.as_str().unwrap_or("float").to_string())
            .collect(),
        _ => Vec::new(),
    };
    let integer_features = (0..num_features)
        .map(|i| {
            matches!(
                feature_types.get(i).map(String::as_str),
                Some("int" | "c" | "i")
            )
        })
        .collect();
    let version = root.get("version").cloned().unwrap_or(Value::Null);
    let resolved = json!({
        "format": FORMAT,
        "version": version,
        "booster": booster_name,
        "objective": objective_name,
        "num_class": num_class,
        "num_feature": num_features,
        "base_score": bases,
        "trees": raw_trees.len(),
        "best_iteration": learner.get("attributes").and_then(|a| a.get("best_iteration")),
    });
    Ok(TreeEnsemble {
        trees,
        outputs,
        base_margin,
        divisor: 1.0,
        link,
        task,
        num_features,
        feature_names: (!feature_names.is_empty()).then_some(feature_names),
        integer_features,
        cover: Cover::Hessian,
        resolved,
        float32: true,
    })
}

/// One XGBoost tree (nodes and leaves in one array) as an Ingot tree (internal nodes in
/// pre-order, leaves apart). Leaf values are scaled by the dart `weight`.
fn convert_tree(raw: &Value, path: &str, num_features: usize, weight: f64) -> Result<Tree> {
    let arr = |key: &str| -> Result<Vec<f64>> {
        numbers(field(raw, path, key)?, &format!("{path}.{key}"))
    };
    let opt_arr = |key: &str| -> Result<Vec<f64>> {
        match raw.get(key) {
            Some(v) => numbers(v, &format!("{path}.{key}")),
            None => Ok(Vec::new()),
        }
    };
    if let Some(param) = raw.get("tree_param") {
        if let Some(size) = param.get("size_leaf_vector") {
            if count(size, &format!("{path}.tree_param.size_leaf_vector"))? > 1 {
                return Err(invalid(format!(
                    "{path}.tree_param.size_leaf_vector > 1: multi-output trees \
                     (multi_strategy=multi_output_tree) are not supported"
                )));
            }
        }
    }
    let left = arr("left_children")?;
    let right = arr("right_children")?;
    let feature = arr("split_indices")?;
    let condition = arr("split_conditions")?;
    let default_left = arr("default_left")?;
    let hessian = arr("sum_hessian")?;
    let gain = opt_arr("loss_changes")?;
    let base_weight = opt_arr("base_weights")?;
    let split_type = opt_arr("split_type")?;
    let n = left.len();
    for (key, len) in [
        ("right_children", right.len()),
        ("split_indices", feature.len()),
        ("split_conditions", condition.len()),
        ("default_left", default_left.len()),
        ("sum_hessian", hessian.len()),
    ] {
        if len != n {
            return Err(invalid(format!(
                "{path}.{key} has {len} entries, left_children has {n}"
            )));
        }
    }
    if n == 0 {
        return Err(invalid(format!("{path} has no nodes")));
    }
    // Categorical splits: node id → the categories sent right.
    let cat_nodes = opt_arr("categories_nodes")?;
    let cat_segments = opt_arr("categories_segments")?;
    let cat_sizes = opt_arr("categories_sizes")?;
    let categories = opt_arr("categories")?;
    let mut node_categories: Vec<Option<Vec<u32>>> = vec![None; n];
    for (j, &node) in cat_nodes.iter().enumerate() {
        let (Some(&start), Some(&size)) = (cat_segments.get(j), cat_sizes.get(j)) else {
            return Err(invalid(format!(
                "{path}.categories_segments / categories_sizes do not cover categories_nodes[{j}]"
            )));
        };
        let (node, start, size) = (node as usize, start as usize, size as usize);
        let Some(codes) = categories.get(start..start + size) else {
            return Err(invalid(format!(
                "{path}.categories_segments[{j}] points outside categories"
            )));
        };
        if node >= n || codes.iter().any(|&c| c < 0.0 || c >= (1u64 << 24) as f64) {
            return Err(invalid(format!("{path}.categories_nodes[{j}] is invalid")));
        }
        node_categories[node] = Some(codes.iter().map(|&c| c as u32).collect());
    }

    let mut nodes: Vec<Node> = Vec::new();
    let mut leaves: Vec<(f64, f64)> = Vec::new();
    let mut seen = vec![false; n];
    // (xgboost node id, parent internal index and side)
    let mut stack: Vec<(usize, Option<(usize, bool)>)> = vec![(0, None)];
    while let Some((id, parent)) = stack.pop() {
        if id >= n || std::mem::replace(&mut seen[id], true) {
            return Err(invalid(format!(
                "{path}: node {id} is out of range or reached twice"
            )));
        }
        let reference = if left[id] < 0.0 {
            let value = f64::from(condition[id] as f32) * weight;
            if !value.is_finite() {
                return Err(invalid(format!(
                    "{path}.split_conditions[{id}] is not finite"
                )));
            }
            leaves.push((value, f64::from(hessian[id] as f32)));
            !(leaves.len() as i32 - 1)
        } else {
            let f = feature[id];
            if f < 0.0 || f as usize >= num_features {
                return Err(invalid(format!(
                    "{path}.split_indices[{id}] is {f}, beyond num_feature {num_features}"
                )));
            }
            let xgb_default_left = default_left[id] != 0.0;
            let categorical = split_type.get(id).is_some_and(|&t| t == 1.0);
            let node = if categorical {
                let codes = node_categories[id].take().unwrap_or_default();
                if codes.is_empty() {
                    return Err(invalid(format!(
                        "{path}: categorical node {id} has no categories"
                    )));
                }
                // XGBoost sends the listed categories right and everything else (invalid and
                // unknown codes too) left: Ingot keeps the list on its left, so swap sides.
                make_node(f as u32, 0.0, codes, !xgb_default_left, true)
            } else {
                let c = condition[id] as f32;
                if !c.is_finite() {
                    return Err(invalid(format!(
                        "{path}.split_conditions[{id}] is not finite"
                    )));
                }
                make_node(
                    f as u32,
                    threshold_below(c),
                    Vec::new(),
                    xgb_default_left,
                    false,
                )
            };
            let index = nodes.len();
            nodes.push(Node {
                gain: gain.get(id).copied().unwrap_or(0.0),
                hessian: f64::from(hessian[id] as f32),
                value: base_weight.get(id).copied().unwrap_or(0.0) * weight,
                ..node
            });
            let (l, r) = (left[id] as usize, right[id] as usize);
            let (first, second) = if categorical { (r, l) } else { (l, r) };
            stack.push((second, Some((index, false))));
            stack.push((first, Some((index, true))));
            index as i32
        };
        if let Some((p, is_left)) = parent {
            if is_left {
                nodes[p].left = reference;
            } else {
                nodes[p].right = reference;
            }
        }
    }
    let tree = Tree::new(
        nodes,
        leaves.iter().map(|l| l.0).collect(),
        vec![0; leaves.len()],
        leaves.iter().map(|l| l.1).collect(),
    );
    tree.validate(num_features)
        .map_err(|e| invalid(format!("{path}: {e}")))?;
    Ok(tree)
}

fn make_node(
    feature: u32,
    threshold: f64,
    categories: Vec<u32>,
    default_left: bool,
    unknown_right: bool,
) -> Node {
    Node {
        feature,
        threshold,
        categories,
        default_left,
        zero_missing: false,
        unknown_right,
        left: 0,
        right: 0,
        gain: 0.0,
        count: 0,
        hessian: 0.0,
        value: 0.0,
    }
}

#[cfg(test)]
#[path = "xgboost_tests.rs"]
mod tests;
