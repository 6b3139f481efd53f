//! Proxied artifacts (`/api/2.0/mlflow-artifacts/...`): streamed upload, download, listing,
//! deletion and multipart uploads, stored as named objects under the artifact store's `runs/`
//! tree. Bodies are streamed straight between the socket and the object store, so memory stays
//! flat whatever the artifact size.
//!
//! Multipart parts are uploaded by the client without credentials (MLflow sends them to the
//! part URLs as it would to presigned S3 URLs), so each part URL carries the upload id, an
//! unguessable 128-bit capability that exists only after an authenticated `mpu/create`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, HOST};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use ingot_protocol_mlflow::types::{FileInfo, MultipartCredential, MultipartRequest};
use serde::Deserialize;
use serde_json::json;

use super::{empty, required, MlResult, MlflowError, Msg};
use crate::AppState;

/// Folder (below `runs/`) holding in-progress multipart uploads.
const UPLOADS_DIR: &str = "_mpu";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/artifacts", get(list))
        .route(
            "/artifacts/{*path}",
            get(download)
                .put(upload)
                .delete(delete_artifact)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/mpu/create/{*path}", post(mpu_create))
        .route("/mpu/complete/{*path}", post(mpu_complete))
        .route("/mpu/abort/{*path}", post(mpu_abort))
}

/// The store path of an `mlflow-artifacts:` URI (`mlflow-artifacts:/1/run/artifacts` or
/// `mlflow-artifacts://host/1/run/artifacts`).
pub(super) fn store_path(uri: &str) -> MlResult<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
        MlflowError::invalid(format!(
            "artifact location {uri:?} is not served by this server (expected mlflow-artifacts:)"
        ))
    })?;
    let path = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest.trim_start_matches('/'),
    };
    Ok(path.trim_end_matches('/').to_string())
}

fn join(base: &str, sub: &str) -> String {
    let sub = sub.trim_matches('/');
    match (base.is_empty(), sub.is_empty()) {
        (_, true) => base.to_string(),
        (true, false) => sub.to_string(),
        (false, false) => format!("{base}/{sub}"),
    }
}

/// Lists `sub` below an artifact root URI; returns the root URI and entries relative to it.
pub(super) async fn list_below(
    state: &AppState,
    root_uri: &str,
    sub: &str,
) -> MlResult<(String, Vec<FileInfo>)> {
    let root = store_path(root_uri)?;
    let dir = join(&root, sub);
    let entries = state
        .platform
        .artifact_store()
        .list_named(Some(&dir).filter(|d| !d.is_empty()).map(String::as_str))
        .await?;
    let files = entries
        .into_iter()
        .map(|e| FileInfo {
            path: e
                .path
                .strip_prefix(&format!("{root}/"))
                .unwrap_or(&e.path)
                .to_string(),
            is_dir: e.is_dir,
            file_size: e.size,
        })
        .collect();
    Ok((root_uri.to_string(), files))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    path: Option<String>,
}

/// `GET /mlflow-artifacts/artifacts?path=...`: entries directly below, by base name.
async fn list(State(state): State<AppState>, Query(query): Query<ListQuery>) -> MlResult {
    let dir = query.path.unwrap_or_default();
    let dir = dir.trim_matches('/');
    let entries = state
        .platform
        .artifact_store()
        .list_named(Some(dir).filter(|d| !d.is_empty()))
        .await?;
    let files: Vec<FileInfo> = entries
        .into_iter()
        .filter(|e| !(dir.is_empty() && e.path == UPLOADS_DIR))
        .map(|e| FileInfo {
            path: e.path.rsplit('/').next().unwrap_or(&e.path).to_string(),
            is_dir: e.is_dir,
            file_size: e.size,
        })
        .collect();
    Ok(Json(json!({ "files": files })))
}

/// `GET /api/2.0/mlflow/artifacts/list?run_id=...&path=...` (the tracking API's listing).
pub(super) async fn list_run_artifacts(State(state): State<AppState>, Msg(msg): Msg) -> MlResult {
    let run_id = required(msg.run(), "run_id")?;
    let run = state
        .platform
        .tracking()
        .run(run_id)
        .await
        .map_err(|_| MlflowError::not_found(format!("Run with id={run_id} not found")))?;
    let sub = msg.path.clone().unwrap_or_default();
    let (root_uri, files) = list_below(&state, &run.info.artifact_uri, &sub).await?;
    Ok(Json(json!({ "root_uri": root_uri, "files": files })))
}

fn not_uploads(path: &str) -> MlResult<()> {
    if path == UPLOADS_DIR || path.starts_with(&format!("{UPLOADS_DIR}/")) {
        return Err(MlflowError::invalid(format!(
            "artifact paths may not start with {UPLOADS_DIR}/"
        )));
    }
    Ok(())
}

async fn download(State(state): State<AppState>, Path(path): Path<String>) -> MlResult<Response> {
    not_uploads(&path)?;
    let (size, stream) = state
        .platform
        .artifact_store()
        .get_named(&path)
        .await
        .map_err(|e| match e {
            ingot_artifacts::Error::PathNotFound { .. } => {
                MlflowError::not_found(format!("Artifact {path:?} not found"))
            }
            other => other.into(),
        })?;
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}

async fn upload(State(state): State<AppState>, Path(path): Path<String>, body: Body) -> MlResult {
    not_uploads(&path)?;
    state
        .platform
        .artifact_store()
        .put_named(&path, body.into_data_stream())
        .await?;
    Ok(empty())
}

async fn delete_artifact(State(state): State<AppState>, Path(path): Path<String>) -> MlResult {
    not_uploads(&path)?;
    state.platform.artifact_store().delete_named(&path).await?;
    Ok(empty())
}

fn upload_dir(upload_id: &str) -> MlResult<String> {
    let valid = upload_id.len() == 32 && upload_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(MlflowError::not_found(format!(
            "no multipart upload {upload_id:?}"
        )));
    }
    Ok(format!("{UPLOADS_DIR}/{upload_id}"))
}

/// The destination recorded at `mpu/create`; `RESOURCE_DOES_NOT_EXIST` if the upload is unknown.
async fn upload_target(state: &AppState, upload_id: &str) -> MlResult<String> {
    let marker = format!("{}/target", upload_dir(upload_id)?);
    let (_, stream) = state
        .platform
        .artifact_store()
        .get_named(&marker)
        .await
        .map_err(|_| MlflowError::not_found(format!("no multipart upload {upload_id:?}")))?;
    let parts: Vec<Bytes> = stream.try_collect().await?;
    String::from_utf8(parts.concat())
        .map_err(|_| MlflowError::invalid(format!("corrupt multipart upload {upload_id:?}")))
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn mpu_create(
    State(state): State<AppState>,
    Path(dir): Path<String>,
    headers: HeaderMap,
    Json(request): Json<serde_json::Value>,
) -> MlResult {
    let request: MultipartRequest = serde_json::from_value(request)
        .map_err(|e| MlflowError::invalid(format!("invalid request: {e}")))?;
    let file_name = request
        .path
        .rsplit(['/', '\\'])
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| MlflowError::missing("path"))?;
    let target = join(dir.trim_matches('/'), file_name);
    not_uploads(&target)?;
    ingot_artifacts::validate_relative_path(&target)?;
    let num_parts = request.num_parts.unwrap_or(1);
    if !(1..=10_000).contains(&num_parts) {
        return Err(MlflowError::invalid(
            "num_parts must be between 1 and 10000",
        ));
    }
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    let marker = format!("{}/target", upload_dir(&upload_id)?);
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(target)) });
    state
        .platform
        .artifact_store()
        .put_named(&marker, body)
        .await?;
    let base = base_url(&headers);
    let credentials: Vec<MultipartCredential> = (1..=num_parts)
        .map(|part| MultipartCredential {
            url: format!("{base}/api/2.0/mlflow-artifacts/mpu/part/{upload_id}/{part}"),
            part_number: part,
            headers: Default::default(),
        })
        .collect();
    Ok(Json(
        json!({ "upload_id": upload_id, "credentials": credentials }),
    ))
}

/// `PUT .../mpu/part/{upload_id}/{part}`: one part, streamed to its own object.
pub(super) async fn upload_part(
    State(state): State<AppState>,
    Path((upload_id, part)): Path<(String, u32)>,
    body: Body,
) -> MlResult<Response> {
    upload_target(&state, &upload_id).await?;
    if !(1..=10_000).contains(&part) {
        return Err(MlflowError::invalid(
            "part number must be between 1 and 10000",
        ));
    }
    let key = format!("{}/part-{part:05}", upload_dir(&upload_id)?);
    let size = state
        .platform
        .artifact_store()
        .put_named(&key, body.into_data_stream())
        .await?;
    let etag = format!("\"{part}-{size}\"");
    let mut response = empty().into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, value);
    }
    Ok(response)
}

async fn mpu_complete(
    State(state): State<AppState>,
    Json(request): Json<serde_json::Value>,
) -> MlResult {
    let request: MultipartRequest = serde_json::from_value(request)
        .map_err(|e| MlflowError::invalid(format!("invalid request: {e}")))?;
    let upload_id = required(request.upload_id.as_deref(), "upload_id")?.to_string();
    let target = upload_target(&state, &upload_id).await?;
    let dir = upload_dir(&upload_id)?;
    let mut numbers: Vec<i64> = request.parts.iter().filter_map(|p| p.part_number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.is_empty() {
        return Err(MlflowError::missing("parts"));
    }
    let store = state.platform.artifact_store().clone();
    for n in &numbers {
        if store
            .named_size(&format!("{dir}/part-{n:05}"))
            .await?
            .is_none()
        {
            return Err(MlflowError::invalid(format!("part {n} was never uploaded")));
        }
    }
    // Parts are opened in order and read lazily as the combined object is written.
    let mut parts = Vec::with_capacity(numbers.len());
    for n in &numbers {
        let (_, stream) = store.get_named(&format!("{dir}/part-{n:05}")).await?;
        parts.push(stream);
    }
    let combined = futures::stream::iter(parts).flatten();
    store.put_named(&target, combined).await?;
    store.delete_named(&dir).await?;
    Ok(empty())
}

async fn mpu_abort(
    State(state): State<AppState>,
    Json(request): Json<serde_json::Value>,
) -> MlResult {
    let request: MultipartRequest = serde_json::from_value(request)
        .map_err(|e| MlflowError::invalid(format!("invalid request: {e}")))?;
    let upload_id = required(request.upload_id.as_deref(), "upload_id")?;
    let dir = upload_dir(upload_id)?;
    state.platform.artifact_store().delete_named(&dir).await?;
    Ok(empty())
}
