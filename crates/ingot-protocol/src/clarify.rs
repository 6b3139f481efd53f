//! The Clarify wire types: `POST /api/v1/clarify/bias` and `POST /api/v1/clarify/explain`
//! requests over a stored dataset and, optionally, a registered model; both answer JSON
//! reports (see `docs/serving.md`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/clarify/bias`: SageMaker Clarify's bias metrics of a stored dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClarifyBiasRequest {
    /// Dataset name.
    pub dataset: String,
    /// Dataset version (latest when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_version: Option<i64>,
    /// Column holding the observed labels.
    pub label: String,
    /// Facet (sensitive attribute) column.
    pub facet: String,
    /// Disadvantaged facet values (each value against the rest when neither these nor a
    /// threshold is given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facet_values: Vec<String>,
    /// Numeric facet: rows above this threshold are the disadvantaged group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facet_threshold: Option<f64>,
    /// Positive label values (default: the larger of exactly two label values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive_label: Vec<String>,
    /// Group column for conditional demographic disparity (CDDL, CDDPL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Column of predicted labels (post-training metrics without a model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_label: Option<String>,
    /// Registered model `NAME[:VERSION]` whose predictions give the post-training metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A classifier's prediction is positive when its probability of the positive label(s)
    /// is at least this (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// `POST /api/v1/clarify/explain`: SHAP explanations of a registered model on a dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClarifyExplainRequest {
    /// Registered model `NAME[:VERSION]`.
    pub model: String,
    /// Dataset name: the rows to explain (the first `rows`) and the KernelSHAP background.
    pub dataset: String,
    /// Dataset version (latest when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_version: Option<i64>,
    /// Rows explained (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// KernelSHAP background rows sampled from the dataset (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<usize>,
    /// KernelSHAP coalitions per row (default 2M + 2048).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsamples: Option<usize>,
    /// Seed of the background sample and the coalitions (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// `kernel` forces KernelSHAP on tree models too (default: TreeSHAP for trees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}
