//! Ingot's model-monitoring kernel, pure (no I/O): streaming, mergeable column statistics
//! over Arrow batches (moments, KLL quantile sketches, category counts, distinct counts),
//! SageMaker Model Monitor's `statistics.json` / `constraints.json` /
//! `constraint_violations.json`, Evidently-style per-column drift tests with its default
//! test selection, and a self-contained HTML drift report.
//!
//! Typical use (what `ingot monitor` and a server-side schedule do):
//! ```text
//! baseline:  DatasetStats::new(schema) → update(batch)… → Baseline::from_stats(&stats)
//! check:     DatasetStats of the current data → check(&baseline, &current, &DriftOptions)
//! report:    render_html(&check_report)
//! ```

pub mod check;
mod distinct;
pub mod drift;
mod error;
pub mod kll;
mod kolmogorov;
pub mod report;
pub mod sagemaker;
mod special;
pub mod stats;
pub mod stattests;

pub use check::{check, CheckReport, Violation, ViolationType};
pub use distinct::EXACT_CAP as DISTINCT_EXACT_CAP;
pub use drift::{ColumnDrift, DatasetDrift, DriftOptions, StatTest};
pub use error::{Error, Result};
pub use report::render_html;
pub use sagemaker::{Baseline, Constraints, Statistics};
pub use stats::{ColumnStats, DatasetStats, InferredType, StatsOptions};
