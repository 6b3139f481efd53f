//! The MLflow-compatible REST surface: `/api/2.0/mlflow/...` and `/ajax-api/2.0/mlflow/...`
//! (tracking, logged models, registry) and `/api/2.0/mlflow-artifacts/...` (proxied, streamed
//! artifacts), so the unmodified `mlflow` client works against Ingot. Errors use MLflow's
//! `{"error_code", "message"}` body and status codes. Auth is the same bearer token as
//! `/api/v1` (the client sends `MLFLOW_TRACKING_TOKEN` as `Authorization: Bearer`).

mod artifacts;
mod convert;
mod logged_models;
mod registry;
mod runs;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ingot_core::search::Search;
use ingot_protocol_mlflow::filter::{parse_search, Context};
use ingot_protocol_mlflow::types::Request as WireRequest;
use ingot_protocol_mlflow::{ErrorCode, ErrorResponse};
use ingot_service::tracking_types::{SearchRequest, ViewType};
use ingot_service::ErrorKind;
use serde_json::{Map, Value};

use crate::AppState;

/// Fields that are lists on the wire; in a query string they may appear once or repeated.
const LIST_FIELDS: &[&str] = &["order_by", "experiment_ids", "run_ids", "stages"];

/// An MLflow error on its way to becoming a response.
#[derive(Debug)]
pub(crate) struct MlflowError {
    code: ErrorCode,
    message: String,
}

impl MlflowError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        MlflowError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::invalid(format!("Missing value for required parameter '{field}'."))
    }
}

impl From<ingot_service::Error> for MlflowError {
    fn from(e: ingot_service::Error) -> Self {
        let code = match e.kind {
            ErrorKind::BadInput | ErrorKind::Conflict => ErrorCode::InvalidParameterValue,
            ErrorKind::NotFound => ErrorCode::ResourceDoesNotExist,
            ErrorKind::AlreadyExists => ErrorCode::ResourceAlreadyExists,
            ErrorKind::Unauthenticated => ErrorCode::Unauthenticated,
            ErrorKind::UnsupportedMediaType | ErrorKind::NotAcceptable => ErrorCode::BadRequest,
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Throttled => {
                ErrorCode::TemporarilyUnavailable
            }
            ErrorKind::PayloadTooLarge => ErrorCode::InvalidParameterValue,
            ErrorKind::Internal => {
                let request_id = uuid::Uuid::new_v4();
                tracing::error!(%request_id, error = %e.message, "internal error (mlflow api)");
                return MlflowError::new(
                    ErrorCode::InternalError,
                    format!("internal error; see the server log for request id {request_id}"),
                );
            }
        };
        MlflowError::new(code, e.message)
    }
}

impl From<ingot_store::Error> for MlflowError {
    fn from(e: ingot_store::Error) -> Self {
        ingot_service::Error::from(e).into()
    }
}

impl From<ingot_artifacts::Error> for MlflowError {
    fn from(e: ingot_artifacts::Error) -> Self {
        ingot_service::Error::from(e).into()
    }
}

impl From<ingot_protocol_mlflow::Error> for MlflowError {
    fn from(e: ingot_protocol_mlflow::Error) -> Self {
        MlflowError::invalid(e.to_string())
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(ErrorResponse::new(self.code, self.message))).into_response()
    }
}

pub(crate) type MlResult<T = Json<Value>> = Result<T, MlflowError>;

/// The request message: the JSON body (POST/PATCH/DELETE) merged with the query string (GET
/// and extra flags such as `allow_deleted`).
pub(crate) struct Msg(pub WireRequest);

impl<S: Send + Sync> FromRequest<S> for Msg {
    type Rejection = MlflowError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_string();
        let is_get = req.method() == Method::GET;
        let mut object = Map::new();
        if !is_get {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|e| MlflowError::invalid(format!("cannot read the request body: {e}")))?;
            if !body.iter().all(u8::is_ascii_whitespace) {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(map)) => object = map,
                    Ok(_) => {
                        return Err(MlflowError::invalid(
                            "the request body must be a JSON object",
                        ))
                    }
                    Err(e) => {
                        return Err(MlflowError::new(
                            ErrorCode::BadRequest,
                            format!("malformed JSON body: {e}"),
                        ))
                    }
                }
            }
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
            .map_err(|e| MlflowError::invalid(format!("malformed query string: {e}")))?;
        for (key, value) in pairs {
            let key = key.trim_end_matches("[]").to_string();
            let is_list = LIST_FIELDS.contains(&key.as_str());
            match object.get_mut(&key) {
                Some(Value::Array(items)) if is_list || is_get => items.push(Value::String(value)),
                Some(existing) if is_get => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value)]);
                }
                Some(_) => {}
                None if is_list => {
                    object.insert(key, Value::Array(vec![Value::String(value)]));
                }
                None => {
                    object.insert(key, Value::String(value));
                }
            }
        }
        serde_json::from_value(Value::Object(object))
            .map(Msg)
            .map_err(|e| MlflowError::invalid(format!("invalid request: {e}")))
    }
}

/// A required string field, non-empty.
pub(crate) fn required<'a>(value: Option<&'a str>, field: &str) -> MlResult<&'a str> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| MlflowError::missing(field))
}

/// An experiment id: MLflow ids are decimal strings.
pub(crate) fn experiment_id(text: &str) -> MlResult<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| MlflowError::not_found(format!("Could not find experiment with ID {text}")))
}

/// Builds a paged search from the request's filter, order, token and limits.
pub(crate) fn search_request(
    msg: &WireRequest,
    context: Context,
    view: Option<&str>,
    default_max: i64,
    limit: i64,
) -> MlResult<SearchRequest> {
    let search: Search = parse_search(context, msg.filter_text(), &msg.order_by_strings())?;
    let max_results = msg.max_results.unwrap_or(default_max);
    if max_results <= 0 || max_results > limit {
        return Err(MlflowError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at \
             most {limit}, and a positive integer."
        )));
    }
    let view = match view.unwrap_or("ACTIVE_ONLY") {
        "ACTIVE_ONLY" | "" | "1" => ViewType::ActiveOnly,
        "DELETED_ONLY" | "2" => ViewType::DeletedOnly,
        "ALL" | "3" => ViewType::All,
        other => {
            return Err(MlflowError::invalid(format!(
                "Invalid view type {other:?}; expected ACTIVE_ONLY, DELETED_ONLY or ALL"
            )))
        }
    };
    Ok(SearchRequest {
        search,
        view,
        max_results,
        page_token: msg.page_token.clone().filter(|t| !t.is_empty()),
    })
}

/// `{}`: the body of MLflow's empty responses.
pub(crate) fn empty() -> Json<Value> {
    Json(Value::Object(Map::new()))
}

/// Bearer-token check with MLflow-shaped errors.
async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, MlflowError> {
    if !state.auth {
        return Ok(next.run(request).await);
    }
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            MlflowError::new(
                ErrorCode::Unauthenticated,
                "missing Authorization: Bearer <token> header (set MLFLOW_TRACKING_TOKEN)",
            )
        })?;
    if !state.platform.authenticate(token).await? {
        return Err(MlflowError::new(
            ErrorCode::Unauthenticated,
            "invalid API token",
        ));
    }
    Ok(next.run(request).await)
}

/// The tracking, logged-model and registry routes, relative to `/api/2.0/mlflow`.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(runs::routes())
        .merge(logged_models::routes())
        .merge(registry::routes())
        .route("/artifacts/list", get(artifacts::list_run_artifacts))
}

/// Every MLflow route, authenticated except the capability URLs of multipart parts.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .nest("/api/2.0/mlflow", api_routes())
        .nest("/ajax-api/2.0/mlflow", api_routes())
        .nest("/api/2.0/mlflow-artifacts", artifacts::routes())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifacts::routes())
        .route_layer(axum::middleware::from_fn_with_state(state, require_token));
    authenticated
        .route(
            "/api/2.0/mlflow-artifacts/mpu/part/{upload_id}/{part}",
            axum::routing::put(artifacts::upload_part)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/2.0/mlflow/ping", post(|| async { empty() }))
}
