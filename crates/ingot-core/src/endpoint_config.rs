//! How an endpoint is served: production variants with weights and replica ranges, an optional
//! shadow, data capture, dynamic batching, multi-model hosting and autoscaling. Plain data,
//! validated here so every transport rejects the same mistakes with the same words.

use serde::{Deserialize, Serialize};

use crate::{validate_name, Error, Result};

/// Default scale-in and scale-out cooldown, as SageMaker's target tracking.
pub const DEFAULT_COOLDOWN_SECS: u64 = 300;
/// The largest memory limit accepted for a replica or a transform worker, in MiB (16 TiB).
pub const MAX_MEMORY_LIMIT_MIB: u64 = 1 << 24;

/// Why `mib` is not an acceptable memory limit for a replica or a transform worker, if it is
/// not.
pub fn invalid_memory_limit(mib: u64) -> Option<String> {
    (!(1..=MAX_MEMORY_LIMIT_MIB).contains(&mib))
        .then(|| format!("must be between 1 and {MAX_MEMORY_LIMIT_MIB} (MiB), got {mib}"))
}
/// How long a real-time invocation may wait for its answer by default, as SageMaker's hosting
/// contract gives a container 60 s.
pub const DEFAULT_INVOCATION_TIMEOUT_SECS: u64 = 60;
/// The same for asynchronous endpoints, whose requests are long by design (an hour, as
/// SageMaker's asynchronous inference allows).
pub const DEFAULT_ASYNC_INVOCATION_TIMEOUT_SECS: u64 = 3600;
/// The longest invocation timeout accepted.
pub const MAX_INVOCATION_TIMEOUT_SECS: u64 = 3600;
/// The highest `max_concurrency` accepted.
pub const MAX_CONCURRENCY_LIMIT: u32 = 100_000;

/// The whole serving configuration of one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Production variants; traffic is split by weight (or chosen per request).
    pub variants: Vec<VariantConfig>,
    /// A variant that receives a sampled copy of traffic and never answers clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowConfig>,
    /// Request/response capture into the artifact store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_capture: Option<DataCaptureConfig>,
    /// Dynamic batching of concurrent requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<BatchingConfig>,
    /// Serve many models chosen per request instead of the variants' fixed model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_model: Option<MultiModelConfig>,
    /// Target-tracking autoscaling of every variant within its replica range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingConfig>,
    /// Real-time (answers in the request) or asynchronous (queued, answered later).
    #[serde(default)]
    pub mode: EndpointMode,
    /// Background rows for KernelSHAP explanations (`?explain=true`) of models without exact
    /// attributions; tree models need none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<ExplainConfig>,
    /// Longest wait for a replica's answer, in seconds; the request then fails with 504
    /// and the replica is health-checked. Absent: 60 s, or 3600 s for async endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_timeout_secs: Option<u64>,
    /// Most real-time invocations answered at once over the whole endpoint (SageMaker
    /// serverless' `MaxConcurrency`); one more is refused with 429 `throttled`. Absent: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
}

/// Where `?explain=true` takes KernelSHAP's background from: rows sampled from a stored
/// dataset version when the endpoint's replicas start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainConfig {
    /// Dataset whose rows are sampled.
    pub background_dataset: String,
    /// Its version (absent: the latest, resolved whenever the endpoint's replicas are built).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_version: Option<i64>,
    /// Rows sampled (default 50).
    #[serde(default = "background_rows")]
    pub background_rows: usize,
    /// Coalitions per explained row (default 2M + 2048, capped at 2^M − 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsamples: Option<usize>,
    /// Seed of the sample and the coalitions.
    #[serde(default)]
    pub seed: u64,
}

fn background_rows() -> usize {
    50
}

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointMode {
    /// `/invocations` answers with the predictions.
    #[default]
    RealTime,
    /// `/async-invocations` queues the request and answers with an id to poll.
    Async,
}

/// One step of a variant: a registered model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelStep {
    /// Registered model name.
    pub model: String,
    /// Its version.
    pub version: i64,
}

/// A production variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    /// Variant name, unique within the endpoint (`X-Ingot-Target-Variant`).
    pub name: String,
    /// The inference pipeline: each step's output feeds the next; the last one answers.
    /// A plain model is a one-step pipeline. Empty for multi-model endpoints.
    #[serde(default)]
    pub steps: Vec<ModelStep>,
    /// Relative traffic weight (≥ 0; weights need not sum to 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// Fewest replicas (0 allows scale to zero).
    #[serde(default = "one_u32")]
    pub min_replicas: u32,
    /// Most replicas.
    #[serde(default = "one_u32")]
    pub max_replicas: u32,
    /// Resident memory per replica process, in MiB, past which the replica is stopped and
    /// restarted (its in-flight requests retried once on another): a leaking model costs its
    /// own replica, never the server. Absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_mib: Option<u64>,
}

fn one() -> f64 {
    1.0
}

fn one_u32() -> u32 {
    1
}

/// A shadow variant and the share of traffic it mirrors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowConfig {
    /// The shadow's model (weight is ignored).
    pub variant: VariantConfig,
    /// Percentage of requests copied to it, 0–100.
    #[serde(default = "hundred")]
    pub sample_percent: f64,
}

fn hundred() -> f64 {
    100.0
}

/// Data capture settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCaptureConfig {
    /// Percentage of requests captured, 0–100.
    #[serde(default = "hundred")]
    pub sample_percent: f64,
}

/// Dynamic batching: concurrent requests are scored together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchingConfig {
    /// Most rows scored in one batch.
    pub max_batch_size: u32,
    /// Longest a request waits for others, in microseconds.
    pub max_delay_us: u64,
}

/// Multi-model hosting: `X-Ingot-Target-Model: NAME[:VERSION]` picks the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiModelConfig {
    /// Only registered models whose names start with this prefix can be targeted.
    #[serde(default)]
    pub model_prefix: String,
    /// Loaded models are evicted least-recently-used beyond this many bytes of model files.
    pub memory_budget_bytes: u64,
}

/// Target-tracking autoscaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingConfig {
    /// What is tracked.
    #[serde(default)]
    pub metric: ScalingMetric,
    /// The value per replica the scaler aims for (invocations per replica per minute, or
    /// concurrent requests per replica).
    pub target_value: f64,
    /// Seconds after a scale-out before another scale-out.
    #[serde(default = "cooldown")]
    pub scale_out_cooldown_secs: u64,
    /// Seconds after any scaling before a scale-in.
    #[serde(default = "cooldown")]
    pub scale_in_cooldown_secs: u64,
}

fn cooldown() -> u64 {
    DEFAULT_COOLDOWN_SECS
}

/// The tracked metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// Invocations per replica per minute (SageMaker's `InvocationsPerInstance`).
    #[default]
    InvocationsPerReplica,
    /// In-flight requests per replica.
    ConcurrencyPerReplica,
}

impl EndpointConfig {
    /// One variant named `primary` serving one model version with one replica.
    pub fn single(model: &str, version: i64) -> EndpointConfig {
        EndpointConfig {
            variants: vec![VariantConfig {
                name: "primary".to_string(),
                steps: vec![ModelStep {
                    model: model.to_string(),
                    version,
                }],
                weight: 1.0,
                min_replicas: 1,
                max_replicas: 1,
                memory_limit_mib: None,
            }],
            shadow: None,
            data_capture: None,
            batching: None,
            multi_model: None,
            autoscaling: None,
            mode: EndpointMode::RealTime,
            explain: None,
            invocation_timeout_secs: None,
            max_concurrency: None,
        }
    }

    /// How long an invocation waits for its answer (see `invocation_timeout_secs`).
    pub fn invocation_timeout(&self) -> std::time::Duration {
        let default = match self.mode {
            EndpointMode::RealTime => DEFAULT_INVOCATION_TIMEOUT_SECS,
            EndpointMode::Async => DEFAULT_ASYNC_INVOCATION_TIMEOUT_SECS,
        };
        std::time::Duration::from_secs(self.invocation_timeout_secs.unwrap_or(default))
    }

    /// Checks the configuration; the error names the offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: String, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.variants.is_empty() {
            return bad("variants".into(), "at least one variant is required".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, variant) in self.variants.iter().enumerate() {
            let field = format!("variants[{i}]");
            variant.validate(&field, self.multi_model.is_some())?;
            if !names.insert(variant.name.as_str()) {
                return bad(
                    format!("{field}.name"),
                    format!("duplicate variant name {:?}", variant.name),
                );
            }
        }
        if self.variants.iter().all(|v| v.weight == 0.0) {
            return bad(
                "variants".into(),
                "at least one variant needs a weight above 0".into(),
            );
        }
        if let Some(shadow) = &self.shadow {
            shadow
                .variant
                .validate("shadow.variant", self.multi_model.is_some())?;
            if names.contains(shadow.variant.name.as_str()) {
                return bad(
                    "shadow.variant.name".into(),
                    format!("{:?} is already a production variant", shadow.variant.name),
                );
            }
            percent("shadow.sample_percent", shadow.sample_percent)?;
        }
        if let Some(capture) = &self.data_capture {
            percent("data_capture.sample_percent", capture.sample_percent)?;
        }
        if let Some(batching) = &self.batching {
            if batching.max_batch_size == 0 {
                return bad(
                    "batching.max_batch_size".into(),
                    "must be at least 1".into(),
                );
            }
            if batching.max_delay_us > 1_000_000 {
                return bad(
                    "batching.max_delay_us".into(),
                    "must be at most 1000000 (one second)".into(),
                );
            }
        }
        if let Some(multi) = &self.multi_model {
            if multi.memory_budget_bytes == 0 {
                return bad(
                    "multi_model.memory_budget_bytes".into(),
                    "must be above 0".into(),
                );
            }
        }
        if let Some(secs) = self.invocation_timeout_secs {
            if !(1..=MAX_INVOCATION_TIMEOUT_SECS).contains(&secs) {
                return bad(
                    "invocation_timeout_secs".into(),
                    format!("must be between 1 and {MAX_INVOCATION_TIMEOUT_SECS}, got {secs}"),
                );
            }
        }
        if let Some(cap) = self.max_concurrency {
            if !(1..=MAX_CONCURRENCY_LIMIT).contains(&cap) {
                return bad(
                    "max_concurrency".into(),
                    format!("must be between 1 and {MAX_CONCURRENCY_LIMIT}, got {cap}"),
                );
            }
            if self.mode == EndpointMode::Async {
                return bad(
                    "max_concurrency".into(),
                    "async endpoints queue their requests; the cap is for real-time ones".into(),
                );
            }
        }
        if let Some(explain) = &self.explain {
            if let Err(e) = validate_name(&explain.background_dataset) {
                return bad("explain.background_dataset".into(), e.to_string());
            }
            if explain.background_version.is_some_and(|v| v < 1) {
                return bad(
                    "explain.background_version".into(),
                    "must be 1 or more".into(),
                );
            }
            if explain.background_rows == 0 || explain.background_rows > 1000 {
                return bad(
                    "explain.background_rows".into(),
                    "must be between 1 and 1000".into(),
                );
            }
            if explain.nsamples == Some(0) {
                return bad("explain.nsamples".into(), "must be at least 1".into());
            }
        }
        if let Some(scaling) = &self.autoscaling {
            if !(scaling.target_value.is_finite() && scaling.target_value > 0.0) {
                return bad(
                    "autoscaling.target_value".into(),
                    "must be a positive number".into(),
                );
            }
        }
        Ok(())
    }

    /// Every model version the configuration serves (production variants, then the shadow).
    pub fn steps(&self) -> impl Iterator<Item = &ModelStep> {
        self.variants
            .iter()
            .chain(self.shadow.as_ref().map(|s| &s.variant))
            .flat_map(|v| v.steps.iter())
    }
}

impl VariantConfig {
    fn validate(&self, field: &str, multi_model: bool) -> Result<()> {
        let bad = |sub: &str, reason: String| {
            Err(Error::InvalidConfig {
                field: format!("{field}.{sub}"),
                reason,
            })
        };
        if let Err(e) = validate_name(&self.name) {
            return bad("name", e.to_string());
        }
        if multi_model && !self.steps.is_empty() {
            return bad(
                "steps",
                "multi-model endpoints pick the model per request; leave steps empty".into(),
            );
        }
        if !multi_model && self.steps.is_empty() {
            return bad("steps", "at least one model step is required".into());
        }
        for (i, step) in self.steps.iter().enumerate() {
            if let Err(e) = validate_name(&step.model) {
                return bad(&format!("steps[{i}].model"), e.to_string());
            }
            if step.version < 1 {
                return bad(&format!("steps[{i}].version"), "must be 1 or more".into());
            }
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return bad(
                "weight",
                format!("must be a number ≥ 0, got {}", self.weight),
            );
        }
        if self.max_replicas == 0 || self.max_replicas < self.min_replicas {
            return bad(
                "max_replicas",
                format!(
                    "must be at least 1 and at least min_replicas ({})",
                    self.min_replicas
                ),
            );
        }
        if self.max_replicas > 64 {
            return bad("max_replicas", "must be at most 64".into());
        }
        if let Some(reason) = self.memory_limit_mib.and_then(invalid_memory_limit) {
            return bad("memory_limit_mib", reason);
        }
        Ok(())
    }
}

fn percent(field: &str, value: f64) -> Result<()> {
    if !(0.0..=100.0).contains(&value) {
        return Err(Error::InvalidConfig {
            field: field.to_string(),
            reason: format!("must be between 0 and 100, got {value}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_is_valid_and_round_trips() {
        let config = EndpointConfig::single("churn", 3);
        config.validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        let back: EndpointConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn defaults_fill_weight_and_replicas() {
        let config: EndpointConfig = serde_json::from_str(
            r#"{"variants":[{"name":"a","steps":[{"model":"m","version":1}]}]}"#,
        )
        .unwrap();
        assert_eq!(config.variants[0].weight, 1.0);
        assert_eq!(config.variants[0].max_replicas, 1);
        assert_eq!(config.mode, EndpointMode::RealTime);
        assert_eq!(config.invocation_timeout().as_secs(), 60);
        let mut config = config;
        config.mode = EndpointMode::Async;
        assert_eq!(config.invocation_timeout().as_secs(), 3600);
        config.invocation_timeout_secs = Some(5);
        assert_eq!(config.invocation_timeout().as_secs(), 5);
    }

    #[test]
    fn mistakes_name_the_field() {
        let mut config = EndpointConfig::single("m", 1);
        config.variants.push(config.variants[0].clone());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("variants[1].name"), "{err}");

        let mut config = EndpointConfig::single("m", 1);
        config.variants[0].weight = -1.0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("variants[0].weight"), "{err}");

        let mut config = EndpointConfig::single("m", 1);
        config.variants[0].min_replicas = 3;
        config.variants[0].max_replicas = 2;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("max_replicas"), "{err}");

        for mib in [0, MAX_MEMORY_LIMIT_MIB + 1] {
            let mut config = EndpointConfig::single("m", 1);
            config.variants[0].memory_limit_mib = Some(mib);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("variants[0].memory_limit_mib"), "{err}");
        }
        let mut config = EndpointConfig::single("m", 1);
        config.variants[0].memory_limit_mib = Some(512);
        config.validate().unwrap();

        for secs in [0, MAX_INVOCATION_TIMEOUT_SECS + 1] {
            let mut config = EndpointConfig::single("m", 1);
            config.invocation_timeout_secs = Some(secs);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("invocation_timeout_secs"), "{err}");
        }

        let mut config = EndpointConfig::single("m", 1);
        config.data_capture = Some(DataCaptureConfig {
            sample_percent: 150.0,
        });
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("data_capture.sample_percent"), "{err}");

        let mut config = EndpointConfig::single("m", 1);
        config.multi_model = Some(MultiModelConfig {
            model_prefix: String::new(),
            memory_budget_bytes: 1 << 20,
        });
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("variants[0].steps"), "{err}");

        let err = serde_json::from_str::<EndpointConfig>(
            r#"{"variants":[{"name":"a","steps":[],"wieght":2}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("wieght"), "{err}");
    }

    #[test]
    fn max_concurrency_is_bounded_and_real_time_only() {
        let mut config = EndpointConfig::single("m", 1);
        config.max_concurrency = Some(25);
        assert!(config.validate().is_ok());
        for cap in [0, MAX_CONCURRENCY_LIMIT + 1] {
            config.max_concurrency = Some(cap);
            let err = config.validate().unwrap_err().to_string();
            assert!(
                err.contains("max_concurrency") && err.contains(&cap.to_string()),
                "{err}"
            );
        }
        config.max_concurrency = Some(4);
        config.mode = EndpointMode::Async;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("async endpoints queue"), "{err}");
    }
}
