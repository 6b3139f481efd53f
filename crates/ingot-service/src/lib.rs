//! Ingot's application services: the platform that ties the metadata store, the artifact store,
//! the job runner and the endpoint model cache together. Protocol-free: the HTTP server calls
//! these methods and maps [`ErrorKind`] to status codes. CPU-heavy work (parsing, training,
//! model loading, large scoring) runs on the job pool or the blocking pool, never on the async
//! runtime's worker threads.

mod auth;
mod autolog;
pub mod clarify;
mod datasets;
mod error;
mod import;
mod jobs;
pub mod monitoring;
mod platform;
mod registry_view;
mod serving;
mod tracking;
pub mod webhook;

pub use auth::{hash_token, AdminToken};
pub use autolog::{JOBS_EXPERIMENT, NATIVE_VERSION_TAG};
pub use error::{Error, ErrorKind, Result};
pub use jobs::JobProgress;
pub use platform::{Platform, PlatformConfig, TrainingRequest};
pub use registry_view::{InputDataset, Lineage, ModelDetail};
pub use serving::{
    Answer, Invocation, TransformRequest, TransformStatus, VariantStats, CAPTURE_PREFIX,
};
pub use tracking::{tracking_types, MetricSeries, RunComparison, TrackingStore};

/// The reason recorded on jobs that were running when the server stopped.
pub const INTERRUPTED_BY_RESTART: &str = "interrupted by restart";
