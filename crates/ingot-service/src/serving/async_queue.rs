//! Asynchronous inference: payloads are stored in the artifact store and queued in the
//! metadata store before the client gets an id, so a restart loses nothing; a worker answers
//! them in order, stores the output, and calls the webhook if one was given.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ingot_core::endpoint_config::EndpointMode;
use ingot_core::records::{AsyncInvocation, AsyncStatus};
use serde_json::json;
use tokio::sync::Notify;

use super::invoke::Invocation;
use crate::{Error, ErrorKind, Platform, Result};

/// Largest async payload.
pub const MAX_ASYNC_BYTES: usize = 64 * 1024 * 1024;

/// Wakes the worker when work arrives.
#[derive(Default)]
pub(crate) struct AsyncQueue {
    notify: Arc<Notify>,
}

impl Platform {
    /// Queues a payload for an async endpoint; returns the queued record.
    pub async fn submit_async(
        &self,
        endpoint: &str,
        invocation: Invocation,
        webhook_url: Option<String>,
    ) -> Result<AsyncInvocation> {
        let record = self.store.endpoint(endpoint).await?;
        if record.config.mode != EndpointMode::Async {
            return Err(Error::bad_input(format!(
                "endpoint {endpoint} is real-time: POST to /endpoints/{endpoint}/invocations"
            )));
        }
        if let Some(url) = &webhook_url {
            crate::webhook::validate_url(url).map_err(Error::bad_input)?;
        }
        if invocation.body.len() > MAX_ASYNC_BYTES {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "payload of {} bytes exceeds the {MAX_ASYNC_BYTES}-byte limit",
                    invocation.body.len()
                ),
            ));
        }
        let content_type = invocation.content_type.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedMediaType,
                "missing Content-Type: send text/csv, application/json or application/jsonlines",
            )
        })?;
        ingot_serve::RequestFormat::from_content_type(&content_type)?;
        let input = self.artifacts.put(invocation.body).await?;
        let now = ingot_store::now_millis();
        let queued = AsyncInvocation {
            id: uuid::Uuid::new_v4().to_string(),
            endpoint: endpoint.to_string(),
            status: AsyncStatus::Queued,
            content_type,
            accept: invocation.accept,
            target_model: invocation.target_model,
            target_variant: invocation.target_variant,
            input_hash: input.digest,
            output_hash: None,
            output_content_type: None,
            failure_reason: None,
            webhook_url,
            webhook_status: None,
            created_at: now,
            updated_at: now,
        };
        self.store.create_async_invocation(&queued).await?;
        self.serving.async_queue.notify.notify_one();
        Ok(queued)
    }

    /// One async invocation of an endpoint.
    pub async fn async_invocation(&self, endpoint: &str, id: &str) -> Result<AsyncInvocation> {
        let found = self.store.async_invocation(id).await?;
        if found.endpoint != endpoint {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("async invocation {id:?} not found on endpoint {endpoint}"),
            ));
        }
        Ok(found)
    }

    /// The answer of a completed async invocation: `(content type, body)`.
    pub async fn async_output(&self, endpoint: &str, id: &str) -> Result<(String, Bytes)> {
        let found = self.async_invocation(endpoint, id).await?;
        match (found.status, found.output_hash, found.output_content_type) {
            (AsyncStatus::Completed, Some(hash), Some(content_type)) => {
                Ok((content_type, self.artifacts.get(&hash).await?))
            }
            (AsyncStatus::Failed, ..) => Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "async invocation {id} failed: {}",
                    found.failure_reason.unwrap_or_default()
                ),
            )),
            _ => Err(Error::new(
                ErrorKind::Unavailable,
                format!("async invocation {id} is still queued; poll again later"),
            )),
        }
    }

    /// Starts the worker that drains the queue (oldest first), including what a previous
    /// process left queued.
    pub(crate) fn start_async_worker(self: &Arc<Self>) {
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(strong) = platform.upgrade() else {
                    return;
                };
                let worked = strong.drain_async_queue().await;
                let notify = strong.serving.async_queue.notify.clone();
                drop(strong);
                if !worked {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), notify.notified()).await;
                }
            }
        });
    }

    /// Answers every queued invocation whose endpoint is live; returns whether any was done.
    async fn drain_async_queue(self: &Arc<Self>) -> bool {
        let queued = match self.store.queued_async_invocations().await {
            Ok(queued) => queued,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the async queue");
                return false;
            }
        };
        let mut worked = false;
        for item in queued {
            let Some(live) = self.serving.live.get(&item.endpoint) else {
                continue; // still loading (or deleted): try again later
            };
            worked = true;
            let outcome = self.answer_async(&live, &item).await;
            let (status, output, reason) = match &outcome {
                Ok((hash, content_type)) => (
                    AsyncStatus::Completed,
                    Some((hash.as_str(), content_type.as_str())),
                    None,
                ),
                // Transient: leave it queued for the next pass.
                Err(e) if e.kind == ErrorKind::Unavailable => continue,
                Err(e) => (AsyncStatus::Failed, None, Some(e.message.as_str())),
            };
            if let Err(e) = self
                .store
                .finish_async_invocation(&item.id, status, output, reason)
                .await
            {
                tracing::error!(id = %item.id, error = %e, "cannot record async outcome");
                continue;
            }
            if let Some(url) = item.webhook_url.clone() {
                let platform = self.clone();
                let body = json!({
                    "id": item.id,
                    "endpoint": item.endpoint,
                    "status": status.as_str(),
                    "output_location": format!(
                        "/endpoints/{}/async-invocations/{}/output", item.endpoint, item.id
                    ),
                    "failure_reason": reason,
                });
                tokio::spawn(async move {
                    let outcome = crate::webhook::deliver(
                        &url,
                        &platform.webhook_secret,
                        "async_inference_completed",
                        &body,
                    )
                    .await;
                    let _ = platform
                        .store
                        .set_async_webhook_status(&item.id, &outcome)
                        .await;
                });
            }
        }
        worked
    }

    async fn answer_async(
        &self,
        live: &Arc<super::live::LiveEndpoint>,
        item: &AsyncInvocation,
    ) -> Result<(String, String)> {
        let body = self.artifacts.get(&item.input_hash).await?;
        let answer = self
            .answer(
                live,
                Invocation {
                    body,
                    content_type: Some(item.content_type.clone()),
                    accept: item.accept.clone(),
                    protocol: ingot_serve::Protocol::Invocations,
                    target_variant: item.target_variant.clone(),
                    target_model: item.target_model.clone(),
                    explain: false,
                },
            )
            .await?;
        let output = self.artifacts.put(answer.body).await?;
        Ok((output.digest, answer.content_type))
    }
}
