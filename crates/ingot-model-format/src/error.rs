//! The error type of the model format crate.

/// Why bytes could not be decoded as a model file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes do not start with the magic number.
    #[error("not an ingot model file (bad magic number)")]
    BadMagic,
    /// The file was written by a newer (or an invalid) format version.
    #[error(
        "unsupported model format version {found}: this build reads versions up to {supported}"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    /// The reserved header field is not zero.
    #[error("corrupt model file: reserved header field is {value}, expected 0")]
    Reserved { value: u16 },
    /// The file ends before the named section is complete.
    #[error("truncated model file: {section} needs {needed} bytes but only {available} remain")]
    Truncated {
        section: &'static str,
        needed: u64,
        available: u64,
    },
    /// Extra bytes follow the checksum.
    #[error("corrupt model file: {extra} unexpected bytes after the checksum")]
    TrailingBytes { extra: u64 },
    /// The trailing SHA-256 does not match the content.
    #[error("model file checksum mismatch: the file is corrupt")]
    ChecksumMismatch,
    /// The manifest is not valid JSON of the expected shape.
    #[error("invalid model manifest: {0}")]
    Manifest(#[source] serde_json::Error),
    /// The manifest's own version disagrees with the header.
    #[error(
        "corrupt model file: manifest says format version {manifest} but header says {header}"
    )]
    VersionMismatch { header: u16, manifest: u16 },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
