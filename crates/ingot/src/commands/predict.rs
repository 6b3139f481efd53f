//! `ingot predict`: score a file with a local model file, or send it to an endpoint. Prints
//! CSV (one probability column per class, headed by its label, or one `prediction` column),
//! or `{"predictions": [...]}` with `--output json`.

use anyhow::{Context, Result};

use crate::cli::PredictArgs;
use crate::context::CliContext;

/// Runs `ingot predict`, printing CSV predictions to stdout.
pub async fn run(context: &CliContext, args: &PredictArgs) -> Result<()> {
    if args.local {
        let model_path = args
            .model
            .clone()
            .context("--model is required with --local")?;
        let file = args.file.clone();
        let json = context.json();
        let text = tokio::task::spawn_blocking(move || -> Result<String> {
            let bytes = std::fs::read(&model_path)
                .with_context(|| format!("cannot read {}", model_path.display()))?;
            let model = ingot_catalog::LoadedModel::from_bytes(&bytes)
                .with_context(|| format!("cannot load model {}", model_path.display()))?;
            let table = super::train::read_local_table(&file)?;
            let features = ingot_data::conform_batch(&table.batch, &model.manifest.input_schema)
                .with_context(|| {
                    format!("{} does not fit the model's input schema", file.display())
                })?;
            let predictions = model.predict(&features)?;
            Ok(if json {
                format!("{}\n", predictions.to_json())
            } else {
                predictions.to_csv()
            })
        })
        .await??;
        print!("{text}");
        return Ok(());
    }
    let endpoint = args.endpoint.as_deref().context("--endpoint is required")?;
    let body = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let content_type = match ingot_data::DataFormat::from_path(&args.file.to_string_lossy()) {
        Some(ingot_data::DataFormat::JsonLines) => "application/jsonlines",
        Some(ingot_data::DataFormat::Parquet) => {
            anyhow::bail!("endpoints take CSV or JSON Lines; convert the Parquet file first")
        }
        _ => "text/csv; header=present",
    };
    let accept = if context.json() {
        "application/json"
    } else {
        "text/csv"
    };
    let answer = context
        .client()?
        .invoke(endpoint, body, content_type, accept)
        .await?;
    use std::io::Write;
    let mut stdout = std::io::stdout();
    stdout.write_all(&answer)?;
    if !answer.ends_with(b"\n") {
        stdout.write_all(b"\n")?;
    }
    Ok(())
}
