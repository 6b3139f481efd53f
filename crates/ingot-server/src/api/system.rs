//! `GET /health` and `GET /algorithms`.

use axum::extract::State;
use axum::Json;
use ingot_protocol::{AlgorithmView, HealthView, HyperparameterView};

use crate::AppState;

/// Server liveness, version and whether auth is on.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, body = HealthView)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<HealthView> {
    Json(HealthView {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        auth: state.auth,
    })
}

/// The built-in algorithms and their documented hyperparameters.
#[utoipa::path(get, path = "/algorithms", tag = "system",
    responses((status = 200, body = Vec<AlgorithmView>)))]
pub(crate) async fn algorithms() -> Json<Vec<AlgorithmView>> {
    Json(
        ingot_catalog::algorithms()
            .into_iter()
            .map(|a| AlgorithmView {
                name: a.name().to_string(),
                description: a.description().to_string(),
                hyperparameters: a
                    .hyperparameters()
                    .iter()
                    .map(|h| HyperparameterView {
                        name: h.name.to_string(),
                        default: h.default.to_string(),
                        description: h.description.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    )
}
