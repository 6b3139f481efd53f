//! Monitoring executions: read the capture window after the previous execution, compute the
//! schedule type's check (data quality with `ingot-monitor`, model quality with ground truth
//! and `ingot-metrics`), store `constraint_violations.json`, `report.json` and `report.html`
//! under `monitoring/executions/<endpoint>/<schedule>/<id>/`, record the execution, alert by
//! signed webhook, and the scheduler loop that runs due schedules.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ingot_artifacts::Area;
use ingot_core::records::{MonitoringExecution, MonitoringSchedule};
use serde_json::{json, Value};

use super::captured::{self, Event};
use super::{attribution, bias};
use super::{parse_settings, quality, ScheduleSettings, ScheduleType};
use crate::{Error, Platform, Result};

/// The files an execution may store.
pub(crate) const REPORT_FILES: [&str; 3] =
    ["constraint_violations.json", "report.json", "report.html"];

pub(crate) fn report_path(execution: &MonitoringExecution, file: &str) -> String {
    format!(
        "executions/{}/{}/{}/{file}",
        execution.endpoint, execution.schedule, execution.id
    )
}

/// What a check produced.
struct Outcome {
    status: &'static str,
    violations: Vec<Value>,
    report: Value,
    html: Option<String>,
    summary: Value,
    alert: bool,
}

impl Outcome {
    /// A finished check; its status says whether any violation was found.
    fn finished(
        violations: Vec<Value>,
        report: Value,
        html: Option<String>,
        summary: Value,
        alert: bool,
    ) -> Outcome {
        Outcome {
            status: if violations.is_empty() {
                "Completed"
            } else {
                "CompletedWithViolations"
            },
            violations,
            report,
            html,
            summary,
            alert,
        }
    }

    fn no_data(reason: &str) -> Outcome {
        Outcome {
            status: "NoData",
            violations: Vec::new(),
            report: json!({ "reason": reason }),
            html: None,
            summary: json!({ "rows": 0 }),
            alert: false,
        }
    }
}

const HOUR: i64 = 3_600_000;

impl Platform {
    /// Runs one execution of a schedule now and returns its record.
    pub async fn run_monitoring_schedule(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<MonitoringExecution> {
        let schedule = self.store.monitoring_schedule(endpoint, name).await?;
        self.execute(&schedule).await
    }

    async fn execute(&self, schedule: &MonitoringSchedule) -> Result<MonitoringExecution> {
        let settings = parse_settings(schedule)?;
        let previous = self
            .store
            .list_monitoring_executions(&schedule.endpoint, Some(&schedule.name))
            .await?;
        let window_start = previous.first().map_or(0, |e| e.window_end);
        let window_end = ingot_store::now_millis().max(window_start);
        // Everything captured before the window end is on storage after this.
        self.serving.capture.flush().await;
        let mut execution = MonitoringExecution {
            id: uuid::Uuid::new_v4().to_string(),
            endpoint: schedule.endpoint.clone(),
            schedule: schedule.name.clone(),
            status: "InProgress".to_string(),
            window_start,
            window_end,
            violations: 0,
            failure_reason: None,
            webhook_status: None,
            summary: json!({}),
            created_at: ingot_store::now_millis(),
        };
        self.store.put_monitoring_execution(&execution).await?;
        let outcome = match self.check(&execution, &settings).await {
            Ok(outcome) => self.store_reports(&execution, outcome).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(outcome) => {
                execution.status = outcome.status.to_string();
                execution.violations = outcome.violations.len() as i64;
                execution.summary = outcome.summary;
                if outcome.alert {
                    if let Some(url) = &settings.webhook_url {
                        let body = json!({
                            "event": "monitoring.violations",
                            "endpoint": execution.endpoint,
                            "schedule": execution.schedule,
                            "type": settings.schedule_type.as_str(),
                            "execution_id": execution.id,
                            "status": execution.status,
                            "window_start": execution.window_start,
                            "window_end": execution.window_end,
                            "violations": outcome.violations,
                            "summary": execution.summary,
                        });
                        let status = crate::webhook::deliver(
                            url,
                            &self.webhook_secret,
                            "monitoring.violations",
                            &body,
                        )
                        .await;
                        execution.webhook_status = Some(status);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(endpoint = %execution.endpoint, schedule = %execution.schedule, error = %e, "monitoring execution failed");
                execution.status = "Failed".to_string();
                execution.failure_reason = Some(e.message);
            }
        }
        self.store.put_monitoring_execution(&execution).await?;
        self.monitoring.record(&execution);
        Ok(execution)
    }

    async fn store_reports(
        &self,
        execution: &MonitoringExecution,
        outcome: Outcome,
    ) -> Result<Outcome> {
        let violations = json!({ "violations": outcome.violations });
        let files = [
            ("constraint_violations.json", Some(pretty(&violations))),
            ("report.json", Some(pretty(&outcome.report))),
            ("report.html", outcome.html.clone()),
        ];
        for (file, text) in files {
            if let Some(text) = text {
                self.artifacts
                    .put_in(
                        Area::Monitoring,
                        &report_path(execution, file),
                        Bytes::from(text),
                    )
                    .await?;
            }
        }
        Ok(outcome)
    }

    async fn check(
        &self,
        execution: &MonitoringExecution,
        settings: &ScheduleSettings,
    ) -> Result<Outcome> {
        let events = self
            .captured_events(
                &execution.endpoint,
                execution.window_start,
                execution.window_end,
            )
            .await?;
        if events.is_empty() {
            return Ok(Outcome::no_data("no captured data in the window"));
        }
        match settings.schedule_type {
            ScheduleType::DataQuality => self.data_quality(execution, settings, events).await,
            ScheduleType::ModelQuality => self.model_quality(execution, settings, events).await,
            ScheduleType::FeatureAttributionDrift => {
                self.attribution_drift(execution, settings, events).await
            }
            ScheduleType::BiasDrift => self.bias_drift(execution, settings, events).await,
        }
    }

    /// Captured events with `start <= time < end`.
    async fn captured_events(&self, endpoint: &str, start: i64, end: i64) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        for path in self.artifacts.list_in(Area::Capture, endpoint).await? {
            // A file holds records of one hour, starting at its first record's time.
            let Some(first) = captured::file_millis(&path) else {
                continue;
            };
            if first >= end || first.div_euclid(HOUR) * HOUR + HOUR <= start {
                continue;
            }
            let bytes = self.artifacts.get_in(Area::Capture, &path).await?;
            let (found, bad) = captured::parse_file(&String::from_utf8_lossy(&bytes));
            if bad > 0 {
                tracing::warn!(%path, lines = bad, "capture lines that are not capture records");
            }
            events.extend(
                found
                    .into_iter()
                    .filter(|e| (start..end).contains(&e.at_millis)),
            );
        }
        events.sort_by_key(|e| e.at_millis);
        Ok(events)
    }

    async fn data_quality(
        &self,
        execution: &MonitoringExecution,
        settings: &ScheduleSettings,
        events: Vec<Event>,
    ) -> Result<Outcome> {
        let model = self.input_model(&execution.endpoint).await?;
        let files = self.baseline(&settings.baseline).await?;
        let (Some(statistics), Some(constraints)) = (files.statistics, files.constraints) else {
            return Err(Error::bad_input(format!(
                "baseline {:?} has no statistics.json and constraints.json",
                settings.baseline
            )));
        };
        let mut options = ingot_monitor::DriftOptions::default();
        if let Some(test) = &settings.stattest {
            options.stattest = Some(
                ingot_monitor::StatTest::parse(test)
                    .map_err(|e| Error::bad_input(e.to_string()))?,
            );
        }
        options.threshold = settings.stattest_threshold;
        if let Some(share) = settings.drift_share {
            options.drift_share = share;
        }
        let schema = model.input_schema;
        tokio::task::spawn_blocking(move || {
            let bad = |e: ingot_monitor::Error| Error::bad_input(format!("baseline: {e}"));
            let mut statistics =
                ingot_monitor::Statistics::parse(&statistics.to_string()).map_err(bad)?;
            let mut constraints =
                ingot_monitor::Constraints::parse(&constraints.to_string()).map_err(bad)?;
            // The baseline may be the training data: only the model's inputs are captured.
            let inputs: Vec<&str> = schema.names().collect();
            statistics
                .features
                .retain(|f| inputs.contains(&f.name.as_str()));
            constraints
                .features
                .retain(|f| inputs.contains(&f.name.as_str()));
            if statistics.features.is_empty() {
                return Err(Error::bad_input(
                    "the baseline has none of the model's input columns",
                ));
            }
            let mut current = ingot_monitor::DatasetStats::new(&schema, &Default::default());
            let mut undecodable = 0u64;
            for event in &events {
                match captured::decode_input(&event.input, &schema) {
                    Ok(batch) => current
                        .update(&batch)
                        .map_err(|e| Error::internal(e.to_string()))?,
                    Err(_) => undecodable += 1,
                }
            }
            if current.rows == 0 {
                return Ok(Outcome::no_data("no captured request could be decoded"));
            }
            let baseline = ingot_monitor::Baseline {
                statistics,
                constraints,
            };
            let report = ingot_monitor::check(&baseline, &current, &options)
                .map_err(|e| Error::bad_input(e.to_string()))?;
            let html = ingot_monitor::render_html(&report);
            let violations: Vec<Value> = report
                .violations
                .iter()
                .filter_map(|v| serde_json::to_value(v).ok())
                .collect();
            let mut types: BTreeMap<String, u64> = BTreeMap::new();
            for v in &violations {
                if let Some(t) = v["constraint_check_type"].as_str() {
                    *types.entry(t.to_string()).or_default() += 1;
                }
            }
            let drift = &report.drift;
            let summary = json!({
                "rows": current.rows,
                "events": events.len(),
                "undecodable_events": undecodable,
                "drifted_columns": drift.number_of_drifted_columns,
                "drifted_share": drift.share_of_drifted_columns,
                "dataset_drift": drift.dataset_drift,
                "violation_types": types,
            });
            let alert = !violations.is_empty() || drift.dataset_drift;
            let report =
                serde_json::to_value(&report).map_err(|e| Error::internal(e.to_string()))?;
            Ok(Outcome::finished(
                violations,
                report,
                Some(html),
                summary,
                alert,
            ))
        })
        .await?
    }

    /// The model that reads an endpoint's requests (the first variant's first step).
    async fn input_model(&self, endpoint: &str) -> Result<ingot_core::records::ModelVersion> {
        let endpoint = self.store.endpoint(endpoint).await?;
        let Some(step) = endpoint
            .config
            .variants
            .first()
            .and_then(|v| v.steps.first())
        else {
            return Err(Error::bad_input(
                "monitoring needs an endpoint that pins a model (not multi-model)",
            ));
        };
        Ok(self
            .store
            .model_version(&step.model, Some(step.version))
            .await?)
    }

    async fn attribution_drift(
        &self,
        execution: &MonitoringExecution,
        settings: &ScheduleSettings,
        events: Vec<Event>,
    ) -> Result<Outcome> {
        let model = self.input_model(&execution.endpoint).await?;
        let files = self.baseline(&settings.baseline).await?;
        let baseline = files
            .attributions
            .as_ref()
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "baseline {:?} has no attributions.json",
                    settings.baseline
                ))
            })
            .and_then(|v| attribution::parse(v).map_err(Error::bad_input))?;
        let threshold = settings
            .ndcg_threshold
            .unwrap_or(ingot_explain::drift::DEFAULT_NDCG_THRESHOLD);
        let model_bytes = self.artifacts.get(&model.artifact_hash).await?;
        tokio::task::spawn_blocking(move || {
            let loaded = ingot_catalog::LoadedModel::from_bytes(&model_bytes)?;
            let schema = &model.input_schema;
            let mut mean = attribution::MeanAbs::default();
            let mut undecodable = 0u64;
            for event in &events {
                match captured::decode_input(&event.input, schema) {
                    Ok(batch) => mean.add(&loaded, &batch).map_err(Error::bad_input)?,
                    Err(_) => undecodable += 1,
                }
            }
            if mean.rows() == 0 {
                return Ok(Outcome::no_data("no captured request could be decoded"));
            }
            let current = attribution::parse(&mean.to_json()).map_err(Error::internal)?;
            let (mut report, violation) =
                attribution::compare(&baseline, &current, threshold).map_err(Error::bad_input)?;
            report["rows"] = json!(mean.rows());
            let violations: Vec<Value> = violation.into_iter().collect();
            let summary = json!({
                "rows": mean.rows(),
                "undecodable_events": undecodable,
                "ndcg": report["ndcg"],
                "violation_types": if violations.is_empty() { json!({}) }
                    else { json!({"feature_attribution_drift_check": 1}) },
            });
            let alert = !violations.is_empty();
            Ok(Outcome::finished(violations, report, None, summary, alert))
        })
        .await?
    }

    async fn bias_drift(
        &self,
        execution: &MonitoringExecution,
        settings: &ScheduleSettings,
        events: Vec<Event>,
    ) -> Result<Outcome> {
        let model = self.input_model(&execution.endpoint).await?;
        let files = self.baseline(&settings.baseline).await?;
        let baseline: bias::BiasBaseline = files
            .bias
            .ok_or_else(|| {
                Error::bad_input(format!("baseline {:?} has no bias.json", settings.baseline))
            })
            .and_then(|v| {
                serde_json::from_value(v).map_err(|e| Error::bad_input(format!("bias.json: {e}")))
            })?;
        let labels = self.ground_truth(&execution.endpoint).await?;
        tokio::task::spawn_blocking(move || {
            let config = &baseline.config;
            let (mut facet, mut predicted, mut truth) = (Vec::new(), Vec::new(), Vec::new());
            let mut skipped = 0u64;
            for event in &events {
                let (Ok(batch), Ok(predictions)) = (
                    captured::decode_input(&event.input, &model.input_schema),
                    captured::parse_output(&event.output),
                ) else {
                    skipped += 1;
                    continue;
                };
                if batch.num_rows() != predictions.len() {
                    skipped += 1;
                    continue;
                }
                let mask = config.facet_mask(&batch).map_err(Error::bad_input)?;
                let single = predictions.len() == 1;
                for (i, prediction) in predictions.iter().enumerate() {
                    let captured::Prediction::Classes { label, .. } = prediction else {
                        return Err(Error::bad_input(
                            "bias drift needs a classification model's answers",
                        ));
                    };
                    facet.push(mask[i]);
                    predicted.push(bias::same_label(label, &config.positive_label));
                    truth.push(
                        labels
                            .get(&captured::row_event_id(&event.event_id, single, i))
                            .map(|l| bias::same_label(l, &config.positive_label)),
                    );
                }
            }
            if facet.is_empty() {
                return Ok(Outcome::no_data("no captured request could be decoded"));
            }
            let current = bias::metrics(&facet, &predicted, &truth);
            let violations = bias::violations(&baseline, &current);
            let labelled = truth.iter().filter(|t| t.is_some()).count();
            let report = json!({
                "rows": facet.len(),
                "labelled_rows": labelled,
                "skipped_events": skipped,
                "facet": config.facet,
                "facet_rows": facet.iter().filter(|f| **f).count(),
                "metrics": current,
                "baseline": baseline.metrics,
            });
            let summary = json!({
                "rows": facet.len(),
                "labelled_rows": labelled,
                "bias_metrics": current,
                "violation_types": if violations.is_empty() { json!({}) }
                    else { json!({"bias_drift_check": violations.len()}) },
            });
            let alert = !violations.is_empty();
            Ok(Outcome::finished(violations, report, None, summary, alert))
        })
        .await?
    }

    /// Every ground-truth label of an endpoint by event id (later uploads win).
    async fn ground_truth(&self, endpoint: &str) -> Result<HashMap<String, String>> {
        let mut labels = HashMap::new();
        let dir = format!("ground-truth/{endpoint}");
        for path in self.artifacts.list_in(Area::Monitoring, &dir).await? {
            let bytes = self.artifacts.get_in(Area::Monitoring, &path).await?;
            let rows = quality::parse_ground_truth(&bytes, "application/jsonlines")
                .map_err(|e| Error::internal(format!("{path}: {e}")))?;
            labels.extend(rows);
        }
        Ok(labels)
    }

    async fn model_quality(
        &self,
        execution: &MonitoringExecution,
        settings: &ScheduleSettings,
        events: Vec<Event>,
    ) -> Result<Outcome> {
        let files = self.baseline(&settings.baseline).await?;
        let thresholds = match &files.model_quality {
            Some(v) => quality::parse_thresholds(v).map_err(Error::bad_input)?,
            None => Vec::new(),
        };
        let labels = self.ground_truth(&execution.endpoint).await?;
        let mut joined = Vec::new();
        let mut unlabeled = 0usize;
        let mut unparsable = 0usize;
        for event in &events {
            let Ok(predictions) = captured::parse_output(&event.output) else {
                unparsable += 1;
                continue;
            };
            let single = predictions.len() == 1;
            for (i, prediction) in predictions.into_iter().enumerate() {
                match labels.get(&captured::row_event_id(&event.event_id, single, i)) {
                    Some(label) => joined.push((prediction, label.clone())),
                    None => unlabeled += 1,
                }
            }
        }
        if joined.is_empty() {
            return Ok(Outcome::no_data(
                "no captured prediction in the window has ground truth",
            ));
        }
        let metrics = quality::metrics(&joined, settings.positive_label.as_deref())
            .map_err(Error::bad_input)?;
        let violations = quality::violations(&metrics, &thresholds);
        let metric_map: serde_json::Map<String, Value> =
            metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut types: BTreeMap<String, u64> = BTreeMap::new();
        for v in &violations {
            if let Some(t) = v["constraint_check_type"].as_str() {
                *types.entry(t.to_string()).or_default() += 1;
            }
        }
        let report = json!({
            "rows": joined.len(),
            "unlabeled_rows": unlabeled,
            "unparsable_answers": unparsable,
            "metrics": metric_map,
            "thresholds": thresholds.iter().map(|t| json!({
                "metric": t.metric, "threshold": t.threshold, "comparison": t.comparison,
            })).collect::<Vec<_>>(),
        });
        let summary = json!({
            "rows": joined.len(),
            "unlabeled_rows": unlabeled,
            "metrics": metric_map,
            "violation_types": types,
        });
        let alert = !violations.is_empty();
        Ok(Outcome::finished(violations, report, None, summary, alert))
    }

    /// Starts the loop that runs due schedules.
    pub(crate) fn start_monitoring_scheduler(self: &Arc<Self>, interval: Duration) {
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(platform) = platform.upgrade() else {
                    return;
                };
                platform.monitoring_tick().await;
            }
        });
    }

    /// Runs every schedule that is due now (also callable directly, e.g. by tests).
    pub async fn monitoring_tick(&self) {
        let schedules = match self.store.list_monitoring_schedules(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list monitoring schedules");
                return;
            }
        };
        let now = ingot_store::now_millis();
        for schedule in schedules {
            let due = async {
                let cadence = parse_settings(&schedule)?.cadence()?;
                let last = self
                    .store
                    .list_monitoring_executions(&schedule.endpoint, Some(&schedule.name))
                    .await?
                    .first()
                    .map_or(schedule.created_at, |e| e.created_at);
                Ok::<_, Error>(cadence.is_due(last, now))
            };
            match due.await {
                Ok(true) => {
                    if let Err(e) = self.execute(&schedule).await {
                        tracing::warn!(endpoint = %schedule.endpoint, schedule = %schedule.name, error = %e, "monitoring execution failed");
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(schedule = %schedule.name, error = %e, "bad monitoring schedule")
                }
            }
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
