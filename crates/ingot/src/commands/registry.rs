//! `ingot model`, `ingot deploy`, `ingot endpoint` and `ingot algorithms`.

use anyhow::Result;
use ingot_core::ModelRef;

use crate::cli::ModelCommand;
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
        ModelCommand::Import(args) => {
            return crate::commands::endpoints::import(context, args).await;
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
