//! `ingot experiment …`, `ingot run …` and the approval subcommands of `ingot model`.

use anyhow::{bail, Context as _, Result};
use ingot_core::ModelRef;
use ingot_protocol::{
    ExperimentView, RegistryModelView, RegistryVersionView, RunComparisonView, RunPage, RunView,
};
use reqwest::Method;
use serde_json::json;

use crate::cli::{ExperimentCommand, ModelCommand, RunCommand};
use crate::context::CliContext;
use crate::output::{print_json, print_table, timestamp};

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn metric_text(value: Option<f64>) -> String {
    value.map_or_else(|| "NaN".to_string(), |v| format!("{v:.4}"))
}

/// Runs an experiment subcommand.
pub async fn experiment(context: &CliContext, command: &ExperimentCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        ExperimentCommand::List { filter } => {
            let path = match filter {
                Some(f) => format!("/api/v1/experiments?filter={}", encode(f)),
                None => "/api/v1/experiments".to_string(),
            };
            let experiments: Vec<ExperimentView> = client.call(Method::GET, &path, None).await?;
            if context.json() {
                return print_json(&experiments);
            }
            let rows: Vec<Vec<String>> = experiments
                .iter()
                .map(|e| vec![e.id.clone(), e.name.clone(), timestamp(e.created_at)])
                .collect();
            print_table(&["ID", "NAME", "CREATED"], &rows);
        }
        ExperimentCommand::Create { name } => {
            let created: ExperimentView = client
                .call(
                    Method::POST,
                    "/api/v1/experiments",
                    Some(&json!({ "name": name })),
                )
                .await?;
            if context.json() {
                return print_json(&created);
            }
            println!("created experiment {} ({})", created.name, created.id);
        }
        ExperimentCommand::Show { experiment } => {
            let path = format!("/api/v1/experiments/{}", encode(experiment));
            let found: ExperimentView = client.call(Method::GET, &path, None).await?;
            if context.json() {
                return print_json(&found);
            }
            println!("experiment {} ({})", found.name, found.id);
            println!(
                "stage {}  artifacts {}",
                found.lifecycle_stage, found.artifact_location
            );
            for (k, v) in &found.tags {
                println!("tag {k} = {v}");
            }
        }
    }
    Ok(())
}

/// Runs a run subcommand.
pub async fn run(context: &CliContext, command: &RunCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        RunCommand::List {
            experiment,
            filter,
            order_by,
            max_results,
        } => {
            let mut path = format!(
                "/api/v1/experiments/{}/runs?max_results={max_results}",
                encode(experiment)
            );
            if let Some(f) = filter {
                path.push_str(&format!("&filter={}", encode(f)));
            }
            if let Some(o) = order_by {
                path.push_str(&format!("&order_by={}", encode(o)));
            }
            let page: RunPage = client.call(Method::GET, &path, None).await?;
            if context.json() {
                return print_json(&page);
            }
            let rows: Vec<Vec<String>> = page
                .runs
                .iter()
                .map(|r| {
                    let metrics: Vec<String> = r
                        .metrics
                        .iter()
                        .map(|(k, v)| format!("{k}={}", metric_text(*v)))
                        .collect();
                    vec![
                        r.id.clone(),
                        r.name.clone(),
                        r.status.clone(),
                        timestamp(r.start_time),
                        metrics.join(" "),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "STATUS", "STARTED", "METRICS"], &rows);
            if let Some(token) = page.next_page_token {
                println!("(more runs: next page token {token})");
            }
        }
        RunCommand::Show { run } => {
            let path = format!("/api/v1/runs/{}", encode(run));
            let found: RunView = client.call(Method::GET, &path, None).await?;
            if context.json() {
                return print_json(&found);
            }
            println!(
                "run {} ({}) in experiment {}",
                found.name, found.id, found.experiment_id
            );
            println!(
                "status {}  started {}",
                found.status,
                timestamp(found.start_time)
            );
            for (k, v) in &found.params {
                println!("param  {k} = {v}");
            }
            for (k, v) in &found.metrics {
                println!("metric {k} = {}", metric_text(*v));
            }
            for (k, v) in found.tags.iter().filter(|(k, _)| !k.starts_with("mlflow.")) {
                println!("tag    {k} = {v}");
            }
            if let Some(notes) = &found.notes {
                println!("notes  {notes}");
            }
        }
        RunCommand::Compare { runs, metrics } => {
            let ids: Vec<String> = runs.iter().map(|r| encode(r)).collect();
            let mut path = format!("/api/v1/runs/compare?run_ids={}", ids.join(","));
            if !metrics.is_empty() {
                let keys: Vec<String> = metrics.iter().map(|m| encode(m)).collect();
                path.push_str(&format!("&metrics={}", keys.join(",")));
            }
            let comparison: RunComparisonView = client.call(Method::GET, &path, None).await?;
            if context.json() {
                return print_json(&comparison);
            }
            for (key, histories) in &comparison.metrics {
                println!("metric {key}");
                let steps: std::collections::BTreeSet<i64> = histories
                    .iter()
                    .flat_map(|h| h.points.iter().map(|p| p.step))
                    .collect();
                let mut header = vec!["STEP".to_string()];
                header.extend(
                    histories
                        .iter()
                        .map(|h| h.run_id.chars().take(12).collect()),
                );
                let rows: Vec<Vec<String>> = steps
                    .iter()
                    .map(|step| {
                        let mut row = vec![step.to_string()];
                        for h in histories {
                            let value = h.points.iter().rev().find(|p| p.step == *step);
                            row.push(value.map_or("-".into(), |p| metric_text(p.value)));
                        }
                        row
                    })
                    .collect();
                let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
                print_table(&header_refs, &rows);
            }
        }
    }
    Ok(())
}

/// Finds the registry version for `NAME:VERSION` (the mirror of a native version first).
async fn registry_version(context: &CliContext, reference: &str) -> Result<RegistryVersionView> {
    let reference: ModelRef = reference.parse()?;
    let Some(version) = reference.version else {
        bail!("give a version: NAME:VERSION");
    };
    let path = format!("/api/v1/registry/models/{}", encode(&reference.name));
    let model: RegistryModelView = context.client()?.call(Method::GET, &path, None).await?;
    let found = model
        .versions
        .iter()
        .find(|v| v.native_version == Some(version))
        .or_else(|| model.versions.iter().find(|v| v.version == version))
        .cloned();
    found.with_context(|| format!("model {}:{version} is not in the registry", reference.name))
}

/// The approval subcommands of `ingot model`.
pub async fn model(context: &CliContext, command: &ModelCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        ModelCommand::Approve { reference, version }
        | ModelCommand::Reject { reference, version } => {
            let approve = matches!(command, ModelCommand::Approve { .. });
            let reference = match version {
                Some(version) if !reference.contains(':') => format!("{reference}:{version}"),
                Some(_) => bail!("give NAME:VERSION or NAME VERSION, not both"),
                None => reference.clone(),
            };
            let target = registry_version(context, &reference).await?;
            let path = format!(
                "/api/v1/registry/models/{}/versions/{}/approval",
                encode(&target.model),
                target.version
            );
            let decided: RegistryVersionView = client
                .call(Method::POST, &path, Some(&json!({ "approve": approve })))
                .await?;
            if context.json() {
                return print_json(&decided);
            }
            println!(
                "{}:{} is {} (by {})",
                decided.model,
                decided.native_version.unwrap_or(decided.version),
                decided.approval_status,
                decided.approved_by.as_deref().unwrap_or("?")
            );
        }
        ModelCommand::RequireApproval { name, off } => {
            let path = format!("/api/v1/registry/models/{}", encode(name));
            let updated: RegistryModelView = client
                .call(
                    Method::PATCH,
                    &path,
                    Some(&json!({ "require_approval": !off })),
                )
                .await?;
            if context.json() {
                return print_json(&updated);
            }
            println!(
                "model {}: deployment {} approval",
                updated.name,
                if updated.require_approval {
                    "requires"
                } else {
                    "does not require"
                }
            );
        }
        _ => bail!("not an approval command"),
    }
    Ok(())
}
