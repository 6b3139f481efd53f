//! Endpoint replicas as separate OS processes, so a crashing or leaking model cannot take the
//! control plane down: [`ProcessFactory`]/[`ProcessPool`] (the front side: spawning,
//! supervision with restarts, least-in-flight routing with one retry, scaling with drain), the
//! child's entry point [`child::run`] (`ingot replica`), and the internal HTTP/1.1-over-Unix-
//! socket protocol between them ([`wire`]); and batch transforms in worker processes
//! ([`ProcessTransforms`], the child's [`transform_worker::run_worker`]).

pub mod child;
mod conn;
mod error;
mod factory;
pub mod memory;
mod pool;
mod process;
mod replica;
mod supervisor;
pub mod transform_worker;
pub mod wire;

pub use child::{ArtifactSource, ChildArgs};
pub use error::{Error, Result};
pub use factory::ProcessFactory;
pub use pool::ProcessPool;
pub use transform_worker::{ProcessTransforms, WorkerArgs};
