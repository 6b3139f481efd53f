//! Real-time inference without HTTP: decoding invocation bodies (CSV, JSON, JSON Lines) against
//! a model's input schema, encoding predictions in the requested media type, and the cache of
//! loaded models that invocations are served from with no per-request disk access.

mod cache;
mod codec;
mod error;

pub use cache::{LoadedEndpoint, ModelCache};
pub use codec::{decode_request, encode_response, RequestFormat, ResponseFormat};
pub use error::{Error, Result};
