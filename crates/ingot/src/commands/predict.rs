//! `ingot predict`: score a file (CSV, JSON Lines or Parquet) with a local model file, or send
//! it to an endpoint, in real time or as an async invocation (queued, then polled or awaited).
//! Prints CSV (one probability column per class, headed by its label, or one `prediction`
//! column), or `{"predictions": [...]}` with `--output json`.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ingot_protocol::AsyncInvocationView;

use crate::cli::PredictArgs;
use crate::client::Client;
use crate::context::CliContext;
use crate::output::print_json;

/// Runs `ingot predict`, printing CSV predictions to stdout.
pub async fn run(context: &CliContext, args: &PredictArgs) -> Result<()> {
    if args.local {
        let model_path = args
            .model
            .clone()
            .context("--model is required with --local")?;
        let file = args.file.clone().context("--file is required")?;
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
    let client = context.client()?;
    if let Some(id) = &args.async_result {
        let invocation = client.async_invocation(endpoint, id).await?;
        return report_async(context, &client, endpoint, &invocation).await;
    }
    let file = args.file.as_deref().context("--file is required")?;
    let (body, content_type) = request_body(file).await?;
    let accept = if context.json() {
        "application/json"
    } else {
        "text/csv"
    };
    if args.asynchronous {
        let mut invocation = client
            .invoke_async(
                endpoint,
                body,
                content_type,
                accept,
                args.webhook_url.as_deref(),
            )
            .await?;
        if args.wait {
            while invocation.status == "queued" {
                tokio::time::sleep(Duration::from_millis(100)).await;
                invocation = client.async_invocation(endpoint, &invocation.id).await?;
            }
        }
        return report_async(context, &client, endpoint, &invocation).await;
    }
    let answer = client.invoke(endpoint, body, content_type, accept).await?;
    print_answer(&answer)
}

/// A file as an endpoint request body and its type: CSV (with its header) and JSON Lines as
/// they are; Parquet read here (as `--local` reads it) and sent as CSV with a header, since
/// endpoints take text.
async fn request_body(file: &Path) -> Result<(Vec<u8>, &'static str)> {
    let read = || std::fs::read(file).with_context(|| format!("cannot read {}", file.display()));
    Ok(
        match ingot_data::DataFormat::from_path(&file.to_string_lossy()) {
            Some(ingot_data::DataFormat::JsonLines) => (read()?, "application/jsonlines"),
            Some(ingot_data::DataFormat::Parquet) => {
                let file = file.to_path_buf();
                let csv = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
                    let table = super::train::read_local_table(&file)?;
                    Ok(ingot_data::write_csv(&table.batch)?)
                })
                .await??;
                (csv, "text/csv; header=present")
            }
            _ => (read()?, "text/csv; header=present"),
        },
    )
}

/// Prints an async invocation: its answer once completed, else its status (a failure is an
/// error naming the reason).
async fn report_async(
    context: &CliContext,
    client: &Client,
    endpoint: &str,
    invocation: &AsyncInvocationView,
) -> Result<()> {
    match invocation.status.as_str() {
        "completed" => {
            let answer = client.get_bytes(&invocation.output_location).await?;
            print_answer(&answer)
        }
        "failed" => bail!(
            "async invocation {} on {endpoint} failed: {}",
            invocation.id,
            invocation
                .failure_reason
                .as_deref()
                .unwrap_or("no reason given")
        ),
        _ if context.json() => print_json(invocation),
        status => {
            println!("async invocation {}: {status}", invocation.id);
            println!(
                "poll with: ingot predict --endpoint {endpoint} --async-result {}",
                invocation.id
            );
            Ok(())
        }
    }
}

fn print_answer(answer: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout();
    stdout.write_all(answer)?;
    if !answer.ends_with(b"\n") {
        stdout.write_all(b"\n")?;
    }
    Ok(())
}
