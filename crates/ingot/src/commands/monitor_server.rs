//! `ingot monitor` against the server: baselines of dataset versions (computed or uploaded),
//! monitoring schedules of endpoints (create, list, delete, run now), executions, reports and
//! ground-truth uploads.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use ingot_protocol::{
    BaselineView, CreateMonitoringSchedule, GroundTruthAccepted, MonitoringExecutionView,
    MonitoringScheduleView,
};
use reqwest::Method;
use serde_json::Value;

use crate::commands::train::write_atomically;
use crate::context::CliContext;
use crate::output::{print_json, print_table, timestamp};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create a monitoring schedule of an endpoint
    Create(Box<CreateScheduleArgs>),
    /// List an endpoint's monitoring schedules
    List {
        /// Endpoint name
        endpoint: String,
    },
    /// Delete a monitoring schedule (and its execution records)
    Delete {
        /// Endpoint name
        endpoint: String,
        /// Schedule name
        name: String,
    },
    /// Run one execution now, over the data captured since the previous one
    Run {
        /// Endpoint name
        endpoint: String,
        /// Schedule name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateScheduleArgs {
    /// Endpoint name
    pub endpoint: String,
    /// Schedule name
    pub name: String,
    /// data_quality, model_quality, bias_drift or feature_attribution_drift
    #[arg(long = "type", default_value = "data_quality")]
    pub schedule_type: String,
    /// Baseline name (`ingot monitor baseline --dataset ... --name ...`)
    #[arg(long)]
    pub baseline: String,
    /// hourly, daily or a cron expression such as "0 * * * *" (UTC)
    #[arg(long, default_value = "hourly")]
    pub every: String,
    /// A fixed period in seconds instead of --every
    #[arg(long)]
    pub every_seconds: Option<u64>,
    /// Send a signed alert here when an execution finds violations or drift
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Drift test for every column (ks, chisquare, z, wasserstein, jensenshannon, psi, linf)
    #[arg(long)]
    pub stattest: Option<String>,
    /// Threshold of the drift tests
    #[arg(long)]
    pub stattest_threshold: Option<f64>,
    /// Dataset drift when at least this share of columns drift [default: 0.5]
    #[arg(long)]
    pub drift_share: Option<f64>,
    /// Model quality: the positive class of binary metrics
    #[arg(long)]
    pub positive_label: Option<String>,
    /// Feature attribution drift: NDCG below this is a violation [default: 0.90]
    #[arg(long)]
    pub ndcg_threshold: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Endpoint name
    pub endpoint: String,
    /// Execution id
    pub execution: String,
    /// Also write the HTML drift report (data-quality executions) to this file
    #[arg(long)]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GroundTruthArgs {
    /// Endpoint name
    pub endpoint: String,
    /// CSV (or JSON Lines) with `event_id` and `label` columns; event ids come from the
    /// X-Ingot-Event-Id answer header
    #[arg(long)]
    pub file: PathBuf,
}

/// What the server computes a baseline from.
pub struct Compute<'a> {
    pub dataset: Option<&'a str>,
    pub model: Option<&'a str>,
    pub bias_config: Option<&'a PathBuf>,
}

fn read_json(path: &PathBuf) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// `ingot monitor baseline --name B` with `--dataset NAME[:VERSION]` (computed by the server) or
/// with files to upload.
pub async fn baseline(
    context: &CliContext,
    name: &str,
    compute: Compute<'_>,
    uploads: [(Option<&PathBuf>, &str); 5],
) -> Result<()> {
    let client = context.client()?;
    let view: BaselineView = match compute.dataset {
        Some(reference) => {
            let parsed: ingot_core::ModelRef = reference
                .parse()
                .map_err(|_| anyhow::anyhow!("--dataset {reference:?}: expected NAME[:VERSION]"))?;
            let body = serde_json::json!({
                "name": name, "dataset": parsed.name, "dataset_version": parsed.version,
                "model": compute.model,
                "bias": compute.bias_config.map(read_json).transpose()?,
            });
            client
                .call(Method::POST, "/api/v1/monitoring/baselines", Some(&body))
                .await?
        }
        None => {
            let mut body = serde_json::Map::new();
            for (path, key) in uploads {
                if let Some(path) = path {
                    body.insert(key.to_string(), read_json(path)?);
                }
            }
            if body.is_empty() {
                bail!(
                    "give --dataset NAME[:VERSION] to compute a baseline, or files to upload \
                     (--statistics, --constraints, --model-quality, --attributions, --bias)"
                );
            }
            client
                .call(
                    Method::PUT,
                    &format!("/api/v1/monitoring/baselines/{name}"),
                    Some(&Value::Object(body)),
                )
                .await?
        }
    };
    if context.json() {
        return print_json(&view);
    }
    let features = view
        .statistics
        .as_ref()
        .and_then(|s| s["features"].as_array())
        .map_or(0, Vec::len);
    let rows = view
        .statistics
        .as_ref()
        .and_then(|s| s["dataset"]["item_count"].as_u64())
        .unwrap_or(0);
    println!(
        "baseline {name}: {rows} rows, {features} features{}",
        if view.model_quality.is_some() {
            ", model-quality thresholds"
        } else {
            ""
        }
    );
    Ok(())
}

fn schedules_path(endpoint: &str) -> String {
    format!("/api/v1/endpoints/{endpoint}/monitoring-schedules")
}

fn print_execution(context: &CliContext, e: &MonitoringExecutionView) -> Result<()> {
    if context.json() {
        return print_json(e);
    }
    println!(
        "execution {} of {}: {} ({} violations){}",
        e.id,
        e.schedule,
        e.status,
        e.violations,
        e.failure_reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    if let Some(metrics) = e.summary["metrics"].as_object() {
        for (name, value) in metrics {
            println!("  {name}: {value}");
        }
    }
    if let Some(share) = e.summary["drifted_share"].as_f64() {
        println!("  drifted columns: {:.1}%", share * 100.0);
    }
    if let Some(status) = &e.webhook_status {
        println!("  alert: {status}");
    }
    Ok(())
}

pub async fn schedule(context: &CliContext, command: &ScheduleCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        ScheduleCommand::Create(args) => {
            let request = CreateMonitoringSchedule {
                name: args.name.clone(),
                schedule_type: args.schedule_type.clone(),
                baseline: args.baseline.clone(),
                every: Some(args.every.clone()),
                every_seconds: args.every_seconds,
                webhook_url: args.webhook_url.clone(),
                stattest: args.stattest.clone(),
                stattest_threshold: args.stattest_threshold,
                drift_share: args.drift_share,
                positive_label: args.positive_label.clone(),
                ndcg_threshold: args.ndcg_threshold,
            };
            let body = serde_json::to_value(&request)?;
            let created: MonitoringScheduleView = client
                .call(Method::POST, &schedules_path(&args.endpoint), Some(&body))
                .await?;
            if context.json() {
                return print_json(&created);
            }
            println!(
                "created {} schedule {} on endpoint {}",
                created.schedule_type, created.name, created.endpoint
            );
        }
        ScheduleCommand::List { endpoint } => {
            let schedules: Vec<MonitoringScheduleView> = client
                .call(Method::GET, &schedules_path(endpoint), None)
                .await?;
            if context.json() {
                return print_json(&schedules);
            }
            let rows: Vec<Vec<String>> = schedules
                .iter()
                .map(|s| {
                    let every = s.settings["every_seconds"]
                        .as_u64()
                        .map(|n| format!("{n}s"))
                        .or_else(|| s.settings["every"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    vec![
                        s.name.clone(),
                        s.schedule_type.clone(),
                        s.settings["baseline"].as_str().unwrap_or("").to_string(),
                        every,
                        timestamp(s.created_at),
                    ]
                })
                .collect();
            print_table(&["NAME", "TYPE", "BASELINE", "EVERY", "CREATED"], &rows);
        }
        ScheduleCommand::Delete { endpoint, name } => {
            client
                .delete_path(&format!("{}/{name}", schedules_path(endpoint)))
                .await?;
            if !context.json() {
                println!("deleted schedule {name} of endpoint {endpoint}");
            }
        }
        ScheduleCommand::Run { endpoint, name } => {
            let execution: MonitoringExecutionView = client
                .call(
                    Method::POST,
                    &format!("{}/{name}/run", schedules_path(endpoint)),
                    Some(&serde_json::json!({})),
                )
                .await?;
            print_execution(context, &execution)?;
        }
    }
    Ok(())
}

pub async fn executions(context: &CliContext, endpoint: &str) -> Result<()> {
    let executions: Vec<MonitoringExecutionView> = context
        .client()?
        .call(
            Method::GET,
            &format!("/api/v1/endpoints/{endpoint}/monitoring-executions"),
            None,
        )
        .await?;
    if context.json() {
        return print_json(&executions);
    }
    let rows: Vec<Vec<String>> = executions
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.schedule.clone(),
                e.status.clone(),
                e.violations.to_string(),
                timestamp(e.window_start),
                timestamp(e.window_end),
                e.webhook_status.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "SCHEDULE",
            "STATUS",
            "VIOLATIONS",
            "FROM",
            "TO",
            "ALERT",
        ],
        &rows,
    );
    Ok(())
}

pub async fn report(context: &CliContext, args: &ReportArgs) -> Result<()> {
    let client = context.client()?;
    let base = format!(
        "/api/v1/endpoints/{}/monitoring-executions/{}",
        args.endpoint, args.execution
    );
    let execution: MonitoringExecutionView = client.call(Method::GET, &base, None).await?;
    let violations: Value = if execution.status == "Failed" || execution.status == "InProgress" {
        serde_json::json!({"violations": []})
    } else {
        serde_json::from_slice(
            &client
                .get_bytes(&format!("{base}/constraint_violations.json"))
                .await?,
        )?
    };
    if let Some(path) = &args.html {
        let html = client.get_bytes(&format!("{base}/report.html")).await?;
        write_atomically(path, &html)?;
    }
    if context.json() {
        return print_json(&serde_json::json!({
            "execution": execution,
            "constraint_violations": violations,
        }));
    }
    print_execution(context, &execution)?;
    let rows: Vec<Vec<String>> = violations["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let name = v["feature_name"]
                .as_str()
                .or_else(|| v["metric_name"].as_str())
                .unwrap_or("");
            vec![
                name.to_string(),
                v["constraint_check_type"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                v["description"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        print_table(&["FEATURE/METRIC", "CHECK", "DESCRIPTION"], &rows);
    }
    if let Some(path) = &args.html {
        println!("HTML report written to {}", path.display());
    }
    Ok(())
}

pub async fn ground_truth(context: &CliContext, args: &GroundTruthArgs) -> Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let name = args.file.to_string_lossy();
    let content_type = if name.ends_with(".jsonl") || name.ends_with(".json") {
        "application/jsonlines"
    } else {
        "text/csv"
    };
    let accepted: GroundTruthAccepted = context
        .client()?
        .post_bytes(
            &format!("/api/v1/endpoints/{}/ground-truth", args.endpoint),
            content_type,
            bytes,
        )
        .await?;
    if context.json() {
        return print_json(&accepted);
    }
    println!(
        "stored {} ground-truth labels for endpoint {}",
        accepted.rows, args.endpoint
    );
    Ok(())
}
