//! The `/api/v1` control-plane router and its OpenAPI document, assembled from the handler
//! modules with utoipa so the document can never drift from the code.

mod clarify;
mod datasets;
mod endpoints;
mod jobs;
mod models;
mod monitoring;
mod system;
mod tracking;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ingot API",
        description = "Control plane of Ingot, a self-hosted machine-learning platform. Every call needs `Authorization: Bearer <token>` unless the server runs with --no-auth."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ingot_protocol::ErrorBody, ingot_protocol::ErrorDetail)),
    tags(
        (name = "system", description = "Health and the algorithm catalogue"),
        (name = "datasets", description = "Immutable, profiled dataset versions"),
        (name = "training", description = "Asynchronous training jobs"),
        (name = "models", description = "The model registry"),
        (name = "endpoints", description = "Real-time endpoints"),
        (name = "tracking", description = "Experiments, runs, metric histories and run comparison"),
        (name = "clarify", description = "Bias metrics and SHAP explanations"),
        (name = "monitoring", description = "Baselines, monitoring schedules, executions and ground truth")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Largest dataset upload.
pub(crate) const MAX_DATASET_UPLOAD_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// The authenticated `/api/v1` routes.
pub(crate) fn router(state: AppState) -> OpenApiRouter<AppState> {
    let v1 = v1_routes().route_layer(axum::middleware::from_fn_with_state(
        state,
        crate::auth::require_token,
    ));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(ingot_protocol::API_PREFIX, v1)
}

/// The generated OpenAPI document.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest(ingot_protocol::API_PREFIX, v1_routes())
        .into_openapi()
}

/// Every `/api/v1` route, before auth is layered on.
fn v1_routes() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(datasets::create_version))
        .routes(routes!(models::import))
        .layer(axum::extract::DefaultBodyLimit::max(
            MAX_DATASET_UPLOAD_BYTES,
        ));
    OpenApiRouter::new()
        .routes(routes!(system::health))
        .routes(routes!(system::algorithms))
        .routes(routes!(datasets::list))
        .routes(routes!(datasets::create_from_path))
        .routes(routes!(datasets::latest))
        .routes(routes!(datasets::versions))
        .routes(routes!(datasets::version))
        .routes(routes!(jobs::create, jobs::list))
        .routes(routes!(jobs::show))
        .routes(routes!(jobs::logs))
        .routes(routes!(jobs::metrics))
        .routes(routes!(jobs::stop))
        .routes(routes!(models::list))
        .routes(routes!(models::versions))
        .routes(routes!(models::version))
        .routes(routes!(models::artifact))
        .routes(routes!(endpoints::create, endpoints::list))
        .routes(routes!(
            endpoints::show,
            endpoints::update,
            endpoints::delete
        ))
        .routes(routes!(endpoints::create_key, endpoints::list_keys))
        .routes(routes!(endpoints::delete_key))
        .routes(routes!(
            endpoints::create_transform,
            endpoints::list_transforms
        ))
        .routes(routes!(endpoints::show_transform))
        .routes(routes!(endpoints::stop_transform))
        .routes(routes!(
            tracking::list_experiments,
            tracking::create_experiment
        ))
        .routes(routes!(tracking::show_experiment))
        .routes(routes!(tracking::list_runs, tracking::create_run))
        .routes(routes!(tracking::compare))
        .routes(routes!(tracking::show_run, tracking::update_run))
        .routes(routes!(tracking::log))
        .routes(routes!(tracking::metric_history))
        .routes(routes!(tracking::registry_models))
        .routes(routes!(
            tracking::registry_model_show,
            tracking::registry_model_update
        ))
        .routes(routes!(tracking::approval))
        .routes(routes!(clarify::bias))
        .routes(routes!(clarify::explain))
        .routes(routes!(monitoring::create_baseline))
        .routes(routes!(monitoring::show_baseline, monitoring::put_baseline))
        .routes(routes!(
            monitoring::create_schedule,
            monitoring::list_schedules
        ))
        .routes(routes!(
            monitoring::show_schedule,
            monitoring::delete_schedule
        ))
        .routes(routes!(monitoring::run_schedule))
        .routes(routes!(monitoring::list_executions))
        .routes(routes!(monitoring::show_execution))
        .routes(routes!(monitoring::report))
        .routes(routes!(monitoring::ground_truth))
        .merge(uploads)
}
