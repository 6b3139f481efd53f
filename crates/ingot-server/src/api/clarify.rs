//! Clarify routes: bias metrics of a stored dataset (with a registered model's predictions)
//! and SHAP explanations of a registered model on a stored dataset.

use axum::extract::State;
use axum::Json;
use ingot_protocol::{ClarifyBiasRequest, ClarifyExplainRequest, ErrorBody};
use ingot_service::clarify::{BiasSpec, ExplainSpec, Method, DEFAULT_PROBABILITY_THRESHOLD};
use serde_json::Value;

use crate::extract::ApiJson;
use crate::{ApiError, AppState};

/// SageMaker Clarify's pre-training bias metrics and, with a model or a predicted-label
/// column, the post-training ones (shaped like Clarify's `analysis.json`).
#[utoipa::path(post, path = "/clarify/bias", tag = "clarify",
    request_body = ClarifyBiasRequest,
    responses((status = 200, description = "The bias report", body = Object),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn bias(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ClarifyBiasRequest>,
) -> Result<Json<Value>, ApiError> {
    let spec = BiasSpec {
        label: request.label,
        facet: request.facet,
        facet_values: request.facet_values,
        facet_threshold: request.facet_threshold,
        positive_labels: request.positive_label,
        group: request.group,
        predicted_label: request.predicted_label,
        threshold: request.threshold.unwrap_or(DEFAULT_PROBABILITY_THRESHOLD),
    };
    let outcome = state
        .platform
        .clarify_bias(
            &request.dataset,
            request.dataset_version,
            request.model.as_deref(),
            spec,
        )
        .await?;
    let mut report = serde_json::to_value(&outcome.report)
        .map_err(|e| ApiError::bad_request(format!("cannot encode the report: {e}")))?;
    report["dropped_rows"] = outcome.dropped.into();
    Ok(Json(report))
}

/// Global importance (mean |SHAP|) and per-row attributions: TreeSHAP for tree models,
/// KernelSHAP (background sampled from the dataset) for every other model.
#[utoipa::path(post, path = "/clarify/explain", tag = "clarify",
    request_body = ClarifyExplainRequest,
    responses((status = 200, description = "The explanation report", body = Object),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn explain(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ClarifyExplainRequest>,
) -> Result<Json<Value>, ApiError> {
    let defaults = ExplainSpec::default();
    let method = match request.method.as_deref() {
        None | Some("auto") => Method::Auto,
        Some("kernel") => Method::Kernel,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "method {other:?} must be auto or kernel"
            )))
        }
    };
    let spec = ExplainSpec {
        rows: request.rows.unwrap_or(defaults.rows),
        background: request.background.unwrap_or(defaults.background),
        nsamples: request.nsamples,
        seed: request.seed.unwrap_or(defaults.seed),
        method,
    };
    Ok(Json(
        state
            .platform
            .clarify_explain(
                &request.model,
                &request.dataset,
                request.dataset_version,
                spec,
            )
            .await?,
    ))
}
