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
                        m.origin.clone(),
                        timestamp(m.created_at),
                    ]
                })
                .collect();
            print_table(&["NAME", "LATEST", "VERSIONS", "ORIGIN", "CREATED"], &rows);
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
            // Feature importance lives in the model file's manifest (MLflow-registered
            // versions have none here).
            let importance = if version.origin == "mlflow" {
                None
            } else {
                let bytes = client
                    .model_artifact(&version.model, Some(version.version))
                    .await?;
                ingot_model_format::ModelFile::decode(&bytes)?
                    .manifest
                    .feature_importance
            };
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
            println!(
                "model {}:{} ({})",
                version.model, version.version, version.origin
            );
            if version.origin != "mlflow" {
                println!("algorithm {}  task {}", version.algorithm, version.task);
            }
            println!("created {}", timestamp(version.created_at));
            if !version.artifact_hash.is_empty() {
                println!("artifact sha256 {}", version.artifact_hash);
            }
            println!("metrics: {}", metrics_line(&version.metrics));
            print_registry_state(&version);
            print_lineage(&version);
            if reference.version.is_none() {
                print_versions(&client.model_versions(&version.model).await?);
            }
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
            if !rows.is_empty() {
                println!("input schema:");
                print_table(&["  COLUMN", "TYPE", "NULLABLE"], &indent(rows));
            }
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

/// Every version of the model, one line each.
fn print_versions(versions: &[ingot_protocol::ModelVersionView]) {
    println!("versions:");
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            let registry = v.registry.as_ref();
            let aliases = registry.map(|r| r.aliases.join(",")).unwrap_or_default();
            vec![
                format!("  {}", v.version),
                v.origin.clone(),
                registry.map_or("-".to_string(), |r| r.stage.clone()),
                registry.map_or("-".to_string(), |r| r.approval_status.clone()),
                if aliases.is_empty() {
                    "-".to_string()
                } else {
                    aliases
                },
                registry.map_or("-".to_string(), |r| r.source.clone()),
            ]
        })
        .collect();
    print_table(
        &[
            "  VERSION",
            "ORIGIN",
            "STAGE",
            "APPROVAL",
            "ALIASES",
            "SOURCE",
        ],
        &rows,
    );
}

/// The version's MLflow registry state: source, stage, aliases, approval.
fn print_registry_state(version: &ingot_protocol::ModelVersionView) {
    let Some(registry) = &version.registry else {
        return;
    };
    println!(
        "registry version {}  source {}",
        registry.version, registry.source
    );
    let aliases = if registry.aliases.is_empty() {
        "-".to_string()
    } else {
        registry.aliases.join(",")
    };
    println!("stage {}  aliases {aliases}", registry.stage);
    match (&registry.approved_by, registry.approved_at) {
        (Some(by), Some(at)) => println!(
            "approval {} (by {by}, {})",
            registry.approval_status,
            timestamp(at)
        ),
        _ => println!("approval {}", registry.approval_status),
    }
}

/// Dataset version → job → run → model, then the run's metrics and input datasets.
fn print_lineage(version: &ingot_protocol::ModelVersionView) {
    let lineage = &version.lineage;
    let mut chain = Vec::new();
    if let (Some(dataset), Some(dataset_version)) = (&lineage.dataset, lineage.dataset_version) {
        chain.push(format!("dataset {dataset}:{dataset_version}"));
    }
    if let Some(job) = &lineage.job_id {
        chain.push(format!("job {job}"));
    }
    if let Some(run) = &lineage.run_id {
        chain.push(format!("run {run}"));
    }
    chain.push(format!("model {}:{}", version.model, version.version));
    println!("lineage: {}", chain.join(" -> "));
    if !lineage.metrics.is_empty() && lineage.metrics != version.metrics {
        println!("  run metrics: {}", metrics_line(&lineage.metrics));
    }
    for input in &lineage.input_datasets {
        println!(
            "  input dataset {} (digest {}, {} {}{})",
            input.name,
            input.digest,
            input.source_type,
            input.source,
            input
                .context
                .as_deref()
                .map(|c| format!(", context {c}"))
                .unwrap_or_default()
        );
    }
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
