//! The replica contract: what the front (routing, auth, capture, metrics) sends to whatever
//! hosts a variant's models, whether that is the server process itself or a child process.
//!
//! A [`ReplicaPool`] is one variant's set of replicas. The front asks the pool to answer a
//! request; the pool picks a replica, retries once on another replica when the chosen one
//! dies mid-request, and grows or shrinks when the autoscaler says so.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use ingot_core::endpoint_config::{BatchingConfig, MultiModelConfig};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A model version resolved down to its stored artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResolvedModel {
    /// Registered model name.
    pub model: String,
    /// Version.
    pub version: i64,
    /// sha256 of the model file in the artifact store.
    pub artifact_hash: String,
    /// Size of the model file in bytes (the multi-model memory estimate).
    pub size_bytes: u64,
}

/// Everything a replica needs to serve one variant. Serializable, so a child process can
/// receive it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSpec {
    /// Endpoint name (for logs and metrics).
    pub endpoint: String,
    /// Variant name.
    pub variant: String,
    /// The inference pipeline, first step first; empty for multi-model endpoints.
    pub steps: Vec<ResolvedModel>,
    /// Multi-model hosting, when the model is chosen per request.
    #[serde(default)]
    pub multi_model: Option<MultiModelConfig>,
    /// Dynamic batching.
    #[serde(default)]
    pub batching: Option<BatchingConfig>,
    /// KernelSHAP background for `?explain=true` on models without exact attributions.
    #[serde(default)]
    pub explain_background: Option<ExplainBackground>,
    /// Resident memory past which a replica process is stopped and restarted, in MiB (the
    /// variant's `memory_limit_mib`; not enforced on in-process replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_mib: Option<u64>,
}

/// A stored dataset version whose sampled rows are KernelSHAP's background, resolved down to
/// its blob (fetched through the [`ModelSource`] like model files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainBackground {
    /// sha256 of the dataset file in the artifact store.
    pub content_hash: String,
    /// Its format (`csv`, `jsonl`, `parquet`).
    pub format: String,
    /// Rows sampled.
    pub rows: usize,
    /// Coalitions per explained row (`None`: 2M + 2048).
    pub nsamples: Option<usize>,
    /// Seed of the sample and the coalitions.
    pub seed: u64,
}

/// The wire protocol of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// `/invocations`: CSV, JSON (instances, records, MLflow dataframe_split/records) or
    /// JSON Lines, answered in the `Accept` type.
    Invocations,
    /// Open Inference Protocol v2 `infer` (typed tensors in, typed tensors out).
    Oip,
}

/// One request to a replica.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Request body as received.
    pub body: Bytes,
    /// Its `Content-Type` (ignored for OIP, which is always JSON).
    pub content_type: Option<String>,
    /// The client's `Accept`.
    pub accept: Option<String>,
    /// How to read the body.
    pub protocol: Protocol,
    /// For multi-model endpoints: the model this request targets.
    pub target: Option<ResolvedModel>,
    /// The endpoint name to report in OIP answers.
    pub endpoint: String,
    /// The request id (OIP `id`, logs).
    pub request_id: String,
    /// Answer per-row SHAP explanations beside the predictions (`?explain=true`; OIP bodies
    /// may also ask with `parameters.explain`). See `explain.rs` for the answer's shape.
    pub explain: bool,
}

/// A replica's answer.
#[derive(Debug, Clone)]
pub struct InvokeResponse {
    /// Media type of `body`.
    pub content_type: String,
    /// The encoded predictions.
    pub body: Bytes,
    /// The model that answered (last pipeline step, or the multi-model target).
    pub model: String,
    /// Its version.
    pub version: i64,
    /// Microseconds spent decoding, predicting and encoding inside the replica.
    pub model_micros: u64,
}

/// Where replicas read model files from (the artifact store, verified by hash).
#[async_trait]
pub trait ModelSource: Send + Sync {
    /// The bytes of the model file with this sha256.
    async fn fetch(&self, artifact_hash: &str) -> Result<Vec<u8>>;
}

/// One variant's replicas.
#[async_trait]
pub trait ReplicaPool: Send + Sync {
    /// Answers a request on one replica. When the chosen replica fails without answering
    /// (crashed, connection lost), the request is retried once on another healthy replica;
    /// errors the model itself raises (bad input) are returned as they are. With zero
    /// replicas (scaled to zero) one is started first (cold start).
    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResponse>;
    /// [`ReplicaPool::invoke`], given up with [`Error::timed_out`] naming the pool's
    /// `endpoint/variant` when no answer comes within `timeout` (waiting for a replica to start
    /// included).
    async fn invoke_within(
        &self,
        request: InvokeRequest,
        timeout: std::time::Duration,
    ) -> Result<InvokeResponse>;
    /// Waits until at least one replica answers `/ping` (or fails with why it cannot).
    async fn ready(&self) -> Result<()>;
    /// Grows or shrinks to `replicas` (the caller keeps it within the variant's range).
    async fn scale(&self, replicas: u32) -> Result<()>;
    /// Replicas currently running.
    fn replicas(&self) -> u32;
    /// Requests in flight right now.
    fn in_flight(&self) -> u32;
    /// Models currently loaded, summed over replicas.
    fn loaded_models(&self) -> usize;
    /// Replicas restarted after crashing, since the pool started.
    fn restarts(&self) -> u64 {
        0
    }
    /// Models evicted by the multi-model LRU, summed over replicas.
    fn evictions(&self) -> u64 {
        0
    }
    /// Resident memory of the replica processes, summed; `None` when replicas are not
    /// processes of their own (in-process pools).
    fn resident_bytes(&self) -> Option<u64> {
        None
    }
    /// Why a replica last crashed, was stopped or failed to start, if one has.
    fn last_failure(&self) -> Option<String> {
        None
    }
    /// Stops every replica.
    async fn shutdown(&self);
}

/// Creates replica pools: in this process (tests, `--replica-mode in-process`) or as child
/// processes (`ingot server`'s default).
#[async_trait]
pub trait PoolFactory: Send + Sync {
    /// Starts `replicas` replicas serving `spec` and returns once the first is ready (or at
    /// once when `replicas` is 0).
    async fn create(
        &self,
        spec: ReplicaSpec,
        replicas: u32,
        source: Arc<dyn ModelSource>,
    ) -> Result<Arc<dyn ReplicaPool>>;
}
