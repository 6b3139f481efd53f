//! One module per top-level command.

pub mod clarify;
pub mod datasets;
pub mod endpoint_flags;
pub mod endpoints;
pub mod evaluate;
pub mod jobs;
pub mod latency_plot;
pub mod monitor;
pub mod monitor_server;
pub mod predict;
pub mod quickstart;
pub mod registry;
pub mod replica;
pub mod server;
pub mod tracking;
pub mod train;
pub mod transform;
