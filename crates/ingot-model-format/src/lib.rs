//! The versioned, self-describing container every trained Ingot model is stored in.
//!
//! # Constraints
//!
//! A model file outlives the binary that wrote it: it is copied between machines, stored in
//! object stores, served by other versions of Ingot and inspected by humans and tools that know
//! nothing about the algorithm inside. The same training run must produce the same bytes, so
//! artifacts can be content-addressed. Corruption (truncated uploads, bit flips) must be detected
//! before any algorithm code interprets the payload, and a file written by a newer Ingot must be
//! rejected with a message that says so rather than misread.
//!
//! # Solution
//!
//! A small binary envelope around a JSON manifest and an opaque, algorithm-owned payload:
//!
//! ```text
//! offset  size  field
//! 0       8     magic b"INGOTMDL"
//! 8       2     format version, u16 little-endian (currently 1)
//! 10      2     reserved, u16, always 0
//! 12      4     manifest length M, u32 little-endian
//! 16      M     manifest, UTF-8 JSON (see [`Manifest`])
//! 16+M    8     payload length P, u64 little-endian
//! 24+M    P     payload bytes (format owned by the algorithm named in the manifest)
//! 24+M+P  32    SHA-256 of every preceding byte
//! ```
//!
//! The manifest holds everything needed to understand the model without running it: algorithm
//! and its version, task, target, input schema, class labels, user hyperparameters, resolved
//! parameters, fitted preprocessing and validation metrics. It contains no timestamps or host
//! information, so encoding is a pure function of the training result.
//!
//! # Pros and cons
//!
//! * Pros: any tool can read the manifest with a JSON parser after skipping 16 bytes; the trailing
//!   checksum catches any single-byte corruption; the payload stays free-form so each algorithm
//!   picks its own representation; decoding never allocates more than the input size.
//! * Cons: the whole file must be read to verify the checksum (no streaming verification); the
//!   manifest is limited to 4 GiB (far more than metadata needs); JSON is larger than a binary
//!   manifest.
//!
//! # Compatibility
//!
//! Readers accept every format version up to [`FORMAT_VERSION`] and reject newer ones with
//! [`Error::UnsupportedVersion`], naming both versions. New manifest fields must be optional
//! (`#[serde(default)]`) so older files keep decoding; a layout change bumps the version.
//! Algorithms version their payloads separately through [`Manifest::algorithm_version`].

mod container;
mod error;
mod manifest;

pub use container::{ModelFile, FORMAT_VERSION, MAGIC};
pub use error::{Error, Result};
pub use manifest::{FeatureImportance, Manifest};
