//! Ingot's HTTP wire types for `/api/v1`: request and response bodies with their OpenAPI
//! schemas, and the explicit conversions from domain records. Shared by the server and the CLI
//! client, so both sides agree on one definition. No I/O.

mod clarify;
mod convert;
mod monitoring;
mod tracking;
mod types;

pub use clarify::*;
pub use convert::fields;
pub use monitoring::*;
pub use tracking::*;
pub use types::*;

/// The API version prefix.
pub const API_PREFIX: &str = "/api/v1";
