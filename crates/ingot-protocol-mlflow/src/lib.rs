//! MLflow's REST protocol as Ingot speaks it: the JSON wire types of the tracking, logged-model,
//! registry and artifact APIs (`types`), MLflow's error codes with their HTTP statuses
//! (`error`), and the search grammar (`filter`) that turns MLflow filter and `order_by`
//! strings into the storage-neutral [`ingot_core::search::Search`].
//!
//! Pure: no I/O and no HTTP framework. The server maps these types to and from domain records.

mod error;
pub mod filter;
mod numbers;
pub mod types;

pub use error::{Error, ErrorCode, ErrorResponse};
