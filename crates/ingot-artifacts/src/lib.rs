//! Ingot's artifact store: immutable, content-addressed blobs (uploaded datasets, trained
//! models) on the local filesystem or any S3-compatible object store.
//!
//! Every artifact lives under `sha256/<first two hex digits>/<hex sha256>` below the store's
//! root, is verified against its digest on every read, and is never modified after it is
//! written. Digests given by callers are validated before they become keys, so no caller input
//! can address anything outside the store.

mod areas;
mod error;
mod location;
mod named;
mod paths;
mod store;

#[cfg(test)]
mod tests;

pub use areas::Area;
pub use error::{Error, Result};
pub use named::{NamedEntry, NAMED_DIR};
pub use paths::validate_relative_path;
pub use store::ArtifactStore;

/// The address and size of a stored artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactRef {
    /// Lowercase hex sha256 of the content.
    pub digest: String,
    /// Size of the content in bytes.
    pub size: u64,
}
