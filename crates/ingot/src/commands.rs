//! One module per top-level command.

pub mod datasets;
pub mod evaluate;
pub mod jobs;
pub mod predict;
pub mod quickstart;
pub mod registry;
pub mod server;
pub mod tracking;
pub mod train;
