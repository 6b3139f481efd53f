//! Real-time endpoints: deploying a model version (loaded into memory in the background),
//! reloading deployments at startup, and serving invocations from the in-memory cache.

use std::sync::Arc;

use ingot_core::records::Endpoint;
use ingot_core::{validate_name, EndpointStatus};
use ingot_serve::{decode_request, encode_response, LoadedEndpoint, RequestFormat, ResponseFormat};

use crate::{Error, ErrorKind, Platform, Result};

/// Bodies up to this size are scored on the calling task; larger ones on the blocking pool.
const INLINE_SCORING_BYTES: usize = 64 * 1024;

/// An invocation's answer: its media type and body.
pub type Invocation = (&'static str, Vec<u8>);

impl Platform {
    /// Deploys a model version as endpoint `name`: recorded as `Creating`, then loaded in the
    /// background and marked `InService` (or `Failed` with the reason).
    pub async fn deploy(
        self: &Arc<Self>,
        name: &str,
        model: &str,
        version: Option<i64>,
    ) -> Result<Endpoint> {
        validate_name(name)?;
        let model_version = self.store.model_version(model, version).await?;
        self.check_deploy_approval(&model_version.model, model_version.version)
            .await?;
        let endpoint = self
            .store
            .create_endpoint(name, &model_version.model, model_version.version)
            .await?;
        self.spawn_load(endpoint.clone());
        Ok(endpoint)
    }

    /// Loads every recorded endpoint again after a start.
    pub(crate) async fn reload_endpoints(self: &Arc<Self>) -> Result<()> {
        for endpoint in self.store.list_endpoints().await? {
            if endpoint.status != EndpointStatus::Creating {
                self.store
                    .set_endpoint_status(&endpoint.name, EndpointStatus::Creating, None)
                    .await?;
            }
            self.spawn_load(endpoint);
        }
        Ok(())
    }

    fn spawn_load(self: &Arc<Self>, endpoint: Endpoint) {
        let platform = self.clone();
        tokio::spawn(async move {
            let name = endpoint.name.clone();
            let outcome = platform.load_endpoint(&endpoint).await;
            let (status, reason) = match &outcome {
                Ok(()) => (EndpointStatus::InService, None),
                Err(e) => (EndpointStatus::Failed, Some(e.message.clone())),
            };
            match platform
                .store
                .set_endpoint_status(&name, status, reason.as_deref())
                .await
            {
                Ok(_) => tracing::info!(endpoint = %name, %status, "endpoint load finished"),
                // Deleted while loading: drop what was loaded.
                Err(_) => {
                    platform.models.remove(&name);
                }
            }
        });
    }

    async fn load_endpoint(&self, endpoint: &Endpoint) -> Result<()> {
        let version = self
            .store
            .model_version(&endpoint.model, Some(endpoint.model_version))
            .await?;
        let bytes = self.artifacts.get(&version.artifact_hash).await?;
        let loaded =
            tokio::task::spawn_blocking(move || ingot_catalog::LoadedModel::from_bytes(&bytes))
                .await??;
        self.models.insert(
            &endpoint.name,
            LoadedEndpoint {
                model: version.model,
                version: version.version,
                loaded,
            },
        );
        Ok(())
    }

    /// An endpoint by name.
    pub async fn endpoint(&self, name: &str) -> Result<Endpoint> {
        Ok(self.store.endpoint(name).await?)
    }

    /// All endpoints.
    pub async fn list_endpoints(&self) -> Result<Vec<Endpoint>> {
        Ok(self.store.list_endpoints().await?)
    }

    /// Deletes an endpoint and unloads its model.
    pub async fn delete_endpoint(&self, name: &str) -> Result<()> {
        self.store.delete_endpoint(name).await?;
        self.models.remove(name);
        Ok(())
    }

    /// Whether an endpoint is loaded and ready (`/ping`).
    pub async fn ping(&self, name: &str) -> Result<()> {
        if self.models.get(name).is_some() {
            return Ok(());
        }
        Err(self.not_serving(name).await)
    }

    /// Explains why an endpoint has no loaded model.
    async fn not_serving(&self, name: &str) -> Error {
        match self.store.endpoint(name).await {
            Ok(endpoint) => match endpoint.status {
                EndpointStatus::Failed => Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "endpoint {name} failed: {}",
                        endpoint.failure_reason.unwrap_or_default()
                    ),
                ),
                _ => Error::new(
                    ErrorKind::Unavailable,
                    format!("endpoint {name} is still loading; retry shortly"),
                ),
            },
            Err(e) => e.into(),
        }
    }

    /// Scores an invocation body with the endpoint's loaded model. Large batches are scored on
    /// the blocking pool.
    pub async fn invoke(
        &self,
        name: &str,
        body: bytes::Bytes,
        content_type: &str,
        accept: Option<&str>,
    ) -> Result<Invocation> {
        let Some(loaded) = self.models.get(name) else {
            return Err(self.not_serving(name).await);
        };
        let request = RequestFormat::from_content_type(content_type)?;
        let response = ResponseFormat::from_accept(accept, request)?;
        // Small bodies are scored inline: a few microseconds of arithmetic cost less than a
        // thread hop. Anything larger goes to the blocking pool.
        let inline = body.len() <= INLINE_SCORING_BYTES;
        let score = move || -> Result<Vec<u8>> {
            let schema = &loaded.loaded.manifest.input_schema;
            let batch = decode_request(&body, request, schema)?;
            let predictions = loaded.loaded.predict(&batch)?;
            Ok(encode_response(&predictions, response))
        };
        let encoded = if inline {
            score()?
        } else {
            tokio::task::spawn_blocking(score).await??
        };
        Ok((response.content_type(), encoded))
    }
}
