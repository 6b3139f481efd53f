//! `ingot dataset create | show | list`.

use anyhow::{Context, Result};
use ingot_core::ModelRef;
use ingot_protocol::DatasetVersionView;

use crate::cli::DatasetCommand;
use crate::context::CliContext;
use crate::output::{print_json, print_table, timestamp};

/// Runs a dataset subcommand.
pub async fn run(context: &CliContext, command: &DatasetCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        DatasetCommand::Create {
            name,
            file,
            path,
            format,
        } => {
            let version = match (file, path) {
                (Some(file), _) => {
                    let bytes = std::fs::read(file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let source = file.file_name().map_or_else(
                        || "upload".to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    client
                        .create_dataset(name, bytes, format.as_deref(), &source)
                        .await?
                }
                (None, Some(path)) => {
                    client
                        .create_dataset_from_path(name, path, format.as_deref())
                        .await?
                }
                (None, None) => anyhow::bail!("pass --file or --path"),
            };
            if context.json() {
                return print_json(&version);
            }
            let note = if version.created {
                ""
            } else {
                " (identical content: existing version)"
            };
            eprintln!(
                "dataset {}:{}: {} rows, {} columns{note}",
                version.dataset,
                version.version,
                version.row_count,
                version.schema.len()
            );
            println!("{}:{}", version.dataset, version.version);
            Ok(())
        }
        DatasetCommand::Show { reference } => {
            let reference: ModelRef = reference.parse()?;
            let version = client.dataset(&reference.name, reference.version).await?;
            if context.json() {
                return print_json(&version);
            }
            print_profile(&version);
            Ok(())
        }
        DatasetCommand::Profile { file, format } => {
            let (file, format) = (file.clone(), format.clone());
            let version =
                tokio::task::spawn_blocking(move || profile_local(&file, format.as_deref()))
                    .await??;
            if context.json() {
                return print_json(&version);
            }
            print_profile(&version);
            Ok(())
        }
        DatasetCommand::List => {
            let datasets = client.list_datasets().await?;
            if context.json() {
                return print_json(&datasets);
            }
            let rows: Vec<Vec<String>> = datasets
                .iter()
                .map(|d| {
                    vec![
                        d.name.clone(),
                        d.latest_version.to_string(),
                        d.version_count.to_string(),
                        timestamp(d.created_at),
                    ]
                })
                .collect();
            print_table(&["NAME", "LATEST", "VERSIONS", "CREATED"], &rows);
            Ok(())
        }
    }
}

/// Reads and profiles a local file exactly as the server would on upload.
fn profile_local(path: &std::path::Path, format: Option<&str>) -> Result<DatasetVersionView> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = match format {
        Some(text) => text.parse::<ingot_data::DataFormat>()?,
        None => ingot_data::DataFormat::from_path(&path.to_string_lossy())
            .unwrap_or(ingot_data::DataFormat::Csv),
    };
    let table = ingot_data::read_table(&bytes, format)
        .with_context(|| format!("cannot parse {}", path.display()))?;
    let profile = ingot_data::profile(&table);
    Ok(DatasetVersionView {
        dataset: path.display().to_string(),
        version: 0,
        content_hash: String::new(),
        format: format.as_str().to_string(),
        size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        row_count: i64::try_from(table.batch.num_rows()).unwrap_or(i64::MAX),
        schema: ingot_protocol::fields(&table.schema),
        profile: serde_json::to_value(&profile)?,
        source: path.display().to_string(),
        created_at: 0,
        created: false,
    })
}

fn number(value: Option<&serde_json::Value>) -> String {
    match value.and_then(serde_json::Value::as_f64) {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.4}"),
        None => "-".to_string(),
    }
}

fn print_profile(version: &DatasetVersionView) {
    if version.version == 0 {
        println!(
            "file {}  {} rows  {} bytes ({})",
            version.source, version.row_count, version.size_bytes, version.format
        );
    } else {
        println!(
            "dataset {}:{}  {} rows  {} bytes ({})  sha256 {}",
            version.dataset,
            version.version,
            version.row_count,
            version.size_bytes,
            version.format,
            version.content_hash
        );
        println!(
            "source {}  created {}",
            version.source,
            timestamp(version.created_at)
        );
    }
    println!();
    let columns = version
        .profile
        .get("columns")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = columns
        .iter()
        .map(|c| {
            let text = |key: &str| {
                c.get(key).map_or_else(String::new, |v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            };
            let top = c
                .get("top_values")
                .and_then(|t| t.as_array())
                .map(|values| {
                    values
                        .iter()
                        .take(3)
                        .map(|v| format!("{}({})", text_of(v.get("value")), number(v.get("count"))))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            vec![
                text("name"),
                text("type"),
                number(c.get("missing")),
                number(c.get("distinct")),
                number(c.get("min")),
                number(c.get("max")),
                number(c.get("mean")),
                number(c.get("std")),
                top,
            ]
        })
        .collect();
    print_table(
        &[
            "COLUMN", "TYPE", "MISSING", "DISTINCT", "MIN", "MAX", "MEAN", "STD", "TOP",
        ],
        &rows,
    );
}

fn text_of(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}
