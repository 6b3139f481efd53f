//! `ingot model`, `ingot deploy`, `ingot endpoint` and `ingot algorithms`.

use std::time::Duration;

use anyhow::{bail, Result};
use ingot_core::ModelRef;
use ingot_protocol::{CreateEndpoint, EndpointView};

use crate::cli::{DeployArgs, EndpointCommand, ModelCommand};
use crate::client::Client;
use crate::context::CliContext;
use crate::output::{metrics_line, print_json, print_table, timestamp};

/// Runs a model subcommand.
pub async fn model(context: &CliContext, command: &ModelCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        ModelCommand::List => {
            let models = client.list_models().await?;
            if context.json() {
                return print_json(&models);
            }
            let rows: Vec<Vec<String>> = models
                .iter()
                .map(|m| {
                    vec![
                        m.name.clone(),
                        m.latest_version.to_string(),
                        m.version_count.to_string(),
                        timestamp(m.created_at),
                    ]
                })
                .collect();
            print_table(&["NAME", "LATEST", "VERSIONS", "CREATED"], &rows);
        }
        ModelCommand::Approve { .. }
        | ModelCommand::Reject { .. }
        | ModelCommand::RequireApproval { .. } => {
            return crate::commands::tracking::model(context, command).await;
        }
        ModelCommand::Show { reference } => {
            let reference: ModelRef = reference.parse()?;
            let version = client
                .model_version(&reference.name, reference.version)
                .await?;
            // Feature importance lives in the model file's manifest.
            let bytes = client
                .model_artifact(&version.model, Some(version.version))
                .await?;
            let importance = ingot_model_format::ModelFile::decode(&bytes)?
                .manifest
                .feature_importance;
            if context.json() {
                let mut value = serde_json::to_value(&version)?;
                if let (Some(object), Some(importance)) = (value.as_object_mut(), &importance) {
                    object.insert(
                        "feature_importance".into(),
                        serde_json::to_value(importance)?,
                    );
                }
                return print_json(&value);
            }
            println!("model {}:{}", version.model, version.version);
            println!("algorithm {}  task {}", version.algorithm, version.task);
            println!("created {}", timestamp(version.created_at));
            println!("artifact sha256 {}", version.artifact_hash);
            println!("metrics: {}", metrics_line(&version.metrics));
            let lineage = &version.lineage;
            if let (Some(dataset), Some(dataset_version)) =
                (&lineage.dataset, lineage.dataset_version)
            {
                println!(
                    "lineage: dataset {dataset}:{dataset_version} -> job {} -> model {}:{}",
                    lineage.job_id.as_deref().unwrap_or("-"),
                    version.model,
                    version.version
                );
            }
            println!("input schema:");
            let rows: Vec<Vec<String>> = version
                .input_schema
                .iter()
                .map(|f| {
                    vec![
                        f.name.clone(),
                        f.column_type.clone(),
                        f.nullable.to_string(),
                    ]
                })
                .collect();
            print_table(&["  COLUMN", "TYPE", "NULLABLE"], &indent(rows));
            if let Some(mut importance) = importance {
                importance
                    .sort_by(|a, b| b.gain.total_cmp(&a.gain).then(a.feature.cmp(&b.feature)));
                println!("feature importance:");
                let rows: Vec<Vec<String>> = importance
                    .iter()
                    .map(|f| {
                        vec![
                            f.feature.clone(),
                            f.splits.to_string(),
                            format!("{:.4}", f.gain),
                        ]
                    })
                    .collect();
                print_table(&["  FEATURE", "SPLITS", "GAIN"], &indent(rows));
            }
        }
    }
    Ok(())
}

fn indent(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|mut row| {
            if let Some(first) = row.first_mut() {
                *first = format!("  {first}");
            }
            row
        })
        .collect()
}

/// Runs `ingot deploy`.
pub async fn deploy(context: &CliContext, args: &DeployArgs) -> Result<()> {
    let reference: ModelRef = args.reference.parse()?;
    let client = context.client()?;
    let endpoint = client
        .deploy(&CreateEndpoint {
            name: args.endpoint.clone(),
            model: reference.name,
            version: reference.version,
        })
        .await?;
    let endpoint = if args.wait {
        wait_for_endpoint(&client, &endpoint.name).await?
    } else {
        endpoint
    };
    if context.json() {
        return print_json(&endpoint);
    }
    println!(
        "endpoint {} ({}:{}): {}",
        endpoint.name, endpoint.model, endpoint.model_version, endpoint.status
    );
    println!("{}{}", client.base(), endpoint.invocations_path);
    Ok(())
}

/// Polls an endpoint until it is in service; fails if it failed.
pub async fn wait_for_endpoint(client: &Client, name: &str) -> Result<EndpointView> {
    loop {
        let endpoint = client.endpoint(name).await?;
        match endpoint.status.as_str() {
            "InService" => return Ok(endpoint),
            "Failed" => bail!(
                "endpoint {name} failed: {}",
                endpoint
                    .failure_reason
                    .as_deref()
                    .unwrap_or("no reason recorded")
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Runs an endpoint subcommand.
pub async fn endpoint(context: &CliContext, command: &EndpointCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        EndpointCommand::List => {
            let endpoints = client.list_endpoints().await?;
            if context.json() {
                return print_json(&endpoints);
            }
            let rows: Vec<Vec<String>> = endpoints
                .iter()
                .map(|e| {
                    vec![
                        e.name.clone(),
                        format!("{}:{}", e.model, e.model_version),
                        e.status.clone(),
                        timestamp(e.created_at),
                    ]
                })
                .collect();
            print_table(&["NAME", "MODEL", "STATUS", "CREATED"], &rows);
        }
        EndpointCommand::Show { name } => {
            let endpoint = client.endpoint(name).await?;
            if context.json() {
                return print_json(&endpoint);
            }
            println!("endpoint {}", endpoint.name);
            println!("model {}:{}", endpoint.model, endpoint.model_version);
            println!("status {}", endpoint.status);
            if let Some(reason) = &endpoint.failure_reason {
                println!("reason {reason}");
            }
            println!("url {}{}", client.base(), endpoint.invocations_path);
        }
        EndpointCommand::Delete { name } => {
            client.delete_endpoint(name).await?;
            if context.json() {
                return print_json(&serde_json::json!({ "deleted": name }));
            }
            println!("deleted endpoint {name}");
        }
    }
    Ok(())
}

/// Runs `ingot algorithms`.
pub async fn algorithms(context: &CliContext) -> Result<()> {
    let algorithms = context.client()?.algorithms().await?;
    if context.json() {
        return print_json(&algorithms);
    }
    for algorithm in algorithms {
        println!("{}: {}", algorithm.name, algorithm.description);
        for hp in algorithm.hyperparameters {
            println!("  {} (default {}): {}", hp.name, hp.default, hp.description);
        }
    }
    Ok(())
}
