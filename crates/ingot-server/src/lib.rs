//! Ingot's HTTP server: the axum routers for `/api/v1` (control plane) and
//! `/endpoints/{name}/...` (data plane), bearer-token auth, error → response mapping and the
//! OpenAPI document generated from the handlers. The only crate that knows HTTP on the server
//! side; handlers are thin (extract → call the platform → map the error).

mod api;
mod auth;
mod error;
mod extract;
mod invocations;
mod landing;
mod mlflow;
mod oip_errors;
mod serve;

use std::sync::Arc;

use axum::Router;
use ingot_service::Platform;

pub use error::ApiError;
pub use serve::{bind, run, BindError, ServerConfig};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The platform services.
    pub platform: Arc<Platform>,
    /// Whether requests must carry a valid bearer token.
    pub auth: bool,
}

/// The whole application router; tests drive it with `oneshot`.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router(state.clone()).split_for_parts();
    let openapi_json = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = openapi_json.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/", axum::routing::get(landing::landing))
        .merge(invocations::router(state.clone()))
        .merge(mlflow::router(state.clone()))
        .fallback(error::not_found_fallback)
        .with_state(state)
}

/// The OpenAPI document, for code generation and checks.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}
