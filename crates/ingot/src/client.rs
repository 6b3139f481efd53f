//! A typed HTTP client for the Ingot server, over the shared wire types of `ingot-protocol`.

use anyhow::{anyhow, Context, Result};
use ingot_protocol::*;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Talks to one server with one (optional) token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:7070`).
    pub fn new(base: &str, token: Option<String>) -> Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("ingot-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder) -> Result<Response> {
        let response = builder.send().await.map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "cannot reach the Ingot server at {}: is `ingot server` running? (set --server or INGOT_SERVER)",
                    self.base
                )
            } else {
                anyhow!("request to {} failed: {e}", self.base)
            }
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from(response).await)
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T> {
        let response = self.send(builder).await?;
        response
            .json()
            .await
            .context("the server sent a response this client cannot read")
    }

    /// Any `/api/v1` call with an optional JSON body (used by the tracking commands).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let builder = self.request(method, path);
        match body {
            Some(body) => self.json(builder.json(body)).await,
            None => self.json(builder).await,
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(self.request(Method::GET, path)).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.json(self.request(Method::POST, path).json(body)).await
    }

    /// Uploads a data file as a new dataset version.
    pub async fn create_dataset(
        &self,
        name: &str,
        bytes: Vec<u8>,
        format: Option<&str>,
        source: &str,
    ) -> Result<DatasetVersionView> {
        let mut query = vec![("source", source.to_string())];
        if let Some(format) = format {
            query.push(("format", format.to_string()));
        }
        let builder = self
            .request(Method::POST, &format!("/api/v1/datasets/{name}/versions"))
            .query(&query)
            .header("content-type", "application/octet-stream")
            .body(bytes);
        self.json(builder).await
    }

    /// Creates a dataset version from a file the server reads itself.
    pub async fn create_dataset_from_path(
        &self,
        name: &str,
        path: &str,
        format: Option<&str>,
    ) -> Result<DatasetVersionView> {
        let body = CreateDatasetFromPath {
            path: path.to_string(),
            format: format.map(str::to_string),
        };
        self.post(
            &format!("/api/v1/datasets/{name}/versions/from-path"),
            &body,
        )
        .await
    }

    /// Lists datasets.
    pub async fn list_datasets(&self) -> Result<Vec<DatasetSummaryView>> {
        self.get("/api/v1/datasets").await
    }

    /// A dataset version (latest when `version` is `None`).
    pub async fn dataset(&self, name: &str, version: Option<i64>) -> Result<DatasetVersionView> {
        match version {
            Some(v) => {
                self.get(&format!("/api/v1/datasets/{name}/versions/{v}"))
                    .await
            }
            None => self.get(&format!("/api/v1/datasets/{name}")).await,
        }
    }

    /// Submits a training job.
    pub async fn create_training_job(&self, request: &CreateTrainingJob) -> Result<JobView> {
        self.post("/api/v1/training-jobs", request).await
    }

    /// A job.
    pub async fn job(&self, id: &str) -> Result<JobView> {
        self.get(&format!("/api/v1/training-jobs/{id}")).await
    }

    /// Recent jobs.
    pub async fn list_jobs(&self) -> Result<Vec<JobView>> {
        self.get("/api/v1/training-jobs").await
    }

    /// Log lines after `after`.
    pub async fn job_logs(&self, id: &str, after: i64) -> Result<Vec<LogLineView>> {
        self.get(&format!("/api/v1/training-jobs/{id}/logs?after={after}"))
            .await
    }

    /// Stops a job.
    pub async fn stop_job(&self, id: &str) -> Result<JobView> {
        self.post(
            &format!("/api/v1/training-jobs/{id}/stop"),
            &serde_json::json!({}),
        )
        .await
    }

    /// Lists models.
    pub async fn list_models(&self) -> Result<Vec<ModelSummaryView>> {
        self.get("/api/v1/models").await
    }

    /// A model version (latest when `version` is `None`).
    pub async fn model_version(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<ModelVersionView> {
        let version = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
        self.get(&format!("/api/v1/models/{name}/versions/{version}"))
            .await
    }

    /// Every version of a model in either registry (native and MLflow-registered).
    pub async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersionView>> {
        self.get(&format!("/api/v1/models/{name}/versions")).await
    }

    /// The model file of a version (latest when `version` is `None`).
    pub async fn model_artifact(&self, name: &str, version: Option<i64>) -> Result<Vec<u8>> {
        let version = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
        let path = format!("/api/v1/models/{name}/versions/{version}/artifact");
        let response = self.send(self.request(Method::GET, &path)).await?;
        Ok(response
            .bytes()
            .await
            .context("cannot read the model artifact")?
            .to_vec())
    }

    /// Deploys a model version.
    pub async fn deploy(&self, request: &CreateEndpoint) -> Result<EndpointView> {
        self.post("/api/v1/endpoints", request).await
    }

    /// An endpoint.
    pub async fn endpoint(&self, name: &str) -> Result<EndpointView> {
        self.get(&format!("/api/v1/endpoints/{name}")).await
    }

    /// Lists endpoints.
    pub async fn list_endpoints(&self) -> Result<Vec<EndpointView>> {
        self.get("/api/v1/endpoints").await
    }

    /// Deletes an endpoint.
    pub async fn delete_endpoint(&self, name: &str) -> Result<()> {
        self.send(self.request(Method::DELETE, &format!("/api/v1/endpoints/{name}")))
            .await?;
        Ok(())
    }

    /// Sends a raw body to a path and reads a JSON answer (model import).
    pub async fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<T> {
        let builder = self
            .request(Method::POST, path)
            .header("content-type", content_type)
            .body(body);
        self.json(builder).await
    }

    /// GETs a path's raw bytes (monitoring reports).
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let response = self.send(self.request(Method::GET, path)).await?;
        Ok(response
            .bytes()
            .await
            .context("cannot read the answer")?
            .to_vec())
    }

    /// DELETEs a path.
    pub async fn delete_path(&self, path: &str) -> Result<()> {
        self.send(self.request(Method::DELETE, path)).await?;
        Ok(())
    }

    /// Lists algorithms.
    pub async fn algorithms(&self) -> Result<Vec<AlgorithmView>> {
        self.get("/api/v1/algorithms").await
    }

    /// A POST of rows to an endpoint path, with their type and the answer's.
    fn rows_request(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
        accept: &str,
    ) -> RequestBuilder {
        self.request(Method::POST, path)
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body)
    }

    /// Queues an async invocation of an endpoint.
    pub async fn invoke_async(
        &self,
        endpoint: &str,
        body: Vec<u8>,
        content_type: &str,
        accept: &str,
        webhook_url: Option<&str>,
    ) -> Result<AsyncInvocationView> {
        let path = format!("/endpoints/{endpoint}/async-invocations");
        let mut builder = self.rows_request(&path, body, content_type, accept);
        if let Some(url) = webhook_url {
            builder = builder.header("x-ingot-webhook-url", url);
        }
        self.json(builder).await
    }

    /// An async invocation's status.
    pub async fn async_invocation(&self, endpoint: &str, id: &str) -> Result<AsyncInvocationView> {
        self.get(&format!("/endpoints/{endpoint}/async-invocations/{id}"))
            .await
    }

    /// Invokes an endpoint; returns the response body.
    pub async fn invoke(
        &self,
        endpoint: &str,
        body: Vec<u8>,
        content_type: &str,
        accept: &str,
    ) -> Result<Vec<u8>> {
        let path = format!("/endpoints/{endpoint}/invocations");
        let builder = self.rows_request(&path, body, content_type, accept);
        let response = self.send(builder).await?;
        Ok(response
            .bytes()
            .await
            .context("cannot read the endpoint's answer")?
            .to_vec())
    }
}

/// Turns an error response into a readable error, using the server's JSON error when present.
async fn error_from(response: Response) -> anyhow::Error {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => {
            let hint = if status == StatusCode::UNAUTHORIZED {
                "\nhint: pass --token or set INGOT_TOKEN (the admin token is in INGOT_HOME/admin-token)"
            } else {
                ""
            };
            anyhow!(
                "{} ({}): {}{hint}",
                status.as_u16(),
                body.error.code,
                body.error.message
            )
        }
        Err(_) => anyhow!("{}: {}", status, text.trim()),
    }
}
