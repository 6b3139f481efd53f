//! Server-side model monitoring (SageMaker Model Monitor style): baselines stored under the
//! artifact store's `monitoring/baselines/<name>/`, monitoring schedules per endpoint with a
//! cadence, ground-truth uploads, and the in-memory numbers `/metrics` shows. Executions (what
//! a schedule run computes, its reports and alerts) live in `execute.rs`.

mod attribution;
mod bias;
mod cadence;
mod captured;
mod execute;
mod quality;

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use ingot_artifacts::Area;
use ingot_core::records::{MonitoringExecution, MonitoringSchedule};
use ingot_core::validate_name;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use bias::{BiasBaseline, BiasConfig, MetricBound};
pub use cadence::{Cadence, Cron};

use crate::{Error, ErrorKind, Platform, Result};

/// What a schedule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleType {
    /// Captured inputs against the baseline's statistics and constraints (plus drift tests).
    DataQuality,
    /// Captured predictions joined with ground truth, against metric thresholds.
    ModelQuality,
    /// Clarify post-training bias metrics of captured traffic against the baseline's.
    BiasDrift,
    /// The ranking of mean |SHAP| attributions against the baseline's (NDCG).
    FeatureAttributionDrift,
}

impl ScheduleType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleType::DataQuality => "data_quality",
            ScheduleType::ModelQuality => "model_quality",
            ScheduleType::BiasDrift => "bias_drift",
            ScheduleType::FeatureAttributionDrift => "feature_attribution_drift",
        }
    }
}

/// A schedule's settings, stored as its JSON configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSettings {
    #[serde(rename = "type")]
    pub schedule_type: ScheduleType,
    /// The baseline's name (`monitoring/baselines/<name>/`).
    pub baseline: String,
    /// `hourly`, `daily` or a five-field cron expression (UTC).
    #[serde(default)]
    pub every: Option<String>,
    /// A fixed period instead of `every`.
    #[serde(default)]
    pub every_seconds: Option<u64>,
    /// Signed alert when an execution finds violations or drift.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Drift test for every column (`ks`, `psi`, ...); Evidently's per-column default if unset.
    #[serde(default)]
    pub stattest: Option<String>,
    /// Threshold of the drift tests.
    #[serde(default)]
    pub stattest_threshold: Option<f64>,
    /// Dataset drift when at least this share of columns drift (default 0.5).
    #[serde(default)]
    pub drift_share: Option<f64>,
    /// Model quality: the positive class of binary metrics (default: the second class).
    #[serde(default)]
    pub positive_label: Option<String>,
    /// Feature attribution drift: NDCG below this is a violation (default 0.90).
    #[serde(default)]
    pub ndcg_threshold: Option<f64>,
}

impl ScheduleSettings {
    /// The schedule's cadence.
    pub fn cadence(&self) -> Result<Cadence> {
        Cadence::parse(self.every.as_deref(), self.every_seconds).map_err(Error::bad_input)
    }

    fn validate(&self) -> Result<()> {
        validate_name(&self.baseline)?;
        self.cadence()?;
        if let Some(url) = &self.webhook_url {
            crate::webhook::validate_url(url).map_err(Error::bad_input)?;
        }
        if let Some(test) = &self.stattest {
            ingot_monitor::StatTest::parse(test).map_err(|e| Error::bad_input(e.to_string()))?;
        }
        if let Some(share) = self.drift_share.filter(|s| !(0.0..=1.0).contains(s)) {
            return Err(Error::bad_input(format!(
                "drift_share must be in [0, 1], got {share}"
            )));
        }
        if let Some(t) = self.ndcg_threshold.filter(|t| !(0.0..=1.0).contains(t)) {
            return Err(Error::bad_input(format!(
                "ndcg_threshold must be in [0, 1], got {t}"
            )));
        }
        Ok(())
    }
}

/// A baseline's files; absent ones are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineFiles {
    /// `statistics.json`.
    #[serde(default)]
    pub statistics: Option<Value>,
    /// `constraints.json`.
    #[serde(default)]
    pub constraints: Option<Value>,
    /// `model_quality_constraints.json`: metric thresholds.
    #[serde(default)]
    pub model_quality: Option<Value>,
    /// `attributions.json`: mean |SHAP| per feature, `{"features": {name: value}}`.    #[serde(default)]
    pub attributions: Option<Value>,
    /// `bias.json`: the facet, the positive label and per-metric baseline values.
    #[serde(default)]
    pub bias: Option<Value>,
}

const STATISTICS: &str = "statistics.json";
const CONSTRAINTS: &str = "constraints.json";
const MODEL_QUALITY: &str = "model_quality_constraints.json";
const ATTRIBUTIONS: &str = "attributions.json";
const BIAS: &str = "bias.json";
/// Rows of the dataset a baseline's attributions are computed over.
const ATTRIBUTION_ROWS: usize = 2000;

fn baseline_path(name: &str, file: &str) -> String {
    format!("baselines/{name}/{file}")
}

/// The latest numbers of each schedule and execution counters, for `/metrics`.
#[derive(Default)]
pub(crate) struct MonitoringGauges {
    inner: Mutex<Gauges>,
}

#[derive(Default)]
struct Gauges {
    executions: BTreeMap<String, u64>,
    /// (endpoint, schedule) → latest execution.
    latest: BTreeMap<(String, String), MonitoringExecution>,
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl MonitoringGauges {
    pub(crate) fn record(&self, execution: &MonitoringExecution) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *g.executions.entry(execution.status.clone()).or_default() += 1;
        g.latest.insert(
            (execution.endpoint.clone(), execution.schedule.clone()),
            execution.clone(),
        );
    }

    pub(crate) fn forget(&self, endpoint: &str, schedule: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.latest
            .remove(&(endpoint.to_string(), schedule.to_string()));
    }

    /// Prometheus text of the monitoring metrics.
    pub(crate) fn render(&self) -> String {
        use std::fmt::Write;
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP ingot_monitoring_executions_total Monitoring executions finished since start, by status.\n# TYPE ingot_monitoring_executions_total counter\n");
        for (status, n) in &g.executions {
            let _ = writeln!(
                out,
                "ingot_monitoring_executions_total{{status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP ingot_monitoring_violations Violations found by the latest execution, by check type.\n# TYPE ingot_monitoring_violations gauge\n");
        for ((ep, sc), e) in &g.latest {
            let (ep, sc) = (label(ep), label(sc));
            let types = e.summary["violation_types"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let _ = writeln!(out, "ingot_monitoring_violations{{endpoint=\"{ep}\",schedule=\"{sc}\",type=\"all\"}} {}", e.violations);
            for (kind, n) in types {
                let _ = writeln!(out, "ingot_monitoring_violations{{endpoint=\"{ep}\",schedule=\"{sc}\",type=\"{}\"}} {}", label(&kind), n.as_u64().unwrap_or(0));
            }
        }
        out.push_str("# HELP ingot_monitoring_drifted_share Share of drifted columns in the latest data-quality execution.\n# TYPE ingot_monitoring_drifted_share gauge\n");
        for ((ep, sc), e) in &g.latest {
            if let Some(share) = e.summary["drifted_share"].as_f64() {
                let _ = writeln!(
                    out,
                    "ingot_monitoring_drifted_share{{endpoint=\"{}\",schedule=\"{}\"}} {share}",
                    label(ep),
                    label(sc)
                );
            }
        }
        out.push_str("# HELP ingot_monitoring_model_quality Model-quality metrics of the latest execution.\n# TYPE ingot_monitoring_model_quality gauge\n");
        for ((ep, sc), e) in &g.latest {
            for (metric, value) in e.summary["metrics"].as_object().into_iter().flatten() {
                if let Some(v) = value.as_f64() {
                    let _ = writeln!(out, "ingot_monitoring_model_quality{{endpoint=\"{}\",schedule=\"{}\",metric=\"{}\"}} {v}", label(ep), label(sc), label(metric));
                }
            }
        }
        out.push_str("# HELP ingot_monitoring_last_execution_timestamp_seconds Window end of the latest execution.\n# TYPE ingot_monitoring_last_execution_timestamp_seconds gauge\n");
        for ((ep, sc), e) in &g.latest {
            let _ = writeln!(out, "ingot_monitoring_last_execution_timestamp_seconds{{endpoint=\"{}\",schedule=\"{}\"}} {}", label(ep), label(sc), e.window_end as f64 / 1000.0);
        }
        out
    }
}

fn parse_settings(schedule: &MonitoringSchedule) -> Result<ScheduleSettings> {
    serde_json::from_value(schedule.config.clone()).map_err(|e| {
        Error::internal(format!(
            "stored settings of schedule {}/{} are unreadable: {e}",
            schedule.endpoint, schedule.name
        ))
    })
}

impl Platform {
    /// Computes statistics and suggested constraints of a dataset version (on the blocking
    /// pool) and stores them as baseline `name`; with a model (`NAME[:VERSION]`), also the
    /// mean |SHAP| per feature of the first rows (TreeSHAP) as `attributions.json`.
    pub async fn create_baseline(
        &self,
        name: &str,
        dataset: &str,
        version: Option<i64>,
        model: Option<&str>,
        bias_config: Option<BiasConfig>,
    ) -> Result<BaselineFiles> {
        if let Some(config) = &bias_config {
            config.validate().map_err(Error::bad_input)?;
            if model.is_none() {
                return Err(Error::bad_input("a bias baseline needs a model"));
            }
        }
        validate_name(name)?;
        let record = self.store.dataset_version(dataset, version).await?;
        let bytes = self.artifacts.get(&record.content_hash).await?;
        let format: ingot_data::DataFormat = record.format.parse()?;
        let model_bytes = match model {
            Some(reference) => {
                let parsed: ingot_core::ModelRef = reference.parse().map_err(|_| {
                    Error::bad_input(format!("model {reference:?}: expected NAME[:VERSION]"))
                })?;
                let version = self
                    .store
                    .model_version(&parsed.name, parsed.version)
                    .await?;
                Some(self.artifacts.get(&version.artifact_hash).await?)
            }
            None => None,
        };
        let (statistics, constraints, attributions, bias) =
            tokio::task::spawn_blocking(move || -> Result<_> {
                let table = ingot_data::read_table_bytes(bytes, format)?;
                let stats = ingot_monitor::DatasetStats::of_table(&table, &Default::default())
                    .map_err(|e| Error::bad_input(e.to_string()))?;
                let baseline = ingot_monitor::Baseline::from_stats(&stats);
                let model = match &model_bytes {
                    Some(bytes) => Some(ingot_catalog::LoadedModel::from_bytes(bytes)?),
                    None => None,
                };
                let mut attributions = None;
                let mut bias = None;
                if let Some(model) = &model {
                    let rows = table.batch.num_rows().min(ATTRIBUTION_ROWS);
                    let mut mean = attribution::MeanAbs::default();
                    match mean.add(model, &table.batch.slice(0, rows)) {
                        Ok(()) => attributions = Some(mean.to_json().to_string()),
                        // Bias alone may be wanted from a model without TreeSHAP.
                        Err(e) if bias_config.is_none() => return Err(Error::bad_input(e)),
                        Err(_) => {}
                    }
                    if let Some(config) = bias_config {
                        let values = bias::reference_metrics(model, &table.batch, &config)
                            .map_err(Error::bad_input)?;
                        let file = bias::baseline(config, &values);
                        bias = Some(
                            serde_json::to_string(&file)
                                .map_err(|e| Error::internal(e.to_string()))?,
                        );
                    }
                }
                Ok((
                    baseline.statistics.to_json(),
                    baseline.constraints.to_json(),
                    attributions,
                    bias,
                ))
            })
            .await??;
        self.put_baseline_file(name, STATISTICS, statistics).await?;
        self.put_baseline_file(name, CONSTRAINTS, constraints)
            .await?;
        if let Some(attributions) = attributions {
            self.put_baseline_file(name, ATTRIBUTIONS, attributions)
                .await?;
        }
        if let Some(bias) = bias {
            self.put_baseline_file(name, BIAS, bias).await?;
        }
        self.baseline(name).await
    }

    async fn put_baseline_file(&self, name: &str, file: &str, text: String) -> Result<()> {
        self.artifacts
            .put_in(
                Area::Monitoring,
                &baseline_path(name, file),
                Bytes::from(text),
            )
            .await?;
        Ok(())
    }

    /// Replaces the given files of a baseline (each validated first); others are kept.
    pub async fn put_baseline(&self, name: &str, files: BaselineFiles) -> Result<BaselineFiles> {
        validate_name(name)?;
        let bad = |file: &str, e: String| Error::bad_input(format!("{file}: {e}"));
        let mut writes = Vec::new();
        if let Some(v) = &files.statistics {
            ingot_monitor::Statistics::parse(&v.to_string())
                .map_err(|e| bad(STATISTICS, e.to_string()))?;
            writes.push((STATISTICS, v.to_string()));
        }
        if let Some(v) = &files.constraints {
            ingot_monitor::Constraints::parse(&v.to_string())
                .map_err(|e| bad(CONSTRAINTS, e.to_string()))?;
            writes.push((CONSTRAINTS, v.to_string()));
        }
        if let Some(v) = &files.model_quality {
            quality::parse_thresholds(v).map_err(|e| bad(MODEL_QUALITY, e))?;
            writes.push((MODEL_QUALITY, v.to_string()));
        }
        if let Some(v) = &files.attributions {
            attribution::parse(v).map_err(|e| bad(ATTRIBUTIONS, e))?;
            writes.push((ATTRIBUTIONS, v.to_string()));
        }
        if let Some(v) = &files.bias {
            let parsed: BiasBaseline =
                serde_json::from_value(v.clone()).map_err(|e| bad(BIAS, e.to_string()))?;
            parsed.config.validate().map_err(|e| bad(BIAS, e))?;
            writes.push((BIAS, v.to_string()));
        }
        if writes.is_empty() {
            return Err(Error::bad_input(
                "give at least one of statistics, constraints, model_quality, attributions or bias",
            ));
        }
        for (file, text) in writes {
            self.put_baseline_file(name, file, text).await?;
        }
        self.baseline(name).await
    }

    /// A baseline's files; `NotFound` when it has none.
    pub async fn baseline(&self, name: &str) -> Result<BaselineFiles> {
        validate_name(name)?;
        let read = |file: &'static str| async move {
            match self
                .artifacts
                .get_in(Area::Monitoring, &baseline_path(name, file))
                .await
            {
                Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                    .map(Some)
                    .map_err(|e| Error::internal(format!("baseline {name}/{file}: {e}"))),
                Err(ingot_artifacts::Error::PathNotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        };
        let files = BaselineFiles {
            statistics: read(STATISTICS).await?,
            constraints: read(CONSTRAINTS).await?,
            model_quality: read(MODEL_QUALITY).await?,
            attributions: read(ATTRIBUTIONS).await?,
            bias: read(BIAS).await?,
        };
        if files == BaselineFiles::default() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("baseline {name:?} not found"),
            ));
        }
        Ok(files)
    }

    /// Creates a monitoring schedule of an endpoint.
    pub async fn create_monitoring_schedule(
        &self,
        endpoint: &str,
        name: &str,
        settings: ScheduleSettings,
    ) -> Result<MonitoringSchedule> {
        validate_name(name)?;
        settings.validate()?;
        self.store.endpoint(endpoint).await?;
        let files = self.baseline(&settings.baseline).await?;
        let needed = match settings.schedule_type {
            ScheduleType::ModelQuality => files.model_quality.is_some(),
            ScheduleType::FeatureAttributionDrift => files.attributions.is_some(),
            ScheduleType::BiasDrift => files.bias.is_some(),
            _ => files.statistics.is_some() && files.constraints.is_some(),
        };
        if !needed {
            return Err(Error::bad_input(format!(
                "baseline {:?} lacks the files a {} schedule needs ({})",
                settings.baseline,
                settings.schedule_type.as_str(),
                match settings.schedule_type {
                    ScheduleType::ModelQuality => MODEL_QUALITY,
                    ScheduleType::FeatureAttributionDrift => ATTRIBUTIONS,
                    ScheduleType::BiasDrift => BIAS,
                    _ => "statistics.json and constraints.json",
                }
            )));
        }
        let schedule = MonitoringSchedule {
            endpoint: endpoint.to_string(),
            name: name.to_string(),
            schedule_type: settings.schedule_type.as_str().to_string(),
            config: serde_json::to_value(&settings).map_err(|e| Error::internal(e.to_string()))?,
            created_at: ingot_store::now_millis(),
        };
        self.store.create_monitoring_schedule(&schedule).await?;
        Ok(schedule)
    }

    /// An endpoint's schedules.
    pub async fn list_monitoring_schedules(
        &self,
        endpoint: &str,
    ) -> Result<Vec<MonitoringSchedule>> {
        self.store.endpoint(endpoint).await?;
        Ok(self.store.list_monitoring_schedules(Some(endpoint)).await?)
    }

    /// One schedule.
    pub async fn monitoring_schedule(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<MonitoringSchedule> {
        Ok(self.store.monitoring_schedule(endpoint, name).await?)
    }

    /// Deletes a schedule and its execution records (reports stay in the artifact store).
    pub async fn delete_monitoring_schedule(&self, endpoint: &str, name: &str) -> Result<()> {
        self.store
            .delete_monitoring_schedule(endpoint, name)
            .await?;
        self.monitoring.forget(endpoint, name);
        Ok(())
    }

    /// An endpoint's executions, newest first.
    pub async fn list_monitoring_executions(
        &self,
        endpoint: &str,
        schedule: Option<&str>,
    ) -> Result<Vec<MonitoringExecution>> {
        self.store.endpoint(endpoint).await?;
        Ok(self
            .store
            .list_monitoring_executions(endpoint, schedule)
            .await?)
    }

    /// One execution.
    pub async fn monitoring_execution(
        &self,
        endpoint: &str,
        id: &str,
    ) -> Result<MonitoringExecution> {
        Ok(self.store.monitoring_execution(endpoint, id).await?)
    }

    /// A report file of an execution: `report.json`, `report.html` or
    /// `constraint_violations.json`.
    pub async fn monitoring_report(&self, endpoint: &str, id: &str, file: &str) -> Result<Bytes> {
        if !execute::REPORT_FILES.contains(&file) {
            return Err(Error::bad_input(format!(
                "report file must be one of {}",
                execute::REPORT_FILES.join(", ")
            )));
        }
        let execution = self.store.monitoring_execution(endpoint, id).await?;
        let path = execute::report_path(&execution, file);
        Ok(self.artifacts.get_in(Area::Monitoring, &path).await?)
    }

    /// Stores ground-truth labels of captured events (CSV or JSON Lines with `event_id` and
    /// `label`); returns how many rows were stored.
    pub async fn add_ground_truth(
        &self,
        endpoint: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<usize> {
        self.store.endpoint(endpoint).await?;
        let rows = quality::parse_ground_truth(body, content_type).map_err(Error::bad_input)?;
        let mut text = String::new();
        for (event_id, label) in &rows {
            text.push_str(&serde_json::json!({"event_id": event_id, "label": label}).to_string());
            text.push('\n');
        }
        let path = format!(
            "ground-truth/{endpoint}/{}-{}.jsonl",
            ingot_store::now_millis(),
            uuid::Uuid::new_v4().simple()
        );
        self.artifacts
            .put_in(Area::Monitoring, &path, Bytes::from(text))
            .await?;
        Ok(rows.len())
    }
}
