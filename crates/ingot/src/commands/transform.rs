//! `ingot transform`: submit a batch transform job (optionally waiting with a progress bar),
//! and `ingot transform list` / `show ID [--wait]` / `stop ID` for jobs already submitted.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use ingot_core::ModelRef;
use ingot_protocol::{CreateTransformJob, TransformJobView};
use reqwest::Method;

use crate::client::Client;
use crate::context::CliContext;
use crate::output::{print_json, print_table, progress_bar, timestamp};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TransformArgs {
    #[command(subcommand)]
    pub command: Option<TransformCommand>,
    /// Model: NAME or NAME:VERSION (required to submit)
    #[arg(long)]
    pub model: Option<String>,
    /// Input dataset: NAME or NAME:VERSION (required to submit)
    #[arg(long)]
    pub dataset: Option<String>,
    /// Dataset the predictions are written to (required to submit)
    #[arg(long)]
    pub output_dataset: Option<String>,
    /// Keep the input columns beside the predictions
    #[arg(long)]
    pub join_input: bool,
    /// Worker threads (default: all cores)
    #[arg(long)]
    pub workers: Option<usize>,
    /// Fail the job if its worker process's resident memory passes this many MiB (default:
    /// the server's --transform-memory-limit-mib)
    #[arg(long, value_name = "MIB")]
    pub memory_limit_mib: Option<u64>,
    /// Wait until the job ends
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum TransformCommand {
    /// List transform jobs, newest first
    List,
    /// Show one transform job (its progress while it runs)
    Show {
        /// Job id
        id: String,
        /// Wait until the job ends, with a progress bar
        #[arg(long)]
        wait: bool,
    },
    /// Stop a running transform job (its worker ends; nothing is written)
    Stop {
        /// Job id
        id: String,
    },
}

/// Runs `ingot transform` and its subcommands.
pub async fn run(context: &CliContext, args: &TransformArgs) -> Result<()> {
    let client = context.client()?;
    let (job, wait) = match &args.command {
        Some(TransformCommand::List) => return list(context, &client).await,
        Some(TransformCommand::Show { id, wait }) => (fetch(&client, id).await?, *wait),
        Some(TransformCommand::Stop { id }) => {
            let path = format!("/api/v1/transform-jobs/{id}/stop");
            (client.call(Method::POST, &path, None).await?, false)
        }
        None => (submit(&client, args).await?, args.wait),
    };
    let job = if wait {
        wait_for(&client, job).await?
    } else {
        job
    };
    report(context, &job)
}

async fn submit(client: &Client, args: &TransformArgs) -> Result<TransformJobView> {
    let (Some(model), Some(dataset), Some(output)) =
        (&args.model, &args.dataset, &args.output_dataset)
    else {
        let missing: Vec<&str> = [
            ("--model", args.model.is_none()),
            ("--dataset", args.dataset.is_none()),
            ("--output-dataset", args.output_dataset.is_none()),
        ]
        .into_iter()
        .filter_map(|(flag, absent)| absent.then_some(flag))
        .collect();
        bail!(
            "a transform needs {} (or see jobs with `ingot transform list` and `ingot transform show ID`)",
            missing.join(", ")
        );
    };
    let model: ModelRef = model.parse()?;
    let dataset: ModelRef = dataset.parse()?;
    let request = CreateTransformJob {
        model: model.name,
        model_version: model.version,
        dataset: dataset.name,
        dataset_version: dataset.version,
        output_dataset: output.clone(),
        join_input: args.join_input,
        workers: args.workers,
        memory_limit_mib: args.memory_limit_mib,
    };
    client
        .call(
            Method::POST,
            "/api/v1/transform-jobs",
            Some(&serde_json::to_value(&request)?),
        )
        .await
}

async fn fetch(client: &Client, id: &str) -> Result<TransformJobView> {
    client
        .call(Method::GET, &format!("/api/v1/transform-jobs/{id}"), None)
        .await
}

/// Polls until the job ends, drawing its progress (rows scored) as a bar on a terminal.
async fn wait_for(client: &Client, mut job: TransformJobView) -> Result<TransformJobView> {
    let total = job.progress.as_ref().map_or(0, |p| p.total);
    let bar = progress_bar(total, "scoring rows");
    while job.status == "Running" || job.status == "Pending" {
        if let Some(progress) = &job.progress {
            bar.set_length(progress.total);
            bar.set_position(progress.done);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        job = fetch(client, &job.id).await?;
    }
    bar.finish_and_clear();
    Ok(job)
}

fn report(context: &CliContext, job: &TransformJobView) -> Result<()> {
    if context.json() {
        print_json(job)?;
    } else {
        println!("transform job {}: {}", job.id, job.status);
        println!(
            "model {}:{}  dataset {}:{}",
            job.model, job.model_version, job.dataset, job.dataset_version
        );
        if let Some(mib) = job.memory_limit_mib {
            println!("memory limit {mib} MiB");
        }
        if let Some(progress) = &job.progress {
            println!("scored {} of {} rows so far", progress.done, progress.total);
            println!("follow with: ingot transform show {} --wait", job.id);
        }
        if let Some(reason) = &job.failure_reason {
            println!("reason {reason}");
        }
        if let (Some(version), Some(rows)) = (job.output_version, job.rows) {
            println!(
                "wrote {rows} rows to dataset {}:{version}",
                job.output_dataset
            );
        }
    }
    if job.status == "Failed" {
        bail!("transform job {} failed", job.id);
    }
    Ok(())
}

async fn list(context: &CliContext, client: &Client) -> Result<()> {
    let jobs: Vec<TransformJobView> = client
        .call(Method::GET, "/api/v1/transform-jobs", None)
        .await?;
    if context.json() {
        return print_json(&jobs);
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|job| {
            let output = match job.output_version {
                Some(version) => format!("{}:{version}", job.output_dataset),
                None => job.output_dataset.clone(),
            };
            let rows = match (&job.progress, job.rows) {
                (Some(progress), _) => format!("{} / {}", progress.done, progress.total),
                (None, Some(rows)) => rows.to_string(),
                (None, None) => "-".into(),
            };
            vec![
                job.id.clone(),
                format!("{}:{}", job.model, job.model_version),
                format!("{}:{}", job.dataset, job.dataset_version),
                output,
                job.status.clone(),
                rows,
                timestamp(job.created_at),
            ]
        })
        .collect();
    print_table(
        &[
            "ID", "MODEL", "DATASET", "OUTPUT", "STATUS", "ROWS", "CREATED",
        ],
        &rows,
    );
    Ok(())
}
