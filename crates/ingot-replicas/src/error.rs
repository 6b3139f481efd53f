//! The error type of the replica crate: setting up the runtime directory, and everything that
//! can stop a replica or transform worker child process (bad spec, unreachable store, socket,
//! model, output file).

use std::path::PathBuf;

/// Errors raised while preparing replicas or running a replica child process. Errors of a
/// running pool are `ingot_serve::Error`s, the contract every pool speaks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runtime directory holding the replica sockets cannot be prepared.
    #[error("replica runtime directory {path}: {source}")]
    RuntimeDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A socket path would exceed what `sockaddr_un` holds.
    #[error(
        "replica socket path {path} is {len} bytes, Unix sockets allow at most {max}: \
         use a shorter runtime directory"
    )]
    SocketPathTooLong {
        path: PathBuf,
        len: usize,
        max: usize,
    },
    /// The replica spec cannot be read or parsed.
    #[error("cannot read the replica spec from {from}: {reason}")]
    Spec { from: String, reason: String },
    /// The replica socket cannot be bound or served.
    #[error("replica socket {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The artifact store cannot be opened.
    #[error(transparent)]
    Artifacts(#[from] ingot_artifacts::Error),
    /// The replica's models cannot be loaded.
    #[error(transparent)]
    Serve(#[from] ingot_serve::Error),
    /// A transform worker cannot write its output file.
    #[error("cannot write the transform output {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The parent could not be told that the replica is ready.
    #[error("cannot signal readiness to the parent: {0}")]
    Parent(std::io::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
