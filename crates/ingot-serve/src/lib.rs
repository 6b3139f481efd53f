//! Inference without HTTP: decoding invocation bodies (CSV, JSON incl. MLflow's
//! `dataframe_split`/`dataframe_records`, JSON Lines, Open Inference Protocol v2 tensors)
//! against a model's input schema, encoding predictions, and the replica machinery that hosts
//! a variant's models: the [`ReplicaCore`] (fixed pipeline or multi-model LRU, optional dynamic
//! batching), the [`ReplicaPool`] contract, the in-process pool, and batch scoring of whole
//! datasets ([`batch_transform`]).

pub mod autoscale;
pub mod batch_transform;
mod batching;
mod cache;
mod codec;
mod core;
mod error;
pub mod explain;
mod in_process;
pub mod metrics;
mod model_lru;
pub mod oip;
pub mod oip_binary;
pub mod replica;
mod served;

pub use batching::Batcher;
pub use cache::{LoadedEndpoint, ModelCache};
pub use codec::{decode_request, encode_response, CsvHeader, RequestFormat, ResponseFormat};
pub use core::ReplicaCore;
pub use error::{Error, Result};
pub use in_process::{InProcessFactory, InProcessPool};
pub use metrics::{LatencyBucket, ServingMetrics, VariantGauges, VariantMetrics};
pub use model_lru::ModelLru;
pub use replica::{
    ExplainBackground, InvokeRequest, InvokeResponse, ModelSource, PoolFactory, Protocol,
    ReplicaPool, ReplicaSpec, ResolvedModel,
};
pub use served::{slice_predictions, Served};
