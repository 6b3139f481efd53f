//! Ingot's domain vocabulary: column types and schemas, tasks, statuses, hyperparameters,
//! metrics and the records the metadata store keeps. Pure data with no I/O, no async and no
//! knowledge of storage or HTTP.

pub mod endpoint_config;
mod error;
mod hyperparameters;
mod names;
pub mod records;
mod schema;
pub mod search;
mod status;

pub use endpoint_config::EndpointConfig;
pub use error::{Error, Result};
pub use hyperparameters::{Hyperparameters, Metrics};
pub use names::{validate_name, ModelRef, MAX_NAME_LEN};
pub use schema::{ColumnType, Field, Schema};
pub use status::{EndpointStatus, JobStatus, Task};

/// Milliseconds since the Unix epoch, the one timestamp representation used across Ingot.
pub type TimestampMillis = i64;
