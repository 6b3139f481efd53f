//! The data plane: the SageMaker-style hosting contract (`/endpoints/{name}/ping`,
//! `/invocations`), asynchronous invocations, the Open Inference Protocol v2 REST routes
//! (`/v2/...`) and Prometheus `/metrics`. Endpoint routes accept the admin token or one of the
//! endpoint's own invoke keys.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ingot_protocol::AsyncInvocationView;
use ingot_serve::{oip_binary, Protocol};
use ingot_service::{Answer, Invocation};
use serde::Deserialize;
use serde_json::json;

use crate::extract::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// Largest real-time invocation body (SageMaker allows 6 MB; we allow a little more).
pub(crate) const MAX_INVOCATION_BYTES: usize = 16 * 1024 * 1024;
/// Largest asynchronous payload.
const MAX_ASYNC_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn router(state: AppState) -> Router<AppState> {
    let endpoints = Router::new()
        .route("/endpoints/{name}/ping", get(ping))
        .route(
            "/endpoints/{name}/invocations",
            post(invoke).layer(DefaultBodyLimit::max(MAX_INVOCATION_BYTES)),
        )
        .route(
            "/endpoints/{name}/async-invocations",
            post(submit_async).layer(DefaultBodyLimit::max(MAX_ASYNC_BYTES)),
        )
        .route("/endpoints/{name}/async-invocations/{id}", get(show_async))
        .route(
            "/endpoints/{name}/async-invocations/{id}/output",
            get(async_output),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_invoke_token,
        ));
    let oip_models = Router::new()
        .route("/v2/models/{name}", get(oip_metadata))
        .route("/v2/models/{name}/ready", get(oip_ready))
        .route(
            "/v2/models/{name}/infer",
            post(oip_infer).layer(DefaultBodyLimit::max(MAX_INVOCATION_BYTES)),
        )
        .route(
            "/v2/models/{name}/versions/{version}",
            get(oip_version_metadata),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(oip_version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(oip_version_infer).layer(DefaultBodyLimit::max(MAX_INVOCATION_BYTES)),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_invoke_token,
        ));
    let metrics = Router::new().route("/metrics", get(metrics)).route_layer(
        axum::middleware::from_fn_with_state(state, crate::auth::require_token),
    );
    let oip = Router::new()
        .route(
            "/v2/health/live",
            get(|| async { Json(json!({"live": true})) }),
        )
        .route(
            "/v2/health/ready",
            get(|| async { Json(json!({"ready": true})) }),
        )
        .route(
            "/v2",
            get(|| async {
                Json(json!({
                    "name": "ingot",
                    "version": env!("CARGO_PKG_VERSION"),
                    "extensions": ["binary_tensor_data"],
                }))
            }),
        )
        .merge(oip_models)
        .layer(axum::middleware::map_response(
            crate::oip_errors::error_as_text,
        ));
    Router::new().merge(oip).merge(endpoints).merge(metrics)
}

/// Accepts the admin token or an invoke key of the endpoint named in the path.
async fn require_invoke_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !state.auth {
        return Ok(next.run(request).await);
    }
    let mut segments = request.uri().path().trim_start_matches('/').split('/');
    let endpoint = match (segments.next(), segments.next(), segments.next()) {
        (Some("endpoints"), Some(name), _) => name,
        (Some("v2"), Some("models"), Some(name)) => name,
        _ => return Err(ApiError::unauthenticated("unknown data-plane route")),
    }
    .to_string();
    let token = crate::auth::bearer_token(
        request.headers(),
        "missing Authorization: Bearer <token> header (an admin token or an endpoint key)",
    )?;
    if !state.platform.may_invoke(&endpoint, token).await? {
        return Err(ApiError::unauthenticated(format!(
            "this token may not invoke endpoint {endpoint}"
        )));
    }
    Ok(next.run(request).await)
}

/// The body, or a 400 naming the limit and the way around it. The data plane answers an
/// oversized payload like any other bad payload (as SageMaker's runtime does, with a
/// validation error), under the error code `payload_too_large`.
fn body_within(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
    hint: &str,
) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "payload_too_large",
                format!(
                    "request body is too large: the limit is {} MiB{hint}",
                    limit / (1024 * 1024)
                ),
            )
        } else {
            rejection.into()
        }
    })
}

const REALTIME_HINT: &str =
    "; send fewer rows per request, or use async invocations or a batch transform job";

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn invocation(headers: &HeaderMap, body: Bytes, protocol: Protocol) -> Invocation {
    Invocation {
        explain: false,
        body,
        content_type: header(headers, CONTENT_TYPE.as_str()),
        accept: header(headers, ACCEPT.as_str()),
        protocol,
        target_variant: header(headers, "x-ingot-target-variant"),
        target_model: header(headers, "x-ingot-target-model"),
    }
}

fn respond(answer: Answer) -> Response {
    let mut response = ([(CONTENT_TYPE, answer.content_type.clone())], answer.body).into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("x-ingot-variant", answer.variant);
    set(
        "x-ingot-model",
        format!("{}:{}", answer.model, answer.version),
    );
    set("x-ingot-event-id", answer.event_id);
    response
}

async fn ping(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<&'static str, ApiError> {
    state.platform.ping(&name).await?;
    Ok("")
}

/// `?explain=true`: answer SHAP explanations beside the predictions (docs/serving.md).
#[derive(Deserialize)]
struct InvokeParams {
    #[serde(default)]
    explain: bool,
}

async fn invoke(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<InvokeParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_within(body, MAX_INVOCATION_BYTES, REALTIME_HINT)?;
    if !headers.contains_key(CONTENT_TYPE) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "missing Content-Type: send text/csv, application/json or application/jsonlines",
        ));
    }
    let mut invocation = invocation(&headers, body, Protocol::Invocations);
    invocation.explain = params.explain;
    let answer = state.platform.invoke(&name, invocation).await?;
    Ok(respond(answer))
}

#[derive(Deserialize)]
struct AsyncParams {
    webhook_url: Option<String>,
}

async fn submit_async(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<AsyncParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AsyncInvocationView>), ApiError> {
    let body = body_within(
        body,
        MAX_ASYNC_BYTES,
        "; use a batch transform job for more",
    )?;
    let webhook = params
        .webhook_url
        .or_else(|| header(&headers, "x-ingot-webhook-url"));
    let queued = state
        .platform
        .submit_async(
            &name,
            invocation(&headers, body, Protocol::Invocations),
            webhook,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(queued.into())))
}

async fn show_async(
    State(state): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<Json<AsyncInvocationView>, ApiError> {
    Ok(Json(
        state.platform.async_invocation(&name, &id).await?.into(),
    ))
}

async fn async_output(
    State(state): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (content_type, body) = state.platform.async_output(&name, &id).await?;
    Ok(([(CONTENT_TYPE, content_type)], body).into_response())
}

async fn oip_metadata(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.platform.oip_metadata(&name, None).await?))
}

async fn oip_version_metadata(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        state.platform.oip_metadata(&name, Some(&version)).await?,
    ))
}

async fn oip_ready(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.platform.ping(&name).await?;
    Ok(Json(json!({"name": name, "ready": true})))
}

async fn oip_version_ready(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.platform.oip_variant(&name, &version).await?;
    state.platform.ping(&name).await?;
    Ok(Json(
        json!({"name": name, "version": version, "ready": true}),
    ))
}

async fn oip_infer(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    infer_on(&state, &name, None, &headers, body).await
}

/// `versions/{version}/infer`: the production variant that serves that model version
/// answers (the version as `MODEL:VERSION`, as the metadata lists it, or its number).
async fn oip_version_infer(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let variant = state.platform.oip_variant(&name, &version).await?;
    infer_on(&state, &name, Some(variant), &headers, body).await
}

async fn infer_on(
    state: &AppState,
    name: &str,
    variant: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_within(body, MAX_INVOCATION_BYTES, REALTIME_HINT)?;
    let header_length = header(headers, oip_binary::HEADER_LENGTH);
    // Binary tensors (Triton's extension) are rewritten into plain JSON first; the hot path
    // of a plain JSON request only pays for the scan of its bytes.
    let (body, binary_outputs) = if oip_binary::may_use_binary(header_length.as_deref(), &body) {
        let plain = oip_binary::plain_request(&body, header_length.as_deref())
            .map_err(ingot_service::Error::from)?;
        (Bytes::from(plain.json), plain.binary_outputs)
    } else {
        (body, None)
    };
    let mut invocation = invocation(headers, body, Protocol::Oip);
    if variant.is_some() {
        invocation.target_variant = variant;
    }
    let mut answer = state.platform.invoke(name, invocation).await?;
    let Some(wanted) = binary_outputs else {
        return Ok(respond(answer));
    };
    let (body, json_length) =
        oip_binary::binary_answer(&answer.body, &wanted).map_err(ingot_service::Error::from)?;
    answer.body = Bytes::from(body);
    answer.content_type = "application/octet-stream".to_string();
    let mut response = respond(answer);
    response
        .headers_mut()
        .insert(oip_binary::HEADER_LENGTH, HeaderValue::from(json_length));
    Ok(response)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.platform.render_metrics(),
    )
}
