//! Endpoints: deploying a configuration (production variants, shadow, capture, batching,
//! multi-model, autoscaling) onto replica pools, updating it without dropping requests,
//! reloading at startup, and data-plane keys. Invocation routing lives in `invoke.rs`.

mod async_queue;
mod autoscaler;
mod capture;
mod invoke;
mod keys;
mod live;
mod transform;

use std::sync::Arc;

use async_trait::async_trait;
use ingot_artifacts::ArtifactStore;
use ingot_core::endpoint_config::{ModelStep, VariantConfig};
use ingot_core::records::Endpoint;
use ingot_core::{validate_name, EndpointConfig, EndpointStatus};
use ingot_serve::batch_transform::TransformRunner;
use ingot_serve::{ModelSource, PoolFactory, ReplicaSpec, ResolvedModel, ServingMetrics};

pub use capture::CAPTURE_PREFIX;
pub use invoke::{Answer, Invocation};
pub use transform::{TransformRequest, TransformStatus};

use crate::{Error, ErrorKind, Platform, Result};
pub(crate) use capture::CaptureWriter;
pub(crate) use keys::CredentialCache;
use live::{LiveEndpoint, LiveEndpoints, LiveVariant, ScaleState};

/// Model files read by replicas straight from the artifact store (verified by hash).
pub(crate) struct ArtifactSource(pub ArtifactStore);

#[async_trait]
impl ModelSource for ArtifactSource {
    async fn fetch(&self, artifact_hash: &str) -> ingot_serve::Result<Vec<u8>> {
        self.0
            .get(artifact_hash)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| ingot_serve::Error::Internal(format!("cannot read model file: {e}")))
    }
}

/// The serving half of the platform.
pub(crate) struct Serving {
    pub live: LiveEndpoints,
    pub factory: Arc<dyn PoolFactory>,
    pub source: Arc<dyn ModelSource>,
    pub metrics: ServingMetrics,
    pub capture: CaptureWriter,
    pub async_queue: async_queue::AsyncQueue,
    pub transforms: transform::TransformProgress,
    pub transform_runner: Option<Arc<dyn TransformRunner>>,
}

impl Serving {
    pub fn new(
        factory: Arc<dyn PoolFactory>,
        transform_runner: Option<Arc<dyn TransformRunner>>,
        artifacts: ArtifactStore,
    ) -> Serving {
        Serving {
            live: LiveEndpoints::default(),
            factory,
            source: Arc::new(ArtifactSource(artifacts.clone())),
            metrics: ServingMetrics::default(),
            capture: CaptureWriter::start(artifacts),
            async_queue: async_queue::AsyncQueue::default(),
            transforms: transform::TransformProgress::default(),
            transform_runner,
        }
    }
}

/// Live numbers of one variant, for `ingot endpoint show`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VariantStats {
    pub variant: String,
    pub shadow: bool,
    pub weight: f64,
    pub replicas: u32,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub in_flight: u32,
    pub loaded_models: usize,
    pub invocations: u64,
    pub errors_4xx: u64,
    pub errors_5xx: u64,
    pub restarts: u64,
    pub evictions: u64,
    /// Resident memory of the variant's replica processes, summed (absent for in-process
    /// replicas); the limit each may use is the variant's `memory_limit_mib`.
    pub resident_bytes: Option<u64>,
    /// Why a replica of the variant last crashed, was stopped or failed to start.
    pub last_failure: Option<String>,
    /// The autoscaler's recent changes of the replica count, the newest last.
    pub scaling_events: Vec<ingot_serve::autoscale::ScalingEvent>,
    pub model_latency_mean_us: f64,
    pub overhead_latency_mean_us: f64,
    /// Estimated from the latency histograms (linear within a bucket), like Prometheus'
    /// `histogram_quantile`; absent before the first answer.
    pub model_latency_p50_us: Option<f64>,
    pub model_latency_p99_us: Option<f64>,
    pub overhead_latency_p50_us: Option<f64>,
    pub overhead_latency_p99_us: Option<f64>,
    /// The histograms themselves, each bucket's own count (`ingot endpoint show` plots them).
    pub model_latency_buckets: Vec<ingot_serve::LatencyBucket>,
    pub overhead_latency_buckets: Vec<ingot_serve::LatencyBucket>,
}

impl Platform {
    /// Deploys one model version as endpoint `name` (one variant, one replica).
    pub async fn deploy(
        self: &Arc<Self>,
        name: &str,
        model: &str,
        version: Option<i64>,
    ) -> Result<Endpoint> {
        validate_name(name)?;
        let model_version = self.servable(model, version).await?;
        self.deploy_config(
            name,
            EndpointConfig::single(&model_version.model, model_version.version),
        )
        .await
    }

    /// Deploys a full configuration: recorded as `Creating`, loaded in the background, then
    /// `InService` (or `Failed` with the reason).
    pub async fn deploy_config(
        self: &Arc<Self>,
        name: &str,
        config: EndpointConfig,
    ) -> Result<Endpoint> {
        validate_name(name)?;
        config.validate()?;
        self.check_servable(&config).await?;
        let endpoint = self.store.create_endpoint(name, &config).await?;
        self.spawn_load(endpoint.clone());
        Ok(endpoint)
    }

    /// Replaces an endpoint's configuration (weights, models, shadow, capture, ...). The new
    /// variants are started and ready before traffic moves; the old endpoint keeps answering
    /// until then, and its retired pools finish their in-flight requests.
    pub async fn update_endpoint(
        self: &Arc<Self>,
        name: &str,
        config: EndpointConfig,
    ) -> Result<Endpoint> {
        config.validate()?;
        self.check_servable(&config).await?;
        let current = self.store.endpoint(name).await?;
        if current.config.mode != config.mode {
            return Err(Error::bad_input(
                "an endpoint's mode (real_time or async) cannot change; create a new endpoint",
            ));
        }
        let old = self.serving.live.get(name);
        let live = self.build_live(name, &config, old.as_deref()).await?;
        let endpoint = self.store.set_endpoint_config(name, &config).await?;
        self.install(live);
        self.store
            .set_endpoint_status(name, EndpointStatus::InService, None)
            .await?;
        Ok(endpoint)
    }

    /// Every model version of a configuration has a native version (versions registered
    /// through MLflow get theirs now) and, where its model requires it, an approval.
    async fn check_servable(&self, config: &EndpointConfig) -> Result<()> {
        for step in config.steps() {
            self.servable_version(&step.model, step.version).await?;
            self.check_deploy_approval(&step.model, step.version)
                .await?;
        }
        Ok(())
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
            let outcome = platform.build_live(&name, &endpoint.config, None).await;
            let (status, reason) = match &outcome {
                Ok(_) => (EndpointStatus::InService, None),
                Err(e) => (EndpointStatus::Failed, Some(e.message.clone())),
            };
            if let Ok(live) = outcome {
                platform.install(live);
            }
            match platform
                .store
                .set_endpoint_status(&name, status, reason.as_deref())
                .await
            {
                Ok(_) => tracing::info!(endpoint = %name, %status, "endpoint load finished"),
                // Deleted while loading: drop what was loaded.
                Err(_) => platform.unload(&name),
            }
        });
    }

    /// Swaps a live endpoint in, retiring the pools of the one it replaces.
    fn install(&self, live: LiveEndpoint) {
        let live = Arc::new(live);
        let kept: Vec<_> = live.all_variants().map(|v| v.pool.clone()).collect();
        if let Some(old) = self.serving.live.insert(live) {
            live::retire(old, kept);
        }
    }

    fn unload(&self, name: &str) {
        if let Some(old) = self.serving.live.remove(name) {
            live::retire(old, Vec::new());
        }
        self.serving.metrics.remove_endpoint(name);
    }

    /// Starts (or reuses from `old`, when unchanged) a pool per variant and waits until each
    /// can answer.
    async fn build_live(
        &self,
        name: &str,
        config: &EndpointConfig,
        old: Option<&LiveEndpoint>,
    ) -> Result<LiveEndpoint> {
        let mut variants = Vec::with_capacity(config.variants.len());
        for variant in &config.variants {
            variants.push(self.live_variant(name, config, variant, old).await?);
        }
        let shadow = match &config.shadow {
            Some(shadow) => Some(
                self.live_variant(name, config, &shadow.variant, old)
                    .await?,
            ),
            None => None,
        };
        Ok(
            LiveEndpoint::new(name.to_string(), config.clone(), variants, shadow)
                .counting_with(old),
        )
    }

    async fn live_variant(
        &self,
        endpoint: &str,
        config: &EndpointConfig,
        variant: &VariantConfig,
        old: Option<&LiveEndpoint>,
    ) -> Result<Arc<LiveVariant>> {
        let mut steps = Vec::with_capacity(variant.steps.len());
        for step in &variant.steps {
            steps.push(self.resolve(&step.model, Some(step.version)).await?);
        }
        let spec = ReplicaSpec {
            endpoint: endpoint.to_string(),
            variant: variant.name.clone(),
            steps,
            multi_model: config.multi_model.clone(),
            batching: config.batching.clone(),
            explain_background: match &config.explain {
                Some(explain) => {
                    let dataset = self
                        .dataset_version(&explain.background_dataset, explain.background_version)
                        .await?;
                    Some(ingot_serve::ExplainBackground {
                        content_hash: dataset.content_hash,
                        format: dataset.format,
                        rows: explain.background_rows,
                        nsamples: explain.nsamples,
                        seed: explain.seed,
                    })
                }
                None => None,
            },
            memory_limit_mib: variant.memory_limit_mib,
        };
        let metrics = self.serving.metrics.variant(endpoint, &variant.name);
        // An unchanged variant keeps its pool (and its warm replicas).
        if let Some(previous) = old.and_then(|o| o.all_variants().find(|v| v.spec == spec).cloned())
        {
            if previous.config.min_replicas == variant.min_replicas
                && previous.config.max_replicas == variant.max_replicas
            {
                // It keeps its scaling history too (cooldowns and recent changes).
                let scale = previous.scale_state().clone();
                return Ok(Arc::new(LiveVariant {
                    config: variant.clone(),
                    spec,
                    pool: previous.pool.clone(),
                    metrics,
                    scale: std::sync::Mutex::new(scale),
                }));
            }
        }
        let initial = variant
            .min_replicas
            .max(u32::from(config.autoscaling.is_none()));
        let initial = initial.min(variant.max_replicas);
        let pool = self
            .serving
            .factory
            .create(spec.clone(), initial, self.serving.source.clone())
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Conflict,
                    format!("variant {} cannot start: {e}", variant.name),
                )
            })?;
        // A new pool (a new variant, a new range, or a restart) keeps the kept history.
        let events = match self.store.scaling_events(endpoint, &variant.name).await {
            Ok(events) => events.into(),
            Err(e) => {
                tracing::warn!(endpoint, variant = %variant.name, error = %e,
                    "cannot read the scaling history");
                Default::default()
            }
        };
        Ok(Arc::new(LiveVariant {
            config: variant.clone(),
            spec,
            pool,
            metrics,
            scale: std::sync::Mutex::new(ScaleState {
                seen_replicas: Some(initial),
                events,
                ..Default::default()
            }),
        }))
    }

    /// A model version resolved to its artifact and size.
    pub(crate) async fn resolve(&self, model: &str, version: Option<i64>) -> Result<ResolvedModel> {
        let record = self.servable(model, version).await?;
        let size_bytes = self.artifacts.size(&record.artifact_hash).await?;
        Ok(ResolvedModel {
            model: record.model,
            version: record.version,
            artifact_hash: record.artifact_hash,
            size_bytes,
        })
    }

    /// An endpoint by name.
    pub async fn endpoint(&self, name: &str) -> Result<Endpoint> {
        Ok(self.store.endpoint(name).await?)
    }

    /// All endpoints.
    pub async fn list_endpoints(&self) -> Result<Vec<Endpoint>> {
        Ok(self.store.list_endpoints().await?)
    }

    /// Deletes an endpoint and stops its replicas.
    pub async fn delete_endpoint(&self, name: &str) -> Result<()> {
        self.store.delete_endpoint(name).await?;
        self.unload(name);
        Ok(())
    }

    /// Whether an endpoint is loaded and ready (`/ping`).
    pub async fn ping(&self, name: &str) -> Result<()> {
        if self.serving.live.get(name).is_some() {
            return Ok(());
        }
        Err(self.not_serving(name).await)
    }

    /// Explains why an endpoint is not live.
    pub(crate) async fn not_serving(&self, name: &str) -> Error {
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

    /// Open Inference Protocol model metadata: name, served versions, input tensors; with a
    /// version, only if a production variant serves it.
    pub async fn oip_metadata(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<serde_json::Value> {
        let Some(live) = self.serving.live.get(name) else {
            return Err(self.not_serving(name).await);
        };
        if let Some(version) = version {
            variant_serving(&live, version)?;
        }
        let versions: Vec<String> = served_steps(&live).map(|(_, step)| label(step)).collect();
        let schema = match live.variants.first().and_then(|v| v.config.steps.first()) {
            Some(step) => {
                self.store
                    .model_version(&step.model, Some(step.version))
                    .await?
                    .input_schema
            }
            None => ingot_core::Schema::new(Vec::new()),
        };
        Ok(ingot_serve::oip::model_metadata(name, &versions, &schema))
    }

    /// The production variant an OIP `versions/{version}` path names (see `variant_serving`).
    pub async fn oip_variant(&self, name: &str, version: &str) -> Result<String> {
        let Some(live) = self.serving.live.get(name) else {
            return Err(self.not_serving(name).await);
        };
        variant_serving(&live, version)
    }

    /// Per-variant live numbers of an endpoint (empty while it is not live).
    pub fn endpoint_stats(&self, name: &str) -> Vec<VariantStats> {
        let Some(live) = self.serving.live.get(name) else {
            return Vec::new();
        };
        live.all_variants()
            .map(|v| {
                let m = &v.metrics;
                let load =
                    |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
                VariantStats {
                    variant: v.config.name.clone(),
                    shadow: live.shadow.as_ref().is_some_and(|s| Arc::ptr_eq(s, v)),
                    weight: v.config.weight,
                    replicas: v.pool.replicas(),
                    min_replicas: v.config.min_replicas,
                    max_replicas: v.config.max_replicas,
                    in_flight: v.pool.in_flight(),
                    loaded_models: v.pool.loaded_models(),
                    invocations: m.invocations(),
                    errors_4xx: load(&m.errors_4xx),
                    errors_5xx: load(&m.errors_5xx),
                    restarts: v.pool.restarts(),
                    evictions: v.pool.evictions(),
                    resident_bytes: v.pool.resident_bytes(),
                    last_failure: v.pool.last_failure(),
                    scaling_events: v.scale_state().events.iter().cloned().collect(),
                    model_latency_mean_us: m.model_latency.mean_micros(),
                    overhead_latency_mean_us: m.overhead_latency.mean_micros(),
                    model_latency_p50_us: m.model_latency.quantile_micros(0.5),
                    model_latency_p99_us: m.model_latency.quantile_micros(0.99),
                    overhead_latency_p50_us: m.overhead_latency.quantile_micros(0.5),
                    overhead_latency_p99_us: m.overhead_latency.quantile_micros(0.99),
                    model_latency_buckets: m.model_latency.buckets(),
                    overhead_latency_buckets: m.overhead_latency.buckets(),
                }
            })
            .collect()
    }

    /// Every endpoint's metrics in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let serving = self.serving.metrics.render(&|endpoint, variant| {
            let live = self.serving.live.get(endpoint)?;
            let v = live.all_variants().find(|v| v.config.name == variant)?;
            Some(ingot_serve::VariantGauges {
                replicas: v.pool.replicas(),
                loaded_models: v.pool.loaded_models(),
                evictions: v.pool.evictions(),
                restarts: v.pool.restarts(),
                resident_bytes: v.pool.resident_bytes().unwrap_or(0),
            })
        });
        serving + &self.monitoring.render()
    }

    /// Stops every replica (server shutdown).
    pub async fn shutdown_serving(&self) {
        for live in self.serving.live.all() {
            for variant in live.all_variants() {
                variant.pool.shutdown().await;
            }
        }
        self.serving.capture.flush().await;
    }
}

/// Each production variant's name with the model version its last step serves.
fn served_steps(live: &LiveEndpoint) -> impl Iterator<Item = (&str, &ModelStep)> {
    live.variants
        .iter()
        .filter_map(|v| Some((v.config.name.as_str(), v.config.steps.last()?)))
}

/// `MODEL:VERSION`, as OIP metadata lists a served version.
fn label(step: &ModelStep) -> String {
    format!("{}:{}", step.model, step.version)
}

/// The production variant whose last step is model version `version`: `MODEL:VERSION` as the
/// OIP metadata lists it, or the bare number when one variant's model has it.
fn variant_serving(live: &LiveEndpoint, version: &str) -> Result<String> {
    let named = |step: &ModelStep| {
        let number = step.version.to_string();
        version == number
            || version
                .strip_prefix(step.model.as_str())
                .and_then(|rest| rest.strip_prefix(':'))
                == Some(number.as_str())
    };
    let matches: Vec<(&str, &ModelStep)> =
        served_steps(live).filter(|(_, step)| named(step)).collect();
    match matches.as_slice() {
        // One variant, or several with the same model version (the first answers).
        [(variant, step), rest @ ..] if rest.iter().all(|(_, other)| other == step) => {
            Ok(variant.to_string())
        }
        [] => {
            let served: Vec<String> = served_steps(live).map(|(_, step)| label(step)).collect();
            Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "endpoint {} serves no model version {version:?}; it serves {}",
                    live.name,
                    if served.is_empty() {
                        "models chosen per request (multi-model)".to_string()
                    } else {
                        served.join(", ")
                    }
                ),
            ))
        }
        several => Err(Error::bad_input(format!(
            "version {version:?} of endpoint {} is ambiguous: variants {} serve different \
             models with that number; name it as MODEL:VERSION",
            live.name,
            several
                .iter()
                .map(|(variant, _)| *variant)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
