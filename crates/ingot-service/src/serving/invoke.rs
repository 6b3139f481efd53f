//! The invocation path: pick the variant (by weight or `X-Ingot-Target-Variant`), resolve a
//! multi-model target, answer on the variant's replica pool, mirror a sample to the shadow,
//! capture a sample, and record metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ingot_core::endpoint_config::EndpointMode;
use ingot_core::ModelRef;
use ingot_serve::{InvokeRequest, Protocol, ResolvedModel};

use super::capture::CaptureRecord;
use super::live::{LiveEndpoint, LiveVariant};
use crate::{Error, ErrorKind, Platform, Result};

/// How long a `NAME` (latest version) multi-model target stays resolved.
const LATEST_TARGET_TTL: Duration = Duration::from_secs(5);

/// A request as the data plane received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub protocol: Protocol,
    /// `X-Ingot-Target-Variant`.
    pub target_variant: Option<String>,
    /// `X-Ingot-Target-Model` (multi-model endpoints).
    pub target_model: Option<String>,
    /// `?explain=true`: answer SHAP explanations beside the predictions.
    pub explain: bool,
}

/// The answer and who gave it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub content_type: String,
    pub body: Bytes,
    pub variant: String,
    pub model: String,
    pub version: i64,
    /// The capture event id, to join ground truth on later.
    pub event_id: String,
}

impl Platform {
    /// Answers a real-time invocation.
    pub async fn invoke(&self, name: &str, invocation: Invocation) -> Result<Answer> {
        let Some(live) = self.serving.live.get(name) else {
            return Err(self.not_serving(name).await);
        };
        if live.config.mode == EndpointMode::Async {
            return Err(Error::bad_input(format!(
                "endpoint {name} is asynchronous: POST to /endpoints/{name}/async-invocations"
            )));
        }
        self.answer(&live, invocation).await
    }

    /// Routes one invocation through a live endpoint.
    pub(crate) async fn answer(
        &self,
        live: &Arc<LiveEndpoint>,
        invocation: Invocation,
    ) -> Result<Answer> {
        let started = Instant::now();
        let variant = match &invocation.target_variant {
            Some(wanted) => live.variant(wanted).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "endpoint {} has no variant {wanted:?}; variants: {}",
                        live.name,
                        live.variants
                            .iter()
                            .map(|v| v.config.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
            None => live.pick(rand::random::<f64>()),
        };
        variant.touch();
        let _admitted = match live.config.max_concurrency {
            Some(cap) => Some(live.admit(cap).ok_or_else(|| {
                variant.metrics.record_error(429);
                Error::new(
                    ErrorKind::Throttled,
                    format!(
                        "endpoint {} already answers its max_concurrency of {cap} at once; \
                         retry with backoff",
                        live.name
                    ),
                )
            })?),
            None => None,
        };
        let target = match (&live.config.multi_model, &invocation.target_model) {
            (Some(_), Some(reference)) => Some(
                self.target(live, reference)
                    .await
                    .inspect_err(|e| variant.metrics.record_error(status_of(e.kind)))?,
            ),
            (Some(_), None) => {
                variant.metrics.record_error(400);
                return Err(Error::bad_input(format!(
                    "endpoint {} is multi-model: name the model in the X-Ingot-Target-Model \
                     header (NAME or NAME:VERSION)",
                    live.name
                )));
            }
            (None, Some(_)) => {
                variant.metrics.record_error(400);
                return Err(Error::bad_input(format!(
                    "endpoint {} serves fixed models; X-Ingot-Target-Model is only for \
                     multi-model endpoints",
                    live.name
                )));
            }
            (None, None) => None,
        };
        let request = InvokeRequest {
            body: invocation.body.clone(),
            content_type: invocation.content_type.clone(),
            accept: invocation.accept.clone(),
            protocol: invocation.protocol,
            target,
            endpoint: live.name.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            explain: invocation.explain,
        };
        let timeout = live.config.invocation_timeout();
        if let Some(shadow) = &live.shadow {
            let percent = live
                .config
                .shadow
                .as_ref()
                .map_or(0.0, |s| s.sample_percent);
            if sampled(percent) {
                // The shadow's answers are only recorded: it is not asked to explain them.
                let copy = InvokeRequest {
                    explain: false,
                    ..request.clone()
                };
                mirror(shadow.clone(), copy, timeout);
            }
        }
        let event_id = request.request_id.clone();
        let outcome = variant.pool.invoke_within(request, timeout).await;
        let total = started.elapsed().as_micros() as u64;
        let response = match outcome {
            Ok(response) => response,
            Err(e) => {
                variant.metrics.record_error(e.status());
                return Err(e.into());
            }
        };
        variant.metrics.record_ok(total, response.model_micros);
        let answer = Answer {
            content_type: response.content_type,
            body: response.body,
            variant: variant.config.name.clone(),
            model: response.model,
            version: response.version,
            event_id,
        };
        if let Some(capture) = &live.config.data_capture {
            if sampled(capture.sample_percent) {
                self.serving
                    .capture
                    .record(CaptureRecord::new(&live.name, &invocation, &answer));
            }
        }
        Ok(answer)
    }

    /// Resolves a multi-model target `NAME[:VERSION]`, checking the endpoint's prefix.
    async fn target(&self, live: &LiveEndpoint, reference: &str) -> Result<ResolvedModel> {
        if let Some((resolved, at)) = live
            .targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(reference)
        {
            if reference.contains(':') || at.elapsed() < LATEST_TARGET_TTL {
                return Ok(resolved.clone());
            }
        }
        let parsed: ModelRef = reference.parse().map_err(|e: ingot_core::Error| {
            Error::bad_input(format!("X-Ingot-Target-Model: {e}"))
        })?;
        let prefix = live
            .config
            .multi_model
            .as_ref()
            .map_or("", |m| m.model_prefix.as_str());
        if !parsed.name.starts_with(prefix) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "model {:?} is not served by endpoint {} (its models start with {prefix:?})",
                    parsed.name, live.name
                ),
            ));
        }
        let resolved = self
            .resolve(&parsed.name, parsed.version)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::NotFound => Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "unknown model {reference:?} in X-Ingot-Target-Model: {}",
                        e.message
                    ),
                ),
                _ => e,
            })?;
        live.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(reference.to_string(), (resolved.clone(), Instant::now()));
        Ok(resolved)
    }
}

/// Sends a copy to the shadow; its answer is recorded and dropped, never returned.
fn mirror(shadow: Arc<LiveVariant>, request: InvokeRequest, timeout: Duration) {
    tokio::spawn(async move {
        let started = Instant::now();
        shadow.touch();
        match shadow.pool.invoke_within(request, timeout).await {
            Ok(response) => shadow
                .metrics
                .record_ok(started.elapsed().as_micros() as u64, response.model_micros),
            Err(e) => shadow.metrics.record_error(e.status()),
        }
    });
}

fn sampled(percent: f64) -> bool {
    percent >= 100.0 || (percent > 0.0 && rand::random::<f64>() * 100.0 < percent)
}

fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::NotFound => 404,
        ErrorKind::Internal => 500,
        ErrorKind::Unavailable => 503,
        ErrorKind::Timeout => 504,
        ErrorKind::Throttled => 429,
        _ => 400,
    }
}
